/**
 * The product, with real processes on loopback: haproxy, a Serf agent for the balancer plus
 * `ha-agent run`, and web members that are each a real HTTP server plus their own Serf agent.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RuntimeClient } from '../../src/runtime/client.js';
import { agentArgs, startAgent, type TestAgent } from '../helpers/agent.js';
import { startWebMember, type WebMember } from '../helpers/cluster.js';
import { startHaproxy, type TestHaproxy } from '../helpers/haproxy.js';
import { freePort } from '../helpers/ports.js';
import { stopAll } from '../helpers/processes.js';
import { startSerf, type TestSerf } from '../helpers/serf.js';
import { waitFor } from '../helpers/wait.js';

let haproxy: TestHaproxy;
let lb: TestSerf;
let agent: TestAgent;
let runtime: RuntimeClient;
let pid: number;
const members = new Map<string, WebMember>();

async function serverNames(): Promise<string[]> {
  return (await runtime.serversState(haproxy.backend)).map((s) => s.name).sort();
}

async function upServers(): Promise<string[]> {
  return (await runtime.stat(haproxy.backend))
    .filter((s) => s.status.startsWith('UP'))
    .map((s) => s.name)
    .sort();
}

async function servedBy(count: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < count; i += 1) {
    const response = await fetch(`${haproxy.frontendUrl}/`);
    expect(response.status).toBe(200);
    seen.add(response.headers.get('x-backend') ?? '?');
  }
  return seen;
}

const addresses: Record<string, string> = { 'web-1': '127.0.0.11', 'web-2': '127.0.0.12', 'web-3': '127.0.0.13', 'web-4': '127.0.0.14' };

/** Web members joining the balancer's cluster; each test starts the ones it needs. */
async function join(...names: string[]): Promise<void> {
  for (const name of names) members.set(name, await startWebMember(name, addresses[name]!, lb.bind));
}

async function joinedAndUp(...names: string[]): Promise<void> {
  await join(...names);
  await waitFor(`${names.join(', ')} UP`, async () => (await upServers()).join() === names.join(), { timeoutMs: 20_000 });
}

// Every test gets its own haproxy, balancer Serf agent and ha-agent, so one failure cannot cascade.
beforeEach(async () => {
  haproxy = await startHaproxy();
  lb = await startSerf({ name: 'lb', address: '127.0.0.1', tags: { role: 'lb' } });
  agent = startAgent(agentArgs(haproxy, lb.rpc));
  runtime = new RuntimeClient({ url: haproxy.tcpUrl });
  runtime.start();
  await waitFor('runtime client', () => runtime.connected);
  pid = (await runtime.info()).pid;
});

afterEach(async () => {
  await runtime.close();
  await Promise.all([...members.values()].map((m) => m.web.close()));
  members.clear();
  await stopAll();
});

