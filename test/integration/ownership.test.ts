/**
 * Two deployments rendered from the project's template on one Runtime API address (the README's
 * by-hand block run beside `cluster up`, say). A has a server of its own; B's agent has an empty
 * Serf cluster. B's HAProxy cannot start (noreuseport), and B's agent, restarted so that it
 * connects again and again, finds A's HAProxy and changes nothing there; once B's own HAProxy
 * answers on the address, B's agent drives it.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuntimeClient } from '../../src/runtime/client.js';
import { startAgent, type TestAgent } from '../helpers/agent.js';
import { haAgent } from '../helpers/cli.js';
import { startWebMember, type WebMember } from '../helpers/cluster.js';
import { freePort } from '../helpers/ports.js';
import { start, stopAll, type Started } from '../helpers/processes.js';
import { startSerf, type TestSerf } from '../helpers/serf.js';
import { waitFor } from '../helpers/wait.js';

interface Deployment {
  configOut: string;
  frontend: string;
  flags: string[];
  /** The id `ha-agent render` put in the config's description. */
  id: string;
}

let runtimeUrl: string;
const webs: WebMember[] = [];

async function deployment(name: string, runtimePort: number): Promise<Deployment> {
  const dir = mkdtempSync(path.join(tmpdir(), `ha-agent-owner-${name}-`));
  const configOut = path.join(dir, 'haproxy.cfg');
  const frontend = `127.0.0.1:${await freePort()}`;
  const flags = ['--config-out', configOut, '--runtime', `tcp://127.0.0.1:${runtimePort}`, '--frontend-bind', frontend];
  const rendered = await haAgent(['render', ...flags]);
  expect(rendered.code).toBe(0);
  const id = /description ha-agent deployment=(\S+) settings=/.exec(readFileSync(configOut, 'utf8'))?.[1];
  expect(id).toBeDefined();
  return { configOut, frontend, flags, id: id! };
}

async function serversOf(url: string) {
  const client = new RuntimeClient({ url });
  try {
    await client.connect();
    return await client.serversState();
  } finally {
    await client.close();
  }
}

async function pidAt(url: string): Promise<number | undefined> {
  const client = new RuntimeClient({ url, connectTimeoutMs: 500 });
  try {
    return (await client.connect()).pid;
  } catch {
    return undefined;
  } finally {
    await client.close();
  }
}

