import { describe, expect, it } from 'vitest';
import type { Member } from '../../../src/membership/member.js';
import { absentServers, goneMembers, type AbsenceMemory } from '../../../src/reconcile/absent.js';
import { dynamicMode, slotsMode } from '../../../src/reconcile/plan-mode.js';
import type { ActualServer } from '../../../src/reconcile/actual.js';
import { actualServer } from '../../helpers/fixtures.js';

const actual = (name: string, extra: Partial<ActualServer> = {}) => actualServer(name, { address: '10.0.0.1', ...extra });
const member = (name: string, address: string, status = 'alive'): Member => ({ name, address, status, tags: { role: 'backend' } });
const map = (...servers: ActualServer[]) => new Map(servers.map((s) => [s.name, s]));
const none: AbsenceMemory = { since: new Map(), gone: new Set() };

describe('absentServers', () => {
  it('only servers whose member is not listed at all: a listed member, whatever its status, is not absent', () => {
    const members = [member('a', '10.0.0.1', 'left'), member('b', '10.0.0.2', 'failed'), member('lb', '10.0.0.9')];
    const absent = absentServers(dynamicMode.memberKey, members, map(actual('a'), actual('b'), actual('c')), none, 0, 60_000);
    expect([...absent.keys()]).toEqual(['c']);
  });

  it('keeps the server of an absent member while HAProxy reports it up, until the grace ends', () => {
    const absent = absentServers(dynamicMode.memberKey, [], map(actual('a')), none, 5_000, 60_000);
    expect(absent.get('a')).toEqual({ member: 'a', since: 5_000, hold: true, reason: expect.stringMatching(/server up/), until: 65_000 });
  });

  it('removes it once HAProxy reports it down', () => {
    const absent = absentServers(dynamicMode.memberKey, [], map(actual('a', { running: false, status: 'DOWN' })), none, 0, 60_000);
    expect(absent.get('a')).toMatchObject({ hold: false, reason: expect.stringMatching(/reports the server down/) });
  });

  it('removes it once it has been absent for the grace period', () => {
    const memory = { since: new Map([['a', 1_000]]), gone: new Set<string>() };
    expect(absentServers(dynamicMode.memberKey, [], map(actual('a')), memory, 60_999, 60_000).get('a')?.hold).toBe(true);
    expect(absentServers(dynamicMode.memberKey, [], map(actual('a')), memory, 61_000, 60_000).get('a')).toMatchObject({
      hold: false,
      reason: 'member absent from the member list for 60 s',
    });
  });

  it('removes it at once when the member was seen going before it went missing (Serf reaped it)', () => {
    const memory = { since: new Map(), gone: new Set(['a']) };
    expect(absentServers(dynamicMode.memberKey, [], map(actual('a')), memory, 0, 60_000).get('a')).toMatchObject({ hold: false });
  });

  it('leaves servers in maintenance out: they take no traffic', () => {
    expect(absentServers(dynamicMode.memberKey, [], map(actual('a', { mode: 'maint' })), none, 0, 60_000).size).toBe(0);
  });

  it('in slot mode knows a slot’s member by address', () => {
    const slots = map(actual('slot1', { address: '10.0.0.1' }), actual('slot2', { address: '10.0.0.2' }));
    const absent = absentServers(slotsMode.memberKey, [member('web-1', '10.0.0.1', 'failed')], slots, none, 0, 60_000);
    expect([...absent].map(([slot, a]) => [slot, a.member])).toEqual([['slot2', '10.0.0.2']]);
  });
});

describe('goneMembers', () => {
  it('remembers members listed leaving, left or failed, and forgets them once listed alive or no longer held by a server', () => {
    const members = [member('a', '1', 'leaving'), member('b', '2', 'left'), member('c', '3', 'failed'), member('d', '4')];
    expect([...goneMembers(dynamicMode.memberKey, members, new Set(['d']), [])].sort()).toEqual(['a', 'b', 'c']);
    const stillAbsent = [{ member: 'a', since: 0, hold: false, reason: '', until: 0 }];
    expect([...goneMembers(dynamicMode.memberKey, [], new Set(['a', 'b']), stillAbsent)]).toEqual(['a']);
  });
});
