/** The default template as the agent renders it (precompiled) against the same text compiled: current, and byte-identical. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultServerPolicy } from '../../../src/model/server.js';
import { compileTemplate, precompiledModule } from '../../../src/render/compile.js';
import * as defaultTemplate from '../../../src/render/default-template.js';
import { stamp } from '../../../src/render/identity.js';
import { precompiledTemplate, renderer, type ConfigModel } from '../../../src/render/template.js';
import { templatePath } from '../../helpers/haproxy.js';

const source = readFileSync(templatePath, 'utf8');
const base: Omit<ConfigModel, 'servers'> = {
  runtime: { unixSocket: '/run/haproxy/admin.sock', tcp: '127.0.0.1:9999', operator: '127.0.0.1:9998' },
  frontend: { bind: '*:80' },
  stats: { bind: '*:1936', credentials: 'admin:s3cret-pass' },
  backend: { name: 'nodes', balance: 'roundrobin', healthPath: '/health', sticky: { cookie: 'SERVERID', key: 'k3y' } },
  services: [{ name: 'api', balance: 'leastconn', healthPath: '/ok' }],
  routing: { hosts: '/etc/haproxy/hosts.map', paths: '/etc/haproxy/paths.map' },
  serverStateFile: '/var/lib/haproxy/state',
  policy: defaultServerPolicy,
};
const servers = Array.from({ length: 50 }, (_, i) => ({
  name: `web-${i}`,
  address: i % 2 ? `172.18.0.${i + 2}` : `fd00::${i + 2}`,
  port: 3000 + i,
  weight: i,
  ...(i % 7 === 0 ? { disabled: true } : {}),
}));
const models: Array<[string, ConfigModel]> = [
  [
    'every setting, servers in both backends',
    { ...base, retryStalledAfterMs: 5000, servers, serviceServers: { api: servers.slice(0, 3) } },
  ],
  ['a stamped deployment', { ...stamp(base, 'ha-abc', source).base, servers }],
  ['the least given', { runtime: {}, frontend: { bind: '*:80' }, backend: base.backend, policy: defaultServerPolicy, servers: [] }],
];

describe('the precompiled default template (src/render/default-template.ts)', () => {
  it('is current: generated from ha/config/haproxy.cfg.hbs by scripts/precompile-template.mjs', () => {
    const generated = readFileSync(path.resolve(import.meta.dirname, '../../../src/render/default-template.ts'), 'utf8');
    const regenerate = 'out of date: npm run precompile-template';
    expect(defaultTemplate.source, regenerate).toBe(source);
    expect(generated, regenerate).toBe(precompiledModule(source, 'ha/config/haproxy.cfg.hbs'));
  });

  it.each(models)('renders %s byte for byte as the compiled template does', (_, model) => {
    const text = renderer(precompiledTemplate(defaultTemplate.spec))(model);
    expect(text).toBe(compileTemplate(source)(model));
    expect(text).toContain('backend nodes');
  });

  it('refuses what the compiled template refuses, with the same error', () => {
    const bad = { ...base, servers: [{ name: 'a b', address: '10.0.0.1', port: 80, weight: 1 }] };
    const refusal = (() => {
      try {
        compileTemplate(source)(bad);
      } catch (error) {
        return error;
      }
    })();
    expect(refusal).toMatchObject({ code: 'RENDER_INVALID_MODEL' });
    expect(() => renderer(precompiledTemplate(defaultTemplate.spec))(bad)).toThrow((refusal as Error).message);
  });
});
