import { describe, expect, it } from 'vitest';
import type { Member } from '../../../src/membership/member.js';
import { desiredServers, unknownServices } from '../../../src/reconcile/desired.js';

const options = { role: 'backend', defaultPort: 3000, defaultWeight: 100 };
const member = (name: string, extra: Partial<Member> = {}, tags: Record<string, string> = {}): Member => ({
  name,
  address: '127.0.0.2',
  status: 'alive',
  tags: { role: 'backend', ...tags },
  ...extra,
});

describe('desiredServers', () => {
  it('takes alive members with the role tag, with default port and weight', () => {
    const { servers, rejected } = desiredServers(
      [
        member('web-1'),
        member('web-2', { address: '::1' }, { port: '8080', weight: '7' }),
        member('lb', {}, { role: 'lb' }),
        member('untagged', { tags: {} }),
        member('gone', { status: 'left' }),
        member('dead', { status: 'failed' }),
        member('leaving', { status: 'leaving' }),
      ],
      options,
    );
    expect([...servers.values()]).toEqual([
      { name: 'web-1', address: '127.0.0.2', port: 3000, weight: 100 },
      { name: 'web-2', address: '::1', port: 8080, weight: 7 },
    ]);
    expect(rejected).toEqual([]);
  });

  it.each([
    ['x;shutdown sessions server nodes/s1', {}, {}, 'name'],
    ['a b', {}, {}, 'name'],
    ['cr\rname', {}, {}, 'name'],
    ['lf\nserver evil 1.2.3.4:80', {}, {}, 'name'],
    ['tab\tname', {}, {}, 'name'],
    ['nul\0name', {}, {}, 'name'],
    ['back\\slash', {}, {}, 'name'],
    ['{{name}}', {}, {}, 'name'],
    ['ünï', {}, {}, 'name'],
    ['x'.repeat(65), {}, {}, 'name'],
    ['bad-addr', { address: '' }, {}, 'address'],
    ['port-0', {}, { port: '0' }, 'port'],
    ['port-65536', {}, { port: '65536' }, 'port'],
    ['port-inject', {}, { port: '3000;x' }, 'port'],
    ['port-space', {}, { port: ' 3000' }, 'port'],
    ['weight-neg', {}, { weight: '-1' }, 'weight'],
    ['weight-1000', {}, { weight: '1000' }, 'weight'],
    ['weight-text', {}, { weight: 'heavy' }, 'weight'],
  ])('rejects %j, naming the field, and keeps the others', (name, extra, tags, field) => {
    const { servers, rejected } = desiredServers([member('ok'), member(name, extra, tags)], options);
    expect([...servers.keys()]).toEqual(['ok']);
    expect(rejected).toEqual([{ member: JSON.stringify(name), reason: expect.stringMatching(new RegExp(`^${field}: `)) }]);
  });

  it('applies an address policy', () => {
    const { servers, rejected } = desiredServers([member('a'), member('b', { address: '8.8.8.8' })], {
      ...options,
      refuseAddress: (address) => (address.startsWith('127.') ? undefined : 'outside 127.0.0.0/8'),
    });
    expect([...servers.keys()]).toEqual(['a']);
    expect(rejected).toEqual([{ member: '"b"', reason: 'address: outside 127.0.0.0/8' }]);
  });
});

describe('services: a member serves the backend its service tag names', () => {
  const members = [
    member('web-1'),
    member('api-1', {}, { service: 'api' }),
    member('odd-1', {}, { service: 'nope' }),
    member('evil', {}, { service: 'api;del server nodes/web-1' }),
    member('lb', {}, { role: 'lb', service: 'nope' }),
    member('gone', { status: 'left' }, { service: 'nope' }),
  ];

  it('gives the default backend only the members without a tag, and a service only its own', () => {
    expect([...desiredServers(members, options).servers.keys()]).toEqual(['web-1']);
    expect([...desiredServers(members, { ...options, service: 'api' }).servers.keys()]).toEqual(['api-1']);
  });

  it('reports alive members of the role whose service is not configured, JSON-quoted', () => {
    expect(unknownServices(members, 'backend', new Set(['api']))).toEqual([
      { member: '"odd-1"', service: '"nope"' },
      { member: '"evil"', service: '"api;del server nodes/web-1"' },
    ]);
    expect(unknownServices(members, 'backend', new Set(['api', 'nope', 'api;del server nodes/web-1']))).toEqual([]);
  });
});

describe('desiredServers with a memo (one reconciler, unchanged member objects)', () => {
  it('judges a member object once, judges a changed (new) object afresh, and refuses an invalid one with the same reason each pass', () => {
    const memo = new WeakMap();
    const judged: string[] = [];
    const counting = { ...options, refuseAddress: (address: string) => (judged.push(address), undefined) };
    const web1 = member('web-1');
    const bad = member('x;shutdown sessions server nodes/s1');
    const first = desiredServers([web1, bad], counting, memo);
    const again = desiredServers([web1, bad], counting, memo);
    expect(judged).toEqual(['127.0.0.2']);
    expect(again.servers.get('web-1')).toBe(first.servers.get('web-1'));
    expect(again.rejected).toEqual(first.rejected);
    expect(first.rejected).toEqual(desiredServers([bad], options).rejected);

    const moved = member('web-1', { address: '127.0.0.9' }, { port: 'nope' });
    const changed = desiredServers([moved], counting, memo);
    expect(changed.servers.size).toBe(0);
    expect(changed.rejected).toEqual(desiredServers([moved], options).rejected);
    expect(changed.rejected[0]?.reason).toMatch(/^port/);
    const fixed = member('web-1', { address: '127.0.0.9' });
    expect([...desiredServers([fixed], counting, memo).servers.values()]).toEqual([
      { name: 'web-1', address: '127.0.0.9', port: 3000, weight: 100 },
    ]);
  });

  it('still filters by status and role on every pass: a member object is judged, not its membership', () => {
    const memo = new WeakMap();
    const web1 = member('web-1');
    expect(desiredServers([web1], options, memo).servers.size).toBe(1);
    expect(desiredServers([{ ...web1, status: 'leaving' }], options, memo).servers.size).toBe(0);
  });
});
