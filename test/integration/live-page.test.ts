/**
 * The live page's server: loopback only, its own script under a strict CSP, updates over server-sent
 * events; and `cluster up --live` following a real local cluster until SIGINT, which leaves the cluster up.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LivePage, loopbackBind } from '../../src/lab/demo/live.js';
import type { LiveInput } from '../../src/lab/demo/report.js';
import { binPath, haAgent } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}
function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
      })
      .on('error', reject);
  });
}

/** The first `count` server-sent events of /events, parsed. */
function events(url: string, count: number): Promise<Array<{ html: string; done: boolean }>> {
  return new Promise((resolve, reject) => {
    const received: Array<{ html: string; done: boolean }> = [];
    const request = http.get(`${url}events`, (response) => {
      let buffer = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          received.push(JSON.parse(buffer.slice(0, end).replace(/^data: /, '')) as { html: string; done: boolean });
          buffer = buffer.slice(end + 2);
          if (received.length === count) {
            request.destroy();
            resolve(received);
          }
        }
      });
    });
    request.on('error', (error) => (received.length === count ? undefined : reject(error)));
  });
}

const input = (phase: string): LiveInput => ({
  frame: {
    label: 'test',
    frontendUrl: 'http://127.0.0.1:1',
    elapsedMs: 0,
    phase,
    servers: [],
    totalRate: 0,
    requests: 0,
    failed: 0,
    process: undefined,
    commands: [],
  },
  startedAt: 0,
  samples: [],
  outcomes: [],
  phases: [],
});

let live: LivePage | undefined;
afterEach(async () => {
  await live?.close();
  live = undefined;
});

describe('the live page', () => {
  it('takes only loopback addresses', () => {
    expect(loopbackBind.parse('127.0.0.1:8090')).toEqual({ host: '127.0.0.1', port: 8090 });
    expect(loopbackBind.parse('[::1]:0')).toEqual({ host: '::1', port: 0 });
    for (const bad of ['0.0.0.0:8090', '10.0.0.1:80', '127.0.0.1', 'localhost:70000', '127.0.0.1:80;x']) {
      expect(loopbackBind.safeParse(bad).success).toBe(false);
    }
  });

  it('serves the page with its script under a strict CSP, and refuses other hosts and methods', async () => {
    live = await LivePage.listen('127.0.0.1:0');
    const page = await get(live.url);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<script src="live.js"></script>');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect((await get(`${live.url}live.js`)).body).toContain("new EventSource('events')");
    expect((await get(live.url, { host: 'evil.example:80' })).status).toBe(421);
    expect((await get(`${live.url}nothing`)).status).toBe(404);
  });

  it('pushes the latest state to a new browser, then every update, then the end', async () => {
    live = await LivePage.listen('127.0.0.1:0');
    live.update(input('before anyone watched'));
    const received = events(live.url, 3);
    await waitFor('the browser to connect', () => live?.watchers === 1);
    live.update(input('scale 1 → 5'));
    live.finish({ results: [], problems: ['scale 1 → 5: 1 failed requests (ECONNRESET)'] });
    const [first, second, last] = await received;
    expect(first?.html).toContain('before anyone watched');
    expect(second?.html).toContain('scale 1 → 5');
    expect(second?.done).toBe(false);
    expect(last?.done).toBe(true);
    expect(last?.html).toContain('scale 1 → 5: 1 failed requests (ECONNRESET)');
  });

  it('follows a local cluster with `cluster up --live` until SIGINT, leaving the cluster up', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ha-agent-live-test-'));
    const url = `http://127.0.0.1:${await freePort()}/`;
    const args = ['cluster', 'up', '--webapps', '1', '--port', String(await freePort()), '--dir', dir, '--live', url.slice(7, -1)];
    const child = spawn(process.execPath, [binPath, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      await waitFor('the live page to be served', () => output.includes(`live view: ${url}`), { timeoutMs: 60_000 });
      const webUp = async () => (await events(url, 1))[0]?.html.includes('<tr class="state-up"><td>web-1</td>');
      const found = await waitFor('web-1 UP on the live page', webUp, { timeoutMs: 20_000, intervalMs: 200 });
      expect(found).toBe(true);
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect((await haAgent(['cluster', 'status', '--dir', dir])).stdout).toMatch(/^web-1 /m);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      expect((await haAgent(['cluster', 'down', '--dir', dir])).code).toBe(0);
    }
  }, 120_000);
});
