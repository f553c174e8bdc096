/**
 * The images and docker-compose.yml, end to end with a real Docker engine: build, `up --scale
 * webapp=3 --scale api=2`, then under continuous HTTP load through the published port: scale to 6, 1 and 4,
 * measure a member's join and leave latencies, `docker stop` a web container during a slow request,
 * `docker kill` one, restart `ha` — with Debian's docker-compose 1.29; then the scale phases again
 * with Compose v2 (scripts/compose-v2.sh: the CLI plugin, or Debian trixie's docker-compose 2.x) and web
 * apps that exit at once on SIGTERM and have no health route (WEBAPP_MODE=plain, as most users' apps).
 * Beside the load, sticky users (each with its own cookie jar; the stack turns stickiness on) keep their
 * session through the scale phases unless their server left.
 */
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { waitUntilServing } from '../../src/lab/cluster/converge.js';
import { ComposeDriver } from '../../src/lab/demo/driver.js';
import { once, openStream, percentile, startLoad, type Load } from '../../src/lab/demo/load.js';
import { measurePhase, prepareEngine, publishedPorts, type PhaseFigures } from '../helpers/docker.js';
import { waitFor } from '../helpers/wait.js';
import { failureContext } from '../helpers/haproxy-log.js';
import { runScaleIn, scaleInDefaults } from '../helpers/scale-in.js';
import { expectNoLoss } from '../helpers/scale-in-expect.js';
import { addSamples, saveRecord, startRecord } from '../../bench/record.js';

const root = path.resolve(import.meta.dirname, '../..');
const report: string[] = [];
let env: NodeJS.ProcessEnv;
let url: string;
let load: Load;
/** Users with cookie jars, apart from `load` so that its figures (and the leave latency) stay those of anonymous clients. */
let users: Load;
const STICKY_USERS = 6;
let startedEngine = false;
let composeV2: string[];
/** HA_AGENT_RECORD=1: the phases' figures go to bench/results/compose/ (docs' tables are generated from them). */
const record =
  process.env.HA_AGENT_RECORD === '1' ? startRecord('compose', { WEBAPP_GRACE_MS: 3000, stickyUsers: STICKY_USERS }) : undefined;
if (record) record.facts.failedTests = [];

/** The stack under test: Compose v1 first, then v2; each under its own project name. */
let driver: ComposeDriver;
let stack = 'v1';
const sh = (command: string, args: readonly string[]) => driver.sh(command, args);
const compose = (...args: string[]) => driver.compose(...args);
const webHosts = (service?: 'api') => driver.webHosts(service);

