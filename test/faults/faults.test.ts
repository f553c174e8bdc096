/**
 * Faults injected into real processes: no fault loses a server, duplicates one, or leaves an orphan.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RUNTIME_URL } from '../../src/lab/cluster/layout.js';
import { LocalCluster, processTree } from '../../src/lab/cluster/local.js';
import { once } from '../../src/lab/demo/load.js';
import { adminMode } from '../../src/reconcile/actual.js';
import { RuntimeClient } from '../../src/runtime/client.js';
import { agentArgs, startAgent, type TestAgent } from '../helpers/agent.js';
import { haAgent } from '../helpers/cli.js';
import { startWebMember } from '../helpers/cluster.js';
import { FakeSerf } from '../helpers/fake-serf.js';
import { startHaproxy } from '../helpers/haproxy.js';
import { startHttpBackend, type HttpBackend } from '../helpers/http-backend.js';
import { freePort } from '../helpers/ports.js';
import { stopAll } from '../helpers/processes.js';
import { startSerf } from '../helpers/serf.js';
import { waitFor } from '../helpers/wait.js';

const home = path.resolve(import.meta.dirname, '../..');
const clients: RuntimeClient[] = [];
const webs: HttpBackend[] = [];

function runtimeFor(url: string): RuntimeClient {
  const client = new RuntimeClient({ url, reconnectStrategy: () => 100 });
  client.start();
  clients.push(client);
  return client;
}
const names = async (runtime: RuntimeClient, backend = 'nodes') => (await runtime.serversState(backend)).map((s) => s.name).sort();

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(webs.map((w) => w.close()));
  await stopAll();
});

describe('faults around the agent (real haproxy, serf, agent)', () => {
  it('SIGKILL of ha-agent in the middle of a drain: after restart the drain completes, no orphan, no duplicate', async () => {
    const haproxy = await startHaproxy();
    const lb = await startSerf({ name: 'lb', address: '127.0.0.1', tags: { role: 'lb' } });
    let agent: TestAgent = startAgent(agentArgs(haproxy, lb.rpc, ['--drain-timeout', '20s']));
    const runtime = runtimeFor(haproxy.tcpUrl);
    const [w1, w2] = [await startWebMember('web-1', '127.0.0.61', lb.bind), await startWebMember('web-2', '127.0.0.62', lb.bind)];
    webs.push(w1.web, w2.web);
    await waitFor('both UP', async () => (await runtime.stat('nodes')).filter((s) => s.status.startsWith('UP')).length === 2, { timeoutMs: 20_000 });
    const slow = Array.from({ length: 4 }, () => once(haproxy.frontendUrl, '/slow?ms=6000'));
    await waitFor('web-1 busy', async () => ((await runtime.stat('nodes')).find((s) => s.name === 'web-1')?.sessions ?? 0) > 0);
    await w1.serf.leave();
    await agent.waitForLog('drain started', (l) => l.event === 'step.finished' && l.command === 'set server nodes/web-1 state drain');
    await agent.process.stop('SIGKILL');
    const draining = (await runtime.serversState('nodes')).find((s) => s.name === 'web-1');
    expect(draining && adminMode(draining.adminState)).toBe('drain');
    agent = startAgent(agentArgs(haproxy, lb.rpc, ['--drain-timeout', '20s']));
    const resumed = await agent.waitForLog('removal resumed', (l) => l.event === 'plan.action' && l.server === 'web-1');
    expect(resumed.steps).toEqual(['await-drained', 'set-state', 'shutdown-sessions', 'del']);
    const answers = await Promise.all(slow);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(answers.some((a) => a.by === 'web-1')).toBe(true);
    await waitFor('web-1 deleted', async () => (await names(runtime)).join() === 'web-2', { timeoutMs: 20_000 });
    expect(agent.logs().filter((l) => l.event === 'step.finished' && String(l.command).startsWith('add server'))).toEqual([]);
  }, 120_000);

  it('rendered-config write fails: the previous file stays intact and valid, runtime changes go on, log and status say so', async () => {
    const haproxy = await startHaproxy();
    const lb = await startSerf({ name: 'lb', address: '127.0.0.1', tags: { role: 'lb' } });
    const metrics = `127.0.0.1:${await freePort()}`;
    const agent = startAgent(agentArgs(haproxy, lb.rpc, ['--metrics', metrics]));
    const runtime = runtimeFor(haproxy.tcpUrl);
    const w1 = await startWebMember('web-1', '127.0.0.63', lb.bind);
    webs.push(w1.web);
    await waitFor('config lists web-1', () => readFileSync(haproxy.configPath, 'utf8').includes('server web-1 '), { timeoutMs: 20_000 });
    const before = readFileSync(haproxy.configPath, 'utf8');
    execFileSync('chattr', ['+i', haproxy.dir]); // not even root may replace a file in an immutable folder
    try {
      const w2 = await startWebMember('web-2', '127.0.0.64', lb.bind);
      webs.push(w2.web);
      await waitFor('web-2 UP at runtime', async () => (await runtime.stat('nodes')).some((s) => s.name === 'web-2' && s.status.startsWith('UP')), { timeoutMs: 20_000 });
      const failure = await agent.waitForLog('write failure logged', (l) => l.event === 'config.write-failed');
      expect(failure.level).toBe('error');
      expect(readFileSync(haproxy.configPath, 'utf8')).toBe(before);
      execFileSync('haproxy', ['-c', '-q', '-f', haproxy.configPath]);
      const health = (await (await fetch(`http://${metrics}/healthz`)).json()) as { ok: boolean; config: string };
      expect(health.ok).toBe(true); // serving goes on; only the file is stale
      expect(health.config).toMatch(/EPERM|not permitted/);
      const status = await haAgent(['status', '--runtime', haproxy.tcpUrl, '--metrics', metrics]);
      expect(status.stdout).toMatch(/^agent: HAProxy connected, Serf connected, haproxy\.cfg NOT WRITTEN \(/m);
      expect(await (await fetch(`http://${metrics}/metrics`)).text()).toContain('ha_agent_config_written 0');
    } finally {
      execFileSync('chattr', ['-i', haproxy.dir]);
    }
    await w1.serf.leave(); // the next change writes again
    await waitFor('config written again', () => readFileSync(haproxy.configPath, 'utf8').includes('server web-2 ') && !readFileSync(haproxy.configPath, 'utf8').includes('server web-1 '), { timeoutMs: 20_000 });
  }, 120_000);

  it('Serf stream loses events: a silent change is repaired by the resync, a dropped stream by the re-list on reconnect', async () => {
    const haproxy = await startHaproxy();
    const serf = new FakeSerf();
    await serf.listen();
    const agent = startAgent(agentArgs(haproxy, serf.address, ['--resync', '2s']));
    const runtime = runtimeFor(haproxy.tcpUrl);
    await waitFor('agent streaming', () => serf.streaming, { timeoutMs: 20_000 });
    const [a, b] = [await startHttpBackend('a', '127.0.0.65'), await startHttpBackend('b', '127.0.0.66')];
    webs.push(a, b);
    const member = (w: HttpBackend) => ({ name: w.id, address: w.address, tags: { role: 'backend', port: String(w.port) }, status: 'alive' as const });
    serf.members.set('a', member(a)); // no event at all: as if the stream had dropped it
    await waitFor('a added by the resync', async () => (await names(runtime)).join() === 'a', { timeoutMs: 10_000 });
    // No event and no reconnect: only the periodic re-list can have found it.
    expect(agent.logs().filter((l) => l.event === 'serf.connected')).toHaveLength(1);
    expect(agent.logs().filter((l) => l.event === 'serf.event')).toHaveLength(0);
    serf.members.set('b', member(b));
    serf.dropStreams(); // the stream connection dies mid-batch
    await waitFor('b added after the reconnect', async () => (await names(runtime)).join() === 'a,b', { timeoutMs: 10_000 });
  }, 60_000);
});

describe('faults around HAProxy, Serf and web servers (local cluster under s6)', () => {
  let cluster: LocalCluster;
  let runtime: RuntimeClient;

  afterAll(async () => {
    // Also when a test failed half-way: every process the cluster started is stopped.
    await (cluster as LocalCluster | undefined)?.down();
  });

  it('SIGKILL of HAProxy: s6 restarts it from the rendered config with every server, the agent reconnects', async () => {
    cluster = await LocalCluster.up({ home, stateDir: mkdtempSync(path.join(tmpdir(), 'ha-agent-faults-')), port: await freePort(), webapps: 3 });
    runtime = runtimeFor(RUNTIME_URL);
    await waitFor('monitor connected', () => runtime.connected);
    const before = (await runtime.info()).pid;
    await cluster.killService('ha', 'haproxy');
    await cluster.waitConverged();
    // This test's own client fails fast while disconnected (by design) and reconnects by itself.
    const after = await waitFor('test client reconnected', async () => runtime.connected && (await runtime.info()).pid);
    expect(after).not.toBe(before);
    expect(await names(runtime)).toEqual(['web-1', 'web-2', 'web-3']);
    await waitFor('agent saw the restart', () => readFileSync(path.join(cluster.containers[0]!.dir, 'output.log'), 'utf8').includes('"event":"runtime.restarted"'));
    expect((await fetch(`${cluster.frontendUrl}/`)).status).toBe(200);
  }, 120_000);

  it('restart of the balancer\'s Serf agent: the agent reconnects, re-lists and converges', async () => {
    const log = path.join(cluster.containers[0]!.dir, 'output.log');
    const connectedBefore = readFileSync(log, 'utf8').split('"event":"serf.connected"').length;
    await cluster.killService('ha', 'serf');
    await waitFor('agent reconnected to serf', () => readFileSync(log, 'utf8').split('"event":"serf.connected"').length > connectedBefore, { timeoutMs: 20_000 });
    await cluster.scale(4);
    expect(await names(runtime)).toEqual(['web-1', 'web-2', 'web-3', 'web-4']);
  }, 120_000);

  it('a frozen web server (SIGSTOP) is removed once Serf declares it failed, and re-added after SIGCONT', async () => {
    const victim = cluster.webs()[0]!;
    const frozen = processTree(victim.pid).filter((pid) => /serf|node/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8')));
    expect(frozen.length).toBeGreaterThanOrEqual(2);
    for (const pid of frozen) process.kill(pid, 'SIGSTOP');
    try {
      await waitFor(`${victim.name} removed`, async () => !(await names(runtime)).includes(victim.name), { timeoutMs: 45_000, intervalMs: 250 });
    } finally {
      for (const pid of frozen) process.kill(pid, 'SIGCONT');
    }
    await waitFor(`${victim.name} back`, async () => (await runtime.stat('nodes')).some((s) => s.name === victim.name && s.status.startsWith('UP')), { timeoutMs: 60_000, intervalMs: 250 });
  }, 180_000);
});
