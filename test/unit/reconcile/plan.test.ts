import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Member } from '../../../src/membership/member.js';
import { defaultServerPolicy, serverStates, type Server } from '../../../src/model/server.js';
import type { ActualServer } from '../../../src/reconcile/actual.js';
import { actualServer } from '../../helpers/fixtures.js';
import { desiredServers } from '../../../src/reconcile/desired.js';
import { describeStep, formatPlan, plan, type Action, type Step } from '../../../src/reconcile/plan.js';
import { planSlots } from '../../../src/reconcile/plan-slots.js';
import { dynamicMode, slotsMode } from '../../../src/reconcile/plan-mode.js';

const server = (name: string, extra: Partial<Server> = {}): Server => ({ name, address: '127.0.0.2', port: 3000, weight: 100, ...extra });
const actual = actualServer;
const map = <T extends { name: string }>(...items: T[]) => new Map(items.map((i) => [i.name, i]));
const kinds = (action: Action | undefined) => action?.steps.map((s) => (s.kind === 'set-state' ? `state ${s.state}` : s.kind));

describe('plan: every transition', () => {
  it('joins a new member: add in MAINT, enable health, wait for a passing check, then ready', () => {
    const [action] = plan(map(server('a')), new Map());
    expect(action).toMatchObject({ server: 'a', kind: 'join' });
    expect(kinds(action)).toEqual(['add', 'enable-health', 'await-check', 'state ready']);
  });

  it('removes a gone member: drain, wait for its users, maint, wait for what is in flight, shutdown sessions, del', () => {
    const [action] = plan(new Map(), map(actual('a')));
    expect(action).toMatchObject({ server: 'a', kind: 'remove', reason: 'not an alive member' });
    expect(kinds(action)).toEqual(['state drain', 'await-drained', 'state maint', 'await-drained', 'shutdown-sessions', 'del']);
    expect(action?.steps[1]).toEqual({ kind: 'await-drained', untilDown: false, users: true });
    expect(action?.steps[3]).toEqual({ kind: 'await-drained', untilDown: false, users: false });
  });

  it('lets the drain of a failed member end once it is down', () => {
    const [action] = plan(new Map(), map(actual('a')), { failed: new Set(['a']) });
    expect(action).toMatchObject({ reason: 'member failed' });
    expect(action?.steps[1]).toEqual({ kind: 'await-drained', untilDown: true, users: true });
  });

  it('resumes removals an earlier agent left half done', () => {
    expect(kinds(plan(new Map(), map(actual('a', { mode: 'drain' })))[0])).toEqual([
      'await-drained',
      'state maint',
      'await-drained',
      'shutdown-sessions',
      'del',
    ]);
    expect(kinds(plan(new Map(), map(actual('a', { mode: 'maint' })))[0])).toEqual(['shutdown-sessions', 'del']);
  });

  it('resumes joins an earlier agent left half done', () => {
    expect(kinds(plan(map(server('a')), map(actual('a', { mode: 'maint', checkEnabled: false })))[0])).toEqual([
      'enable-health',
      'await-check',
      'state ready',
    ]);
    expect(kinds(plan(map(server('a')), map(actual('a', { mode: 'maint' })))[0])).toEqual(['await-check', 'state ready']);
  });

  it('puts a draining server back in rotation when its member is alive again', () => {
    const [action] = plan(map(server('a')), map(actual('a', { mode: 'drain' })));
    expect(action).toMatchObject({ kind: 'resume', reason: 'draining' });
    expect(kinds(action)).toEqual(['state ready']);
  });

  it('updates weight and address in place', () => {
    const [action] = plan(map(server('a', { weight: 7, address: '127.0.0.3', port: 8080 })), map(actual('a')));
    expect(action).toMatchObject({ kind: 'update', reason: 'address 127.0.0.2:3000 → 127.0.0.3:8080, weight 100 → 7' });
    expect(action?.steps).toEqual([
      { kind: 'set-addr', address: '127.0.0.3', port: 8080 },
      { kind: 'set-weight', weight: 7 },
    ]);
  });

  it('does nothing when HAProxy matches, and leaves busy servers alone', () => {
    expect(plan(map(server('a')), map(actual('a')))).toEqual([]);
    expect(plan(map(server('b')), map(actual('a')), { busy: new Set(['a', 'b']) })).toEqual([]);
  });

  it('keeps a server whose absent member is held, and removes one that is not with the reason it is given', () => {
    const absent = new Map([
      ['a', { hold: true, reason: 'member absent from the member list, server up' }],
      ['b', { hold: false, reason: 'member absent from the member list and HAProxy reports the server down' }],
    ]);
    const actions = plan(new Map(), map(actual('a'), actual('b')), { absent });
    expect(actions.map((a) => [a.server, a.kind, a.reason])).toEqual([['b', 'remove', absent.get('b')!.reason]]);
  });

  it('a mode’s plan persists a kept server, so that a restarted HAProxy still boots with it', () => {
    const absent = new Map([['b', { hold: true, reason: 'kept' }]]);
    const result = dynamicMode.plan(map(server('a')), map(actual('a'), actual('b', { address: '127.0.0.3' })), { absent });
    expect(result.actions).toEqual([]);
    expect(result.persisted).toEqual([server('a'), { name: 'b', address: '127.0.0.3', port: 3000, weight: 100 }]);
  });

  it('prints a plan as the commands it would send', () => {
    const text = formatPlan(plan(map(server('a')), map(actual('b'))), { backend: 'nodes', policy: defaultServerPolicy });
    expect(text).toBe(
      [
        'join a (member is alive)',
        '  add server nodes/a 127.0.0.2:3000 check inter 1000 fastinter 200 downinter 50 rise 1 fall 2 observe layer4 error-limit 1 on-error mark-down weight 100 ' +
          'pool-max-conn -1 pool-purge-delay 5000',
        '  enable health nodes/a',
        '  (wait for the first passing health check of nodes/a)',
        '  set server nodes/a state ready',
        '  if no passing check in time, or its member goes first:',
        '    set server nodes/a state maint',
        '    (show sess every 50 ms until no stream points to nodes/a, at most 2000 ms)',
        '    del server nodes/a',
        '    if refused while connections remain: shutdown sessions server nodes/a, then the wait and the del again (at most 20 times)',
        'remove b (not an alive member)',
        '  set server nodes/b state drain',
        '  (wait until nodes/b has no sessions and no queue, and (sticky) its users have gone quiet)',
        '  set server nodes/b state maint',
        '  (wait until nodes/b has no sessions in flight)',
        '  (show sess every 50 ms until no stream points to nodes/b, at most <rest of drain timeout> ms)',
        '  shutdown sessions server nodes/b',
        '  (show sess every 50 ms until no stream points to nodes/b, at most 2000 ms)',
        '  del server nodes/b',
        '  if refused while connections remain: shutdown sessions server nodes/b, then the wait and the del again (at most 20 times)',
        '',
      ].join('\n'),
    );
    expect(formatPlan([], { backend: 'nodes', policy: defaultServerPolicy })).toBe('nothing to do: HAProxy matches the members\n');
  });
});

