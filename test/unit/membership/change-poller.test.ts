import { describe, expect, it } from 'vitest';
import { ChangePoller, membershipSignature } from '../../../src/membership/change-poller.js';
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
const stats = (memberTime: number, members = 3, failed = 0, left = 0) => ({
  agent: { name: 'lb' },
  serf: {
    member_time: String(memberTime),
    members: String(members),
    failed: String(failed),
    left: String(left),
    intent_queue: '0',
    health_score: '0',
    event_time: '1',
  },
});
/** Serf's `members-filtered` answer: member records (only the names count). */
const leaving = (...names: string[]) => names.map((Name) => ({ Name, Addr: new Uint8Array([10, 0, 0, 1]), Status: 'leaving', Tags: {} }));

/** A poller over scripted answers, one [stats, leaving] pair per read. */
function scripted(answers: Array<[unknown, unknown]>, intervalMs?: number) {
  const changes: string[] = [];
  const clock = manualTimers();
  let current: [unknown, unknown] | undefined;
  const poller = new ChangePoller({
    readStats: async () => (current = answers.shift())?.[0],
    readLeaving: async () => current?.[1],
    onChange: (reason) => changes.push(reason),
    ...(intervalMs === undefined ? {} : { intervalMs }),
    timers: clock.timers,
  });
  return { changes, clock, poller };
}

describe('ChangePoller', () => {
  it('reads a signature only from what moves with membership', () => {
    const signature = membershipSignature(stats(4, 3, 1, 2), leaving('web-2', 'web-1'));
    expect(signature).toBe(membershipSignature(stats(4, 3, 1, 2), leaving('web-1', 'web-2')));
    // What moves without a membership change (Serf's queues, health, the event clock) is not part of it.
    const noise = { ...stats(4, 3, 1, 2), serf: { ...stats(4, 3, 1, 2).serf, health_score: '7', event_time: '9', intent_queue: '3' } };
    expect(membershipSignature(noise, leaving('web-1', 'web-2'))).toBe(signature);
    for (const moved of [
      membershipSignature(stats(5, 3, 1, 2), leaving('web-1', 'web-2')),
      membershipSignature(stats(4, 4, 1, 2), leaving('web-1', 'web-2')),
      membershipSignature(stats(4, 3, 0, 2), leaving('web-1', 'web-2')),
      membershipSignature(stats(4, 3, 1, 3), leaving('web-1', 'web-2')),
      membershipSignature(stats(4, 3, 1, 2), leaving('web-1')),
      membershipSignature(stats(4, 3, 1, 2), leaving('web-1', 'web-2', 'web-3')),
    ]) {
      expect(moved).toBeDefined();
      expect(moved).not.toBe(signature);
    }
    expect(membershipSignature({ serf: { members: 3 } }, [])).toBeUndefined();
    expect(membershipSignature(null, [])).toBeUndefined();
    expect(membershipSignature(stats(4), { Members: [] })).toBeUndefined();
    expect(membershipSignature(stats(4), [{ Status: 'leaving' }])).toBeUndefined();
  });

  it('sets a baseline, prompts a list when the counters move, then once more when they settle', async () => {
    const { changes, clock, poller } = scripted(
      [stats(1), stats(1), stats(1, 4), stats(1, 4), stats(1, 4), stats(2, 4), stats(2, 4), stats(2, 4)].map((s) => [s, []]),
      40,
    );
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

  it('prompts a list for a leave intent that moves no counter (the second of two members leaving together)', async () => {
    const { changes, clock, poller } = scripted([
      [stats(7), leaving('web-1')],
      [stats(7), leaving('web-1', 'web-2')],
      [stats(7), leaving('web-1', 'web-2')],
      [stats(7), leaving('web-1', 'web-2')],
    ]);
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
      readLeaving: async () => [],
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

  it('polls the counters alone once Serf refuses the leaving read, and says so once', async () => {
    const statsAnswers = [stats(1), stats(1), stats(1, 4), stats(1, 4)];
    let leavingReads = 0;
    const refusals: unknown[] = [];
    const changes: string[] = [];
    const clock = manualTimers();
    const refused = new Error("Serf refused 'members-filtered': unsupported command");
    const poller = new ChangePoller({
      readStats: async () => statsAnswers.shift() ?? stats(1, 4),
      readLeaving: async () => {
        leavingReads++;
        throw refused;
      },
      onChange: (reason) => changes.push(reason),
      onLeavingUnavailable: (error) => refusals.push(error),
      timers: clock.timers,
    });
    poller.start();
    await settle();
    expect(refusals).toEqual([refused]);
    await clock.tick(); // unchanged
    expect(changes).toEqual([]);
    await clock.tick(); // a member joined: seen from the counters alone
    expect(changes).toEqual(['serf stats changed']);
    await clock.tick();
    expect(changes).toEqual(['serf stats changed', 'serf stats settled']);
    expect(leavingReads).toBe(1);
    expect(refusals).toHaveLength(1);
    poller.stop();
  });

  it('does not give up the leaving read when the connection closed under it', async () => {
    let reject: (error: unknown) => void = () => undefined;
    const refusals: unknown[] = [];
    const clock = manualTimers();
    const poller = new ChangePoller({
      readStats: async () => stats(1),
      readLeaving: () => new Promise((_, fail) => (reject = fail)),
      onChange: () => undefined,
      onLeavingUnavailable: (error) => refusals.push(error),
      timers: clock.timers,
    });
    poller.start();
    // The connection's close stops the poller before the reads in flight reject.
    poller.stop();
    reject(new Error('closed'));
    await settle();
    expect(refusals).toEqual([]);
    expect(clock.pending).toEqual([]);
  });

  it('does nothing after stop, even when a read in flight answers later', async () => {
    let answer: (value: unknown) => void = () => undefined;
    const changes: string[] = [];
    const clock = manualTimers();
    const poller = new ChangePoller({
      readStats: () => new Promise((resolve) => (answer = resolve)),
      readLeaving: async () => [],
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
