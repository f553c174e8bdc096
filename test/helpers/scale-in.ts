/**
 * One scale-in run with apps that behave like most users' apps (the web app with MODE=plain: no health
 * route, exits at once on SIGTERM, sessions in memory), with real processes: haproxy (the host's 2.6, or
 * HAPROXY_BIN), Serf, `ha-agent run --sticky cookie --health-path /`. Under load from sticky users (each
 * with its own cookie jar) and plain clients, two servers at a time are stopped as `docker stop` and s6
 * stop them: SIGINT to the member's Serf agent and SIGTERM to its app at the same instant.
 * Used by test/integration/scale-in.test.ts (a run in CI) and bench/scale-in.ts (the 20-run proof).
 */
import { RuntimeClient } from '../../src/runtime/client.js';
import { raw } from '../../src/runtime/commands.js';
import { agentArgs, startAgent } from './agent.js';
import { startAppMember, type AppMember } from './cluster.js';
import { startHaproxy } from './haproxy.js';
import { unusualRequest } from './haproxy-log.js';
import { stopAll } from './processes.js';
import { startSerf } from './serf.js';
import { waitFor } from './wait.js';

export interface ScaleInOptions {
  /** Members at the start; `rounds` × 2 of them are stopped, two at a time. */
  servers: number;
  rounds: number;
  stickyUsers: number;
  plainClients: number;
  /** Where the members' addresses start: 127.0.<subnet>.10 and up. */
  subnet: number;
  /** The HAProxy binary, when not `haproxyBin` (HAPROXY_BIN or the host's). */
  haproxyBin?: string;
}

export const scaleInDefaults: ScaleInOptions = { servers: 8, rounds: 3, stickyUsers: 12, plainClients: 4, subnet: 41 };

export interface Failure {
  /** HTTP status, or 0 when the request got no answer. */
  status: number;
  error?: string;
  /** Sticky users send the server cookie; plain clients send no cookie. */
  client: 'sticky' | 'plain';
  atMs: number;
}

export interface ScaleInResult {
  haproxyVersion: string;
  requests: number;
  failed: number;
  failures: Failure[];
  /** HAProxy died, or another process answers its Runtime API (a restart). */
  crashed: boolean;
  /** From the stop signals to both servers deleted in HAProxy, per round (ms). */
  removalMs: number[];
  /** The backend's counters at the end: connection retries and redispatches (HAProxy's wretr, wredis). */
  retries: number;
  redispatches: number;
  /** HAProxy's log lines of requests not answered 200 or cut short (httplog; its newest 200 KB of output): what failed, and why. */
  haproxyLog: string[];
  /** The agent's removal log lines that say a wait ran out (`inflight.timeout`, `wait-removable.failed`). */
  waitsRunOut: number;
}

const sticky = { cookie: 'SERVERID', key: 'scale-in' };
/** Pacing between one client's requests: load generation, not a wait for a condition. */
const THINK_MS = 10;

class Client {
  readonly jar = new Map<string, string>();
  requests = 0;
  readonly failures: Failure[] = [];
  lastServer: string | undefined;
  private running = true;
  readonly done: Promise<void>;

  constructor(
    private readonly url: string,
    readonly kind: 'sticky' | 'plain',
    private readonly started: number,
  ) {
    this.done = this.loop();
  }

  stop(): Promise<void> {
    this.running = false;
    return this.done;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
      this.requests += 1;
      try {
        const response = await fetch(this.url, { headers: cookie ? { cookie } : {} });
        if (this.kind === 'sticky') {
          for (const line of response.headers.getSetCookie()) {
            const [key = '', value = ''] = (line.split(';')[0] ?? '').split('=');
            if (value === '') this.jar.delete(key.trim());
            else this.jar.set(key.trim(), value);
          }
        }
        await response.text();
        if (response.status === 200) this.lastServer = response.headers.get('x-backend') ?? undefined;
        else this.failures.push({ status: response.status, client: this.kind, atMs: Date.now() - this.started });
      } catch (error) {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        const text = `${String(error)}${cause ? `: ${cause.code ?? cause.message}` : ''}`;
        this.failures.push({ status: 0, error: text, client: this.kind, atMs: Date.now() - this.started });
      }
      await new Promise((resolve) => setTimeout(resolve, THINK_MS));
    }
  }
}