/** What HAProxy would hold after the step (checks pass, drains finish). */
function simulate(servers: Map<string, ActualServer>, name: string, step: Step): void {
  const current = servers.get(name);
  if (step.kind === 'add') {
    expect(current).toBeUndefined(); // never a duplicate
    servers.set(name, actual(name, { ...step.server, mode: 'maint', checkEnabled: false, checkPassed: false }));
    return;
  }
  expect(current).toBeDefined(); // never a step on a server HAProxy does not have
  const s = current as ActualServer;
  switch (step.kind) {
    case 'enable-health':
      s.checkEnabled = true;
      break;
    case 'await-check':
      expect(s.checkEnabled).toBe(true);
      s.checkPassed = true;
      break;
    case 'set-state':
      s.mode = step.state;
      break;
    case 'await-drained':
      s.sessions = 0;
      break;
    case 'del':
      expect(s.mode).toBe('maint'); // HAProxy refuses to delete anything else
      servers.delete(name);
      break;
    case 'set-weight':
      s.weight = step.weight;
      break;
    case 'set-addr':
      s.address = step.address;
      s.port = step.port;
      break;
    case 'shutdown-sessions':
      break;
  }
}

const names = ['web-1', 'web-2', 'web-3', 'web-4', 'bad;name'];
const memberOp = fc.oneof(
  fc.record({
    op: fc.constant('join' as const),
    name: fc.constantFrom(...names),
    addr: fc.integer({ min: 2, max: 5 }),
    port: fc.constantFrom('3000', '3001', '70000'),
    weight: fc.constantFrom('100', '50', '999'),
  }),
  fc.record({
    op: fc.constantFrom('leave' as const, 'fail' as const, 'reap' as const, 'repeat' as const),
    name: fc.constantFrom(...names),
  }),
);
const leftover = fc.record({
  name: fc.constantFrom(...names.slice(0, 4)),
  mode: fc.constantFrom(...serverStates),
  checkEnabled: fc.boolean(),
  weight: fc.integer({ min: 0, max: 256 }),
});

