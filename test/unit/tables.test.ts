/**
 * Every figure table in README.md and docs/ is what bench/tables.ts makes from the recorded runs in
 * bench/results/: a table typed or edited by hand, or a results file changed without `npm run tables`, fails.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../bench/record.js';
import { documents, fillTables, makeTable, records, TABLES } from '../../bench/tables.js';

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

  it('agent-events: the single-change target is judged on the median of 5 or more runs’ p50s, and not below 5 runs', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ha-agent-tables-'));
    mkdirSync(path.join(dir, 'agent-events'));
    const write = (i: number, join: number, leave: number) =>
      writeFileSync(
        path.join(dir, `agent-events/${i}.json`),
        JSON.stringify({
          bench: 'agent-events',
          commit: 'c',
          dirty: false,
          started: `2026-01-0${i + 1}T00:00:00Z`,
          ended: `2026-01-0${i + 1}T00:00:00Z`,
          cpus: 2,
          loadStart: [1, 1, 1],
          loadEnd: [1, 1, 1],
          settings: {},
          samples: {
            'Serf agent started (app listening) → first request served': [join - 10, join, join + 500],
            'SIGINT to its Serf agent → last request routed to it': [leave, leave, leave],
          },
          missing: {},
          facts: { requests: 10, failed: 0, slowOnLeaving: 0, slowFailed: 0 },
        } satisfies RunRecord),
      );
    for (let i = 0; i < 4; i += 1) write(i, 140, 151);
    expect(makeTable('agent-events', dir)).toContain('join no headline (fewer than 5 runs); leave no headline (fewer than 5 runs)');
    write(4, 900, 100);
    expect(makeTable('agent-events', dir)).toContain('p50 ≤ 150 ms (the median of the runs’ p50s): join met; leave NOT met._');
  });

  it('bench/record-all.sh records every table, and each table it lists has a recording command', () => {
    const script = readFileSync(path.resolve(import.meta.dirname, '../../bench/record-all.sh'), 'utf8');
    const listed = /^all=\(([^)]*)\)/m.exec(script)?.[1]?.split(/\s+/).filter(Boolean) ?? [];
    const commands = [...script.matchAll(/^ {4}([\w-]+)\)/gm)].map((m) => m[1]);
    expect([...listed].sort()).toEqual(Object.keys(TABLES).sort());
    expect([...commands].sort()).toEqual(Object.keys(TABLES).sort());
  });

  /** A temporary results folder holding one record of `bench`. */
  const oneRecord = (bench: string, fields: Pick<RunRecord, 'settings' | 'samples'> & Partial<RunRecord>) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ha-agent-tables-'));
    const record: RunRecord = {
      bench,
      commit: 'abcdef0123',
      dirty: false,
      started: '2026-01-01T00:00:00Z',
      ended: '2026-01-01T00:10:00Z',
      cpus: 2,
      loadStart: [1, 1, 1],
      loadEnd: [2, 2, 2],
      missing: {},
      facts: {},
      ...fields,
    };
    mkdirSync(path.join(dir, bench));
    writeFileSync(path.join(dir, bench, 'a.json'), JSON.stringify(record));
    return dir;
  };

  it('libs: ours → the candidate, the ratio and the RSS added, per candidate', () => {
    const dir = oneRecord('libs', {
      settings: { runs: 3, lines: 7000, addresses: 1000 },
      samples: {
        'pino: ours ms': [1, 2, 3],
        'pino: library ms': [2, 4, 6],
        'pino: ratio': [2, 2, 2],
        'rss: node alone MB': [40, 40, 40],
        'rss added: pino MB': [9, 9.2, 9.4],
      },
    });
    const made = makeTable('libs', dir);
    expect(made).toContain('| pino | 2.0 (1.0–3.0) | 4.0 (2.0–6.0) | 2.00 (2.00–2.00) | 9.2 (9.0–9.4) |');
    expect(made).toContain('7,000 log lines');
    expect(made).toContain('Files: bench/results/libs/.');
  });

  it('balancer-tier: each fault against its target, a missed target said so', () => {
    const dir = oneRecord('balancer-tier', {
      settings: { balancers: 2, webapps: 3, advertIntervalS: 0.02 },
      samples: {
        'reload failed requests': [0, 0, 1],
        'reload requests': [100, 200, 300],
        'single failed requests': [500, 600],
        'single outage ms': [5000, 6000],
        'node failed requests': [4, 10, 1],
        'node ratio to single': [0.008, 0.2, 0.05],
        'node vip moved ms': [100, 200, 150],
        'node slowest request ms': [300, 400, 350],
      },
      facts: { reloadVipMoved: 0 },
    });
    const made = makeTable('balancer-tier', dir);
    expect(made).toContain('| 0 (0–1) of 200 (100–300); the VIP stayed in 3 of 3 |');
    expect(made).toContain('0 lost in 2/3: **NOT met**');
    expect(made).toContain('| 0.050 (0.008–0.200) | 150 (100–200) ms | 350 (300–400) ms | ≤ 0.1 in 2/3: **NOT met** |');
    expect(made).toContain('adverts every 20 ms');
  });

  it('serf-idle and serf-scale: a row per window kind, a row per run set with its failures', () => {
    const idle = oneRecord('serf-idle', {
      settings: { members: 1000, alive: 50 },
      samples: {
        'no agent: Serf agent CPU % of a core': [0.1, 0.2, 0.3],
        'after: agent CPU % of a core': [5],
        'after: Serf agent CPU % of a core': [0.3],
      },
    });
    expect(makeTable('serf-idle', idle)).toContain('| 1000 members (50 alive), no agent | - | 0.20 (0.10–0.30) | 3 |');
    expect(makeTable('serf-idle', idle)).toContain('| 1000 members (50 alive), after | 5.00 | 0.30 | 1 |');
    const scale = oneRecord('serf-scale', {
      settings: { members: 250 },
      samples: { joinMs: [10, 30, 20], stayingNotAlive: [0, 2, 1] },
      facts: { failures: ['run 3: timeout'] },
    });
    expect(makeTable('serf-scale', scale)).toContain('| 250 | 3 (+1 failed) | 20 (10–30) | - |');
    expect(makeTable('serf-scale', scale)).toMatch(/\| 1 \(0–2\) \|\n/);
  });

  it('services-scale and services-curve: the cells for N members', () => {
    const samples = {
      '1000: joinMs': [100, 300, 200],
      '1000: rssMb': [50],
      '1000: rssSettledMb': [60],
      '1000: rssPeakMb': [70],
      '1000: idleCpu': [0.5],
    };
    const scale = oneRecord('services-scale', { settings: { members: 1000, services: 5 }, samples });
    expect(makeTable('services-scale', scale)).toContain(
      '| 1000 in 5 services | 3 | 200 (100–300) | - | - / - | 50.0 | 60.0 | 70.0 | 0.50 |',
    );
    const curve = oneRecord('services-curve', { settings: { counts: [1000, 2000] }, samples });
    const made = makeTable('services-curve', curve);
    expect(made).toContain('| 1000 | 200 (100–300) | - | - | - | 60.0 | 70.0 | 0.50 |');
    expect(made).toContain('| 2000 | - | - | - | - | - | - | - |');
  });

  it('soak: the totals of a run from its facts, a changed HAProxy Pid said so', () => {
    const dir = oneRecord('soak', {
      settings: { minutes: 60 },
      samples: {},
      facts: {
        operations: 434,
        failedOperations: 0,
        requests: 4688658,
        failedRequests: 4113,
        failedRequestsAfterScaleUp: 0,
        failedRequestsAfterScaleDown: 1,
        haproxyPidStart: 1,
        haproxyPidEnd: 2,
        rssFirstMb: 62.6,
        rssLastMb: 73.3,
        rssAt40Mb: 72.6,
        rssLast20MaxDeviationPct: 2.1,
      },
    });
    expect(makeTable('soak', dir)).toContain('| 60 | 434 (0) | 4,688,658 (4,113) | CHANGED | 62.6 → 73.3 | 72.6 | 2.1 % | 0 / 1 |');
  });
});
