/**
 * The work queue (work-queue.ts) alone, then under the reconciler over a fake HAProxy whose answers the test
 * releases one by one, with fake time: a leave queued behind 1,000 joins goes out first.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Member } from '../../../src/membership/member.js';
import { Reconciler } from '../../../src/reconcile/reconciler.js';
import type { RuntimeApi } from '../../../src/reconcile/runtime-api.js';
import { DEFAULT_CONCURRENCY, WorkQueue } from '../../../src/reconcile/work-queue.js';
import type { Command } from '../../../src/runtime/commands.js';
import { FakeHaproxy } from '../../helpers/fake-haproxy.js';
import { recordLogs } from '../../helpers/log.js';
import { reconcilerOptions } from '../../helpers/reconciler.js';

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

/** Resolves when the test calls the returned function. */
function gate<T>(value: T): { promise: Promise<T>; open: () => void } {
  let open = () => {};
  const promise = new Promise<T>((resolve) => (open = () => resolve(value)));
  return { promise, open };
}

describe('WorkQueue', () => {
  it('runs one action per server, sends at most `concurrency` commands at once, and a remove before the joins still queued', async () => {
    const work = new WorkQueue(2);
    const asked: string[] = [];
    const answers: Array<() => void> = [];
    const ask = (text: string) => () => {
      asked.push(text);
      const { promise, open } = gate(text);
      answers.push(open);
      return promise;
    };
    const ended: string[] = [];
    for (const server of ['a', 'b', 'c', 'd']) {
      work.start(
        { server, kind: 'join', member: server, intent: '' },
        (turn) => turn(ask(`add ${server}`)),
        (outcome) => ended.push(outcome),
      );
    }
    expect(() =>
      work.start(
        { server: 'a', kind: 'remove', intent: '' },
        () => Promise.resolve(''),
        () => {},
      ),
    ).toThrow(/second action for server a/);
    work.start(
      { server: 'e', kind: 'remove', intent: '' },
      (turn) => turn(ask('drain e')),
      (outcome) => ended.push(outcome),
    );
    expect(asked).toEqual(['add a', 'add b']);
    expect([...work.busy()].sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    answers.shift()?.();
    await vi.advanceTimersByTimeAsync(0);
    expect(asked).toEqual(['add a', 'add b', 'drain e']);
    while (answers.length > 0) {
      answers.shift()?.();
      await vi.advanceTimersByTimeAsync(0);
    }
    await work.idle();
    expect(asked).toEqual(['add a', 'add b', 'drain e', 'add c', 'add d']);
    expect(ended).toEqual(['add a', 'add b', 'drain e', 'add c', 'add d']);
    expect(work.size).toBe(0);
  });

  it('abandons the joins whose member is no longer wanted, once', () => {
    const work = new WorkQueue();
    const abandons: boolean[] = [];
    const pending = (_turn: unknown, abandon: { cancelled: boolean } | undefined) =>
      new Promise<void>(() => abandons.push(abandon?.cancelled ?? false));
    work.start({ server: 'web-1', kind: 'join', member: 'web-1', intent: '' }, pending, () => {});
    work.start({ server: 'web-2', kind: 'join', member: 'web-2', intent: '' }, pending, () => {});
    work.start({ server: 'web-3', kind: 'remove', intent: '' }, pending, () => {});
    expect(work.abandon((member) => member === 'web-2')).toEqual([{ server: 'web-1', member: 'web-1' }]);
    expect(work.abandon((member) => member === 'web-2')).toEqual([]);
  });
});

describe('the reconciler’s work queue', () => {
  it('sends a leave’s first command before any of 1,000 joins still queued', async () => {
    const haproxy = new FakeHaproxy();
    haproxy.boot('old', '10.1.0.1', 3000);
    /** Every command the agent sends, in the order it sends them; each answered when the test says so. */
    const asked: string[] = [];
    const answers: Array<() => void> = [];
    const client: RuntimeApi = {
      connected: true,
      version: haproxy.version,
      run: (command: Command) => {
        asked.push(command.text);
        const { promise, open } = gate(undefined);
        answers.push(open);
        return promise.then(() => haproxy.run(command));
      },
      serversState: (backend) => haproxy.serversState(backend),
      stat: (backend) => haproxy.stat(backend),
    };
    // The default bound: 1,000 joins (an add and an enable health each) fill it, and the rest of their commands queue.
    const concurrency = DEFAULT_CONCURRENCY;
    expect(concurrency).toBeLessThan(2000);
    const { log } = recordLogs();
    const reconciler = new Reconciler(reconcilerOptions(client, log));
    const node = (name: string, address: string, status = 'alive'): Member => ({ name, address, status, tags: { role: 'backend' } });
    const joins = Array.from({ length: 1000 }, (_, i) => node(`web-${i}`, `10.2.${Math.floor(i / 250)}.${(i % 250) + 1}`));
    const old = node('old', '10.1.0.1');

    reconciler.setMembers([old, ...joins], 'member-join');
    await vi.advanceTimersByTimeAsync(0);
    expect(asked).toHaveLength(concurrency);
    expect(asked.every((text) => /^(add server|enable health) nodes\/web-/.test(text))).toBe(true);

    reconciler.setMembers([{ ...old, status: 'left' }, ...joins], 'member-leave');
    await vi.advanceTimersByTimeAsync(0);
    expect(asked).toHaveLength(concurrency); // the leave waits for a turn, as the joins do

    answers.shift()?.();
    await vi.advanceTimersByTimeAsync(0);
    expect(asked[concurrency]).toBe('set server nodes/old state drain');
    expect(asked.slice(0, concurrency).some((text) => text.includes('old'))).toBe(false);
    void reconciler.close();
  });
});