interface StatusRow {
  backend: string;
  name: string;
  address: string;
  state: string;
  weight: number;
}
async function servers(backend?: string): Promise<StatusRow[]> {
  const rows = JSON.parse(await compose('exec', '-T', 'ha', 'ha-agent', 'status', '--json')) as StatusRow[];
  return rows.filter((row) => backend === undefined || row.backend === backend);
}
/** Pid and start time: a restarted container may well reuse the same Pid number. */
async function haproxyProcess(): Promise<string> {
  const info = await compose('exec', '-T', 'ha', 'ha-agent', 'exec', '--', 'show info');
  return `pid ${/^Pid: (\d+)$/m.exec(info)?.[1]} started ${/^Start_time_sec: (\d+)$/m.exec(info)?.[1]}`;
}
async function converged(count: number): Promise<void> {
  await driver.waitConverged();
  expect(await webHosts()).toHaveLength(count);
}
async function phase(name: string, action: () => Promise<void>): Promise<PhaseFigures> {
  const result = await measurePhase(load, users, action);
  const figures = `${String(result.requests).padStart(7)} ${String(result.failed).padStart(6)} ${result.seconds.toFixed(1).padStart(6)} s`;
  const { kept, renewed } = result.sessions;
  const sessions = `users: ${result.users.requests} requests, ${result.users.failed} failed, sessions kept ${kept}/${STICKY_USERS}, new ${renewed}`;
  report.push(`${stack} ${name.padEnd(44)} ${figures} ${result.errors.join('; ')} | ${sessions}`);
  if (result.failed + result.users.failed > 0) {
    const ha = (await compose('ps', '-q', 'ha')).trim();
    const log = await sh('docker', ['logs', '--since', (result.from / 1000).toFixed(3), ha]).catch(() => '');
    report.push(...failureContext(log));
  }
  if (record)
    ((record.facts.phases ??= []) as object[]).push({
      stack,
      phase: name,
      ...{ requests: result.requests, failed: result.failed, p50Ms: result.p50, p99Ms: result.p99, seconds: result.seconds },
      ...{ usersRequests: result.users.requests, usersFailed: result.users.failed, sessionsKept: kept, sessionsNew: renewed },
    });
  return result;
}
async function scaleTo(count: number): Promise<void> {
  const before = await webHosts();
  const result = await phase(`scale to ${count}`, async () => {
    await driver.scale(count);
    expect(await webHosts()).toHaveLength(count);
  });
  // The messages name the errors: a failure in CI is then readable from its summary alone.
  expect(result.failed, result.errors.join('; ')).toBe(0);
  expect(result.requests).toBeGreaterThan(0);
  // Sticky users: none failed, every one was served, and a session started again only where its server left.
  const live = await webHosts();
  expect(result.users.failed, result.users.errors.join('; ')).toBe(0);
  expect(result.sessions.users).toBe(STICKY_USERS);
  expect(result.sessions.movedFrom.filter((host) => live.includes(host))).toEqual([]);
  if (count >= before.length) expect(result.sessions.renewed).toBe(0);
}
async function stackUp(version: string, command: readonly string[], build: boolean): Promise<void> {
  stack = version;
  driver = new ComposeDriver({ root, project: `hae2e${process.pid}${version}`, env, command });
  report.push(`${version}: ${(await compose('version')).split('\n')[0]}`);
  if (build) {
    const started = Date.now();
    await compose('build');
    report.push(`${version}: images built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  // Fresh published ports for each stack (the previous stack's may not be free again yet), in the
  // environment the driver already holds.
  Object.assign(env, await publishedPorts());
  url = `http://127.0.0.1:${env.HA_HTTP_PORT}`;
  // The command docker-compose.yml's header gives users: both services, each with its own count.
  await compose('up', '-d', '--scale', 'webapp=3', '--scale', 'api=2');
  await converged(3);
  expect(await webHosts('api')).toHaveLength(2);
  load = startLoad(url);
  users = startLoad(url, { keepAlive: 0, newConnection: 0, stickyUsers: STICKY_USERS, pauseMs: 20 });
}
async function stackDown(): Promise<void> {
  await load?.stop();
  await users?.stop();
  await driver.down().catch((error) => console.error(error));
}

beforeAll(async () => {
  env = { ...process.env, WEBAPP_GRACE_MS: '3000' };
  driver = new ComposeDriver({ root, project: `hae2e${process.pid}`, env, command: ['docker-compose'] });
  startedEngine = await prepareEngine(root, sh);
  const v2 = (await sh('bash', ['scripts/compose-v2.sh'])).trim();
  composeV2 = v2 === 'docker compose' ? ['docker', 'compose'] : [v2];
}, 900_000);

// A recorded run says which tests failed: its phases' figures are those of a run that did not pass.
beforeEach(({ onTestFailed, task }) => {
  if (record) onTestFailed(() => void (record.facts.failedTests as string[]).push(`${stack} ${task.name}`));
});

afterAll(async () => {
  console.log(['', `E2E (hae2e${process.pid}): compose, phase, requests, failed, duration | sticky users`, ...report].join('\n'));
  if (record) console.log(`recorded: ${saveRecord(record)}`);
  if (startedEngine) await sh('bash', ['scripts/docker-engine.sh', 'stop']);
}, 300_000);

describe('Compose v1 (docker-compose 1.29): --scale, stop, kill and restart under continuous load', () => {
  let haproxy: string;
  beforeAll(() => stackUp('v1', ['docker-compose'], true), 900_000);
  afterAll(stackDown, 300_000);

  it('serves through all 3 web containers, HAProxy 3.0 with a read-only published Runtime API', async () => {
    haproxy = await haproxyProcess();
    const seen = new Set<string>();
    for (let i = 0; i < 12; i += 1) seen.add((await once(url, '/')).by);
    expect([...seen].sort()).toEqual(await webHosts());
    expect(await compose('exec', '-T', 'ha', 'haproxy', '-v')).toMatch(/^HAProxy version 3\.0\./);
  });

  it("encrypts gossip with this deployment's own key: a Serf agent without it cannot join", async () => {
    const network = `${driver.project}_default`;
    const rogue = await sh('docker', [
      'run',
      '--rm',
      '--network',
      network,
      '--entrypoint',
      'serf',
      `ha-agent/webapp:${env.HA_AGENT_TAG ?? 'latest'}`,
      'agent',
      '-node',
      'rogue',
      '-join',
      'ha',
    ]).then(
      () => 'joined',
      (error: Error) => error.message,
    );
    expect(rogue).toMatch(/Remote state is encrypted and encryption is not configured/);
    const key = await compose('exec', '-T', 'ha', 'sh', '-c', 'cat /secrets/serf.key');
    expect(key.trim()).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const cmdlines = await compose('exec', '-T', 'ha', 'sh', '-c', 'cat /proc/[0-9]*/cmdline | tr "\\0" " "');
    expect(cmdlines).not.toContain(key.trim()); // never on a command line
  });

  it('keeps admin level off the network: every Runtime API listener and the stats page, as rendered', async () => {
    const config = await compose('exec', '-T', 'ha', 'cat', '/var/lib/ha-agent/haproxy.cfg');
    const sockets = config
      .split('\n')
      .filter((line) => /^\s*stats socket /.test(line))
      .map((line) => line.trim());
    expect(sockets).toEqual([
      'stats socket /run/haproxy/admin.sock mode 600 level admin expose-fd listeners', // unix: never published
      'stats socket ipv4@127.0.0.1:9999 level admin',
      'stats socket ipv4@0.0.0.0:9998 level operator',
    ]);
    expect(config).toMatch(/^\s*stats auth admin:\S{20,}$/m);
    expect(config).toMatch(/^\s*cookie SERVERID insert indirect nocache dynamic$/m); // the stack turns stickiness on
    expect((await fetch(`http://127.0.0.1:${env.HA_STATS_PORT}/`)).status).toBe(401);
    const published = await compose('port', 'ha', '9998');
    expect(published.trim()).toBe(`127.0.0.1:${env.HA_RUNTIME_PORT}`);
  });

  it("reports healthy through the agent's /healthz", async () => {
    const id = (await compose('ps', '-q', 'ha')).trim();
    await waitFor('ha healthy', async () => (await sh('docker', ['inspect', '-f', '{{.State.Health.Status}}', id])).trim() === 'healthy', {
      timeoutMs: 60_000,
      intervalMs: 1000,
    });
  });

  it.each([6, 1, 4])('scales to %i with no failed request', scaleTo);

  it("measures a member's join and leave latencies: Serf agent started → first request, SIGINT to it → last request", async () => {
    const hosts = await webHosts();
    const member = hosts[0]!;
    const others = hosts.filter((host) => host !== member);
    // The container's clock is the host's; reading it in the container leaves `docker exec`'s start-up out.
    const serf = async (action: '-d' | '-u') => {
      const now = await sh('docker', ['exec', member, 'sh', '-c', `date +%s%N && s6-svc ${action} /run/s6/services/serf`]);
      return Number(BigInt(now.trim()) / 1_000_000n);
    };
    const from = Date.now();
    const joins: number[] = [];
    const leaves: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      // s6 stops the service with its down-signal, SIGINT: a graceful leave; the web app keeps running, /health stays 200.
      const stopped = await serf('-d');
      await waitUntilServing(driver.runtimeUrl, () => others, { timeoutMs: 60_000, intervalMs: 50 });
      const servedAfter = load.outcomes.filter((o) => o.by === member && o.at >= stopped).map((o) => o.at);
      leaves.push(Math.max(stopped, ...servedAfter) - stopped);
      const seen = load.outcomes.length;
      const started = await serf('-u');
      const served = () => load.outcomes.slice(seen).find((o) => o.by === member && o.at >= started);
      const first = await waitFor('a request served by the member whose Serf agent started', served, { timeoutMs: 60_000, intervalMs: 20 });
      joins.push(first.at - started);
      await waitUntilServing(driver.runtimeUrl, () => hosts, { timeoutMs: 60_000, intervalMs: 50 });
    }
    const line = (what: string, values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b);
      return `${stack} ${what.padEnd(44)} p50 ${percentile(sorted, 50)} ms (${sorted[0]}–${sorted.at(-1)} ms; ${values.join(', ')})`;
    };
    report.push(line('Serf agent started → first request served', joins), line('SIGINT to Serf agent → last request routed', leaves));
    if (record) {
      addSamples(record, `${stack} join ms`, joins);
      addSamples(record, `${stack} leave ms`, leaves);
    }
    expect(joins).toHaveLength(5);
    expect(load.window(from).requests).toBeGreaterThan(0);
    expect(load.window(from).failed).toBe(0); // a graceful leave and a join lose nothing
  }, 300_000);

  it('drains a web container under `docker stop`: its long response runs to the end, nothing fails', async () => {
    const hosts = await webHosts();
    // Long responses (a line every 250 ms for 6 s): each names its server as soon as its headers arrive,
    // so the victim is a server with one in flight, whatever the load's short requests are doing.
    const streams = await Promise.all(hosts.map(() => openStream(url, 6000)));
    const victim = streams[0]!.by;
    expect(hosts).toContain(victim);
    const result = await phase('docker stop one web container', async () => {
      await sh('docker', ['stop', '-t', '30', victim]);
      await converged(hosts.length - 1);
    });
    expect(await Promise.all(streams.map((s) => s.done))).toEqual(hosts.map(() => true));
    expect(result.failed, result.errors.join('; ')).toBe(0);
  });

  it('recovers from `docker kill` once checks mark the server down (failures reported, not asserted)', async () => {
    const hosts = await webHosts();
    const result = await phase('docker kill one web container', async () => {
      await sh('docker', ['kill', hosts[0]!]);
      await converged(hosts.length - 1);
    });
    expect(result.requests).toBeGreaterThan(0);
    const after = Date.now();
    const live = await webHosts();
    // Nothing fails afterwards: every live server has answered the load again, and no request failed.
    const answeredSince = (host: string) => load.outcomes.filter((o) => o.at >= after && o.by === host).length;
    await waitFor('every live server answering', () => live.every((host) => answeredSince(host) >= 20), { timeoutMs: 20_000 });
    expect(load.window(after).requests).toBeGreaterThan(0);
    expect(load.window(after).failed).toBe(0);
  });

  it('never reloaded HAProxy through every membership change', async () => {
    expect(await haproxyProcess()).toBe(haproxy);
  });

  it('reloads HAProxy 3.0 as planned (`ha-agent reload`): nothing fails, the new worker keeps every server', async () => {
    const hosts = await webHosts();
    // What a reload must keep, whatever order the new worker lists the servers in.
    const kept = async () => (await servers()).map((s) => `${s.name} ${s.address} ${s.state} ${s.weight}`).sort();
    const before = await kept();
    let said = '';
    const result = await phase('ha-agent reload (planned, master-worker)', async () => {
      said = await compose('exec', '-T', 'ha', 'ha-agent', 'reload');
      await converged(hosts.length);
    });
    const apis = await webHosts('api');
    expect(said).toMatch(
      new RegExp(`^reloaded: HAProxy worker \\d+ → \\d+ in \\d+ ms; ${hosts.length + apis.length} servers in nodes, api, each with`),
    );
    expect(result.failed, result.errors.join('; ')).toBe(0);
    expect(result.users.failed, result.users.errors.join('; ')).toBe(0);
    expect(result.sessions.renewed).toBe(0); // the cookies come from the same key and addresses
    expect(await kept()).toEqual(before);
    expect(await haproxyProcess()).not.toBe(haproxy);
  });

  it('brings every live web container back after the ha container restarts', async () => {
    const hosts = await webHosts();
    await phase('docker restart ha (requests fail while it is down)', async () => {
      await compose('restart', '-t', '10', 'ha');
      await converged(hosts.length);
    });
    expect((await servers('nodes')).map((s) => s.name).sort()).toEqual(hosts);
    expect(await haproxyProcess()).not.toBe(haproxy);
  }, 180_000);

  it('routes a second service by Host, each service scaled on its own (`up --scale api=N api`), nothing fails', async () => {
    const web = await webHosts();
    const apiUp = async () => (await servers('api')).filter((s) => s.state === 'UP').map((s) => s.name);
    const viaHost = (host: string) =>
      new Promise<string>((resolve, reject) => {
        http
          .get(`${url}/`, { headers: { host }, agent: false }, (response) => {
            response.resume();
            response.on('end', () => resolve(String(response.headers['x-backend'])));
          })
          .on('error', reject);
      });
    const result = await phase('second service: api scaled 2 → 3 → 1', async () => {
      expect((await apiUp()).sort()).toEqual(await webHosts('api')); // the two of `up --scale webapp=3 --scale api=2`
      // Only the api service (`up` of every service would also start the web container `docker stop` stopped).
      await driver.scale(3, 'api');
      const apis = await webHosts('api');
      expect(apis).toHaveLength(3);
      expect((await apiUp()).sort()).toEqual(apis);
      for (let i = 0; i < 8; i += 1) expect(apis).toContain(await viaHost('api.localhost'));
      for (let i = 0; i < 8; i += 1) expect(web).toContain(await viaHost('www.localhost'));
      await driver.scale(1, 'api');
      expect(await webHosts('api')).toHaveLength(1);
      await converged(web.length); // the web service was not touched
    });
    expect(result.failed, result.errors.join('; ')).toBe(0);
    expect(result.users.failed, result.users.errors.join('; ')).toBe(0);
  }, 240_000);
});

// The web app as most apps are (#22): it exits at once on SIGTERM, dropping what is in flight, and has no
// /health route. Scaling in must still lose nothing: HAProxy retries elsewhere (docs/leaving.md).
describe('Compose v2, apps that exit at once (WEBAPP_MODE=plain, health path /): the same scale phases under continuous load', () => {
  beforeAll(() => {
    Object.assign(env, { WEBAPP_MODE: 'plain', HA_AGENT_HEALTH_PATH: '/' });
    return stackUp('v2-plain', composeV2, false);
  }, 300_000);

  it("scale-in with apps that exit at once on the image's HAProxy (3.0) as a host process: no request failed, no crash", async () => {
    const bin = (await sh('bash', ['scripts/haproxy-from-image.sh', `ha-agent/ha:${env.HA_AGENT_TAG ?? 'latest'}`])).trim();
    const result = await runScaleIn({ ...scaleInDefaults, haproxyBin: bin });
    expect(result.haproxyVersion).toMatch(/^3\./);
    expectNoLoss(result);
  }, 180_000);
  afterAll(stackDown, 300_000);

  it.each([6, 1, 4])('scales to %i with no failed request', scaleTo);
});
