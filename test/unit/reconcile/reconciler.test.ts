/**
 * The reconciler over a fake HAProxy (test/helpers/fake-haproxy.ts) with fake time: the cases the
 * real-process tests cannot reach on purpose (a command refused once, a Pid change between two
 * steps, a connection lost in the middle of a drain, a member that leaves before its first check).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Member } from '../../../src/membership/member.js';
import { Reconciler, type ReconcilerOptions } from '../../../src/reconcile/reconciler.js';
import type { RuntimeApi } from '../../../src/reconcile/runtime-api.js';
import type { ConfigServer } from '../../../src/render/template.js';
import { FakeHaproxy } from '../../helpers/fake-haproxy.js';
import { recordLogs } from '../../helpers/log.js';
import { reconcilerOptions } from '../../helpers/reconciler.js';

const member = (name: string, n: number, status = 'alive'): Member => ({ name, address: `10.0.0.${n}`, status, tags: { role: 'backend' } });

function setup(options: Partial<ReconcilerOptions> = {}) {
  const haproxy = new FakeHaproxy();
  const { lines, log, events } = recordLogs();
  const persisted: ConfigServer[][] = [];
  const reconciler = new Reconciler({
    ...reconcilerOptions(haproxy, log),
    persist: async (servers) => persisted.push(servers),
    ...options,
  });
  /** Advances fake time in small steps until `done` holds; fails after `limitMs` of fake time. */
  const until = async (what: string, done: () => boolean, limitMs = 60_000) => {
    for (let waited = 0; !done(); waited += 50) {
      if (waited > limitMs) throw new Error(`not within ${limitMs} ms of fake time: ${what}`);
      await vi.advanceTimersByTimeAsync(50);
    }
  };
  /** Until no pass and no action runs. */
  const settled = async () => {
    let idle = false;
    void reconciler.idle().then(() => (idle = true));
    await until('the reconciler idle', () => idle);
  };
  return { haproxy, lines, persisted, reconciler, events, until, settled };
}

