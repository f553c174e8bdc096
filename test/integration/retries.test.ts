/**
 * What the rendered haproxy.cfg retries when an app exits with a request in flight: a server that takes
 * the request and closes (FIN) or resets (RST) the connection without a byte of answer, beside one that
 * answers. Idempotent methods are sent again to the other server; a POST is never replayed. With
 * --retry-stalled-after, the same for a server that takes the request and then says nothing (a lost node). The host's
 * HAProxy (2.6), or HAPROXY_BIN (the image's 3.0 through scripts/haproxy-from-image.sh).
 */
import http from 'node:http';
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { startHaproxy, type TestHaproxy } from '../helpers/haproxy.js';
import { freePort } from '../helpers/ports.js';
import { stopAll } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';
import { RuntimeClient } from '../../src/runtime/client.js';

afterAll(stopAll);

const closers: Array<{ close: () => void }> = [];
afterAll(() => closers.forEach((s) => s.close()));

/** Listens on a free port of `address`; closed after all tests. */
async function listen(server: net.Server, address: string, close: () => void = () => server.close()): Promise<number> {
  const port = await freePort(address);
  await new Promise<void>((resolve) => server.listen(port, address, resolve));
  closers.push({ close });
  return port;
}

/** Answers its health checks; takes every other request and drops it. Counts what it took, by method. */
async function dropping(how: 'fin' | 'rst', address: string): Promise<{ port: number; taken: Map<string, number> }> {
  const taken = new Map<string, number>();
  const server = net.createServer((socket) => {
    socket.once('data', (chunk: Buffer) => {
      const [method = '', path = ''] = chunk.toString().split(' ');
      if (path === '/health') {
        socket.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
        return;
      }
      taken.set(method, (taken.get(method) ?? 0) + 1);
      if (how === 'rst') socket.resetAndDestroy();
      else socket.end();
    });
    socket.on('error', () => {});
  });
  return { port: await listen(server, address), taken };
}

/** Answers its health checks; takes every other request and never answers nor closes (a lost node). */
async function silent(address: string): Promise<{ port: number; taken: Map<string, number> }> {
  const taken = new Map<string, number>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.once('data', (chunk: Buffer) => {
      const [method = '', path = ''] = chunk.toString().split(' ');
      if (path === '/health') socket.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      else taken.set(method, (taken.get(method) ?? 0) + 1);
    });
  });
  const port = await listen(server, address, () => (sockets.forEach((s) => s.destroy()), server.close()));
  return { port, taken };
}

async function answering(address: string, taken = new Map<string, number>()): Promise<number> {
  const server = http.createServer((request, response) => {
    if (request.url !== '/health') taken.set(request.method!, (taken.get(request.method!) ?? 0) + 1);
    request.resume();
    request.on('end', () => response.end(request.url === '/health' ? '' : 'answered'));
  });
  return listen(server, address);
}

/** HAProxy with these servers, once all of them are UP; stopped after `body`. */
async function withHaproxy(options: Parameters<typeof startHaproxy>[0], body: (haproxy: TestHaproxy) => Promise<void>): Promise<void> {
  const haproxy = await startHaproxy(options);
  const runtime = new RuntimeClient({ url: haproxy.tcpUrl });
  runtime.start();
  try {
    await waitFor('all servers UP', async () => (await runtime.stat(haproxy.backend)).every((s) => s.status.startsWith('UP')));
    await body(haproxy);
  } finally {
    await runtime.close();
    await haproxy.process.stop('SIGKILL');
  }
}

/** One request through HAProxy: its status and body ('no answer' when the connection failed), and how long it took. */
async function ask(url: string, method: string): Promise<{ outcome: string; ms: number }> {
  const started = Date.now();
  const outcome = await fetch(url, { method, body: method === 'GET' ? undefined : 'x' }).then(
    async (r) => `${r.status} ${await r.text()}`,
    () => 'no answer',
  );
  return { outcome, ms: Date.now() - started };
}

describe('retries of the rendered config', () => {
  it.each(['fin', 'rst'] as const)(
    'a request dropped with %s and no answer: GET and PUT are answered by the other server, a POST is not replayed',
    async (how) => {
      const drop = await dropping(how, '127.0.0.61');
      const good = await answering('127.0.0.62');
      const servers = [
        { name: 'drops', address: '127.0.0.61', port: drop.port, weight: 100 },
        { name: 'answers', address: '127.0.0.62', port: good, weight: 100 },
      ];
      await withHaproxy({ servers }, async (haproxy) => {
        const results = new Map<string, string[]>();
        for (const method of ['GET', 'PUT', 'POST']) {
          for (let i = 0; i < 6; i += 1)
            results.set(method, [...(results.get(method) ?? []), (await ask(haproxy.frontendUrl, method)).outcome]);
        }
        // Round robin gave the dropping server some of each method: those were the ones retried (or not).
        for (const method of ['GET', 'PUT', 'POST']) expect(drop.taken.get(method) ?? 0).toBeGreaterThan(0);
        expect(results.get('GET')).toEqual(Array(6).fill('200 answered'));
        expect(results.get('PUT')).toEqual(Array(6).fill('200 answered'));
        const post = results.get('POST')!;
        expect(post.filter((r) => r !== '200 answered')).toHaveLength(drop.taken.get('POST')!);
      });
    },
  );

  it('with --retry-stalled-after 1s, a GET a server took and never answered is answered by the other, a POST gets its 504', async () => {
    const mute = await silent('127.0.0.63');
    const answered = new Map<string, number>();
    const good = await answering('127.0.0.64', answered);
    const servers = [
      { name: 'silent', address: '127.0.0.63', port: mute.port, weight: 100 },
      { name: 'answers', address: '127.0.0.64', port: good, weight: 100 },
    ];
    await withHaproxy({ retryStalledAfterMs: 1000, servers }, async (haproxy) => {
      const gets = [];
      for (let i = 0; i < 4; i += 1) gets.push(await ask(haproxy.frontendUrl, 'GET'));
      const posts = [];
      for (let i = 0; i < 4; i += 1) posts.push(await ask(haproxy.frontendUrl, 'POST'));
      // Round robin gave the silent server some of each: the GETs were sent again after 1 s, the POSTs not.
      expect(mute.taken.get('GET') ?? 0).toBeGreaterThan(0);
      expect(mute.taken.get('POST') ?? 0).toBeGreaterThan(0);
      expect(gets.map((g) => g.outcome)).toEqual(Array(4).fill('200 answered'));
      expect(Math.max(...gets.map((g) => g.ms))).toBeLessThan(5000);
      expect(answered.get('GET')).toBe(4);
      const cut = posts.filter((p) => p.outcome !== '200 answered');
      expect(cut).toHaveLength(mute.taken.get('POST')!);
      for (const post of cut) {
        expect(post.outcome).toMatch(/^504 /);
        expect(post.ms).toBeGreaterThanOrEqual(900);
        expect(post.ms).toBeLessThan(5000);
      }
      expect(answered.get('POST')).toBe(4 - cut.length);
    });
  });
});
