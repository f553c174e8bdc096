/**
 * Faults injected into real processes: no fault loses a server, duplicates one, or leaves an orphan.
 * A light load runs through HAProxy's frontend during each fault; every request is counted, and
 * the counts are printed (`fault load: …`) for docs/reliability.md.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUNTIME_URL } from '../../src/lab/cluster/layout.js';
import { LocalCluster, processTree } from '../../src/lab/cluster/local.js';
import { once, startLoad, summarise, type Outcome, type Window } from '../../src/lab/demo/load.js';
import { adminMode } from '../../src/reconcile/actual.js';
import { RuntimeClient } from '../../src/runtime/client.js';
import { agentArgs, startAgent, type LogLine, type TestAgent } from '../helpers/agent.js';
import { haAgent } from '../helpers/cli.js';
import { startWebMember } from '../helpers/cluster.js';
import { FakeSerf } from '../helpers/fake-serf.js';
import { startHaproxy } from '../helpers/haproxy.js';
import { startHttpBackend, type HttpBackend } from '../helpers/http-backend.js';
import { freePort } from '../helpers/ports.js';
import { stopAll } from '../helpers/processes.js';
import { startSerf } from '../helpers/serf.js';
import { expectNoneFailed } from '../helpers/expect-load.js';
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
const isUp = async (runtime: RuntimeClient, server: string) =>
  (await runtime.stat('nodes')).some((s) => s.name === server && s.status.startsWith('UP'));

/**
 * Runs `fault` while three clients (two keep-alive, one new connection per request) send requests
 * through HAProxy's frontend; prints and returns the count of requests and of failed ones (an error
 * or any status but 200).
 */
async function underLoad<T>(
  fault: string,
  frontendUrl: string,
  inject: () => Promise<T>,
): Promise<{ result: T; load: Window; failures: Outcome[] }> {
  const load = startLoad(frontendUrl, { keepAlive: 2, newConnection: 1, pauseMs: 10 });
  const started = Date.now();
  let result: T;
  try {
    result = await inject();
  } finally {
    await load.stop();
  }
  const window = summarise(load.outcomes);
  const failures = load.outcomes.filter((o) => !o.ok).sort((x, y) => x.at - y.at);
  const span = failures.length > 0 ? `, ${failures.at(-1)!.at - failures[0]!.at} ms from the first failed answer to the last` : '';
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const counts = `${window.requests} requests through HAProxy in ${seconds} s, ${window.failed} failed${span}`;
  console.log(`fault load: ${fault}: ${counts} ${JSON.stringify(window.errors)}`);
  expect(window.requests).toBeGreaterThan(0);
  return { result, load: window, failures };
}

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(webs.map((w) => w.close()));
  await stopAll();
});