const ready = (haproxy: FakeHaproxy) =>
  [...haproxy.servers.values()]
    .filter((s) => s.mode === 'ready')
    .map((s) => s.name)
    .sort();

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('Reconciler over a fake HAProxy', () => {
  it('brings joining members in: add (MAINT) → enable health → first passing check → ready', async () => {
    const { haproxy, reconciler, settled, persisted } = setup();
    haproxy.healthy.add('10.0.0.1:3000');
    reconciler.setMembers([member('web-1', 1)], 'member-join');
    await settled();
    expect(haproxy.sent).toEqual([
      expect.stringMatching(/^add server nodes\/web-1 10\.0\.0\.1:3000 check /),
      'enable health nodes/web-1',
      'set server nodes/web-1 state ready',
    ]);
    expect(ready(haproxy)).toEqual(['web-1']);
    expect(persisted.at(-1)?.map((s) => s.name)).toEqual(['web-1']);
  });

  it('duplicated events do nothing twice: a server with an action in flight is left alone, a converged one gets no command', async () => {
    const { haproxy, reconciler, settled, until } = setup();
    const members = [member('web-1', 1), member('web-2', 2)];
    reconciler.setMembers(members, 'member-join');
    reconciler.setMembers(members, 'member-join');
    // Both joins now wait for a first check; the same event again, mid-action.
    await until('both added', () => haproxy.servers.size === 2);
    reconciler.setMembers(members, 'member-join');
    await vi.advanceTimersByTimeAsync(500);
    haproxy.healthy.add('10.0.0.1:3000').add('10.0.0.2:3000');
    await settled();
    reconciler.setMembers(members, 'member-update');
    reconciler.setMembers(members, 'resync');
    await settled();
    expect(haproxy.sent.filter((c) => c.startsWith('add server'))).toHaveLength(2);
    expect(haproxy.sent.filter((c) => c.endsWith('state ready'))).toHaveLength(2);
    expect(haproxy.sent).toHaveLength(6);
    expect(ready(haproxy)).toEqual(['web-1', 'web-2']);
  });

  it('lost events do no harm: the next full list (a resync) is the truth, whatever was missed in between', async () => {
    const { haproxy, reconciler, settled } = setup();
    haproxy.boot('web-1', '10.0.0.1', 3000);
    haproxy.boot('web-2', '10.0.0.2', 3000);
    reconciler.setMembers([member('web-1', 1), member('web-2', 2)], 'connected');
    await settled();
    expect(haproxy.sent).toEqual([]); // adopted as they are
    // web-2 left, web-3 joined and web-1 moved, and none of those events arrived: only the resync's list.
    haproxy.healthy.add('10.0.0.3:3000').add('10.0.0.9:3000');
    reconciler.setMembers([{ ...member('web-1', 9) }, member('web-2', 2, 'left'), member('web-3', 3)], 'resync');
    await settled();
    expect([...haproxy.servers.values()].map((s) => `${s.name} ${s.address} ${s.mode}`).sort()).toEqual([
      'web-1 10.0.0.9 ready',
      'web-3 10.0.0.3 ready',
    ]);
    expect(haproxy.sent).toContain('set server nodes/web-2 state drain');
    expect(haproxy.sent).toContain('set server nodes/web-1 addr 10.0.0.9 port 3000');
  });

  it('a change seen while the config is being written is acted on at once: a pass never waits for the file', async () => {
    const unfinished: Array<() => void> = [];
    const writes: string[][] = [];
    const { haproxy, reconciler, until } = setup({
      // A slow write (`haproxy -c` on a busy machine) that only ends when the test says so.
      persist: (servers) => {
        writes.push(servers.map((s) => s.name));
        return new Promise<void>((resolve) => unfinished.push(resolve));
      },
    });
    haproxy.boot('web-1', '10.0.0.1', 3000);
    haproxy.boot('web-2', '10.0.0.2', 3000);
    reconciler.setMembers([member('web-1', 1, 'leaving'), member('web-2', 2)], 'serf stats changed');
    await until('web-1 drained', () => haproxy.sent.includes('set server nodes/web-1 state drain'));
    reconciler.setMembers([member('web-1', 1, 'leaving'), member('web-2', 2, 'leaving')], 'serf stats changed');
    await until('web-2 drained, the first write still running', () => haproxy.sent.includes('set server nodes/web-2 state drain'));
    expect(writes.length).toBeGreaterThanOrEqual(2);
    let idle = false;
    void reconciler.idle().then(() => (idle = true));
    await until('both removed', () => haproxy.servers.size === 0);
    await vi.advanceTimersByTimeAsync(100);
    expect(idle).toBe(false); // `idle` still waits for the write (a one-shot `ha-agent handle` must not exit before it)
    for (const end of unfinished.splice(0)) end();
    await until('idle once the writes ended', () => {
      for (const end of unfinished.splice(0)) end();
      return idle;
    });
  });

  it("writes the config only once the pass's first commands are answered, and in the order the passes asked", async () => {
    const haproxy = new FakeHaproxy();
    let answerDrain: (() => void) | undefined;
    // The drain's answer is held until the test lets it through: the write must not start before it is read.
    const client: RuntimeApi = {
      get connected() {
        return haproxy.connected;
      },
      get version() {
        return haproxy.version;
      },
      run: async (command) => {
        if (command.text.endsWith('state drain')) await new Promise<void>((resolve) => (answerDrain = resolve));
        return haproxy.run(command);
      },
      serversState: (backend) => haproxy.serversState(backend),
      stat: (backend) => haproxy.stat(backend),
    };
    const writes: string[][] = [];
    const { reconciler, until, settled } = setup({
      client,
      persist: async (servers) => writes.push(servers.map((s) => s.name)),
    });
    haproxy.boot('web-1', '10.0.0.1', 3000);
    haproxy.boot('web-2', '10.0.0.2', 3000);
    haproxy.healthy.add('10.0.0.3:3000');
    reconciler.setMembers([member('web-1', 1, 'leaving'), member('web-2', 2)], 'serf stats changed');
    await until('the drain sent', () => answerDrain !== undefined);
    // A second pass meanwhile: its join is answered at once, but its write comes after the first pass's.
    reconciler.setMembers([member('web-1', 1, 'leaving'), member('web-2', 2), member('web-3', 3)], 'serf stats changed');
    await until('web-3 added', () => haproxy.servers.has('web-3'));
    await vi.advanceTimersByTimeAsync(100);
    expect(writes).toEqual([]);
    answerDrain?.();
    await until('both passes wrote', () => writes.length >= 2);
    expect(writes.slice(0, 2)).toEqual([['web-2'], ['web-2', 'web-3']]);
    await settled();
    // web-1's removal, still wanted by the second pass, ends with no pass of its own: the same servers.
    expect(writes.at(-1)).toEqual(['web-2', 'web-3']);
  });

  it('a burst seen in two lists: the joins of the first end with no pass of their own; a busy server wanted otherwise gets one', async () => {
    const { haproxy, reconciler, settled, until, events } = setup();
    const first = Array.from({ length: 20 }, (_, i) => member(`web-${i + 1}`, i + 1));
    const second = [...first, ...Array.from({ length: 20 }, (_, i) => member(`web-${i + 21}`, i + 21))];
    reconciler.setMembers(first, 'member-join');
    await until('the first joins wait for a first check', () => haproxy.sent.filter((c) => c.startsWith('enable health')).length === 20);
    // Serf's next coalesced event lists them again with the rest of the burst, while they still wait.
    reconciler.setMembers(second, 'member-join');
    await until('the second joins wait too', () => haproxy.sent.filter((c) => c.startsWith('enable health')).length === 40);
    for (const m of second) haproxy.healthy.add(`${m.address}:3000`);
    await settled();
    expect(ready(haproxy)).toHaveLength(40);
    expect(events('pass').map((l) => l.reason)).toEqual(['member-join', 'member-join']);

    // While web-41 joins, its member moves: the pass that sees it leaves the busy server alone and plans it again once the join ends.
    reconciler.setMembers([...second, member('web-41', 41)], 'member-join');
    await until('web-41 waits for a first check', () => haproxy.sent.includes('enable health nodes/web-41'));
    reconciler.setMembers([...second, member('web-41', 42)], 'member-update');
    haproxy.healthy.add('10.0.0.41:3000').add('10.0.0.42:3000');
    await settled();
    expect(
      events('pass')
        .map((l) => l.reason)
        .slice(2),
    ).toEqual(['member-join', 'member-update', 'join web-41 done']);
    expect(haproxy.servers.get('web-41')).toMatchObject({ address: '10.0.0.42', mode: 'ready' });
  });

  it('a refused command fails its action only; the others finish, and the next pass retries it', async () => {
    const { haproxy, reconciler, settled, events } = setup();
    for (const n of [1, 2, 3]) haproxy.healthy.add(`10.0.0.${n}:3000`);
    haproxy.refuse(/^set server nodes\/web-2 state ready$/, 'RUNTIME_COMMAND_REJECTED');
    reconciler.setMembers([member('web-1', 1), member('web-2', 2), member('web-3', 3)], 'member-join');
    await settled();
    const failed = events('step.failed', 'web-2');
    expect(failed).toHaveLength(1);
    expect((failed[0]!.error as { code: string }).code).toBe('RUNTIME_COMMAND_REJECTED');
    expect(reconciler.stats.actions.get('failed')).toBe(1);
    // The retry is a fresh plan from HAProxy's state: web-2 is in MAINT with checks on, so it resumes.
    expect(events('plan.action', 'web-2').map((l) => l.action)).toEqual(['join', 'resume']);
    expect(haproxy.sent.filter((c) => c === 'set server nodes/web-2 state ready')).toHaveLength(2);
    expect(haproxy.sent.filter((c) => c.startsWith('add server nodes/web-2'))).toHaveLength(1);
    expect(ready(haproxy)).toEqual(['web-1', 'web-2', 'web-3']);
  });

  it("HAProxy's Pid changes mid-action: the next step fails, and the pass after the reconnect adds the server again", async () => {
    const { haproxy, reconciler, settled, events, persisted } = setup();
    haproxy.healthy.add('10.0.0.1:3000').add('10.0.0.2:3000');
    haproxy.boot('web-1', '10.0.0.1', 3000);
    reconciler.setMembers([member('web-1', 1)], 'connected');
    await settled();
    haproxy.afterCommand = (text) => {
      if (!text.startsWith('add server nodes/web-2')) return;
      haproxy.afterCommand = undefined;
      // Killed and restarted by its supervisor between two steps, before the config listing web-2 was written.
      haproxy.restart(persisted[0]!);
      reconciler.trigger('runtime connected'); // what the client's 'connected' event does in production
    };
    reconciler.setMembers([member('web-1', 1), member('web-2', 2)], 'member-join');
    await settled();
    expect(haproxy.pid).toBe(101);
    expect(events('step.failed', 'web-2').map((l) => (l.error as { code: string }).code)).toEqual(['RUNTIME_NO_SUCH_SERVER']);
    expect(haproxy.sent.filter((c) => c.startsWith('add server nodes/web-2'))).toHaveLength(2);
    expect(ready(haproxy)).toEqual(['web-1', 'web-2']);
  });

  it('the connection drops in the middle of a drain: the drain carries on after the reconnect; one removal', async () => {
    const { haproxy, reconciler, settled, until, events } = setup();
    haproxy.boot('web-1', '10.0.0.1', 3000, { sessions: 2 });
    haproxy.boot('web-2', '10.0.0.2', 3000);
    reconciler.setMembers([member('web-1', 1), member('web-2', 2)], 'connected');
    await settled();
    reconciler.setMembers([member('web-1', 1, 'left'), member('web-2', 2)], 'member-leave');
    await until('web-1 draining', () => haproxy.servers.get('web-1')?.mode === 'drain');
    haproxy.connected = false;
    await vi.advanceTimersByTimeAsync(3_000);
    reconciler.trigger('resync'); // a pass while disconnected does nothing
    haproxy.connected = true;
    reconciler.trigger('runtime connected');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(haproxy.servers.get('web-1')?.mode).toBe('drain'); // still waiting for its 2 sessions
    haproxy.servers.get('web-1')!.sessions = 0;
    await settled();
    expect(haproxy.servers.has('web-1')).toBe(false);
    expect(haproxy.sent).toEqual([
      'set server nodes/web-1 state drain',
      'set server nodes/web-1 state maint',
      'shutdown sessions server nodes/web-1',
      'del server nodes/web-1',
    ]);
    expect(events('drain.finished', 'web-1')).toHaveLength(1);
    expect(events('step.failed')).toEqual([]);
  });

  it('the connection drops just as a drain ends: the failed step is planned again from HAProxy (DRAIN) after the reconnect', async () => {
    const { haproxy, reconciler, settled, until, events } = setup();
    haproxy.boot('web-1', '10.0.0.1', 3000, { sessions: 1 });
    reconciler.setMembers([member('web-1', 1)], 'connected');
    await settled();
    reconciler.setMembers([member('web-1', 1, 'left')], 'member-leave');
    await until('web-1 draining', () => haproxy.servers.get('web-1')?.mode === 'drain');
    haproxy.refuse(/^set server nodes\/web-1 state maint$/, 'RUNTIME_DISCONNECTED');
    haproxy.servers.get('web-1')!.sessions = 0;
    await settled();
    expect(events('step.failed', 'web-1')).toHaveLength(1);
    expect(haproxy.servers.has('web-1')).toBe(false);
    expect(events('plan.action', 'web-1').map((l) => l.steps)).toEqual([
      ['set-state', 'await-drained', 'set-state', 'await-drained', 'shutdown-sessions', 'del'],
      ['await-drained', 'set-state', 'await-drained', 'shutdown-sessions', 'del'],
    ]);
  });

  it('a member that leaves before its first passing check is taken out at once (MAINT → del), not at --check-timeout', async () => {
    const { haproxy, reconciler, settled, until, events } = setup({ checkTimeoutMs: 10_000 });
    reconciler.setMembers([member('web-1', 1)], 'member-join'); // its check never passes
    await until('web-1 waits for its check', () => haproxy.servers.get('web-1')?.checkEnabled === true);
    await vi.advanceTimersByTimeAsync(1_000);
    const leftAt = Date.now();
    reconciler.setMembers([member('web-1', 1, 'left')], 'member-leave');
    await settled();
    expect(Date.now() - leftAt).toBeLessThan(1_000); // fake time: a few poll ticks, not the 10 s check timeout
    expect(haproxy.servers.has('web-1')).toBe(false);
    expect(haproxy.sent.slice(2)).toEqual(['set server nodes/web-1 state maint', 'del server nodes/web-1']);
    expect(events('action.abandoned', 'web-1')).toHaveLength(1);
    expect(events('check.abandoned', 'web-1')).toHaveLength(1);
    expect(events('check.timeout')).toEqual([]);
    expect(reconciler.stats.actions.get('abandoned')).toBe(1);
  });

  it('a member still wanted keeps its bounded wait: rolled back only at --check-timeout, then tried again', async () => {
    const { haproxy, reconciler, until, events } = setup({ checkTimeoutMs: 10_000 });
    reconciler.setMembers([member('web-1', 1)], 'member-join');
    await until('web-1 added', () => haproxy.servers.has('web-1'));
    reconciler.setMembers([member('web-1', 1)], 'resync');
    await until('rolled back', () => events('action.rolled-back', 'web-1').length === 1, 20_000);
    expect(events('check.timeout', 'web-1').map((l) => l.waitedMs)).toEqual([expect.toSatisfy((ms: number) => ms >= 10_000)]);
    expect(events('action.abandoned')).toEqual([]);
    await until('tried again', () => events('plan.action', 'web-1').length === 2);
    await reconciler.close();
  });

  it('in slot mode, a member that leaves before its first check gets its slot freed at once', async () => {
    const { haproxy, reconciler, settled, until, events } = setup({ mode: 'slots' });
    haproxy.boot('slot1', '0.0.0.0', 3000, { mode: 'maint' });
    haproxy.boot('slot2', '0.0.0.0', 3000, { mode: 'maint' });
    reconciler.setMembers([member('web-1', 1)], 'member-join');
    await until('slot1 filled, waiting for its check', () => haproxy.servers.get('slot1')?.mode === 'drain');
    reconciler.setMembers([member('web-1', 1, 'failed')], 'member-failed');
    await settled();
    expect(haproxy.servers.get('slot1')?.mode).toBe('maint');
    expect(haproxy.sent.at(-1)).toBe('set server nodes/slot1 state maint');
    expect(events('action.abandoned', 'slot1').map((l) => l.member)).toEqual(['web-1']);
    expect(events('check.timeout')).toEqual([]);
  });

  describe('a member absent from the list (not left or failed)', () => {
    const lb: Member = { name: 'lb', address: '10.0.0.100', status: 'alive', tags: { role: 'lb' } };
    const three = [member('web-1', 1), member('web-2', 2), member('web-3', 3)];
    const serving = async (options: Partial<ReconcilerOptions> = {}) => {
      const t = setup({ absentGraceMs: 60_000, ...options });
      for (const n of [1, 2, 3]) t.haproxy.boot(`web-${n}`, `10.0.0.${n}`, 3000);
      t.reconciler.setMembers([lb, ...three], 'connected');
      await t.settled();
      return t;
    };

    it("the balancer's Serf restarts and has not rejoined: its list holds only itself, and every server is kept while UP", async () => {
      const { haproxy, reconciler, settled, events, persisted } = await serving();
      reconciler.setMembers([lb], 'serf connected');
      await settled();
      reconciler.setMembers([lb], 'resync'); // and again: still one log line per member
      await settled();
      expect(haproxy.sent).toEqual([]);
      expect(events('member.absent').map((l) => [l.member, l.action, l.removeInMs])).toEqual([
        ['web-1', 'keep', 60_000],
        ['web-2', 'keep', 60_000],
        ['web-3', 'keep', 60_000],
      ]);
      expect(persisted.at(-1)?.map((s) => s.name)).toEqual(['web-1', 'web-2', 'web-3']);
      await vi.advanceTimersByTimeAsync(20_000); // the web servers' agents rejoin it
      reconciler.setMembers([lb, ...three], 'member-join');
      await settled();
      expect(events('member.returned').map((l) => l.member)).toEqual(['web-1', 'web-2', 'web-3']);
      expect(events('member.returned').every((l) => Number(l.absentMs) >= 20_000 && Number(l.absentMs) < 21_000)).toBe(true);
      await vi.advanceTimersByTimeAsync(60_000); // the grace timer is gone with the absence
      expect(haproxy.sent).toEqual([]);
      expect(ready(haproxy)).toEqual(['web-1', 'web-2', 'web-3']);
    });

    it('absent and DOWN in HAProxy: removed at the next pass', async () => {
      const { haproxy, reconciler, settled, events } = await serving();
      reconciler.setMembers([lb, ...three.slice(1)], 'serf connected');
      await settled();
      expect(haproxy.sent).toEqual([]);
      haproxy.healthy.delete('10.0.0.1:3000'); // its checks fail
      reconciler.setMembers([lb, ...three.slice(1)], 'resync');
      await settled();
      expect(haproxy.servers.has('web-1')).toBe(false);
      expect(events('plan.action', 'web-1').map((l) => l.reason)).toEqual([
        'member absent from the member list and HAProxy reports the server down',
      ]);
      expect(ready(haproxy)).toEqual(['web-2', 'web-3']);
    });

    it('absent past the grace period: removed then, with no new member list needed', async () => {
      const { haproxy, reconciler, settled, until, events } = await serving();
      reconciler.setMembers([lb, ...three.slice(1)], 'serf connected');
      await settled();
      const since = Date.now();
      await until('web-1 removed', () => !haproxy.servers.has('web-1'), 70_000);
      expect(Date.now() - since).toBeGreaterThanOrEqual(60_000);
      expect(events('pass').at(-1)?.reason).toBe('absent member grace ended');
      expect(events('plan.action', 'web-1').map((l) => l.reason)).toEqual(['member absent from the member list for 60 s']);
      expect(haproxy.sent.filter((c) => c.includes('web-1'))).toEqual([
        'set server nodes/web-1 state drain',
        'set server nodes/web-1 state maint',
        'shutdown sessions server nodes/web-1',
        'del server nodes/web-1',
      ]);
      expect(ready(haproxy)).toEqual(['web-2', 'web-3']);
    });

    it('left or failed: removed at once as before', async () => {
      const { haproxy, reconciler, settled, events } = await serving();
      reconciler.setMembers([lb, member('web-1', 1, 'left'), member('web-2', 2, 'failed'), member('web-3', 3)], 'member-leave');
      await settled();
      expect([...haproxy.servers.keys()]).toEqual(['web-3']);
      expect(events('plan.action').map((l) => [l.server, l.reason])).toEqual([
        ['web-1', 'not an alive member'],
        ['web-2', 'member failed'],
      ]);
      expect(events('member.absent')).toEqual([]);
    });

    it('a member seen failed whose removal broke off, then reaped by Serf: removed at once, not kept', async () => {
      const { haproxy, reconciler, settled, until, events } = await serving();
      haproxy.servers.get('web-3')!.sessions = 1;
      reconciler.setMembers([lb, ...three.slice(0, 2), member('web-3', 3, 'failed')], 'member-failed');
      await until('web-3 draining', () => haproxy.servers.get('web-3')?.mode === 'drain');
      haproxy.connected = false; // the removal breaks off at its next step
      await until('removal failed', () => events('step.failed', 'web-3').length === 1);
      reconciler.setMembers([lb, ...three.slice(0, 2)], 'member-reap');
      haproxy.connected = true;
      haproxy.servers.get('web-3')!.sessions = 0;
      reconciler.trigger('runtime connected');
      await settled();
      expect(haproxy.servers.has('web-3')).toBe(false);
      expect(events('member.absent')).toEqual([
        expect.objectContaining({ member: 'web-3', action: 'remove', reason: 'member left or failed, then went from the member list' }),
      ]);
    });

    it('a restarted agent adopts the servers of absent members: kept while UP, persisted, removed after the grace', async () => {
      const { haproxy, reconciler, settled, until, events, persisted } = setup({ absentGraceMs: 30_000 });
      haproxy.boot('web-1', '10.0.0.1', 3000);
      haproxy.boot('web-2', '10.0.0.2', 3000);
      haproxy.boot('web-3', '10.0.0.3', 3000, { mode: 'drain' }); // a removal the previous agent left half done
      haproxy.healthy.delete('10.0.0.3:3000');
      reconciler.setMembers([lb, member('web-2', 2)], 'connected');
      await settled();
      expect(haproxy.sent.some((c) => c.includes('web-1'))).toBe(false);
      expect(haproxy.servers.has('web-3')).toBe(false); // DOWN: nothing to keep it for
      expect(events('member.absent').map((l) => [l.member, l.action])).toEqual([
        ['web-1', 'keep'],
        ['web-3', 'remove'],
      ]);
      expect(persisted.at(-1)?.map((s) => s.name)).toEqual(['web-2', 'web-1']);
      await until('web-1 removed', () => !haproxy.servers.has('web-1'), 40_000);
      expect(ready(haproxy)).toEqual(['web-2']);
    });

    it('in slot mode a held slot keeps its occupant, and is freed after the grace', async () => {
      const { haproxy, reconciler, settled, until } = setup({ mode: 'slots', absentGraceMs: 30_000 });
      haproxy.boot('slot1', '10.0.0.1', 3000);
      haproxy.boot('slot2', '0.0.0.0', 3000, { mode: 'maint' });
      reconciler.setMembers([lb], 'connected');
      await settled();
      expect(haproxy.sent).toEqual([]);
      await until('slot1 freed', () => haproxy.servers.get('slot1')?.mode === 'maint', 40_000);
      expect(haproxy.servers.get('slot1')?.address).toBe('10.0.0.1');
    });

    it('close() ends the grace timer: a closed reconciler sends nothing', async () => {
      const { haproxy, reconciler } = await serving();
      reconciler.setMembers([lb], 'serf connected');
      await reconciler.close();
      await vi.advanceTimersByTimeAsync(120_000);
      expect(haproxy.sent).toEqual([]);
    });
  });

  it('stops between steps on close(): no further command, and no rollback of what was already sent', async () => {
    const { haproxy, reconciler, until, events } = setup();
    reconciler.setMembers([member('web-1', 1)], 'member-join');
    await until('web-1 waits for its check', () => haproxy.servers.get('web-1')?.checkEnabled === true);
    const closing = reconciler.close();
    await vi.advanceTimersByTimeAsync(200);
    await closing;
    expect(haproxy.sent).toHaveLength(2);
    expect(events('action.aborted', 'web-1')).toHaveLength(1);
  });
});
