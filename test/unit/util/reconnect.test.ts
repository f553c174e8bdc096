/** The one reconnect loop, driven by hand-made timers (no fake-timer library, no real time). */
import { describe, expect, it } from 'vitest';
import type { Timers } from '../../../src/util/clock.js';
import { cappedBackoff, Reconnector } from '../../../src/util/reconnect.js';

/** Timers that only fire when the test says so; `delays` records what was asked for. */
function manualTimers() {
  const pending = new Map<number, () => void>();
  const delays: number[] = [];
  let next = 0;
  const timers: Timers = {
    setTimeout: (callback, ms) => {
      delays.push(ms);
      pending.set(++next, callback);
      return next;
    },
    clearTimeout: (handle) => void pending.delete(handle as number),
  };
  /** Fires the one pending timer and lets the attempt settle. */
  const fire = async () => {
    expect(pending.size).toBe(1);
    const [id, callback] = [...pending][0]!;
    pending.delete(id);
    callback();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { timers, delays, pending, fire };
}

describe('cappedBackoff', () => {
  it('backs off exponentially up to a cap', () => {
    const backoff = cappedBackoff(100, 1000);
    expect([0, 1, 2, 3, 4, 50].map((retries) => backoff(retries, undefined))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
});

describe('Reconnector', () => {
  it('connects at once, retries failures with growing delays, and starts over after a success', async () => {
    const { timers, delays, fire } = manualTimers();
    const outcomes = [false, false, true];
    const failures: number[] = [];
    const reconnector = new Reconnector({
      connect: async () => {
        if (!outcomes.shift()) throw new Error('refused');
      },
      timers,
      onFailure: (_, retries) => failures.push(retries),
    });
    reconnector.start();
    await fire();
    await fire();
    await fire();
    expect(delays).toEqual([0, 200, 400]);
    expect(failures).toEqual([1, 2]);
    reconnector.lost(new Error('closed'));
    expect(delays.at(-1)).toBe(100);
    reconnector.stop();
  });

  it('passes the cause to the strategy and stops when it returns false', async () => {
    const { timers, pending, fire } = manualTimers();
    const seen: Array<[number, unknown]> = [];
    let gaveUp: unknown;
    const reconnector = new Reconnector({
      connect: async () => {
        throw new Error('refused');
      },
      strategy: (retries, cause) => (seen.push([retries, (cause as Error).message]), retries < 2 ? 10 : false),
      timers,
      onGiveUp: (cause) => (gaveUp = cause),
    });
    reconnector.start();
    await fire();
    await fire();
    expect(seen).toEqual([
      [1, 'refused'],
      [2, 'refused'],
    ]);
    expect(pending.size).toBe(0);
    expect(gaveUp).toBeInstanceOf(Error);
  });

  it('after stop(), neither a loss nor a late failure schedules anything', async () => {
    const { timers, pending } = manualTimers();
    let fail: (error: Error) => void = () => {};
    const reconnector = new Reconnector({ connect: () => new Promise((_, reject) => (fail = reject)), timers });
    reconnector.start();
    const [, callback] = [...pending][0]!;
    pending.clear();
    callback();
    reconnector.stop();
    fail(new Error('late'));
    reconnector.lost(new Error('closed'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(pending.size).toBe(0);
  });
});
