/**
 * A person's holds against real haproxy, serf and `ha-agent run`: a MAINT set by hand on the Runtime API
 * outlives resyncs and an agent restart, its member leaving still removes it, and a restart in the middle of
 * a join resumes the join (the agent's own MAINT is never taken for a person's).
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminMode } from '../../src/reconcile/actual.js';
import { RuntimeClient } from '../../src/runtime/client.js';
import * as cmd from '../../src/runtime/commands.js';
import { agentArgs, startAgent, type TestAgent } from '../helpers/agent.js';
import { haAgent } from '../helpers/cli.js';
import { startWebMember, type WebMember } from '../helpers/cluster.js';
import { startHaproxy, type TestHaproxy } from '../helpers/haproxy.js';
import { startHttpBackend, type HttpBackend } from '../helpers/http-backend.js';
import { freePort } from '../helpers/ports.js';
import { stopAll } from '../helpers/processes.js';
import { startSerf, type TestSerf } from '../helpers/serf.js';
import { waitFor } from '../helpers/wait.js';

let haproxy: TestHaproxy;
let lb: TestSerf;
let runtime: RuntimeClient;
const webs: HttpBackend[] = [];

const modes = async () => Object.fromEntries((await runtime.serversState(haproxy.backend)).map((s) => [s.name, adminMode(s.adminState)]));

/** Waits until the backend's servers are exactly `want`, in any order; a timeout names what HAProxy showed last. */
async function modesBecome(what: string, want: Record<string, string>): Promise<void> {
  await waitFor(
    what,
    async () => {
      const got = await modes();
      expect(got).toEqual(want);
      return true;
    },
    { timeoutMs: 20_000 },
  );
}

async function member(name: string, address: string): Promise<WebMember> {
  const m = await startWebMember(name, address, lb.bind);
  webs.push(m.web);
  return m;
}

beforeEach(async () => {
  haproxy = await startHaproxy();
  lb = await startSerf({ name: 'lb', address: '127.0.0.1', tags: { role: 'lb' } });
  runtime = new RuntimeClient({ url: haproxy.tcpUrl });
  runtime.start();
  await waitFor('runtime client', () => runtime.connected);
});

afterEach(async () => {
  await runtime.close();
  await Promise.all(webs.map((w) => w.close()));
  webs.length = 0;
  await stopAll();
});

