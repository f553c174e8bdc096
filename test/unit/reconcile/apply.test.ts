/** applyAction over a fake HAProxy with fake time: ordering, refusals, retries and read-backs. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { systemClock } from '../../../src/util/clock.js';
import { defaultServerPolicy } from '../../../src/model/server.js';
import { applyAction, type ApplyContext } from '../../../src/reconcile/apply.js';
import { drainToMaint, type Action } from '../../../src/reconcile/plan.js';
import { ServerWatcher } from '../../../src/reconcile/watch.js';
import { FakeHaproxy } from '../../helpers/fake-haproxy.js';
import { recordLogs } from '../../helpers/log.js';

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

  it('says when its first commands are answered (at once when it starts with a wait), and not when the first one is refused', async () => {
    const haproxy = new FakeHaproxy();
    haproxy.boot('web-1', '10.0.0.1', 3000);
    const told: string[] = [];
    // Each call records what HAProxy had been sent by then.
    const firstAnswered = (server: string) => told.push(`${server}: ${haproxy.sent.join(', ')}`);
    expect(await applyAction(context(haproxy, { firstAnswered }), remove)).toBe('done');
    expect(told).toEqual(['web-1: set server nodes/web-1 state maint']);

    haproxy.boot('web-2', '10.0.0.2', 3000, { mode: 'drain' });
    haproxy.sent.length = 0;
    const waitFirst: Action = { server: 'web-2', kind: 'remove', reason: 'test', steps: [...drainToMaint(false), { kind: 'del' }] };
    const outcome = applyAction(context(haproxy, { firstAnswered }), waitFirst);
    await vi.advanceTimersByTimeAsync(100);
    expect(await outcome).toBe('done');
    expect(told).toEqual(['web-1: set server nodes/web-1 state maint', 'web-2: ']);

    haproxy.boot('web-3', '10.0.0.3', 3000);
    haproxy.refuse(/^set server nodes\/web-3/, 'RUNTIME_PERMISSION_DENIED');
    expect(await applyAction(context(haproxy, { firstAnswered }), { ...remove, server: 'web-3' })).toBe('failed');
    expect(told).toHaveLength(2);
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

  it('sends enable health right behind add server, before the add is answered, each with its own log line', async () => {
    const haproxy = new FakeHaproxy();
    const order: string[] = [];
    const run = haproxy.run.bind(haproxy);
    haproxy.run = (command) => {
      const verb = command.text.split(' ').slice(0, 2).join(' ');
      order.push(`sent ${verb}`);
      return run(command).finally(() => order.push(`answered ${verb}`));
    };
    const { log, events } = recordLogs();
    const outcome = applyAction(context(haproxy, { log, checkTimeoutMs: 2_000 }), join);
    await vi.advanceTimersByTimeAsync(10);
    expect(order.slice(0, 4)).toEqual(['sent add server', 'sent enable health', 'answered add server', 'answered enable health']);
    expect(events('step.finished').map((e) => e.step)).toEqual(['add', 'enable-health']);
    await vi.advanceTimersByTimeAsync(2_200);
    await outcome;
  });

  it('fails a join whose add server is refused, naming the add as the failed step', async () => {
    const haproxy = new FakeHaproxy();
    haproxy.refuse(/^add server/, 'RUNTIME_COMMAND_REJECTED');
    const { log, events } = recordLogs();
    expect(await applyAction(context(haproxy, { log }), join)).toBe('failed');
    expect(events('step.failed')).toMatchObject([{ step: 'add', index: 0 }]);
    expect(haproxy.sent.some((c) => c.startsWith('set server'))).toBe(false);
  });

  it('rolls a join back when the first check does not pass in time', async () => {
    const haproxy = new FakeHaproxy();
    const outcome = applyAction(context(haproxy, { checkTimeoutMs: 2_000 }), join);
    await vi.advanceTimersByTimeAsync(2_200);
    expect(await outcome).toBe('rolled-back');
    expect(haproxy.servers.size).toBe(0);
    expect(haproxy.sent.slice(2)).toEqual(['set server nodes/web-1 state maint', 'del server nodes/web-1']);
  });

  it('names a failing first check at once, again when it fails otherwise, and in the timeout', async () => {
    const haproxy = new FakeHaproxy();
    const { log, events } = recordLogs();
    haproxy.failures.set('10.0.0.1:3000', { status: 'L4CON', code: '', number: 8 }); // the app is not listening yet
    const health = () => ({ path: '/health', setting: '--health-path' });
    const outcome = applyAction(context(haproxy, { log, checkTimeoutMs: 2_000, health }), join);
    await vi.advanceTimersByTimeAsync(100);
    expect(events('check.failing')).toMatchObject([
      {
        level: 'warn',
        server: 'web-1',
        check: 'L4CON',
        path: '/health',
        message: expect.stringContaining('connection refused at 10.0.0.1:3000'),
      },
    ]);
    await vi.advanceTimersByTimeAsync(500);
    expect(events('check.failing')).toHaveLength(1); // the same failure is said once
    haproxy.failures.set('10.0.0.1:3000', { status: 'L7STS', code: '404', number: 17 }); // it listens, without /health
    await vi.advanceTimersByTimeAsync(100);
    expect(events('check.failing')[1]).toMatchObject({ check: 'L7STS 404', message: '404 on /health: is --health-path right?' });
    expect(events('check.timeout')).toEqual([]);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(await outcome).toBe('rolled-back');
    expect(events('check.timeout')).toMatchObject([
      { level: 'warn', check: 'L7STS 404', message: '404 on /health: is --health-path right?' },
    ]);
  });
});

it('HAProxy 2.6: never sends del while show sess lists a stream on the server (shutdown sessions only marks them)', async () => {
  const haproxy = new FakeHaproxy();
  haproxy.boot('web-1', '10.0.0.1', 3000);
  const web1 = haproxy.servers.get('web-1')!;
  haproxy.afterCommand = (text) => {
    if (text.startsWith('shutdown sessions')) web1.streams = 1; // killed, but not gone yet
  };
  const { log, events } = recordLogs();
  const outcome = applyAction(context(haproxy, { log }), remove);
  await vi.advanceTimersByTimeAsync(4_500);
  expect(haproxy.sent).not.toContain('del server nodes/web-1');
  expect(events('wait-removable.failed')[0]).toMatchObject({ server: 'web-1', streams: 1 });
  haproxy.afterCommand = undefined;
  web1.streams = 0;
  await vi.advanceTimersByTimeAsync(2_500);
  expect(await outcome).toBe('done');
  expect(haproxy.sent.at(-1)).toBe('del server nodes/web-1');
});

describe('applyAction: a drain', () => {
  const removal: Action = {
    server: 'web-1',
    kind: 'remove',
    reason: 'test',
    steps: [{ kind: 'set-state', state: 'drain' }, ...drainToMaint(false), { kind: 'shutdown-sessions' }, { kind: 'del' }],
  };
  const DRAIN = 'set server nodes/web-1 state drain';
  const MAINT = 'set server nodes/web-1 state maint';

  /** web-1, booted with some sessions behind it; `drain` runs the removal with these settings. */
  function setup(extra: Partial<ApplyContext> = {}) {
    const haproxy = new FakeHaproxy();
    haproxy.boot('web-1', '10.0.0.1', 3000, { sessionsTotal: 40 });
    const { log, events } = recordLogs();
    const outcome = applyAction(context(haproxy, { log, ...extra }), removal);
    const web1 = haproxy.servers.get('web-1')!;
    /** A sticky user's requests reach web-1 every `everyMs` for `forMs` (HAProxy's session total grows). */
    const userActive = async (forMs: number, everyMs: number) => {
      for (let t = 0; t < forMs; t += everyMs) {
        await vi.advanceTimersByTimeAsync(everyMs);
        web1.sessionsTotal += 1;
      }
    };
    return { haproxy, web1, outcome, events, userActive };
  }

  it('without stickiness, ends as soon as nothing is in flight', async () => {
    const { haproxy, outcome, events } = setup();
    await vi.advanceTimersByTimeAsync(100);
    expect(await outcome).toBe('done');
    expect(haproxy.sent).toEqual([DRAIN, MAINT, 'shutdown sessions server nodes/web-1', 'del server nodes/web-1']);
    expect(events('drain.finished')).toMatchObject([{ sessions: 0 }]);
  });

  it('sticky: holds the drain while its users send requests, and ends --drain-idle after the last one', async () => {
    const { haproxy, outcome, events, userActive } = setup({ sticky: { drainIdleMs: 2_000 } });
    await userActive(5_000, 500);
    expect(haproxy.sent).toEqual([DRAIN]); // nothing in flight between the requests, but the users are still there
    await vi.advanceTimersByTimeAsync(1_500);
    expect(haproxy.sent).toEqual([DRAIN]);
    await vi.advanceTimersByTimeAsync(700);
    expect(await outcome).toBe('done');
    expect(haproxy.sent.slice(0, 2)).toEqual([DRAIN, MAINT]);
    const [finished] = events('drain.finished');
    expect(finished?.waitedMs).toBeGreaterThanOrEqual(7_000);
  });

  it('sticky: a user who never stops holds the drain until --drain-timeout, no longer', async () => {
    const { haproxy, outcome, events, userActive } = setup({ sticky: { drainIdleMs: 2_000 }, drainTimeoutMs: 4_000 });
    await userActive(6_000, 300);
    expect(await outcome).toBe('done');
    expect(events('drain.timeout')).toMatchObject([{ server: 'web-1', sessions: 0 }]);
    expect(events('drain.timeout')[0]?.waitedMs).toBeLessThan(4_100);
    expect(haproxy.sent).toContain('del server nodes/web-1');
  });

  it('sticky: a server that checks mark down is quiet at once (HAProxy already sends its users elsewhere)', async () => {
    const { haproxy, outcome, userActive } = setup({ sticky: { drainIdleMs: 60_000 } });
    haproxy.healthy.clear();
    await userActive(300, 100);
    expect(await outcome).toBe('done');
  });

  it('waits in maint for a request that arrived just before it, instead of cutting it', async () => {
    const { haproxy, web1, outcome, events } = setup({ sticky: { drainIdleMs: 0 } });
    haproxy.afterCommand = (text) => {
      if (text === MAINT) web1.sessions = 1; // a sticky user's request reached it between the last read and maint
    };
    await vi.advanceTimersByTimeAsync(500);
    expect(haproxy.sent).toEqual([DRAIN, MAINT]);
    web1.sessions = 0; // answered
    await vi.advanceTimersByTimeAsync(100);
    expect(await outcome).toBe('done');
    expect(haproxy.sent.slice(2)).toEqual(['shutdown sessions server nodes/web-1', 'del server nodes/web-1']);
    expect(events('inflight.timeout')).toEqual([]);
  });

  it('cuts a request still in flight when the drain timeout has run out (after at least 1 s in maint)', async () => {
    const { haproxy, web1, outcome, events } = setup({ drainTimeoutMs: 2_000 });
    web1.sessions = 1; // a long request
    await vi.advanceTimersByTimeAsync(2_100);
    expect(haproxy.sent).toEqual([DRAIN, MAINT]);
    expect(events('drain.timeout')).toMatchObject([{ sessions: 1 }]);
    await vi.advanceTimersByTimeAsync(1_100);
    expect(await outcome).toBe('done');
    expect(events('inflight.timeout')).toMatchObject([{ server: 'web-1', sessions: 1 }]);
    expect(haproxy.sent.slice(2)).toEqual(['shutdown sessions server nodes/web-1', 'del server nodes/web-1']);
  });

  it('HAProxy 2.6: waits in maint until no stream points to the server (show sess), so shutdown sessions kills none', async () => {
    const { haproxy, web1, outcome, events } = setup();
    haproxy.afterCommand = (text) => {
      if (text === MAINT) web1.streams = 2; // requests in the connect-retry turn-around: no session, no queue
    };
    await vi.advanceTimersByTimeAsync(800);
    expect(haproxy.sent).toEqual([DRAIN, MAINT]);
    web1.streams = 0; // redispatched to another server
    await vi.advanceTimersByTimeAsync(100);
    expect(await outcome).toBe('done');
    expect(haproxy.sent.slice(2)).toEqual(['shutdown sessions server nodes/web-1', 'del server nodes/web-1']);
    expect(events('inflight.timeout')).toEqual([]);
  });

  it('HAProxy 2.6: streams that never go are waited for up to the drain timeout, then cut before del', async () => {
    const { haproxy, web1, outcome, events } = setup({ drainTimeoutMs: 3_000 });
    haproxy.afterCommand = (text) => {
      if (text === MAINT) web1.streams = 1;
    };
    await vi.advanceTimersByTimeAsync(2_900);
    expect(haproxy.sent).toEqual([DRAIN, MAINT]);
    await vi.advanceTimersByTimeAsync(200);
    expect(await outcome).toBe('done');
    expect(events('inflight.timeout')).toMatchObject([{ server: 'web-1', streams: 1 }]);
    expect(haproxy.sent.slice(2)).toEqual(['shutdown sessions server nodes/web-1', 'del server nodes/web-1']);
  });

  it('HAProxy 3.0: asks HAProxy to wait until the server is removable, before shutdown sessions and before del', async () => {
    const { haproxy, outcome } = setup({ drainTimeoutMs: 5_000 });
    haproxy.version = '3.0.11-1';
    await vi.advanceTimersByTimeAsync(100);
    expect(await outcome).toBe('done');
    expect(haproxy.sent.slice(2)).toEqual([
      expect.stringMatching(/^wait \d+ srv-removable nodes\/web-1$/),
      'shutdown sessions server nodes/web-1',
      'wait 2000 srv-removable nodes/web-1',
      'del server nodes/web-1',
    ]);
  });
});
