import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultServerPolicy } from '../../../src/model/server.js';
import { compileTemplate } from '../../../src/render/compile.js';
import * as defaultTemplate from '../../../src/render/default-template.js';
import { precompiledTemplate, renderer, type ConfigModel, type RenderConfig } from '../../../src/render/template.js';
import { templatePath } from '../../helpers/haproxy.js';

const model: ConfigModel = {
  runtime: { unixSocket: '/run/haproxy/admin.sock', tcp: '127.0.0.1:9999' },
  frontend: { bind: '*:80' },
  stats: { bind: '*:1936', credentials: 'admin:s3cret-pass' },
  backend: { name: 'nodes', balance: 'roundrobin', healthPath: '/health' },
  policy: defaultServerPolicy,
  servers: [
    { name: 'web-1', address: '172.18.0.3', port: 3000, weight: 100 },
    { name: 'web-2', address: 'fd00::2', port: 3000, weight: 5 },
  ],
};

// The agent renders the default template precompiled (src/render/default-template.ts), any other one compiled.
const renderers: Array<[string, RenderConfig]> = [
  ['compiled', compileTemplate(readFileSync(templatePath, 'utf8'))],
  ['precompiled', renderer(precompiledTemplate(defaultTemplate.spec))],
];

describe.each(renderers)('haproxy.cfg template, %s', (_name, render) => {
  it('renders one server line per server, with the same keywords add server uses', () => {
    const lines = render(model)
      .split('\n')
      .filter((l) => /^\s+server /.test(l));
    expect(lines).toEqual([
      '    server web-1 172.18.0.3:3000 check inter 1000 fastinter 200 downinter 50 rise 1 fall 2 observe layer4 error-limit 1 on-error mark-down weight 100 pool-max-conn -1 pool-purge-delay 5000',
      '    server web-2 [fd00::2]:3000 check inter 1000 fastinter 200 downinter 50 rise 1 fall 2 observe layer4 error-limit 1 on-error mark-down weight 5 pool-max-conn -1 pool-purge-delay 5000',
    ]);
  });

  it('puts admin level only on the sockets it is given, and the stats page behind credentials', () => {
    const text = render(model);
    expect(text).toContain('stats socket /run/haproxy/admin.sock mode 600 level admin');
    expect(text).toContain('stats socket ipv4@127.0.0.1:9999 level admin');
    expect(text).toContain('stats auth admin:s3cret-pass');
    expect(render({ ...model, runtime: {}, stats: undefined })).not.toMatch(/stats (socket|auth)/);
  });

  it('carries the protective backend defaults', () => {
    const text = render(model);
    for (const line of [
      'retries 6',
      'option redispatch 1',
      'retry-on conn-failure empty-response',
      'http-request disable-l7-retry unless { method GET HEAD OPTIONS PUT DELETE }',
      'hard-stop-after',
      'option httpchk GET /health',
    ]) {
      expect(text).toContain(line);
    }
  });

  /** The lines --retry-stalled-after changes. */
  const timeouts = (text: string) => text.split('\n').filter((l) => /^ {4}(timeout (server|tunnel)|retry-on) /.test(l));

  it('waits 30 s for an answer and retries no timeout without retryStalledAfterMs (the output of before it existed)', () => {
    expect(timeouts(render(model))).toEqual(['    timeout server 30s', '    retry-on conn-failure empty-response']);
    expect(render(model)).not.toContain('retry-stalled-after');
  });

  it('with retryStalledAfterMs, gives a silent server that long and retries on response-timeout, tunnels keeping 30 s', () => {
    expect(timeouts(render({ ...model, retryStalledAfterMs: 5000 }))).toEqual([
      '    timeout server 5s',
      '    timeout tunnel 30s',
      '    retry-on conn-failure empty-response response-timeout',
    ]);
    expect(timeouts(render({ ...model, retryStalledAfterMs: 1500 }))[0]).toBe('    timeout server 1500ms');
    expect(timeouts(render({ ...model, retryStalledAfterMs: 30_000 }))[0]).toBe('    timeout server 30s');
    // Only idempotent methods are sent again: the backend's rule is the same with it.
    expect(render({ ...model, retryStalledAfterMs: 5000 })).toContain(
      '    http-request disable-l7-retry unless { method GET HEAD OPTIONS PUT DELETE }\n',
    );
  });

  it.each([999, 30_001, 1500.5])('refuses a retryStalledAfterMs of %s', (ms) => {
    expect(() => render({ ...model, retryStalledAfterMs: ms })).toThrow(/retryStalledAfterMs/);
  });

  it('renders dynamic-cookie persistence only when sticky is set', () => {
    expect(render(model)).not.toMatch(/cookie/);
    const text = render({ ...model, backend: { ...model.backend, sticky: { cookie: 'SERVERID', key: 'k3y' } } });
    expect(text).toContain('    cookie SERVERID insert indirect nocache dynamic\n    dynamic-cookie-key k3y\n');
  });

  it.each([
    ['a sticky cookie name with a space', { backend: { ...model.backend, sticky: { cookie: 'A B', key: 'k' } } }],
    ['a sticky key with a newline', { backend: { ...model.backend, sticky: { cookie: 'SID', key: 'k\nlisten x' } } }],
    ['a server name with a newline', { servers: [{ name: 'x\n    server evil 1.2.3.4:80', address: '1.2.3.4', port: 80, weight: 1 }] }],
    ['a server name with a template expression', { servers: [{ name: '{{backend.name}}', address: '1.2.3.4', port: 80, weight: 1 }] }],
    ['an address that is no IP', { servers: [{ name: 'a', address: '1.2.3.4:80\nlisten x', port: 80, weight: 1 }] }],
    ['a bind with a space', { frontend: { bind: '*:80 ssl crt /x' } }],
    ['a health path with a newline', { backend: { name: 'nodes', balance: 'roundrobin', healthPath: '/\nhttp-request deny' } }],
    ['weak stats credentials', { stats: { bind: '*:1936', credentials: 'admin:x y' } }],
  ])('refuses %s', (_, change) => {
    expect(() => render({ ...model, ...change } as ConfigModel)).toThrow(expect.objectContaining({ code: 'RENDER_INVALID_MODEL' }));
  });
});