describe('holds (real haproxy, serf, ha-agent run)', () => {
  it('a MAINT set by hand stays through 3 resyncs and an agent restart; status names it; its member leaving removes it', async () => {
    const metrics = `127.0.0.1:${await freePort()}`;
    let agent: TestAgent = startAgent(agentArgs(haproxy, lb.rpc, ['--metrics', metrics]));
    await member('web-1', '127.0.0.71');
    const w2 = await member('web-2', '127.0.0.72');
    await modesBecome('both ready', { 'web-1': 'ready', 'web-2': 'ready' });

    // A person, with any Runtime API client.
    await runtime.run(cmd.setState(haproxy.backend, 'web-2', 'maint'));
    const started = await agent.waitForLog('hold seen', (l) => l.event === 'hold.started' && l.server === 'web-2');
    expect(started).toMatchObject({ state: 'maint', held: 1, release: 'ha-agent release web-2' });
    await agent.waitForPasses(3);
    expect(await modes()).toEqual({ 'web-1': 'ready', 'web-2': 'maint' });
    expect(agent.logs().filter((l) => l.event === 'plan.action' && l.server === 'web-2' && l.action === 'resume')).toEqual([]);
    const gauge = await (await fetch(`http://${metrics}/metrics`)).text();
    expect(gauge).toMatch(/^ha_agent_servers_held\{backend="nodes"\} 1$/m);
    const health = (await (await fetch(`http://${metrics}/healthz`)).json()) as { holds?: Record<string, { state: string }> };
    expect(health.holds?.['nodes/web-2']?.state).toBe('maint');
    // Kept held for HAProxy's next boot.
    await waitFor('rendered disabled', () => /server web-2 \S+ .* disabled$/m.test(readFileSync(haproxy.configPath, 'utf8')));

    const status = await haAgent(['status', '--runtime', haproxy.tcpUrl, '--config-out', haproxy.configPath, '--metrics', metrics]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^nodes\s+web-2\s.*MAINT.*maint since \d{4}-\d\d-\d\dT/m);
    expect(status.stdout).toContain('agent: HELD nodes/web-2 in maint since');

    // The agent restarts: the hold and its start are read back from the ledger.
    await agent.process.stop('SIGTERM');
    agent = startAgent(agentArgs(haproxy, lb.rpc));
    await agent.waitForPasses(3);
    expect(await modes()).toEqual({ 'web-1': 'ready', 'web-2': 'maint' });
    expect(agent.logs().filter((l) => l.event === 'hold.started')).toEqual([]);
    const plan = await haAgent(['plan', '--runtime', haproxy.tcpUrl, '--serf', lb.rpc, '--config-out', haproxy.configPath]);
    expect(plan.stdout).toContain(`held web-2 (maint since ${String(started.since)}`);

    // Its member leaves: the server goes, as any other.
    await w2.serf.leave();
    await modesBecome('web-2 deleted', { 'web-1': 'ready' });
    expect(await agent.waitForLog('hold ended', (l) => l.event === 'hold.released')).toMatchObject({ server: 'web-2', why: 'deleted' });
  }, 120_000);

  it('hold --drain and release through the CLI: kept draining, then taken back', async () => {
    const agent = startAgent(agentArgs(haproxy, lb.rpc));
    await member('web-1', '127.0.0.73');
    await waitFor('web-1 ready', async () => (await modes())['web-1'] === 'ready', { timeoutMs: 20_000 });
    const hold = await haAgent(['hold', 'web-1', '--drain', '--runtime', haproxy.tcpUrl]);
    expect(hold.stdout).toContain('nodes/web-1 is held in drain');
    await agent.waitForLog('hold seen', (l) => l.event === 'hold.started' && l.state === 'drain');
    await agent.waitForPasses(2);
    expect(await modes()).toEqual({ 'web-1': 'drain' });
    expect((await haAgent(['release', 'web-1', '--runtime', haproxy.tcpUrl])).code).toBe(0);
    await agent.waitForLog('hold ended', (l) => l.event === 'hold.released' && l.why === 'ready');
    await agent.waitForPasses(2);
    expect(await modes()).toEqual({ 'web-1': 'ready' });
  }, 60_000);

  it('an agent killed while a join waits for its first check resumes that join after restart: not a hold', async () => {
    let healthy = false;
    const web = await startHttpBackend('web-3', '127.0.0.74', { health: () => (healthy ? 200 : 503) });
    webs.push(web);
    let agent = startAgent(agentArgs(haproxy, lb.rpc, ['--check-timeout', '60s']));
    await startSerf({ name: 'web-3', address: '127.0.0.74', join: lb.bind, tags: { role: 'backend', port: String(web.port) } });
    await agent.waitForLog('join waits', (l) => l.event === 'step.finished' && l.step === 'enable-health' && l.server === 'web-3');
    await agent.process.stop('SIGKILL');
    expect(await modes()).toEqual({ 'web-3': 'maint' });
    agent = startAgent(agentArgs(haproxy, lb.rpc, ['--check-timeout', '60s']));
    const resumed = await agent.waitForLog('join resumed', (l) => l.event === 'plan.action' && l.server === 'web-3');
    expect(resumed.action).toBe('resume');
    healthy = true;
    await waitFor('web-3 ready', async () => (await modes())['web-3'] === 'ready', { timeoutMs: 20_000 });
    expect(agent.logs().filter((l) => l.event === 'hold.started')).toEqual([]);
  }, 90_000);
});
