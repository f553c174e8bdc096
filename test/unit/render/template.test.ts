import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultServerPolicy } from '../../../src/model/server.js';
import { compileTemplate, type ConfigModel } from '../../../src/render/template.js';
import { templatePath } from '../../helpers/haproxy.js';

const render = compileTemplate(readFileSync(templatePath, 'utf8'));
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

describe('haproxy.cfg template', () => {
  it('renders one server line per server, with the same keywords add server uses', () => {
    const lines = render(model)
      .split('\n')
      .filter((l) => /^\s+server /.test(l));
    expect(lines).toEqual([
      '    server web-1 172.18.0.3:3000 check inter 1000 fastinter 200 downinter 100 rise 1 fall 2 weight 100 pool-max-conn -1 pool-purge-delay 5000',
      '    server web-2 [fd00::2]:3000 check inter 1000 fastinter 200 downinter 100 rise 1 fall 2 weight 5 pool-max-conn -1 pool-purge-delay 5000',
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
      'retries 3',
      'option redispatch',
      'retry-on conn-failure empty-response',
      'hard-stop-after',
      'option httpchk GET /health',
    ]) {
      expect(text).toContain(line);
    }
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