describe('plan: convergence', () => {
  it('applying a plan and planning again yields no steps, whatever the events and whatever HAProxy held', () => {
    fc.assert(
      fc.property(fc.array(leftover, { maxLength: 4 }), fc.array(memberOp, { maxLength: 30 }), (leftovers, ops) => {
        const servers = new Map<string, ActualServer>(leftovers.map((l) => [l.name, actual(l.name, l)]));
        const members = new Map<string, Member>();
        for (const op of ops) {
          if (op.op === 'join') {
            members.set(op.name, {
              name: op.name,
              address: `127.0.0.${op.addr}`,
              status: 'alive',
              tags: { role: 'backend', port: op.port, weight: op.weight },
            });
          } else if (op.op === 'leave' || op.op === 'fail') {
            const m = members.get(op.name);
            if (m) members.set(op.name, { ...m, status: op.op === 'leave' ? 'left' : 'failed' });
          } else if (op.op === 'reap') {
            members.delete(op.name);
          } // 'repeat': a duplicate or stale event changes nothing in the member list
          const desired = desiredServers([...members.values()], { role: 'backend', defaultPort: 3000, defaultWeight: 100 });
          for (const action of plan(desired.servers, servers)) for (const step of action.steps) simulate(servers, action.server, step);
          expect(plan(desired.servers, servers)).toEqual([]);
          expect([...servers.keys()].sort()).toEqual([...desired.servers.keys()].sort());
          for (const [name, want] of desired.servers) {
            expect(servers.get(name)).toMatchObject({ address: want.address, port: want.port, weight: want.weight, mode: 'ready' });
          }
          expect(servers.has('bad;name')).toBe(false);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('describes every step kind', () => {
    const steps: Step[] = [
      { kind: 'add', server: server('a') },
      { kind: 'enable-health' },
      { kind: 'await-check' },
      { kind: 'set-state', state: 'drain' },
      { kind: 'await-drained', untilDown: true, users: true },
      { kind: 'await-drained', untilDown: false, users: false },
      { kind: 'shutdown-sessions' },
      { kind: 'del' },
      { kind: 'set-weight', weight: 3 },
      { kind: 'set-addr', address: '::1', port: 80 },
    ];
    const ctx = { backend: 'nodes', policy: defaultServerPolicy, version: '2.9.1', sticky: true };
    expect(steps.flatMap((s) => describeStep('a', s, ctx))).toEqual([
      'add server nodes/a 127.0.0.2:3000 check inter 1000 fastinter 200 downinter 50 rise 1 fall 2 observe layer4 error-limit 1 on-error mark-down weight 100 ' +
        'pool-max-conn -1 pool-purge-delay 5000',
      'enable health nodes/a',
      '(wait for the first passing health check of nodes/a)',
      'set server nodes/a state drain',
      '(wait until nodes/a has no sessions and no queue, and (sticky) its users have gone quiet, or is down)',
      '(wait until nodes/a has no sessions in flight)',
      'wait <rest of drain timeout> srv-removable nodes/a',
      'shutdown sessions server nodes/a',
      'wait 2000 srv-removable nodes/a',
      'del server nodes/a',
      'if refused while connections remain: shutdown sessions server nodes/a, then the wait and the del again (at most 20 times)',
      'set server nodes/a weight 3',
      '(read back: show servers state nodes)',
      'set server nodes/a addr ::1 port 80',
      '(read back: show servers state nodes)',
    ]);
    expect(describeStep('a', { kind: 'set-state', state: 'ready' }, ctx)).toEqual([
      'enable dynamic-cookie backend nodes',
      'set server nodes/a state ready',
    ]);
    expect(describeStep('a', { kind: 'set-state', state: 'ready' }, { ...ctx, version: '3.0.5' })).toEqual([
      'set server nodes/a state ready',
    ]);
  });
});

describe('planSlots: fixed server slots', () => {
  const slot = (name: string, extra: Partial<ActualServer> = {}) =>
    actual(name, { address: '0.0.0.0', port: 3000, mode: 'maint', checkEnabled: true, checkPassed: false, running: false, ...extra });

  it('fills the first free slot: address, then checked in DRAIN, then ready', () => {
    const { actions, layout } = planSlots(
      map(server('web-1', { address: '127.0.0.5', port: 3001, weight: 7 })),
      map(slot('slot1'), slot('slot2')),
    );
    expect(actions).toEqual([
      {
        server: 'slot1',
        kind: 'join',
        reason: 'member web-1',
        steps: [
          { kind: 'set-addr', address: '127.0.0.5', port: 3001 },
          { kind: 'set-weight', weight: 7 },
          { kind: 'set-state', state: 'drain' },
          { kind: 'await-check' },
          { kind: 'set-state', state: 'ready' },
        ],
        rollback: [{ kind: 'set-state', state: 'maint' }],
      },
    ]);
    expect(layout.map((l) => [l.slot.name, l.member?.name])).toEqual([
      ['slot1', 'web-1'],
      ['slot2', undefined],
    ]);
  });

  it('adopts slots already holding members, and frees the slot of a member that left', () => {
    const { actions } = planSlots(
      map(server('web-1')),
      map(slot('slot1', { address: '127.0.0.2', mode: 'ready' }), slot('slot2', { address: '127.0.0.9', mode: 'ready' })),
    );
    expect(actions).toEqual([
      {
        server: 'slot2',
        kind: 'remove',
        reason: 'frees slot of 127.0.0.9:3000',
        steps: [
          { kind: 'set-state', state: 'drain' },
          { kind: 'await-drained', untilDown: false, users: true },
          { kind: 'set-state', state: 'maint' },
          { kind: 'await-drained', untilDown: false, users: false },
        ],
      },
    ]);
  });

  it('gives a returning member its old slot back without changing the address', () => {
    const { actions } = planSlots(map(server('web-1')), map(slot('slot1'), slot('slot2', { address: '127.0.0.2' })));
    expect(actions.map((a) => [a.server, kinds(a)])).toEqual([['slot2', ['state drain', 'await-check', 'state ready']]]);
  });

  it('never places a member twice while its slot is being filled', () => {
    const { actions } = planSlots(map(server('web-1')), map(slot('slot1', { address: '127.0.0.2' }), slot('slot2')), {
      busy: new Set(['slot1']),
    });
    expect(actions).toEqual([]);
  });

  it('reports members for which no slot is free', () => {
    const result = planSlots(map(server('a'), server('b', { address: '127.0.0.3' })), map(slot('slot1')));
    expect(result.actions.map((a) => a.reason)).toEqual(['member a']);
    expect(result.unplaced).toEqual(['b']);
  });

  it('a mode’s plan persists every slot with its occupant, the empty ones disabled; dynamic mode persists the desired servers', () => {
    const desired = map(server('a'), server('b', { address: '127.0.0.3' }));
    const slots = slotsMode.plan(desired, map(slot('slot1'), slot('slot2', { address: '127.0.0.9', port: 1 }), slot('slot3')));
    expect(slots.persisted).toEqual([
      { name: 'slot1', address: '127.0.0.2', port: 3000, weight: 100 },
      { name: 'slot2', address: '127.0.0.3', port: 3000, weight: 100 },
      { name: 'slot3', address: '0.0.0.0', port: 3000, weight: 100, disabled: true },
    ]);
    expect(slots.unplaced).toEqual([]);
    const dynamic = dynamicMode.plan(desired, new Map());
    expect(dynamic).toEqual({
      actions: plan(desired, new Map()),
      persisted: [...desired.values()],
      unplaced: [],
      memberOf: expect.any(Function),
    });
    expect(dynamic.memberOf('a')).toBe('a');
    expect(slots.memberOf('slot3')).toBeUndefined();
  });

  it('neither frees nor refills a held slot, and persists it with its occupant', () => {
    const absent = new Map([['slot1', { hold: true, reason: 'kept' }]]);
    const slots = map(slot('slot1', { address: '127.0.0.7', mode: 'ready' }), slot('slot2'));
    const result = slotsMode.plan(map(server('b', { address: '127.0.0.3' })), slots, { absent });
    expect(result.actions.map((a) => [a.server, a.kind])).toEqual([['slot2', 'join']]);
    expect(result.persisted[0]).toEqual({ name: 'slot1', address: '127.0.0.7', port: 3000, weight: 100 });
    const removed = planSlots(new Map(), slots, { absent: new Map([['slot1', { hold: false, reason: 'down' }]]) });
    expect(removed.actions.map((a) => [a.server, a.kind, a.reason])).toEqual([['slot1', 'remove', 'down']]);
  });

  it('converges: applying a slot plan and planning again yields no steps', () => {
    fc.assert(
      fc.property(fc.array(memberOp, { maxLength: 30 }), (ops) => {
        const slots = new Map(['slot1', 'slot2', 'slot3'].map((n) => [n, slot(n)]));
        const members = new Map<string, Member>();
        for (const op of ops) {
          if (op.op === 'join')
            members.set(op.name, {
              name: op.name,
              address: `127.0.0.${op.addr}`,
              status: 'alive',
              tags: { role: 'backend', port: op.port, weight: op.weight },
            });
          else if (op.op !== 'repeat') members.delete(op.name);
          const desired = desiredServers([...members.values()], { role: 'backend', defaultPort: 3000, defaultWeight: 100 });
          for (const action of planSlots(desired.servers, slots).actions)
            for (const step of action.steps) simulate(slots, action.server, step);
          const again = planSlots(desired.servers, slots);
          expect(again.actions).toEqual([]);
          expect(slots.size).toBe(3); // slots are never added or deleted
          const held = again.layout
            .filter((l) => l.member)
            .map((l) => l.member!.name)
            .sort();
          const byAddress = new Set([...desired.servers.values()].map((s) => `${s.address}:${s.port}`));
          expect(held.length).toBe(Math.min(3, byAddress.size));
          for (const { slot: s, member } of again.layout) {
            expect(s.mode).toBe(member ? 'ready' : 'maint');
            if (member) expect(s).toMatchObject({ address: member.address, port: member.port, weight: member.weight });
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('planSlots: a member that moves when every slot is taken', () => {
  it('frees the slot of its old endpoint and moves it in, in one ordered action', () => {
    const slot = (name: string, address: string, port: number) => actual(name, { address, port });
    const { actions, unplaced } = planSlots(
      map(
        server('web-1', { address: '127.0.0.3', port: 3001 }),
        server('web-3', { address: '127.0.0.3' }),
        server('web-4', { port: 3001 }),
      ),
      map(slot('slot1', '127.0.0.2', 3000), slot('slot2', '127.0.0.2', 3001), slot('slot3', '127.0.0.3', 3000)),
    );
    expect(unplaced).toEqual([]);
    expect(actions.map((a) => [a.server, a.kind, a.reason, kinds(a)])).toEqual([
      [
        'slot1',
        'join',
        'frees slot of 127.0.0.2:3000, then member web-1',
        ['state drain', 'await-drained', 'state maint', 'await-drained', 'set-addr', 'state drain', 'await-check', 'state ready'],
      ],
    ]);
  });
});
