import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultServerPolicy } from '../../../src/model/server.js';
import { bootSettings, defaultDeployment, describeIdentity, fingerprint, parseIdentity, stamp } from '../../../src/render/identity.js';
import { judgeOwnership, settingChanges } from '../../../src/reconcile/ownership-verdict.js';
import { compileTemplate } from '../../../src/render/compile.js';
import type { ConfigModel } from '../../../src/render/template.js';
import { parseInfo } from '../../../src/runtime/parse.js';
import { templatePath } from '../../helpers/haproxy.js';

const template = readFileSync(templatePath, 'utf8');
const base: Omit<ConfigModel, 'servers'> = {
  runtime: { tcp: '127.0.0.1:9999' },
  frontend: { bind: '*:80' },
  stats: { bind: '*:1936', credentials: 'admin:s3cret-pass' },
  backend: { name: 'nodes', balance: 'roundrobin', healthPath: '/health' },
  policy: defaultServerPolicy,
};

describe('deployment identity', () => {
  it('is kept across renders into one file and differs for another file or host', () => {
    expect(defaultDeployment('lb', '/tmp/ha/haproxy.cfg')).toBe(defaultDeployment('lb', '/tmp/ha/haproxy.cfg'));
    expect(defaultDeployment('lb', '/tmp/ha/haproxy.cfg')).toMatch(/^ha-[0-9a-f]{12}$/);
    expect(defaultDeployment('lb', '/tmp/ha-agent-cluster/ha/haproxy.cfg')).not.toBe(defaultDeployment('lb', '/tmp/ha/haproxy.cfg'));
    expect(defaultDeployment('other', '/tmp/ha/haproxy.cfg')).not.toBe(defaultDeployment('lb', '/tmp/ha/haproxy.cfg'));
  });

  it('is rendered in global description and read back from the show info HAProxy 2.6 prints for it', () => {
    const { base: stamped, identity } = stamp(base, 'ha-abc', template);
    const text = compileTemplate(template)({ ...stamped, servers: [] });
    expect(text).toContain(`    description ${describeIdentity(identity!)}\n`);
    expect(text).toContain('    noreuseport\n');
    // Lines as HAProxy 2.6.12 answered `show info` for such a config.
    const info = parseInfo(`Name: HAProxy\nVersion: 2.6.12-1+deb12u4\nPid: 17836\nnode: lb\ndescription: ${describeIdentity(identity!)}\n`);
    expect(parseIdentity(info.fields.description)).toEqual(identity);
  });

  it('leaves a config without a deployment unmarked, and reads no identity from a description of its own', () => {
    const { base: plain, identity } = stamp(base, undefined, template);
    expect(identity).toBeUndefined();
    expect(compileTemplate(template)({ ...plain, servers: [] })).not.toContain('description');
    expect(parseIdentity(undefined)).toBeUndefined();
    expect(parseIdentity('Our main load balancer')).toBeUndefined();
    expect(parseIdentity('ha-agent deployment=a;b settings=0123456789ab')).toBeUndefined();
  });

  it('refuses a deployment id that would change the config line', () => {
    const identity = { deployment: 'a b\n    stats', settings: '0123456789ab' };
    expect(() => compileTemplate(template)({ ...base, identity, servers: [] })).toThrow(/identity.deployment/);
  });

  const a = { deployment: 'ha-a', settings: 'aaaaaaaaaaaa' };
  const b = { deployment: 'ha-b', settings: 'bbbbbbbbbbbb' };
  const bOld = { deployment: 'ha-b', settings: 'cccccccccccc' };
  it.each([
    ['unmarked', undefined, { owner: 'unmarked' }],
    ['foreign', a, { owner: 'foreign', found: a }],
    ['own, current', b, { owner: 'own', stale: false, found: b }],
    ['own, stale', bOld, { owner: 'own', stale: true, found: bOld }],
  ] as const)('judges an HAProxy that is %s', (_, found, verdict) => {
    expect(judgeOwnership({ deployment: 'ha-b', settings: 'bbbbbbbbbbbb' }, found)).toEqual(verdict);
  });
});