describe('ha-agent run against real haproxy and serf', () => {
  it('adds joining members, serves requests through each of them, and persists them into the config HAProxy boots from', async () => {
    await joinedAndUp('web-1', 'web-2', 'web-3');
    expect(await serverNames()).toEqual(['web-1', 'web-2', 'web-3']);
    expect(await servedBy(9)).toEqual(new Set(['web-1', 'web-2', 'web-3']));
    const added = agent.logs().filter((l) => l.event === 'step.finished' && String(l.command).startsWith('add server'));
    expect(added.map((l) => l.answer)).toEqual(['New server registered.', 'New server registered.', 'New server registered.']);
    await waitFor('config with 3 servers', () => (readFileSync(haproxy.configPath, 'utf8').match(/^\s+server /gm) ?? []).length === 3);
    const config = readFileSync(haproxy.configPath, 'utf8');
    expect(config).toMatch(new RegExp(`server web-1 127\\.0\\.0\\.11:${members.get('web-1')!.web.port} check`));
    expect((await runtime.info()).pid).toBe(pid); // never reloaded
  });

  it('drains a gracefully leaving member: its in-flight requests complete, then it is gone', async () => {
    await joinedAndUp('web-1', 'web-3');
    const web1 = members.get('web-1')!;
    // Several slow requests so that some land on web-1 (round robin).
    const inFlight = Array.from({ length: 6 }, () =>
      fetch(`${haproxy.frontendUrl}/slow?ms=4000`).then(async (r) => ({
        status: r.status,
        by: r.headers.get('x-backend'),
        body: await r.text(),
      })),
    );
    await waitFor('web-1 busy', async () => ((await runtime.stat(haproxy.backend)).find((s) => s.name === 'web-1')?.sessions ?? 0) > 0);
    await web1.serf.leave();
    await agent.waitForLog('drain of web-1', (l) => l.event === 'step.finished' && l.command === 'set server nodes/web-1 state drain');
    const results = await Promise.all(inFlight);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(results.filter((r) => r.by === 'web-1').length).toBeGreaterThan(0);
    await waitFor('web-1 deleted', async () => !(await serverNames()).includes('web-1'));
    // The agent's log lines travel through a pipe: they may arrive just after HAProxy shows the change.
    await agent.waitForLog('drain finished', (l) => l.event === 'drain.finished' && l.server === 'web-1', 5_000);
    await agent.waitForLog(
      'del answered',
      (l) => l.event === 'step.finished' && l.command === 'del server nodes/web-1' && l.answer === 'Server deleted.',
      5_000,
    );
    expect((await runtime.info()).pid).toBe(pid);
  });

  it('removes a member killed with SIGKILL once Serf declares it failed', async () => {
    await joinedAndUp('web-2', 'web-3');
    const web2 = members.get('web-2')!;
    await web2.serf.process.stop('SIGKILL');
    await agent.waitForLog('web-2 failed', (l) => l.event === 'plan.action' && l.server === 'web-2' && l.action === 'remove', 30_000);
    await waitFor('web-2 deleted', async () => !(await serverNames()).includes('web-2'), { timeoutMs: 30_000 });
    expect(await serverNames()).toEqual(['web-3']);
    expect((await runtime.info()).pid).toBe(pid);
  });

  it('rejects hostile member names, keeping the others served', async () => {
    await joinedAndUp('web-3');
    for (const [name, address] of [
      ['x;shutdown sessions server nodes/web-3', '127.0.0.21'],
      ['a b', '127.0.0.22'],
    ] as const) {
      await startSerf({ name, address, join: lb.bind, tags: { role: 'backend', port: '3000' } });
    }
    await agent.waitForLog(
      'first rejection',
      (l) => l.event === 'member.rejected' && l.member === JSON.stringify('x;shutdown sessions server nodes/web-3'),
    );
    await agent.waitForLog('second rejection', (l) => l.event === 'member.rejected' && l.member === JSON.stringify('a b'));
    expect(await serverNames()).toEqual(['web-3']);
    expect(await servedBy(3)).toEqual(new Set(['web-3']));
    expect(readFileSync(haproxy.configPath, 'utf8')).not.toContain('shutdown');
  });

  it('converges with no duplicates after ha-agent is killed and restarted', async () => {
    await joinedAndUp('web-3');
    await agent.process.stop('SIGKILL');
    await join('web-4');
    // web-4 joins while no agent runs: wait until the balancer's Serf agent knows it.
    await waitFor('web-4 in the cluster', () =>
      /^web-4\s.*\balive\b/m.test(execFileSync('serf', ['members', '-rpc-addr', lb.rpc]).toString()),
    );
    agent = startAgent(agentArgs(haproxy, lb.rpc));
    await waitFor('web-3 and web-4 UP', async () => (await upServers()).join() === 'web-3,web-4', { timeoutMs: 20_000 });
    expect(await serverNames()).toEqual(['web-3', 'web-4']);
    expect(
      agent
        .logs()
        .filter((l) => l.event === 'plan.action')
        .map((l) => l.server),
    ).toEqual(['web-4']);
    expect((await runtime.info()).pid).toBe(pid);
  });

  it('brings every current server back after HAProxy is killed and restarted from the rendered config', async () => {
    await joinedAndUp('web-3', 'web-4');
    await waitFor('config with 2 servers', () => (readFileSync(haproxy.configPath, 'utf8').match(/^\s+server /gm) ?? []).length === 2);
    await haproxy.restart();
    await waitFor('agent sees the restart', () => agent.logs().some((l) => l.event === 'runtime.restarted'), { timeoutMs: 15_000 });
    await waitFor('both UP again', async () => (await upServers()).join() === 'web-3,web-4', { timeoutMs: 20_000 });
    expect(await serverNames()).toEqual(['web-3', 'web-4']);
    expect(await servedBy(4)).toEqual(new Set(['web-3', 'web-4']));
  });

  it('takes out at once a new server whose member leaves before its first check passes, not at the end of --check-timeout', async () => {
    await agent.process.stop('SIGTERM');
    agent = startAgent(agentArgs(haproxy, lb.rpc, ['--check-timeout', '5m']));
    // A member whose tag names a port nothing listens on: its check fails until the wait would time out.
    const closed = await freePort('127.0.0.15');
    const half = await startSerf({ name: 'web-5', address: '127.0.0.15', join: lb.bind, tags: { role: 'backend', port: String(closed) } });
    await agent.waitForLog(
      'web-5 waits for its first check',
      (l) => l.event === 'step.finished' && l.command === 'enable health nodes/web-5',
    );
    expect(await serverNames()).toEqual(['web-5']);
    await half.leave();
    await waitFor('web-5 deleted', async () => (await serverNames()).length === 0, { timeoutMs: 20_000 });
    await agent.waitForLog('abandoned', (l) => l.event === 'action.abandoned' && l.server === 'web-5', 5_000);
    await agent.waitForLog('check abandoned', (l) => l.event === 'check.abandoned' && l.server === 'web-5', 5_000);
    const sent = agent
      .logs()
      .filter((l) => l.event === 'step.finished' && l.server === 'web-5')
      .map((l) => String(l.command));
    expect(sent.slice(-2)).toEqual(['set server nodes/web-5 state maint', 'del server nodes/web-5']);
    expect(sent).not.toContain('set server nodes/web-5 state ready');
    expect(agent.logs().some((l) => l.event === 'check.timeout')).toBe(false);
  });
});
