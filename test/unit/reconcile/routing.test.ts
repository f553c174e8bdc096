import { describe, expect, it } from 'vitest';
import type { Service } from '../../../src/model/service.js';
import { mapSteps } from '../../../src/reconcile/routing.js';
import { mapFileText, routingMaps, routingTable } from '../../../src/render/routes.js';

const service = (name: string, hosts: string[], paths: string[] = []): Service => ({ name, hosts, paths });
const entry = (key: string, value: string, ref = '0x1') => ({ ref, key, value });
const texts = (current: ReturnType<typeof entry>[], desired: Map<string, string>) =>
  mapSteps('/m.map', current, desired).map((c) => c.text);

describe('routing', () => {
  it('puts host routes in the hosts map and path-only routes in the paths map', () => {
    const table = routingTable([
      service('api', ['api.example'], ['/v1']),
      service('admin', [], ['/admin']),
      service('www', ['www.example']),
    ]);
    expect([...table.hosts]).toEqual([
      ['api.example/v1/', 'api'],
      ['www.example/', 'www'],
    ]);
    expect([...table.paths]).toEqual([['/admin/', 'admin']]);
    expect(routingMaps('/etc/haproxy/haproxy.cfg')).toEqual({
      hosts: '/etc/haproxy/haproxy.cfg.hosts.map',
      paths: '/etc/haproxy/haproxy.cfg.paths.map',
    });
  });

  it('renders a map file sorted, so the same routes give the same bytes', () => {
    const text = mapFileText(
      new Map([
        ['b.example/', 'b'],
        ['a.example/', 'a'],
      ]),
    );
    expect(text.split('\n').slice(1)).toEqual(['a.example/ a', 'b.example/ b', '']);
    expect(text.startsWith('#')).toBe(true);
  });

  it('sends nothing when the map already holds the routes', () => {
    expect(texts([entry('a.example/', 'api')], new Map([['a.example/', 'api']]))).toEqual([]);
  });

  it('adds a new route, sets a moved one and deletes one no longer wanted', () => {
    expect(
      texts(
        [entry('a.example/', 'api'), entry('old.example/', 'api'), entry('b.example/', 'web')],
        new Map([
          ['a.example/', 'api'],
          ['b.example/', 'api'],
          ['new.example/', 'web'],
        ]),
      ),
    ).toEqual(['del map /m.map old.example/', 'set map /m.map b.example/ api', 'add map /m.map new.example/ web']);
  });

  it('leaves exactly one entry for a key HAProxy holds twice', () => {
    expect(texts([entry('a.example/', 'api', '0x1'), entry('a.example/', 'web', '0x2')], new Map([['a.example/', 'api']]))).toEqual([
      'del map /m.map a.example/',
      'add map /m.map a.example/ api',
    ]);
  });

  it('converges: applying the steps to the entries, then planning again, gives no step', () => {
    const desired = new Map([
      ['a.example/', 'api'],
      ['c.example/x', 'web'],
    ]);
    let current = [entry('a.example/', 'web'), entry('b.example/', 'web'), entry('b.example/', 'api')];
    for (const step of mapSteps('/m.map', current, desired)) {
      const [verb, , , key, value] = step.text.split(' ') as [string, string, string, string, string];
      if (verb === 'del') current = current.filter((e) => e.key !== key);
      if (verb === 'set') current = current.map((e) => (e.key === key ? { ...e, value } : e));
      if (verb === 'add') current = [...current, entry(key, value)];
    }
    expect(mapSteps('/m.map', current, desired)).toEqual([]);
  });
});
