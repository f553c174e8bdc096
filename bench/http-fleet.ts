/**
 * Stand-ins for many web servers, each on its own loopback address: they answer HAProxy's health
 * checks (`/health`) and the load's requests, naming the server that answered in `x-backend`.
 *
 * - `haproxy`: ONE extra haproxy process with a `bind` per server answering every request itself
 *   (`http-request return`), the server named by the address and port the request reached. Light
 *   (C, epoll): with 1,000 servers, HAProxy's first checks (every `downinter` until one passes) come
 *   at up to 10,000 a second, which this answers without taking the agent's share of the cores.
 * - `node`: real Node.js HTTP servers (test/helpers/http-backend.ts), all in one process of its own
 *   (`tsx bench/http-fleet.ts COUNT`, forked with IPC), so that their answers do not wait on the
 *   benchmark's own polling.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startHttpBackend, type HttpBackend } from '../test/helpers/http-backend.js';
import { haproxyBin } from '../test/helpers/haproxy.js';
import { freePort } from '../test/helpers/ports.js';
import { start } from '../test/helpers/processes.js';
import { waitFor } from '../test/helpers/wait.js';

export type FleetKind = 'haproxy' | 'node';

export interface Web {
  id: string;
  address: string;
  port: number;
}

export interface Fleet {
  webs: Web[];
  /** The `x-backend` header the server with this id answers with. */
  header: (web: Web) => string;
  stop: () => Promise<void>;
}

/** The i-th server's loopback address: 250 a /24, from 127.0.2.1. */
const addressOf = (i: number) => `127.0.${2 + Math.floor(i / 250)}.${1 + (i % 250)}`;

export async function startFleet(kind: FleetKind, count: number): Promise<Fleet> {
  return kind === 'haproxy' ? haproxyFleet(count) : nodeFleet(count);
}

async function haproxyFleet(count: number): Promise<Fleet> {
  const webs: Web[] = [];
  for (let i = 0; i < count; i += 1) {
    const address = addressOf(i);
    webs.push({ id: `m${i}`, address, port: await freePort(address) });
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'ha-agent-fleet-'));
  const configPath = path.join(dir, 'fleet.cfg');
  writeFileSync(
    configPath,
    [
      'global',
      '    maxconn 4000',
      'defaults',
      '    mode http',
      '    timeout connect 2s',
      '    timeout client 30s',
      '    timeout server 30s',
      'frontend fleet',
      ...webs.map((w) => `    bind ${w.address}:${w.port}`),
      '    http-request return status 200 content-type text/plain string ok hdr x-backend "%[dst]:%[dst_port]"',
      '',
    ].join('\n'),
  );
  const haproxy = start(haproxyBin, ['-db', '-f', configPath]);
  const last = webs.at(-1);
  if (last)
    await waitFor('the fleet listening', () =>
      fetch(`http://${last.address}:${last.port}/health`).then(
        (r) => r.ok,
        () => false,
      ),
    );
  return { webs, header: (w) => `${w.address}:${w.port}`, stop: () => haproxy.stop() };
}

async function nodeFleet(count: number): Promise<Fleet> {
  const child = fork(import.meta.filename, [String(count)], { execArgv: ['--import', 'tsx'] });
  const webs = await new Promise<Web[]>((resolve) => child.once('message', (m) => resolve(m as Web[])));
  return {
    webs,
    header: (w) => w.id,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.send('stop');
      }),
  };
}

/** Forked by nodeFleet: COUNT servers, their addresses sent back once all listen, all closed on 'stop'. */
async function serveNodeFleet(count: number, send: NonNullable<typeof process.send>): Promise<void> {
  const webs: HttpBackend[] = [];
  for (let i = 0; i < count; i += 1) webs.push(await startHttpBackend(`m${i}`, addressOf(i)));
  send(webs.map(({ id, address, port }) => ({ id, address, port })));
  process.on('message', (message) => {
    if (message !== 'stop') return;
    void Promise.all(webs.map((w) => w.close())).finally(() => process.exit(0));
  });
}

if (process.argv[1] === import.meta.filename && process.send) await serveNodeFleet(Number(process.argv[2]), process.send.bind(process));