describe.each(renderers)('haproxy.cfg template with services, %s', (_name, render) => {
  const services: ConfigModel = {
    ...model,
    services: [{ name: 'api', balance: 'leastconn', healthPath: '/ok', sticky: { cookie: 'SID', key: 'k3y' } }],
    routing: { hosts: '/etc/haproxy/haproxy.cfg.hosts.map', paths: '/etc/haproxy/haproxy.cfg.paths.map' },
    serviceServers: { api: [{ name: 'api-1', address: '172.18.0.9', port: 8080, weight: 100 }] },
  };

  it('renders the same text as before when no service is given', () => {
    expect(render(model)).not.toMatch(/map_beg|set-var/);
    expect(render(model).match(/^backend /gm)).toEqual(['backend ']);
  });

  it('routes by the maps before the default backend, and renders each service as a backend with its own settings and servers', () => {
    const text = render(services);
    const frontend = text.slice(text.indexOf('frontend www'), text.indexOf('listen stats'));
    expect(frontend).toContain(
      'use_backend %[var(txn.route),map_beg(/etc/haproxy/haproxy.cfg.hosts.map)] ' +
        'if { var(txn.route),map_beg(/etc/haproxy/haproxy.cfg.hosts.map) -m found }',
    );
    expect(frontend).toContain('use_backend %[path,concat(/),map_beg(/etc/haproxy/haproxy.cfg.paths.map)]');
    // The path is looked up with a / appended (keys end in one): /api matches /api and /api/x, not /apiary.
    expect(frontend).toContain('http-request set-var(txn.route) req.hdr(host),lower,field(1,:),concat(,txn.path,/)');
    expect(frontend.indexOf('use_backend')).toBeLessThan(frontend.indexOf('default_backend nodes'));
    const api = text.slice(text.indexOf('backend api'));
    expect(api).toContain('balance leastconn\n    option httpchk GET /ok\n');
    expect(api).toContain('cookie SID insert indirect nocache dynamic');
    expect(api).toMatch(/server api-1 172\.18\.0\.9:8080 check /);
    expect(text.slice(text.indexOf('backend nodes'), text.indexOf('backend api'))).not.toContain('api-1');
  });

  it.each([
    ['a map path with a space', { routing: { hosts: '/etc/h a.map', paths: '/etc/p.map' } }],
    ['a relative map path', { routing: { hosts: 'h.map', paths: '/etc/p.map' } }],
    ['a service name with a newline', { services: [{ name: 'api\nlisten x', balance: 'roundrobin', healthPath: '/' }] }],
  ] as const)('refuses %s', (_, change) => {
    expect(() => render({ ...services, ...change } as ConfigModel)).toThrow('refused to render haproxy.cfg');
  });
});
