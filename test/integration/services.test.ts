/**
 * Several services behind one HAProxy, with real processes on loopback: haproxy 2.6 booted from the
 * project's template with a second backend (`api`), a Serf agent for the balancer plus `ha-agent run
 * --services`, and members that are each a real HTTP server plus their own Serf agent, tagged
 * `service=api` or not at all (the default backend).
 */
import http from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RuntimeClient } from '../../src/runtime/client.js';
import { routingMaps } from '../../src/render/routes.js';
import { agentArgs, startAgent, type TestAgent } from '../helpers/agent.js';
import { haAgent } from '../helpers/cli.js';
import { startWebMember, type WebMember } from '../helpers/cluster.js';
import { startHaproxy, type TestHaproxy } from '../helpers/haproxy.js';
import { freePort } from '../helpers/ports.js';
import { stopAll } from '../helpers/processes.js';
import { startSerf, type TestSerf } from '../helpers/serf.js';
import { expectNoneFailed } from '../helpers/expect-load.js';
import { waitFor } from '../helpers/wait.js';

/** `ha-agent plan` for this test's HAProxy and Serf with `services`. */
const planWith = (services: string) =>
  haAgent(['plan', '--runtime', haproxy.tcpUrl, '--serf', lb.rpc, '--config-out', haproxy.configPath, '--services', services]);
let haproxy: TestHaproxy;
let lb: TestSerf;
let agent: TestAgent;
let runtime: RuntimeClient;
const members = new Map<string, WebMember>();
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 4 });

const addresses: Record<string, string> = {
  'web-1': '127.0.0.41',
  'web-2': '127.0.0.42',
  'api-1': '127.0.0.43',
  'api-2': '127.0.0.44',
  'api-3': '127.0.0.45',
  'other-1': '127.0.0.46',
  'odd-1': '127.0.0.47',
};

/** A member of `service` (none: the default backend). */
async function join(name: string, service?: string): Promise<void> {
  members.set(name, await startWebMember(name, addresses[name]!, lb.bind, service ? { service } : {}));
}

async function up(backend: string): Promise<string[]> {
  return (await runtime.stat(backend))
    .filter((s) => s.status.startsWith('UP'))
    .map((s) => s.name)
    .sort();
}

async function waitUp(backend: string, names: string[]): Promise<void> {
  await waitFor(`${backend}: ${names.join(', ')} UP`, async () => (await up(backend)).join() === names.join(), { timeoutMs: 30_000 });
}

/** One request through HAProxy's front end with this Host header: its status and the server that answered. */
function get(host: string, path = '/', agent: http.Agent | false = keepAlive): Promise<{ status: number; by: string }> {
  const url = new URL(path, haproxy.frontendUrl);
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers: { host }, agent }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0, by: String(response.headers['x-backend'] ?? '?') }));
    });
    request.on('error', reject);
  });
}

/** Clients sending requests for each host until stopped; a failure is a non-200 answer, an error, or a server of the wrong service. */
function load(routes: Record<string, (server: string) => boolean>) {
  let running = true;
  const counts = { requests: 0, failed: 0, misrouted: [] as string[] };
  const loops = Object.entries(routes).flatMap(([host, belongs]) =>
    [keepAlive, false as const].map(async (agent) => {
      while (running) {
        try {
          const { status, by } = await get(host, '/', agent);
          counts.requests += 1;
          if (status !== 200) counts.failed += 1;
          else if (!belongs(by)) counts.misrouted.push(`${host} → ${by}`);
        } catch {
          counts.failed += 1;
        }
      }
    }),
  );
  return {
    counts,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return counts;
    },
  };
}

/** A graceful leave (its web server keeps serving until the agent has drained and deleted it). */
async function leave(name: string, backend: string): Promise<void> {
  const member = members.get(name)!;
  await member.serf.leave();
  await waitFor(`${name} deleted`, async () => !(await runtime.serversState(backend)).some((s) => s.name === name), { timeoutMs: 30_000 });
  await member.web.close();
  members.delete(name);
}

beforeEach(async () => {
  haproxy = await startHaproxy({ services: ['api'] });
  lb = await startSerf({ name: 'lb', address: '127.0.0.1', tags: { role: 'lb' } });
  runtime = new RuntimeClient({ url: haproxy.tcpUrl });
  runtime.start();
  await waitFor('runtime client', () => runtime.connected);
});

afterEach(async () => {
  await runtime.close();
  await Promise.all([...members.values()].map((m) => m.web.close()));
  members.clear();
  await stopAll();
});

