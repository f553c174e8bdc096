/**
 * docker-stack.yml end to end on a single-node Docker Swarm (made for the test when the engine is in none,
 * left afterwards): `docker stack deploy`, then under continuous HTTP load through the `ha` task's host-mode
 * port: `docker service scale` of webapp 3 → 6 → 1 → 4, a rolling `docker service update --force` of
 * webapp, the api service scaled on its own, and the `ha` task itself replaced (its cost measured, and every
 * running web task back in HAProxy without restarting any). Beside the load, sticky users (each with its own
 * cookie jar) keep their session unless their server left. The teardown is asserted: no stack, secret or
 * network left, and the swarm and docker_gwbridge gone when the test made them.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Load } from '../../src/lab/demo/load.js';
import { SwarmDriver } from '../../src/lab/demo/swarm-driver.js';
import { measurePhase, prepareEngine, startStackLoad, publishedPorts, type PhaseFigures } from '../helpers/docker.js';

const root = path.resolve(import.meta.dirname, '../..');
const report: string[] = [];
const STICKY_USERS = 6;
/** A web task's Serf agent on its choice of address (scripts/serf-agent.sh). */
const ADVERTISED =
  /serf: advertising (\d+\.){3}\d+ of 2 addresses: (source address of the route to ha |no join target \(ha\) resolved; the address of this host's name)/;
let driver: SwarmDriver;
let load: Load;
let users: Load;
let startedEngine = false;
let tornDown = false;

interface StatusRow {
  backend: string;
  name: string;
  address: string;
  state: string;
}
async function servers(backend: string): Promise<StatusRow[]> {
  const rows = JSON.parse(await driver.execInHa('ha-agent', 'status', '--json')) as StatusRow[];
  return rows.filter((row) => row.backend === backend);
}
/** Pid and start time of HAProxy's worker (a new task may reuse the Pid number). */
async function haproxyProcess(): Promise<string> {
  const info = await driver.execInHa('ha-agent', 'exec', '--', 'show info');
  return `pid ${/^Pid: (\d+)$/m.exec(info)?.[1]} started ${/^Start_time_sec: (\d+)$/m.exec(info)?.[1]}`;
}

async function phase(name: string, action: () => Promise<void>): Promise<PhaseFigures> {
  const result = await measurePhase(load, users, action);
  const { kept, renewed } = result.sessions;
  report.push(
    `${name.padEnd(40)} ${String(result.requests).padStart(7)} ${String(result.failed).padStart(6)} ${result.seconds.toFixed(1).padStart(6)} s ` +
      `${result.errors.join('; ')} | users: ${result.users.requests} requests, ${result.users.failed} failed, sessions kept ${kept}/${STICKY_USERS}, new ${renewed}`,
  );
  if (result.failed + result.users.failed > 0) {
    // What HAProxy and the agent said meanwhile, for a failure's diagnosis.
    const log = await driver.docker('logs', '--since', (result.from / 1000).toFixed(3), await driver.haContainer()).catch(() => '');
    report.push(
      ...log
        .split('\n')
        .filter((line) => /is DOWN|is UP|NOSRV|no server available|"level":"(warn|error)"/.test(line))
        .slice(0, 40),
    );
  }
  return result;
}
/** A graceful phase: nothing failed (and something was sent), and a session started again only where its server left. */
function expectGraceful(result: PhaseFigures, live: readonly string[]): void {
  expect(result.failed, result.errors.join('; ')).toBe(0);
  expect(result.requests).toBeGreaterThan(0);
  expect(result.users.failed, result.users.errors.join('; ')).toBe(0);
  expect(result.users.requests).toBeGreaterThan(0);
  expect(result.sessions.movedFrom.filter((host) => live.includes(host))).toEqual([]);
}

beforeAll(async () => {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HA_AGENT_TAG: process.env.HA_AGENT_TAG ?? 'latest',
    WEBAPP_GRACE_MS: '3000',
    ...(await publishedPorts()),
  };
  driver = new SwarmDriver({ root, stack: `hae2es${process.pid}`, env });
  startedEngine = await prepareEngine(root, (command, args) => driver.sh(command, args));
  const started = Date.now();
  await driver.build();
  report.push(`images built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  const deployed = Date.now();
  await driver.deploy(3, 1);
  report.push(
    `swarm (${driver.madeSwarm ? 'made for the test' : 'the engine’s'}) + stack deploy → serving: ${((Date.now() - deployed) / 1000).toFixed(1)} s`,
  );
  ({ load, users } = startStackLoad(driver.frontendUrl, STICKY_USERS));
}, 900_000);

afterAll(async () => {
  await load?.stop();
  await users?.stop();
  if (!tornDown) await driver?.down().catch((error) => console.error(error));
  console.log(['', `E2E swarm (${driver?.stack}): phase, requests, failed, duration | sticky users`, ...report].join('\n'));
  if (startedEngine) await driver.sh('bash', ['scripts/docker-engine.sh', 'stop']);
}, 300_000);

describe('Docker Swarm: docker stack deploy, scale, rolling update, a replaced balancer, under continuous load', () => {
  let haproxy: string;

  it("serves through every web task; each task's Serf advertises its overlay address and says why", async () => {
    haproxy = await haproxyProcess();
    const subnet = (await driver.docker('network', 'inspect', '-f', '{{(index .IPAM.Config 0).Subnet}}', `${driver.stack}_mesh`)).trim();
    const prefix = subnet.split('.').slice(0, 3).join('.'); // a /24 from Swarm's default pool
    expect(subnet).toMatch(/^\d+\.\d+\.\d+\.0\/24$/);
    const web = await driver.webHosts();
    expect(web).toHaveLength(3);
    const nodes = await servers('nodes');
    expect(nodes.map((s) => s.name).sort()).toEqual(web);
    for (const server of nodes) expect(server.address.startsWith(`${prefix}.`), server.address).toBe(true);
    // Two interfaces (overlay + docker_gwbridge): each agent said which it advertises and why (the first web
    // tasks of a deploy start before `ha` resolves: the address of their host name; later ones: the route, below).
    for (const host of web) expect(await driver.docker('logs', host)).toMatch(ADVERTISED);
    const balancer = await driver.docker('logs', await driver.haContainer());
    expect(balancer).toMatch(/serf: advertising (\d+\.){3}\d+ of 2 addresses: source address of the route to tasks\.(webapp|api) /);
    expect((await servers('api')).map((s) => s.name)).toEqual(await driver.webHosts('api'));
  });

  it.each([6, 1, 4])('docker service scale webapp=%i: no failed request', async (count) => {
    const before = await driver.webHosts();
    const result = await phase(`scale webapp to ${count}`, async () => {
      await driver.scale(count);
      expect(await driver.webHosts()).toHaveLength(count);
    });
    const live = await driver.webHosts();
    expectGraceful(result, live);
    // A task started while `ha` runs advertises the address HAProxy reaches it on: the route to `ha` finds it, or,
    // when Docker's DNS does not answer `ha` within SERF_ADVERTISE_WAIT (seen once under CI load), its name's address.
    const listed = new Map((await servers('nodes')).map((row) => [row.name, row.address]));
    for (const host of live.filter((h) => !before.includes(h))) {
      const said = ADVERTISED.exec(await driver.docker('logs', host))?.[0];
      expect(said, `${host}'s Serf agent says which address it advertises`).toBeDefined();
      expect(said).toContain(`advertising ${listed.get(host)} of 2 addresses`);
    }
  });

  it('rolls webapp (docker service update --force): every old task drains before it stops, nothing fails', async () => {
    const before = await driver.webHosts();
    const since = Date.now();
    let replaced = 0;
    const result = await phase('rolling update of webapp', async () => {
      ({ replaced } = await driver.rollingUpdate());
    });
    expect(replaced).toBe(before.length);
    const after = await driver.webHosts();
    expect(after).toHaveLength(before.length);
    expectGraceful(result, after);
    // A user's session started again only when the old task it was on left (never on a task that stays).
    expect(result.sessions.movedFrom.every((host) => before.includes(host))).toBe(true);
    // Each old task left Serf gracefully: the agent drained its server (HAProxy's `drain` state) before removing it.
    const log = (await driver.docker('logs', '--since', (since / 1000).toFixed(3), await driver.haContainer())).split('\n');
    for (const host of before)
      expect(
        log.some((line) => line.includes(host) && /drain/.test(line)),
        `${host} drained`,
      ).toBe(true);
  }, 240_000);

  it('scales api on its own (1 → 3 → 1), webapp untouched, nothing fails', async () => {
    const web = await driver.webHosts();
    const result = await phase('api scaled 1 → 3 → 1', async () => {
      await driver.scale(3, 'api');
      expect((await servers('api')).map((s) => s.name).sort()).toEqual(await driver.webHosts('api'));
      await driver.scale(1, 'api');
    });
    expect(await driver.webHosts('api')).toHaveLength(1);
    expect(await driver.webHosts()).toEqual(web);
    expectGraceful(result, web);
  }, 180_000);

  it('never reloaded or restarted HAProxy through all of that', async () => {
    expect(await haproxyProcess()).toBe(haproxy);
  });

  it('replaces the ha task (docker service update --force): every running web task back in HAProxy, none restarted', async () => {
    const web = await driver.webHosts();
    const apis = await driver.webHosts('api');
    const oldHa = await driver.haContainer();
    const result = await phase('ha task replaced (requests fail: one port)', async () => {
      await driver.docker('service', 'update', '--detach=false', '--force', driver.service('ha'));
      await driver.waitConverged(120_000);
    });
    expect(await driver.haContainer()).not.toBe(oldHa);
    // The new balancer's Serf joined the web tasks' names: the same tasks, none restarted, all UP.
    expect(await driver.webHosts()).toEqual(web);
    expect(await driver.webHosts('api')).toEqual(apis);
    expect((await servers('nodes')).map((s) => s.name).sort()).toEqual(web);
    expect(result.requests).toBeGreaterThan(0);
    expect(await haproxyProcess()).not.toBe(haproxy);
  }, 240_000);

  it('tears down: no stack, secret or network left; the swarm and docker_gwbridge gone when the test made them', async () => {
    await load.stop();
    await users.stop();
    tornDown = true;
    await driver.down();
    expect(await driver.stackContainers()).toEqual([]);
    expect(await driver.networkExists(`${driver.stack}_mesh`)).toBe(false);
    const secrets = await driver.docker('secret', 'ls', '-q', '--filter', `name=${driver.stack}`).catch(() => '');
    expect(secrets.trim()).toBe('');
    if (driver.madeSwarm) {
      expect((await driver.docker('info', '--format', '{{.Swarm.LocalNodeState}}')).trim()).toBe('inactive');
      expect(await driver.networkExists('docker_gwbridge')).toBe(false);
    }
  }, 180_000);
});