const healthz = async (port: number) => {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

afterAll(async () => {
  await Promise.all(webs.map((w) => w.web.close()));
  await stopAll();
});

describe('two deployments on one Runtime API address', () => {
  let a: Deployment;
  let b: Deployment;
  let haproxyA: Started;
  let agentA: TestAgent;
  let lbB: TestSerf;

  beforeAll(async () => {
    const runtimePort = await freePort();
    runtimeUrl = `tcp://127.0.0.1:${runtimePort}`;
    a = await deployment('a', runtimePort);
    b = await deployment('b', runtimePort);
    expect(b.id).not.toBe(a.id);
    haproxyA = start('haproxy', ['-db', '-f', a.configOut]);
    await waitFor("A's HAProxy", async () => (await pidAt(runtimeUrl)) === haproxyA.pid);
    const lbA = await startSerf({ name: 'lb-a', address: '127.0.0.1', tags: { role: 'lb' } });
    webs.push(await startWebMember('web-a', '127.0.0.51', lbA.bind));
    agentA = startAgent(['run', ...a.flags, '--serf', lbA.rpc, '--resync', '2s']);
    const served = async () => (await serversOf(runtimeUrl)).some((s) => s.name === 'web-a' && s.adminState === 0);
    await waitFor("A's server in A's HAProxy", served);
    expect(agentA.logs().find((l) => l.event === 'runtime.verified')).toMatchObject({ deployment: a.id, stale: false });
    lbB = await startSerf({ name: 'lb-b', address: '127.0.0.1', tags: { role: 'lb' } });
  });

  it("B's HAProxy refuses to start on the taken address, with HAProxy's own error", async () => {
    const haproxyB = start('haproxy', ['-db', '-f', b.configOut]);
    expect(await haproxyB.exited).toBe(1);
    expect(haproxyB.output()).toContain(`cannot bind socket (Address already in use) for [${runtimeUrl.slice('tcp://'.length)}]`);
    expect(await pidAt(runtimeUrl)).toBe(haproxyA.pid);
  });

  it("B's agent, restarted three times, refuses A's HAProxy every time and never touches A's server", async () => {
    const metricsPort = await freePort();
    for (let run = 0; run < 3; run += 1) {
      const agentB = startAgent([
        'run',
        ...b.flags,
        '--serf',
        lbB.rpc,
        '--resync',
        '1s',
        '--trace',
        '--metrics',
        `127.0.0.1:${metricsPort}`,
      ]);
      const refused = await agentB.waitForLog("B's agent refuses A's HAProxy", (l) => l.event === 'runtime.foreign');
      expect(refused).toMatchObject({ level: 'error', address: runtimeUrl, pid: haproxyA.pid, expected: b.id, found: a.id });
      // It keeps asking (every resync), and asks nothing but `show info`.
      const asked = () => agentB.logs().filter((l) => l.event === 'runtime.command' && l.command === 'show info').length;
      await waitFor('three resyncs', () => asked() >= 4);
      const health = await healthz(metricsPort);
      expect(health.status).toBe(503);
      expect(health.body.foreign).toBe(`HAProxy at ${runtimeUrl} belongs to deployment ${a.id}, not ${b.id}`);
      if (run === 0) {
        const status = await haAgent(['status', '--runtime', runtimeUrl, '--metrics', `127.0.0.1:${metricsPort}`]);
        expect(status.stdout).toContain(`agent: NOT CHANGING HAProxy: HAProxy at ${runtimeUrl} belongs to deployment ${a.id}, not ${b.id}`);
        const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        expect(metrics).toContain('ha_agent_runtime_foreign 1');
        const plan = await haAgent(['plan', ...b.flags, '--serf', lbB.rpc]);
        expect(plan.code).toBe(1);
        expect(plan.stdout).toBe(`HAProxy at ${runtimeUrl} belongs to deployment ${a.id}, not ${b.id}: ha-agent changes nothing there.\n`);
      }
      await agentB.process.stop('SIGTERM');
      expect(await agentB.process.exited).toBe(0);
      const logs = agentB.logs();
      expect(logs.filter((l) => l.event === 'runtime.foreign')).toHaveLength(1);
      expect(new Set(logs.filter((l) => l.event === 'runtime.command').map((l) => l.command))).toEqual(new Set(['show info']));
      expect(logs.filter((l) => ['plan.action', 'step.finished', 'config.written'].includes(l.event))).toEqual([]);
    }
    expect(await serversOf(runtimeUrl)).toEqual([expect.objectContaining({ name: 'web-a', adminState: 0 })]);
    expect(await pidAt(runtimeUrl)).toBe(haproxyA.pid);
    expect(agentA.logs().filter((l) => l.event === 'runtime.foreign' || l.event === 'plan.action')).toHaveLength(1); // A's own join only
  });

  it("B's agent drives B's own HAProxy once it answers on the address (a restart of the right HAProxy heals it)", async () => {
    const metricsPort = await freePort();
    const metrics = ['--metrics', `127.0.0.1:${metricsPort}`];
    const agentB = startAgent(['run', ...b.flags, '--serf', lbB.rpc, '--resync', '1s', '--log-level', 'debug', ...metrics]);
    await agentB.waitForLog("B's agent refuses A's HAProxy", (l) => l.event === 'runtime.foreign');
    await agentA.process.stop('SIGTERM');
    await haproxyA.stop('SIGTERM');
    const haproxyB = start('haproxy', ['-db', '-f', b.configOut]);
    await waitFor("B's HAProxy", async () => (await pidAt(runtimeUrl)) === haproxyB.pid);
    const verified = await agentB.waitForLog("B's agent verifies B's HAProxy", (l) => l.event === 'runtime.verified');
    expect(verified).toMatchObject({ deployment: b.id, pid: haproxyB.pid, stale: false });
    await waitFor('healthz 200', async () => (await healthz(metricsPort)).status === 200);
    expect((await healthz(metricsPort)).body.foreign).toBeUndefined();
    await agentB.waitForLog("a pass over B's HAProxy", (l) => l.event === 'pass');
    const events = agentB.logs().map((l) => l.event);
    expect(events.indexOf('pass')).toBeGreaterThan(events.indexOf('runtime.verified')); // no pass while A's HAProxy answered
  });

  it('noreuseport still lets a -sf reload take the listeners over', async () => {
    const c = await deployment('c', await freePort());
    const url = c.flags[c.flags.indexOf('--runtime') + 1]!;
    const old = start('haproxy', ['-db', '-f', c.configOut]);
    await waitFor('HAProxy C', async () => (await pidAt(url)) === old.pid);
    const reloaded = start('haproxy', ['-db', '-f', c.configOut, '-sf', String(old.pid)]);
    await waitFor('the new process on the Runtime API', async () => (await pidAt(url)) === reloaded.pid);
    expect(await old.exited).toBe(0);
    expect((await fetch(`http://${c.frontend}/`)).status).toBe(503); // its front end answers (an empty backend)
  });
});
