/** The log-event catalogue against the code that logs and the doc generated from it. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { logEvents, logEventsDoc } from '../../src/log-events.js';

const root = path.resolve(import.meta.dirname, '../..');
const src = path.join(root, 'src');
const files = (readdirSync(src, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts') && f !== 'log-events.ts');

/**
 * Every event name a log call in src/ passes as a literal: `log.info('x', …)`, `log[level]('x', …)` and
 * `log[…](cond ? 'x' : 'y', …)`, a line break allowed after the parenthesis.
 */
function emitted(): Map<string, string[]> {
  const call =
    /(?:\.(?:debug|info|warn|error)|\])\(\s*(?:[^'"`()]*\?\s*)?'([a-z][\w-]*(?:\.[\w-]+)*)'(?:\s*:\s*'([a-z][\w-]*(?:\.[\w-]+)*)')?/g;
  const found = new Map<string, string[]>();
  for (const file of files) {
    for (const match of readFileSync(path.join(src, file), 'utf8').matchAll(call)) {
      for (const event of [match[1], match[2]]) if (event !== undefined) found.set(event, [...(found.get(event) ?? []), file]);
    }
  }
  return found;
}

describe('log-event catalogue (src/log-events.ts)', () => {
  const events = emitted();

  it('reads the log calls it checks', () => {
    expect(events.size).toBeGreaterThan(40);
    for (const event of ['runtime.command', 'drain.finished', 'drain.timeout', 'reload.finished', 'pass', 'agent.stopped'])
      expect(events.keys()).toContain(event);
  });

  it('lists every event the code logs', () => {
    const missing = [...events]
      .filter(([event]) => !Object.hasOwn(logEvents, event))
      .map(([event, where]) => `${event} (${where.join(', ')})`);
    expect(missing).toEqual([]);
  });

  it('lists no event the code does not log', () => {
    expect(Object.keys(logEvents).filter((event) => !events.has(event))).toEqual([]);
  });

  it('docs/log-events.md is generated from it (npx tsx scripts/log-events-doc.mjs)', () => {
    expect(readFileSync(path.join(root, 'docs/log-events.md'), 'utf8')).toBe(logEventsDoc());
  });
});