describe('faults around the agent (real haproxy, serf, agent)', () => {
  it('SIGKILL of ha-agent in the middle of a drain: the drain completes after restart, no orphan, no duplicate, none fails', async () => {
    const haproxy = await startHaproxy();
    const lb = await startSerf({ name: 'lb', address: '127.0.0.1', tags: { role: 'lb' } });
    let agent: TestAgent = startAgent(agentArgs(haproxy, lb.rpc, ['--drain-timeout', '20s']));
    const runtime = runtimeFor(haproxy.tcpUrl);
    const [w1, w2] = [await startWebMember('web-1', '127.0.0.61', lb.bind), await startWebMember('web-2', '127.0.0.62', lb.bind)];
    webs.push(w1.web, w2.web);
    await waitFor('both UP', async () => (await runtime.stat('nodes')).filter((s) => s.status.startsWith('UP')).length === 2, {
      timeoutMs: 20_000,
    });
    const { load, result: answers } = await underLoad('SIGKILL of ha-agent in the middle of a drain', haproxy.frontendUrl, async () => {
      const slow = Array.from({ length: 4 }, () => once(haproxy.frontendUrl, '/slow?ms=6000'));
      await waitFor('web-1 busy', async () => ((await runtime.stat('nodes')).find((s) => s.name === 'web-1')?.sessions ?? 0) > 0);
      await w1.serf.leave();
      await agent.waitForLog('drain started', (l) => l.event === 'step.finished' && l.command === 'set server nodes/web-1 state drain');
      await agent.process.stop('SIGKILL');
      const draining = (await runtime.serversState('nodes')).find((s) => s.name === 'web-1');
      expect(draining && adminMode(draining.adminState)).toBe('drain');
      agent = startAgent(agentArgs(haproxy, lb.rpc, ['--drain-timeout', '20s']));
      const resumed = await agent.waitForLog('removal resumed', (l) => l.event === 'plan.action' && l.server === 'web-1');
      expect(resumed.steps).toEqual(['await-drained', 'set-state', 'await-drained', 'shutdown-sessions', 'del']);
      const slowAnswers = await Promise.all(slow);
      await waitFor('web-1 deleted', async () => (await names(runtime)).join() === 'web-2', { timeoutMs: 20_000 });
      return slowAnswers;
    });
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(answers.some((a) => a.by === 'web-1')).toBe(true);
    expectNoneFailed(load);
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
    await waitFor('web-1 UP', () => isUp(runtime, 'web-1'), { timeoutMs: 20_000 });
    const before = readFileSync(haproxy.configPath, 'utf8');
    const { load } = await underLoad('the rendered config cannot be written', haproxy.frontendUrl, async () => {
      execFileSync('chattr', ['+i', haproxy.dir]); // not even root may replace a file in an immutable folder
      try {
        const w2 = await startWebMember('web-2', '127.0.0.64', lb.bind);
        webs.push(w2.web);
        await waitFor('web-2 UP at runtime', () => isUp(runtime, 'web-2'), { timeoutMs: 20_000 });
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
      const config = () => readFileSync(haproxy.configPath, 'utf8');
      const rewritten = () => config().includes('server web-2 ') && !config().includes('server web-1 ');
      await waitFor('config written again', rewritten, { timeoutMs: 20_000 });
      await waitFor('web-1 deleted', async () => (await names(runtime)).join() === 'web-2', { timeoutMs: 20_000 });
    });
    expectNoneFailed(load);
  }, 120_000);

  it('Serf stream loses events: a silent change is repaired by the next resync, a dropped stream by the re-list on reconnect', async () => {
    const haproxy = await startHaproxy();
    const serf = new FakeSerf(); // the Serf RPC stand-in: a real Serf cannot be made to lose one event on cue
    await serf.listen();
    // The Serf poll would see the stand-in's counters move and list at once; it is turned off here so that
    // the resync alone, the safety net for a change that neither the stream nor the poll reports, is tested.
    const agent = startAgent(agentArgs(haproxy, serf.address, ['--resync', '2s', '--serf-poll', '60m']));
    const runtime = runtimeFor(haproxy.tcpUrl);
    await waitFor('agent streaming', () => serf.streaming, { timeoutMs: 20_000 });
    const [a, b, c] = [
      await startHttpBackend('a', '127.0.0.65'),
      await startHttpBackend('b', '127.0.0.66'),
      await startHttpBackend('c', '127.0.0.67'),
    ];
    webs.push(a, b, c);
    const member = (w: HttpBackend, status: 'alive' | 'left' = 'alive') => ({
      name: w.id,
      address: w.address,
      tags: { role: 'backend', port: String(w.port) },
      status,
    });
    serf.event('member-join', [member(a)]);
    await waitFor('a UP', () => isUp(runtime, 'a'), { timeoutMs: 20_000 });
    const since = (from: string) => agent.logs().filter((l) => String(l.time) >= from);

    const silentFrom = new Date().toISOString();
    const silent = await underLoad('the Serf stream silently misses a join (Serf RPC stand-in)', haproxy.frontendUrl, async () => {
      serf.members.set('b', member(b)); // no event at all: as if the stream had dropped it
      await waitFor('b UP after the resync', () => isUp(runtime, 'b'), { timeoutMs: 10_000 });
    });
    // No event and no reconnect: only the periodic re-list can have found it, ...
    expect(since(silentFrom).filter((l) => l.event === 'serf.connected' || l.event === 'serf.event')).toEqual([]);
    // ... on the first resync after the change: before the pass that saw b, at most one pass whose
    // list was already answered when b appeared. So the repair came within one --resync period.
    const passes = since(silentFrom).filter((l) => l.event === 'pass');
    const repaired = passes.findIndex((p) => p.members === 2);
    expect(passes[repaired]).toMatchObject({ reason: 'resync', actions: 1 });
    expect(repaired).toBeLessThanOrEqual(1);
    expectNoneFailed(silent.load);

    const droppedFrom = new Date().toISOString();
    const dropped = await underLoad('the Serf stream connection dies (Serf RPC stand-in)', haproxy.frontendUrl, async () => {
      serf.members.set('a', member(a, 'left')); // changes the dying stream never reports
      serf.members.set('c', member(c));
      serf.dropStreams();
      const repaired = async () => (await names(runtime)).join() === 'b,c' && (await isUp(runtime, 'c'));
      await waitFor('a deleted and c UP after the reconnect', repaired, { timeoutMs: 20_000 });
    });
    expect(since(droppedFrom).filter((l) => l.event === 'serf.connected')).toHaveLength(1);
    expect(since(droppedFrom).find((l) => l.event === 'pass' && l.members === 3)).toMatchObject({ reason: 'connected' });
    expectNoneFailed(dropped.load);
  }, 60_000);
});

describe('faults around HAProxy, Serf and web servers (local cluster under s6)', () => {
  let cluster: LocalCluster;
  let runtime: RuntimeClient;

  afterAll(async () => {
    // Also when a test failed half-way: every process the cluster started is stopped.
    await (cluster as LocalCluster | undefined)?.down();
  });

  // Each test can also run alone (`-t`): the cluster is up before the first of them.
  beforeAll(async () => {
    const stateDir = mkdtempSync(path.join(tmpdir(), 'ha-agent-faults-'));
    cluster = await LocalCluster.up({ home, stateDir, port: await freePort(), webapps: 3 });
    runtime = runtimeFor(RUNTIME_URL);
    await waitFor('monitor connected', () => runtime.connected);
  });

  it('SIGKILL of HAProxy: s6 restarts it from the rendered config with every server, the agent reconnects', async () => {
    const before = (await runtime.info()).pid;
    // Requests fail while no HAProxy listens: counted and printed, not asserted.
    await underLoad('SIGKILL of HAProxy', cluster.frontendUrl, async () => {
      await cluster.killService('ha', 'haproxy');
      await cluster.waitConverged();
      // This test's own client fails fast while disconnected (by design) and reconnects by itself.
      const after = await waitFor('test client reconnected', async () => runtime.connected && (await runtime.info()).pid);
      expect(after).not.toBe(before);
      expect(await names(runtime)).toEqual(['web-1', 'web-2', 'web-3']);
      const log = path.join(cluster.containers[0]!.dir, 'output.log');
      await waitFor('agent saw the restart', () => readFileSync(log, 'utf8').includes('"event":"runtime.restarted"'));
    });
    expect((await fetch(`${cluster.frontendUrl}/`)).status).toBe(200);
  }, 120_000);

  it("restart of the balancer's Serf agent that cannot rejoin: the agent keeps the servers of absent members, none fails", async () => {
    const log = path.join(cluster.containers[0]!.dir, 'output.log');
    const offset = readFileSync(log, 'utf8').length;
    const since = () =>
      readFileSync(log, 'utf8')
        .slice(offset)
        .split('\n')
        .filter((line) => line.startsWith('{') && line.endsWith('}'))
        .map((line) => JSON.parse(line) as LogLine);
    // Without its snapshot the restarted Serf cannot rejoin the nodes it knew (as when its re-join fails):
    // its first lists hold no web server, until the web servers' agents gossip with it again.
    const snapshot = path.join(cluster.containers[0]!.dir, 'serf', 'snapshot');
    expect(existsSync(snapshot)).toBe(true);
    const { load } = await underLoad("restart of the balancer's Serf agent", cluster.frontendUrl, async () => {
      rmSync(snapshot);
      await cluster.killService('ha', 'serf');
      await waitFor('agent reconnected to serf', () => since().some((l) => l.event === 'serf.connected'), { timeoutMs: 20_000 });
      const absent = () => since().filter((l) => l.event === 'member.absent');
      const returned = () => since().filter((l) => l.event === 'member.returned');
      // By gossip, within the grace period (--absent-grace, 2 min): not by the grace running out.
      await waitFor('absent members listed again', () => returned().length === absent().length, { timeoutMs: 100_000 });
      await cluster.scale(4);
    });
    const absent = since().filter((l) => l.event === 'member.absent');
    const removed = since()
      .filter((l) => l.event === 'plan.action' && l.action === 'remove')
      .map((l) => l.server);
    const back = since().filter((l) => l.event === 'member.returned');
    console.log(
      `fault load: restart of the balancer's Serf agent: absent members ${absent.map((l) => l.member).join(', ') || 'none'}, ` +
        `listed again after ${back.map((l) => `${String(l.absentMs)} ms`).join(', ') || '-'}; removed meanwhile: ${removed.join(', ') || 'none'}`,
    );
    expect(absent.every((l) => l.action === 'keep')).toBe(true);
    expect(removed).toEqual([]);
    expectNoneFailed(load);
    expect(await names(runtime)).toEqual(['web-1', 'web-2', 'web-3', 'web-4']);
  }, 180_000);

  it('a frozen web server (SIGSTOP) is removed once Serf declares it failed, and re-added after SIGCONT', async () => {
    const victim = cluster.webs()[0]!;
    const frozen = processTree(victim.pid).filter((pid) => /serf|node/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8')));
    expect(frozen.length).toBeGreaterThanOrEqual(2);
    for (const pid of frozen) process.kill(pid, 'SIGSTOP');
    try {
      await waitFor(`${victim.name} removed`, async () => !(await names(runtime)).includes(victim.name), {
        timeoutMs: 45_000,
        intervalMs: 250,
      });
    } finally {
      for (const pid of frozen) process.kill(pid, 'SIGCONT');
    }
    await waitFor(
      `${victim.name} back`,
      async () => (await runtime.stat('nodes')).some((s) => s.name === victim.name && s.status.startsWith('UP')),
      { timeoutMs: 60_000, intervalMs: 250 },
    );
  }, 180_000);
});
