import { describe, expect, it } from 'vitest';
import type { Fields, Logger } from '../../../src/log.js';
import type { Member } from '../../../src/membership/member.js';
import type { Service } from '../../../src/model/service.js';
import { Services, type BackendReconciler } from '../../../src/reconcile/services.js';
import { RuntimeError } from '../../../src/runtime/errors.js';
import type { Command } from '../../../src/runtime/commands.js';
import type { MapEntry } from '../../../src/runtime/parse.js';

const maps = { hosts: '/h.map', paths: '/p.map' };

/** A reconciler that records the member lists it is given. */
function fakeReconciler() {
  const lists: string[][] = [];
  const reconciler: BackendReconciler = {
    setMembers: (members: readonly Member[]) => lists.push(members.map((m) => m.name)),
    trigger: () => {},
    idle: () => Promise.resolve(),
    close: () => Promise.resolve(),
    stats: { actions: new Map() },
  };
  return { reconciler, lists };
}

function setup(options: { backends: string[]; refuse?: (command: string) => boolean; services: Service[] }) {
  const lines: { event: string; fields: Fields }[] = [];
  const record = (event: string, fields: Fields = {}) => lines.push({ event, fields });
  const log: Logger = { debug: record, info: record, warn: record, error: record };
  const entries = new Map<string, MapEntry[]>([
    [maps.hosts, []],
    [maps.paths, []],
  ]);
  const sent: string[] = [];
  const client = {
    connected: true,
    backends: () => Promise.resolve([...options.backends]),
    mapEntries: (map: string) => Promise.resolve(entries.get(map) ?? []),
    run: (command: Command) => {
      sent.push(command.text);
      if (options.refuse?.(command.text)) return Promise.reject(new RuntimeError('RUNTIME_COMMAND_REJECTED', 'refused', {}));
      const [verb, , map, key, value] = command.text.split(' ') as [string, string, string, string, string];
      if (verb === 'add') entries.get(map)!.push({ ref: '0x1', key, value });
      return Promise.resolve('');
    },
  };
  const main = fakeReconciler();
  const units = options.services.map((service) => ({ service, ...fakeReconciler() }));
  const services = new Services({
    client,
    role: 'backend',
    main: main.reconciler,
    services: units.map(({ service, reconciler }) => ({ service, reconciler })),
    maps,
    apply: 'restart HAProxy',
    log,
  });
  return { services, main, units, lines, sent, entries };
}

const member = (name: string, service?: string): Member => ({
  name,
  address: '127.0.0.2',
  status: 'alive',
  tags: { role: 'backend', ...(service ? { service } : {}) },
});
const members = [member('web-1'), member('api-1', 'api'), member('other-1', 'other'), member('odd-1', 'nope')];

describe('Services: one reconciler per backend', () => {
  it("gives each present backend's reconciler the members, routes them, reports a missing backend and an unknown service", async () => {
    const api: Service = { name: 'api', hosts: ['api.example'], paths: [] };
    const other: Service = { name: 'other', hosts: [], paths: ['/other'] };
    const { services, main, units, lines, sent } = setup({ backends: ['nodes', 'api'], services: [api, other] });
    services.connected();
    services.setMembers(members, 'list');
    await services.idle();
    expect(main.lists.at(-1)).toEqual(['web-1', 'api-1', 'other-1', 'odd-1']);
    expect(units[0]!.lists.at(-1)).toEqual(['web-1', 'api-1', 'other-1', 'odd-1']); // it picks its own by tag
    expect(units[1]!.lists).toEqual([]); // HAProxy has no backend 'other': nothing is sent for it
    expect(sent).toEqual(['add map /h.map api.example/ api']); // and no route to it
    expect(lines.find((l) => l.event === 'services.checked')?.fields).toEqual({
      present: ['api'],
      missing: ['other'],
      apply: 'HAProxy cannot add a backend at runtime; restart HAProxy',
    });
    expect(lines.filter((l) => l.event === 'member.unknown-service').map((l) => l.fields)).toEqual([
      { member: '"odd-1"', service: '"nope"', services: ['api', 'other'] },
    ]);
    services.setMembers(members, 'list');
    await services.idle();
    expect(lines.filter((l) => l.event === 'member.unknown-service')).toHaveLength(1); // once per member and tag
    services.setMembers(members.slice(0, 3), 'list'); // odd-1 left
    await services.idle();
    expect(lines.filter((l) => l.event === 'services.unknown').map((l) => l.fields.members)).toEqual([['"odd-1" (service "nope")'], []]);
    expect(sent).toHaveLength(1); // the route is there: nothing more is sent
  });

  it('keeps driving the backends when HAProxy refuses a routing command', async () => {
    const a: Service = { name: 'a', hosts: ['a.example'], paths: [] };
    const b: Service = { name: 'b', hosts: [], paths: ['/b'] };
    const { services, units, lines, sent } = setup({
      backends: ['nodes', 'a', 'b'],
      services: [a, b],
      refuse: (c) => c.includes('a.example'),
    });
    services.connected();
    services.setMembers([member('a-1', 'a'), member('b-1', 'b')], 'list');
    await services.idle();
    expect(units.map((u) => u.lists.length > 0)).toEqual([true, true]);
    expect(sent.filter((c) => c === 'add map /p.map /b/ b')).toHaveLength(1);
    const failed = () => lines.filter((l) => l.event === 'route.failed').length;
    expect(failed()).toBeGreaterThan(0);
    const before = failed();
    services.setMembers([member('a-1', 'a'), member('b-1', 'b')], 'resync');
    await services.idle();
    expect(failed()).toBe(before + 1); // level-triggered: tried again on the next pass
    expect(sent.at(-1)).toBe('add map /h.map a.example/ a');
  });

  it('reads the backends again after a reconnect (a restarted HAProxy may have the missing one)', async () => {
    const other: Service = { name: 'other', hosts: [], paths: ['/other'] };
    const backends = ['nodes'];
    const { services, units, lines } = setup({ backends, services: [other] });
    services.connected();
    services.setMembers(members, 'list');
    await services.idle();
    expect(units[0]!.lists).toEqual([]);
    backends.push('other'); // HAProxy restarted from the rendered config
    services.connected();
    await services.idle();
    expect(units[0]!.lists).toHaveLength(1);
    expect(lines.filter((l) => l.event === 'services.checked').map((l) => l.fields.missing)).toEqual([['other'], []]);
  });
});
