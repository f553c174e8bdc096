/** The pure decision (decide.ts): memory in, memory out, over several looks. */
import { describe, expect, it } from 'vitest';
import type { Member } from '../../../src/membership/member.js';
import type { ActualServer } from '../../../src/reconcile/actual.js';
import { decide, freshMemory, type DecideSettings, type Look, type Memory } from '../../../src/reconcile/decide.js';
import { dynamicMode, slotsMode } from '../../../src/reconcile/plan-mode.js';
import { actualServer } from '../../helpers/fixtures.js';

const member = (name: string, n: number, status = 'alive', tags: Record<string, string> = { role: 'backend' }): Member => ({
  name,
  address: `10.0.0.${n}`,
  status,
  tags,
});
const actual = (name: string, n: number, extra: Partial<ActualServer> = {}) =>
  actualServer(name, { address: `10.0.0.${n}`, port: 3000, ...extra });
const map = (...servers: ActualServer[]) => new Map(servers.map((s) => [s.name, s]));
const settings: DecideSettings = {
  mode: dynamicMode,
  desired: { role: 'backend', defaultPort: 3000, defaultWeight: 100 },
  absentGraceMs: 60_000,
};
const look = (members: Member[], servers: Map<string, ActualServer>, now = 0, extra: Partial<Look> = {}): Look => ({
  members,
  actual: servers,
  busy: new Set(),
  now,
  wallNow: 1_000_000 + now,
  ...extra,
});

describe('decide', () => {
  it('plans the actions and the servers to persist, and records what the agent is about to set itself', () => {
    const decision = decide(freshMemory(), look([member('a', 1), member('b', 2, 'left')], map(actual('b', 2))), settings);
    expect(decision.actions.map((a) => `${a.kind} ${a.server}`)).toEqual(['join a', 'remove b']);
    expect(decision.persisted.map((s) => s.name)).toEqual(['a']);
    expect([...decision.memory.ledger.own]).toEqual([
      ['a', 'join'],
      ['b', 'remove'],
    ]);
    expect(decision.ledgerChanged).toBe('own');
    expect(decide(freshMemory(), look([member('a', 1)], new Map()), { ...settings, dryRun: true }).ledgerChanged).toBeUndefined();
  });

  it('remembers since when a member is absent, asks to look again when its grace ends, and reports it once', () => {
    const first = decide(freshMemory(), look([], map(actual('a', 1)), 1_000), settings);
    expect(first.actions).toEqual([]);
    expect(first.news.absent).toMatchObject([{ member: 'a', server: 'a', hold: true, since: 1_000 }]);
    expect(first.lookAgainAt).toBe(61_000);
    const second = decide(first.memory, look([], map(actual('a', 1)), 30_000), settings);
    expect(second.news.absent).toEqual([]);
    expect(second.lookAgainAt).toBe(61_000);
    const third = decide(second.memory, look([], map(actual('a', 1)), 61_000), settings);
    expect(third.actions.map((a) => `${a.kind} ${a.server}`)).toEqual(['remove a']);
    expect(third.lookAgainAt).toBeUndefined();
  });

  it('reports a member back in the list, and a member seen going then gone is removed at once', () => {
    const absent = decide(freshMemory(), look([], map(actual('a', 1)), 0), settings);
    const back = decide(absent.memory, look([member('a', 1)], map(actual('a', 1)), 5_000), settings);
    expect(back.news.returned).toEqual([{ member: 'a', absentMs: 5_000 }]);
    expect(back.memory.absentSince.size).toBe(0);
    const leaving = decide(back.memory, look([member('a', 1, 'leaving')], map(actual('a', 1)), 6_000), { ...settings, dryRun: true });
    const reaped = decide(leaving.memory, look([], map(actual('a', 1)), 7_000), settings);
    expect(reaped.absent.get('a')).toMatchObject({ hold: false, reason: expect.stringMatching(/left or failed/) });
  });

  it('reports a rejected member when first seen or when its reason changes', () => {
    const bad = (port: string) => member('a', 1, 'alive', { role: 'backend', port });
    const first = decide(freshMemory(), look([bad('x')], new Map()), settings);
    expect(first.news.rejected).toHaveLength(1);
    expect(decide(first.memory, look([bad('x')], new Map()), settings).news.rejected).toEqual([]);
    expect(decide(first.memory, look([bad('99999')], new Map()), settings).news.rejected).toHaveLength(1);
  });

  it('judges holds in dynamic mode only, and leaves busy servers alone', () => {
    const maint = map(actual('a', 1, { mode: 'maint' }));
    const held = decide(freshMemory(), look([member('a', 1)], maint), settings);
    expect(held.news.holds.started).toMatchObject([{ server: 'a', state: 'maint' }]);
    expect(held.actions).toEqual([]);
    expect(held.ledgerChanged).toBe('holds');
    const slots = decide(freshMemory(), look([member('a', 1)], maint), { ...settings, mode: slotsMode });
    expect(slots.news.holds.started).toEqual([]);
    const busy = decide(freshMemory(), look([member('a', 1)], maint, 0, { busy: new Set(['a']) }), settings);
    expect(busy.news.holds.started).toEqual([]);
    expect(busy.actions).toEqual([]);
  });

  it('reports the members without a slot when that list changes', () => {
    const memory: Memory = freshMemory();
    const full = decide(memory, look([member('a', 1), member('b', 2)], map(actual('slot1', 1))), { ...settings, mode: slotsMode });
    expect(full.news.unplaced).toEqual(['b']);
    expect(
      decide(full.memory, look([member('a', 1), member('b', 2)], map(actual('slot1', 1))), { ...settings, mode: slotsMode }).news.unplaced,
    ).toBeUndefined();
  });
});
