/** applyAction over a fake HAProxy with fake time: ordering, refusals, retries and read-backs. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { systemClock } from '../../../src/util/clock.js';
import { defaultServerPolicy } from '../../../src/model/server.js';
import { applyAction, type ApplyContext } from '../../../src/reconcile/apply.js';
import type { Action } from '../../../src/reconcile/plan.js';
import { ServerWatcher } from '../../../src/reconcile/watch.js';
import { FakeHaproxy } from '../../helpers/fake-haproxy.js';

function context(haproxy: FakeHaproxy, extra: Partial<ApplyContext> = {}): ApplyContext {
  return {
    client: haproxy,
    clock: systemClock, // its globals are vitest's fake timers here
    watcher: new ServerWatcher(haproxy, 'nodes'),
    backend: 'nodes',
    policy: defaultServerPolicy,
    log: silentLogger,
    checkTimeoutMs: 10_000,
    drainTimeoutMs: 30_000,
    ...extra,
  };
}

const remove: Action = {
  server: 'web-1',
  kind: 'remove',
  reason: 'test',
  steps: [{ kind: 'set-state', state: 'maint' }, { kind: 'shutdown-sessions' }, { kind: 'del' }],
};

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('applyAction', () => {
  it('stops at a refused step: the action fails and no later step is sent', async () => {
    const haproxy = new FakeHaproxy();
    haproxy.boot('web-1', '10.0.0.1', 3000);
    haproxy.refuse(/^shutdown sessions/, 'RUNTIME_PERMISSION_DENIED');
    expect(await applyAction(context(haproxy), remove)).toBe('failed');
    expect(haproxy.sent).toEqual(['set server nodes/web-1 state maint', 'shutdown sessions server nodes/web-1']);
  });

  it('retries del server while HAProxy says connections remain, cutting them each time', async () => {
    const haproxy = new FakeHaproxy();
    haproxy.boot('web-1', '10.0.0.1', 3000, { mode: 'maint' });
    haproxy.refuse(/^del server/, 'RUNTIME_SERVER_HAS_CONNECTIONS', 2);
    const outcome = applyAction(context(haproxy), { ...remove, steps: [{ kind: 'del' }] });
    await vi.advanceTimersByTimeAsync(500);
    expect(await outcome).toBe('done');
    expect(haproxy.sent).toEqual([
      'del server nodes/web-1',
      'shutdown sessions server nodes/web-1',
      'del server nodes/web-1',
      'shutdown sessions server nodes/web-1',
      'del server nodes/web-1',
    ]);
  });

  it('gives up on del server after delRetries refusals', async () => {
    const haproxy = new FakeHaproxy();
    haproxy.boot('web-1', '10.0.0.1', 3000, { mode: 'maint' });
    haproxy.refuse(/^del server/, 'RUNTIME_SERVER_HAS_CONNECTIONS', 10);
    const outcome = applyAction(context(haproxy, { delRetries: 3 }), { ...remove, steps: [{ kind: 'del' }] });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await outcome).toBe('failed');
    expect(haproxy.sent.filter((c) => c.startsWith('del server'))).toHaveLength(4);
  });

  it('fails an address change HAProxy does not show afterwards', async () => {
    const haproxy = new FakeHaproxy();
    haproxy.boot('web-1', '10.0.0.1', 3000);
    haproxy.afterCommand = (text) => {
      if (text.includes(' addr ')) haproxy.servers.get('web-1')!.port = 4464; // as 2.6 wraps port 70000
    };
    const steps: Action['steps'] = [{ kind: 'set-addr', address: '10.0.0.2', port: 3000 }];
    const action: Action = { server: 'web-1', kind: 'update', reason: 'test', steps };
    expect(await applyAction(context(haproxy), action)).toBe('failed');
  });

  it('rolls a join back when the first check does not pass in time', async () => {
    const haproxy = new FakeHaproxy();
    const join: Action = {
      server: 'web-1',
      kind: 'join',
      reason: 'test',
      steps: [
        { kind: 'add', server: { name: 'web-1', address: '10.0.0.1', port: 3000, weight: 100 } },
        { kind: 'enable-health' },
        { kind: 'await-check' },
        { kind: 'set-state', state: 'ready' },
      ],
      rollback: [{ kind: 'set-state', state: 'maint' }, { kind: 'del' }],
    };
    const outcome = applyAction(context(haproxy, { checkTimeoutMs: 2_000 }), join);
    await vi.advanceTimersByTimeAsync(2_200);
    expect(await outcome).toBe('rolled-back');
    expect(haproxy.servers.size).toBe(0);
    expect(haproxy.sent.slice(2)).toEqual(['set server nodes/web-1 state maint', 'del server nodes/web-1']);
  });
});
