/**
 * The local cluster with its second service (`cluster up --apis N`), as a user runs it: real s6
 * "containers", haproxy, serf and the lab's web app on loopback, the api servers tagged service=api.
 */
import http from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { haAgent } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';

/** The address of the web server that answered a request with this Host header (the web app names its own). */
function answeredBy(port: string, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', headers: { host }, agent: false }, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve(String((JSON.parse(body) as { ip?: string }).ip)));
      })
      .on('error', reject);
  });
}

describe('ha-agent cluster up --apis', () => {
  it('runs web and api servers in their own backends, routed by Host, each scaled on its own', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ha-agent-cluster-services-'));
    const port = String(await freePort());
    try {
      const up = await haAgent(['cluster', 'up', '--webapps', '1', '--apis', '2', '--port', port, '--dir', dir], {}, 120_000);
      expect(up.stderr).toBe('');
      expect(up.stdout).toContain('2 api servers UP');
      const servers = async () =>
        (JSON.parse((await haAgent(['status', '--json'])).stdout) as Array<{ backend: string; name: string }>)
          .map((s) => `${s.backend}/${s.name}`)
          .sort();
      expect(await servers()).toEqual(['api/api-1', 'api/api-2', 'nodes/web-1']);
      for (let i = 0; i < 4; i += 1) {
        expect(await answeredBy(port, 'api.localhost')).toMatch(/^127\.0\.3\.[12]$/);
        expect(await answeredBy(port, 'www.localhost')).toBe('127.0.0.11');
      }
      const scaled = await haAgent(['cluster', 'scale', '2', '--apis', '1', '--dir', dir], {}, 120_000);
      expect(scaled.stdout).toBe('1 api servers UP: api-1\n2 web servers UP: web-1, web-2\n');
      expect(await servers()).toEqual(['api/api-1', 'nodes/web-1', 'nodes/web-2']);
    } finally {
      expect((await haAgent(['cluster', 'down', '--dir', dir], {}, 120_000)).code).toBe(0);
    }
  }, 240_000);
});