/** Reads `wretr` and `wredis` of the backend's own row in `show stat` (the servers' rows go with the servers). */
async function backendRetries(runtime: RuntimeClient, backend: string): Promise<{ retries: number; redispatches: number }> {
  const [header = '', ...rows] = (await runtime.run(raw('show stat -1 2 -1'))).split('\n');
  const columns = header.replace(/^# /, '').split(',');
  const row = rows.map((line) => line.split(',')).find((f) => f[0] === backend && f[1] === 'BACKEND') ?? [];
  const field = (name: string) => Number(row[columns.indexOf(name)] ?? NaN);
  return { retries: field('wretr'), redispatches: field('wredis') };
}

export async function runScaleIn(options: ScaleInOptions = scaleInDefaults): Promise<ScaleInResult> {
  const clients: Client[] = [];
  const runtime: { client?: RuntimeClient } = {};
  try {
    const haproxy = await startHaproxy({ sticky, healthPath: '/', ...(options.haproxyBin ? { bin: options.haproxyBin } : {}) });
    const lb = await startSerf({ name: 'lb', address: '127.0.0.1', tags: { role: 'lb' } });
    const agent = startAgent(
      agentArgs(haproxy, lb.rpc, [
        '--sticky',
        'cookie',
        '--sticky-cookie',
        sticky.cookie,
        '--sticky-key',
        sticky.key,
        '--health-path',
        '/',
      ]),
    );
    const client = new RuntimeClient({ url: haproxy.tcpUrl });
    runtime.client = client;
    client.start();
    await waitFor('runtime client', () => client.connected);
    const members = new Map<string, AppMember>();
    const names = Array.from({ length: options.servers }, (_, i) => `web-${i + 1}`);
    // Two at a time: eight node processes starting at once on a loaded 2-core machine miss their listen wait.
    for (let i = 0; i < names.length; i += 2) {
      await Promise.all(
        names
          .slice(i, i + 2)
          .map(async (name, k) =>
            members.set(name, await startAppMember(name, `127.0.${options.subnet}.${10 + i + k}`, lb.bind, {}, { MODE: 'plain' })),
          ),
      );
    }
    const up = async () => (await client.stat(haproxy.backend)).filter((s) => s.status.startsWith('UP')).map((s) => s.name);
    await waitFor(`${options.servers} servers UP`, async () => (await up()).length === options.servers, { timeoutMs: 60_000 });

    const started = Date.now();
    for (let i = 0; i < options.stickyUsers; i += 1) clients.push(new Client(haproxy.frontendUrl, 'sticky', started));
    for (let i = 0; i < options.plainClients; i += 1) clients.push(new Client(haproxy.frontendUrl, 'plain', started));
    await waitFor('every client served', () => clients.every((c) => c.lastServer !== undefined), { timeoutMs: 20_000 });

    const removalMs: number[] = [];
    const alive = () => haproxy.process.child.exitCode === null && haproxy.process.child.signalCode === null;
    try {
      await stopRounds();
    } catch (error) {
      if (alive()) throw error; // a crash ends the run with what it saw; any other failure is the test's
    }
    await Promise.all(clients.map((c) => c.stop()));
    const failures = clients.flatMap((c) => c.failures);
    const info = alive() ? await client.info().catch(() => undefined) : undefined;
    const { retries, redispatches } = info ? await backendRetries(client, haproxy.backend) : { retries: NaN, redispatches: NaN };
    return {
      haproxyVersion: client.version ?? '?',
      requests: clients.reduce((n, c) => n + c.requests, 0),
      failed: failures.length,
      failures,
      crashed: info?.pid !== haproxy.process.pid,
      removalMs,
      retries,
      redispatches,
      haproxyLog: haproxy.process.output().split('\n').filter(unusualRequest).slice(0, 20),
      waitsRunOut: agent.logs().filter((l) => l.event === 'inflight.timeout' || l.event === 'wait-removable.failed').length,
    };

    async function stopRounds(): Promise<void> {
      for (let round = 0; round < options.rounds; round += 1) {
        // The two servers most sticky users are on, stopped at the same instant.
        const load = new Map<string, number>();
        for (const c of clients) if (c.kind === 'sticky' && c.lastServer) load.set(c.lastServer, (load.get(c.lastServer) ?? 0) + 1);
        const leaving = [...members.keys()].sort((a, b) => (load.get(b) ?? 0) - (load.get(a) ?? 0)).slice(0, 2);
        const stopAt = Date.now();
        for (const name of leaving) {
          const member = members.get(name)!;
          process.kill(member.serf.process.pid, 'SIGINT');
          process.kill(member.app.pid, 'SIGTERM');
        }
        await waitFor(
          `${leaving.join(', ')} deleted`,
          async () => {
            if (!alive()) throw new Error('HAProxy died');
            const left = new Set((await client.stat(haproxy.backend)).map((s) => s.name));
            return leaving.every((name) => !left.has(name));
          },
          { timeoutMs: 30_000 },
        );
        removalMs.push(Date.now() - stopAt);
        for (const name of leaving) {
          await members.get(name)!.serf.process.exited;
          members.delete(name);
        }
        // The remaining servers serve for a while before the next two go.
        const requestsNow = clients.reduce((n, c) => n + c.requests, 0);
        await waitFor('more requests served', () => !alive() || clients.reduce((n, c) => n + c.requests, 0) >= requestsNow + 200, {
          timeoutMs: 20_000,
        });
      }
    }
  } finally {
    await Promise.all(clients.map((c) => c.stop()));
    await runtime.client?.close();
    await stopAll();
  }
}