describe('ha-agent run --services against real haproxy and serf', () => {
  it('routes by Host, scales each service under load with 0 failed requests and no reload, applies a new host live', async () => {
    const pid = (await runtime.info()).pid;
    agent = startAgent(agentArgs(haproxy, lb.rpc, ['--services', 'api:host=api.test']));
    await join('web-1');
    await join('api-1', 'api');
    await waitUp('nodes', ['web-1']);
    await waitUp('api', ['api-1']);
    const maps = routingMaps(haproxy.configPath);
    await waitFor('api.test routed', async () =>
      (await runtime.mapEntries(maps.hosts)).some((e) => e.key === 'api.test/' && e.value === 'api'),
    );

    const traffic = load({
      'api.test': (server) => server.startsWith('api-'),
      'www.test': (server) => server.startsWith('web-'),
    });
    await join('web-2');
    await join('api-2', 'api');
    await join('api-3', 'api');
    await waitUp('nodes', ['web-1', 'web-2']);
    await waitUp('api', ['api-1', 'api-2', 'api-3']);
    await leave('api-1', 'api');
    await leave('web-1', 'nodes');
    const counts = await traffic.stop();
    console.log(`services under load (scale api 1 → 3 → 2, web 1 → 2 → 1): ${counts.requests} requests, ${counts.failed} failed`);
    expect(counts.requests).toBeGreaterThan(100);
    expectNoneFailed(counts, 'services');
    expect(counts.misrouted).toEqual([]);
    expect(await up('api')).toEqual(['api-2', 'api-3']);
    expect(await up('nodes')).toEqual(['web-2']);
    const upper = await get('API.TEST:80');
    expect(upper.by).toMatch(/^api-/); // the Host is compared lower case, without its port

    // A new host for the service: the agent restarts with it and changes the map; HAProxy is the same process.
    expect((await get('api2.test')).by).toMatch(/^web-/);
    await agent.process.stop('SIGTERM');
    agent = startAgent(agentArgs(haproxy, lb.rpc, ['--services', 'api:host=api.test,host=api2.test']));
    await agent.waitForLog('api2.test added', (l) => l.event === 'route.finished' && String(l.command).includes('api2.test/'));
    expect((await get('api2.test')).by).toMatch(/^api-/);
    expect(readFileSync(maps.hosts, 'utf8')).toContain('api2.test/ api\n');
    expect((await runtime.info()).pid).toBe(pid);
    const sent = agent.logs().filter((l) => l.event === 'step.finished' || l.event === 'route.finished');
    expect(sent.map((l) => l.command)).toEqual([`add map ${maps.hosts} api2.test/ api`]);
  });

  it('sends nothing for a member whose service is not configured, and reports it', async () => {
    const metrics = `127.0.0.1:${await freePort()}`;
    agent = startAgent(agentArgs(haproxy, lb.rpc, ['--services', 'api:host=api.test', '--metrics', metrics]));
    await join('web-1');
    await waitUp('nodes', ['web-1']);
    await join('odd-1', 'nope');
    await agent.waitForLog(
      'unknown service',
      (l) => l.event === 'member.unknown-service' && l.member === '"odd-1"' && l.service === '"nope"',
    );
    await agent.waitForPasses(2);
    const names = [...(await runtime.serversState('nodes')), ...(await runtime.serversState('api'))].map((s) => s.name);
    expect(names).toEqual(['web-1']);
    expect(
      agent
        .logs()
        .filter(
          (l) => JSON.stringify(l).includes('odd-1') && !['member.unknown-service', 'services.unknown', 'serf.event'].includes(l.event),
        ),
    ).toEqual([]);
    const plan = await planWith('api:host=api.test');
    expect(plan.stdout).toContain('unknown service "nope" of member "odd-1": served nowhere');
    const status = await haAgent(['status', '--runtime', haproxy.tcpUrl, '--metrics', metrics]);
    expect(status.stdout).toContain('agent: members of no configured service (served nowhere): "odd-1" (service "nope")');
  });

  it('reports a service whose backend HAProxy lacks, sends nothing for it, drives it after a restart from the rendered file', async () => {
    const metrics = `127.0.0.1:${await freePort()}`;
    const services = 'api:host=api.test other:path=/other';
    agent = startAgent(agentArgs(haproxy, lb.rpc, ['--services', services, '--metrics', metrics]));
    await join('other-1', 'other');
    const checked = await agent.waitForLog('services checked', (l) => l.event === 'services.checked');
    expect(checked).toMatchObject({ present: ['api'], missing: ['other'], level: 'warn' });
    expect(String(checked.apply)).toContain(`boots from ${haproxy.configPath}`);
    const maps = routingMaps(haproxy.configPath);
    await waitFor('api.test routed', async () => (await runtime.mapEntries(maps.hosts)).length === 1);
    expect(await runtime.mapEntries(maps.paths)).toEqual([]); // no route to a backend HAProxy lacks
    const health = (await (await fetch(`http://${metrics}/healthz`)).json()) as { missing?: { services: string[] } };
    expect(health.missing?.services).toEqual(['other']);
    const plan = await planWith(services);
    expect(plan.stdout).toContain('MISSING: HAProxy has no backend for service other');
    expect(agent.logs().some((l) => JSON.stringify(l).includes('other-1') && l.event === 'step.finished')).toBe(false);

    // The rendered config declares the backend: a restart from it brings the service in, members and route.
    expect(readFileSync(haproxy.configPath, 'utf8')).toContain('\nbackend other\n');
    await haproxy.restart();
    await agent.waitForLog('services complete', (l) => l.event === 'services.checked' && (l.missing as string[]).length === 0, 20_000);
    await waitUp('other', ['other-1']);
    await waitFor('/other routed', async () =>
      (await runtime.mapEntries(maps.paths)).some((e) => e.key === '/other/' && e.value === 'other'),
    );
    // The prefix matches element by element (a Kubernetes Ingress `pathType: Prefix`), case-sensitive.
    await join('web-1');
    await waitUp('nodes', ['web-1']);
    for (const path of ['/other', '/other/', '/other/x', '/other?q=1']) expect((await get('www.test', path)).by, path).toBe('other-1');
    for (const path of ['/otherwise', '/other.html', '/Other/x', '/']) expect((await get('www.test', path)).by, path).toBe('web-1');
  });

  it("keeps driving one backend while HAProxy refuses every server of another's", async () => {
    // The api backend takes no dynamic server (static-rr): every `add server api/…` is refused.
    writeFileSync(
      haproxy.configPath,
      readFileSync(haproxy.configPath, 'utf8').replace('backend api\n    balance roundrobin', 'backend api\n    balance static-rr'),
    );
    await haproxy.restart();
    await waitFor('runtime client', () => runtime.connected, { timeoutMs: 10_000 });
    agent = startAgent(agentArgs(haproxy, lb.rpc, ['--services', 'api:host=api.test']));
    await join('api-1', 'api');
    await join('web-1');
    await waitUp('nodes', ['web-1']);
    await agent.waitForLog('api refused', (l) => l.event === 'step.failed' && l.backend === 'api');
    await join('web-2');
    await waitUp('nodes', ['web-1', 'web-2']);
    const failed = agent.logs().filter((l) => l.event === 'step.failed');
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((l) => l.backend === 'api' && (l.error as { code?: string }).code === 'RUNTIME_BACKEND_NOT_DYNAMIC')).toBe(true);
    expect(agent.logs().filter((l) => l.event === 'step.finished' && l.backend === 'nodes').length).toBeGreaterThan(0);
    expect(await runtime.serversState('api')).toEqual([]);
  });

  it('adds a service declared after HAProxy booted with `ha-agent reload` (master-worker): no failed request, servers carried', async () => {
    await runtime.close();
    await stopAll();
    const deployment = 'services-reload';
    haproxy = await startHaproxy({ masterWorker: true, deployment }); // no service at boot
    lb = await startSerf({ name: 'lb', address: '127.0.0.1', tags: { role: 'lb' } });
    runtime = new RuntimeClient({ url: haproxy.tcpUrl });
    runtime.start();
    const services = ['--services', 'api:host=api.test', '--deployment', deployment];
    agent = startAgent(agentArgs(haproxy, lb.rpc, services));
    await join('web-1');
    await join('api-1', 'api');
    await waitUp('nodes', ['web-1']);
    await agent.waitForLog('api missing', (l) => l.event === 'services.checked' && (l.missing as string[]).includes('api'));
    const traffic = load({ 'www.test': (server) => server.startsWith('web-') });
    const reload = await haAgent([
      'reload',
      '--runtime',
      haproxy.tcpUrl,
      '--master-socket',
      haproxy.masterUrl,
      '--runtime-socket',
      haproxy.model.runtime.unixSocket!,
      '--frontend-bind',
      haproxy.model.frontend.bind,
      '--config-out',
      haproxy.configPath,
      ...services,
    ]);
    expect(reload.stdout).toMatch(/^reloaded: HAProxy worker \d+ → \d+ in \d+ ms; 1 servers in nodes, api, each with its address/);
    await agent.waitForLog('api present', (l) => l.event === 'services.checked' && (l.missing as string[]).length === 0);
    await waitUp('api', ['api-1']);
    await waitFor('api.test routed', async () => (await get('api.test')).by === 'api-1');
    const counts = await traffic.stop();
    expectNoneFailed(counts, 'services across the reload');
    expect(counts.misrouted).toEqual([]);
    expect(await up('nodes')).toEqual(['web-1']);
  });
});
