import { describe, expect, it } from 'vitest';
import { ChangePoller, membershipMoved, membershipSignature } from '../../../src/membership/change-poller.js';
import type { Timers } from '../../../src/util/clock.js';

/** Timers run by hand: `tick()` fires the one pending timer and lets the read settle. */
function manualTimers() {
  const pending: Array<{ run: () => void; ms: number }> = [];
  const timers: Timers = {
    setTimeout: (run, ms) => {
      const entry = { run, ms };
      pending.push(entry);
      return entry;
    },
    clearTimeout: (handle) => {
      const index = pending.indexOf(handle as { run: () => void; ms: number });
      if (index >= 0) pending.splice(index, 1);
    },
  };
  return {
    timers,
    pending,
    tick: async () => {
      pending.shift()?.run();
      await settle();
    },
  };
}
const settle = () => new Promise((resolve) => setImmediate(resolve));
const stats = (memberTime: number, members = 3, failed = 0, left = 0, intentQueue = 0) => ({
  agent: { name: 'lb' },
  serf: {
    member_time: String(memberTime),
    members: String(members),
    failed: String(failed),
    left: String(left),
    intent_queue: String(intentQueue),
    health_score: '0',
    event_time: '1',
  },
});

describe('ChangePoller', () => {
  it('reads a signature only from what moves with membership', () => {
    expect(membershipSignature(stats(4, 3, 1, 2, 1))).toEqual({ counters: '4/3/1/2', intents: 1 });
    expect(membershipSignature({ ...stats(4), serf: { ...stats(4).serf, health_score: '7', event_time: '9' } })).toEqual({
      counters: '4/3/0/0',
      intents: 0,
    });
    // A Serf that does not report its intent queue: the clock and counts still count.
    const older: Record<string, string> = { ...stats(4).serf };
    delete older.intent_queue;
    expect(membershipSignature({ serf: older })).toEqual({ counters: '4/3/0/0', intents: 0 });
    expect(membershipSignature({ serf: { members: 3 } })).toBeUndefined();
    expect(membershipSignature(null)).toBeUndefined();
  });

  it('counts any change of the clock or counts, but only growth of the intent queue', () => {
    const at = (memberTime: number, intents: number) => membershipSignature(stats(memberTime, 3, 0, 0, intents))!;
    expect(membershipMoved(at(4, 0), at(5, 0))).toBe(true);
    expect(membershipMoved(at(4, 0), at(4, 1))).toBe(true);
    // Serf sending its queued intents on is no membership change: no list of every member for it.
    expect(membershipMoved(at(4, 3), at(4, 2))).toBe(false);
    expect(membershipMoved(at(4, 2), at(4, 2))).toBe(false);
  });

  it('sets a baseline, prompts a list when the counters move, then once more when they settle', async () => {
    const answers = [stats(1), stats(1), stats(1, 4), stats(1, 4), stats(1, 4), stats(2, 4), stats(2, 4), stats(2, 4)];
    const changes: string[] = [];
    const clock = manualTimers();
    const poller = new ChangePoller({
      readStats: async () => answers.shift(),
      onChange: (reason) => changes.push(reason),
      intervalMs: 40,
      timers: clock.timers,
    });
    poller.start();
    await settle();
    expect(changes).toEqual([]); // baseline only
    expect(clock.pending.map((p) => p.ms)).toEqual([40]);
    await clock.tick(); // unchanged
    expect(changes).toEqual([]);
    await clock.tick(); // a member joined
    expect(changes).toEqual(['serf stats changed']);
    await clock.tick(); // same again: one confirming list
    expect(changes).toEqual(['serf stats changed', 'serf stats settled']);
    await clock.tick(); // quiet: nothing
    expect(changes).toHaveLength(2);
    await clock.tick(); // leave intent: the member clock moved, no count did
    await clock.tick();
    await clock.tick();
    expect(changes).toEqual(['serf stats changed', 'serf stats settled', 'serf stats changed', 'serf stats settled']);
    poller.stop();
  });

  it('prompts a list for a leave intent that moves only the intent queue (the second of two members leaving together)', async () => {
    const answers = [stats(7), stats(7, 3, 0, 0, 1), stats(7, 3, 0, 0, 1), stats(7, 3, 0, 0, 1)];
    const changes: string[] = [];
    const clock = manualTimers();
    const poller = new ChangePoller({
      readStats: async () => answers.shift(),
      onChange: (reason) => changes.push(reason),
      timers: clock.timers,
    });
    poller.start();
    await settle();
    await clock.tick();
    expect(changes).toEqual(['serf stats changed']);
    await clock.tick();
    await clock.tick();
    expect(changes).toEqual(['serf stats changed', 'serf stats settled']);
    poller.stop();
  });

  it('keeps polling through failed or foreign answers, and stop ends it', async () => {
    const answers: Array<() => Promise<unknown>> = [
      async () => stats(1),
      async () => Promise.reject(new Error('timeout')),
      async () => ({ nonsense: true }),
      async () => stats(2),
    ];
    const changes: string[] = [];
    const clock = manualTimers();
    const poller = new ChangePoller({
      readStats: () => (answers.shift() ?? (async () => stats(2)))(),
      onChange: (reason) => changes.push(reason),
      timers: clock.timers,
    });
    poller.start();
    await settle();
    await clock.tick();
    await clock.tick();
    expect(changes).toEqual([]);
    await clock.tick();
    expect(changes).toEqual(['serf stats changed']);
    poller.stop();
    expect(clock.pending).toEqual([]);
  });

  it('does nothing after stop, even when a read in flight answers later', async () => {
    let answer: (value: unknown) => void = () => undefined;
    const changes: string[] = [];
    const clock = manualTimers();
    const poller = new ChangePoller({
      readStats: () => new Promise((resolve) => (answer = resolve)),
      onChange: (reason) => changes.push(reason),
      timers: clock.timers,
    });
    poller.start();
    poller.stop();
    answer(stats(5));
    await settle();
    expect(changes).toEqual([]);
    expect(clock.pending).toEqual([]);
  });
});
