/**
 * Every figure table in README.md and docs/ is what bench/tables.ts makes from the recorded runs in
 * bench/results/: a table typed or edited by hand, or a results file changed without `npm run tables`, fails.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../bench/record.js';
import { documents, fillTables, makeTable, records } from '../../bench/tables.js';

describe('generated tables', () => {
  it.each(documents().map((file) => [path.basename(file), file]))('%s: every table is the one made from bench/results', (_name, file) => {
    const text = readFileSync(file, 'utf8');
    expect(fillTables(text)).toBe(text);
  });

  it('fails on a table that differs from the files, and on a table name it does not know', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ha-agent-tables-'));
    const run = (started: string, commit: string, joinMs: number[]): RunRecord => ({
      bench: 'agent-events',
      commit,
      dirty: false,
      started,
      ended: started,
      cpus: 2,
      loadStart: [1, 1, 1],
      loadEnd: [2, 2, 2],
      settings: {},
      samples: { 'join ms': joinMs },
      missing: { 'join ms': 1 },
      facts: { requests: 10, failed: 0, slowOnLeaving: 0, slowFailed: 0 },
    });
    mkdirSync(path.join(dir, 'agent-events'));
    writeFileSync(path.join(dir, 'agent-events/a.json'), JSON.stringify(run('2026-01-01T00:00:00Z', 'old', [1000])));
    writeFileSync(path.join(dir, 'agent-events/b.json'), JSON.stringify(run('2026-01-02T00:00:00Z', 'new', [10, 30, 20])));
    // Only the newest commit's runs count.
    expect(records('agent-events', dir).map((r) => r.commit)).toEqual(['new']);
    const made = makeTable('agent-events', dir);
    expect(made).toContain('| join ms | 20 | 30 | 20 (10–30) | 3 |');
    expect(made).toContain('missing samples: join ms 1');
    const doc = `x\n<!-- table:agent-events -->\n${made}\n<!-- /table -->\n`;
    expect(fillTables(doc, dir)).toBe(doc);
    expect(fillTables(doc.replace('20 (10–30)', '19 (10–30)'), dir)).toBe(doc);
    expect(() => fillTables('<!-- table:nope -->\n\n<!-- /table -->', dir)).toThrow(/unknown table 'nope'/);
    // An empty table fills itself only, never the text up to the next table's end.
    const two = '<!-- table:agent-events -->\n<!-- /table -->\nkept\n<!-- table:compose -->\n<!-- /table -->\n';
    expect(fillTables(two, dir)).toBe(
      `<!-- table:agent-events -->\n${made}\n<!-- /table -->\nkept\n<!-- table:compose -->\n${makeTable('compose', dir)}\n<!-- /table -->\n`,
    );
  });
});