describe('boot settings', () => {
  it('cover everything rendered outside the servers, with the stats password hashed', () => {
    const settings = bootSettings(base, template);
    expect(Object.keys(settings).sort()).toEqual([
      'backend.balance',
      'backend.healthPath',
      'backend.name',
      'frontend.bind',
      'runtime.operator',
      'runtime.tcp',
      'runtime.unixSocket',
      'stats.bind',
      'stats.credentials',
      'template',
    ]);
    expect(JSON.stringify(settings)).not.toContain('s3cret');
    expect(settings['stats.credentials']).toMatch(/^sha256:[0-9a-f]{12}$/);
  });

  it('change the fingerprint when any of them changes, and not otherwise', () => {
    const now = bootSettings(base, template);
    expect(fingerprint(bootSettings(base, template))).toBe(fingerprint(now));
    expect(fingerprint(bootSettings({ ...base, backend: { ...base.backend, healthPath: '/' } }, template))).not.toBe(fingerprint(now));
    expect(fingerprint(bootSettings(base, `${template}\n# edited`))).not.toBe(fingerprint(now));
    const otherPassword = { ...base, stats: { bind: '*:1936', credentials: 'admin:other-pass' } };
    expect(fingerprint(bootSettings(otherPassword, template))).not.toBe(fingerprint(now));
  });

  it('name each difference old → new, or say the old values were not recorded', () => {
    const old = bootSettings(base, template);
    const now = bootSettings({ ...base, backend: { ...base.backend, healthPath: '/', balance: 'leastconn' }, stats: undefined }, template);
    expect(settingChanges(old, now, fingerprint(old))).toEqual([
      'backend.balance: roundrobin → leastconn',
      'backend.healthPath: /health → /',
      'stats.bind: *:1936 → (none)',
      expect.stringMatching(/^stats\.credentials: sha256:[0-9a-f]{12} → \(none\)$/),
    ]);
    expect(settingChanges(old, old, fingerprint(old))).toEqual([]);
    const unrecorded = `settings aaaaaaaaaaaa → ${fingerprint(now)} (the old values were not recorded)`;
    expect(settingChanges(undefined, now, 'aaaaaaaaaaaa')).toEqual([unrecorded]);
  });
});

describe('boot settings with --retry-stalled-after', () => {
  it('keeps the fingerprint of a deployment without it, and names it old → new otherwise', () => {
    const without = bootSettings(base, template);
    expect(Object.keys(without)).not.toContain('retryStalledAfterMs');
    const withIt = bootSettings({ ...base, retryStalledAfterMs: 5000 }, template);
    expect(withIt.retryStalledAfterMs).toBe('5000');
    expect(fingerprint(withIt)).not.toBe(fingerprint(without));
    expect(settingChanges(without, withIt, fingerprint(without))).toEqual(['retryStalledAfterMs: (none) → 5000']);
    expect(settingChanges(withIt, without, fingerprint(withIt))).toEqual(['retryStalledAfterMs: 5000 → (none)']);
    const shorter = bootSettings({ ...base, retryStalledAfterMs: 2000 }, template);
    expect(settingChanges(withIt, shorter, fingerprint(withIt))).toEqual(['retryStalledAfterMs: 5000 → 2000']);
  });

  it('makes an HAProxy booted without it stale', () => {
    const booted = stamp(base, 'ha-b', template).identity!;
    const now = stamp({ ...base, retryStalledAfterMs: 5000 }, 'ha-b', template).identity!;
    expect(judgeOwnership(now, booted)).toEqual({ owner: 'own', stale: true, found: booted });
    expect(judgeOwnership(booted, booted)).toEqual({ owner: 'own', stale: false, found: booted });
  });
});

describe('boot settings with services', () => {
  it('keeps the fingerprint of a deployment without services, and names each service and the maps otherwise', () => {
    expect(Object.keys(bootSettings(base, template)).some((k) => k.startsWith('service.') || k.startsWith('routing'))).toBe(false);
    const settings = bootSettings(
      {
        ...base,
        services: [{ name: 'api', balance: 'leastconn', healthPath: '/ok' }],
        routing: { hosts: '/h.map', paths: '/p.map' },
      },
      template,
    );
    expect(settings['service.api']).toBe('balance=leastconn health=/ok sticky=none');
    expect(settings['routing.maps']).toBe('/h.map /p.map');
    expect(settingChanges(bootSettings(base, template), settings, 'f')).toEqual([
      'routing.maps: (none) → /h.map /p.map',
      'service.api: (none) → balance=leastconn health=/ok sticky=none',
    ]);
  });
});
