/** ServerWatcher over a fake HAProxy with fake time: one read per tick for every waiter, deadlines, early ends. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Cancel, ServerWatcher } from '../../../src/reconcile/watch.js';
import { FakeHaproxy } from '../../helpers/fake-haproxy.js';

function counting(haproxy: FakeHaproxy) {
  const reads = { state: 0, stat: 0 };
  const client = {
    serversState: (backend: string) => (reads.state++, haproxy.serversState(backend)),
    stat: (backend: string) => (reads.stat++, haproxy.stat(backend)),
  };
  return { client, reads };
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('ServerWatcher', () => {
  it('serves many waiters from one read per tick, and reads show stat only while someone waits for a drain', async () => {
    const haproxy = new FakeHaproxy();
    for (let n = 1; n <= 50; n += 1) haproxy.boot(`web-${n}`, `10.0.0.${n}`, 3000, { checkEnabled: false });
    const { client, reads } = counting(haproxy);
    const watcher = new ServerWatcher(client, 'nodes');
    const waits = [...haproxy.servers.keys()].map((name) => watcher.waitFor(name, (s) => s?.checkPassed === true, 10_000));
    await vi.advanceTimersByTimeAsync(250);
    for (const s of haproxy.servers.values()) s.checkEnabled = true;
    await vi.advanceTimersByTimeAsync(100);
    expect(await Promise.all(waits)).toEqual(Array(50).fill(true));
    // One read per 25 ms tick for all 50 waiters (350 ms of fake time), not one per waiter.
    expect(reads.state).toBeLessThanOrEqual(350 / 25 + 1);
    expect(reads.stat).toBe(0);
  });

  it('judges a waiter that came while a read was in flight on the next read, not on rows read without it', async () => {
    const haproxy = new FakeHaproxy();
    haproxy.boot('web-1', '10.0.0.1', 3000, { checkEnabled: false });
    haproxy.boot('web-2', '10.0.0.2', 3000, { sessions: 5 });
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let hold = true;
    const client = {
      serversState: async (backend: string) => {
        if (hold) await held;
        return haproxy.serversState(backend);
      },
      stat: (backend: string) => haproxy.stat(backend),
    };
    const watcher = new ServerWatcher(client, 'nodes');
    void watcher.waitFor('web-1', (s) => s?.checkPassed === true, 10_000);
    await vi.advanceTimersByTimeAsync(1); // the read for web-1 alone is in flight
    let drained: boolean | undefined;
    // A drain's condition: a server missing from the read counts as drained.
    void watcher
      .waitFor('web-2', (s) => s === undefined || s.sessions === 0, 10_000, { needsSessions: true })
      .then((met) => (drained = met));
    hold = false;
    release();
    await vi.advanceTimersByTimeAsync(100);
    expect(drained).toBeUndefined(); // web-2 still has its 5 sessions
    haproxy.servers.get('web-2')!.sessions = 0;
    await vi.advanceTimersByTimeAsync(50);
    expect(drained).toBe(true);
  });

  it('ends a wait with false at its deadline, and keeps waiting through ticks where HAProxy cannot be read', async () => {
    const haproxy = new FakeHaproxy();
    haproxy.boot('web-1', '10.0.0.1', 3000, { sessions: 3 });
    const watcher = new ServerWatcher(haproxy, 'nodes');
    let drained: boolean | undefined;
    void watcher.waitFor('web-1', (s) => s?.sessions === 0, 5_000, { needsSessions: true }).then((met) => (drained = met));
    haproxy.connected = false;
    await vi.advanceTimersByTimeAsync(2_000);
    expect(drained).toBeUndefined();
    haproxy.connected = true;
    await vi.advanceTimersByTimeAsync(2_900);
    expect(drained).toBeUndefined();
    await vi.advanceTimersByTimeAsync(200);
    expect(drained).toBe(false);
  });

  it('ends a wait with false at once when it is cancelled, leaving the other waiters be', async () => {
    const haproxy = new FakeHaproxy();
    haproxy.boot('web-1', '10.0.0.1', 3000, { checkEnabled: false });
    haproxy.boot('web-2', '10.0.0.2', 3000, { checkEnabled: false });
    const watcher = new ServerWatcher(haproxy, 'nodes');
    const abandon = new Cancel();
    const first = watcher.waitFor('web-1', (s) => s?.checkPassed === true, 10_000, { cancel: abandon });
    const second = watcher.waitFor('web-2', (s) => s?.checkPassed === true, 10_000);
    await vi.advanceTimersByTimeAsync(300);
    abandon.cancel();
    expect(await first).toBe(false);
    expect(await watcher.waitFor('web-1', () => true, 10_000, { cancel: abandon })).toBe(false);
    haproxy.servers.get('web-2')!.checkEnabled = true;
    await vi.advanceTimersByTimeAsync(100);
    expect(await second).toBe(true);
  });
});
