/**
 * The local Serf agent stopped for 30 s (longer than many resync periods) under load, against real haproxy, serf
 * and `ha-agent run`: the agent keeps the last good member list (the backend never empties), says since when on
 * /healthz, in `status` and in ha_agent_membership_stale_seconds, and says when the list is current again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startLoad } from '../../src/lab/demo/load.js';
import { RuntimeClient } from '../../src/runtime/client.js';
import { agentArgs, startAgent } from '../helpers/agent.js';
import { haAgent } from '../helpers/cli.js';
import { startWebMember, type WebMember } from '../helpers/cluster.js';
import { startHaproxy } from '../helpers/haproxy.js';
import { freePort } from '../helpers/ports.js';
import { stopAll } from '../helpers/processes.js';
import { startSerf } from '../helpers/serf.js';
import { waitFor } from '../helpers/wait.js';

const OUTAGE_MS = 30_000;
const members: WebMember[] = [];
let runtime: RuntimeClient | undefined;

afterEach(async () => {
  await runtime?.close();
  await Promise.all(members.map((m) => m.web.close()));
  members.length = 0;
  await stopAll();
});

describe('Serf cannot be read (real haproxy, serf, ha-agent run)', () => {
  it('stopped for 30 s under load: the last good view is kept, 0 requests fail, the staleness is reported', async () => {
    const haproxy = await startHaproxy();
    const lbOptions = { name: 'lb', address: '127.0.0.1', tags: { role: 'lb' }, bindPort: await freePort(), rpcPort: await freePort() };
    const lb = await startSerf(lbOptions);
    const metrics = `127.0.0.1:${await freePort()}`;
    const agent = startAgent(agentArgs(haproxy, lb.rpc, ['--metrics', metrics]));
    members.push(await startWebMember('web-1', '127.0.0.81', lb.bind), await startWebMember('web-2', '127.0.0.82', lb.bind));
    runtime = new RuntimeClient({ url: haproxy.tcpUrl });
    runtime.start();
    const up = async () =>
      (await runtime!.stat(haproxy.backend))
        .filter((s) => s.status.startsWith('UP'))
        .map((s) => s.name)
        .sort();
    await waitFor('both UP', async () => (await up()).join() === 'web-1,web-2', { timeoutMs: 20_000 });

    const load = startLoad(haproxy.frontendUrl, { keepAlive: 2, newConnection: 1, pauseMs: 10 });
    const from = Date.now();
    await lb.process.stop('SIGKILL');
    const stale = await agent.waitForLog('staleness reported', (l) => l.event === 'membership.stale');
    const stoppedAt = Date.now();
    // Many resync periods (2 s) without a list: the agent must neither empty nor change the backend.
    await waitFor('outage lasts 30 s', () => Date.now() - stoppedAt >= OUTAGE_MS, { timeoutMs: OUTAGE_MS + 5_000, intervalMs: 500 });
    const health = (await (await fetch(`http://${metrics}/healthz`)).json()) as { membership?: { since: string; seconds: number } };
    expect(health.membership?.since).toBe(stale.since);
    expect(health.membership?.seconds).toBeGreaterThanOrEqual(25);
    const gauge = /^ha_agent_membership_stale_seconds (\S+)$/m.exec(await (await fetch(`http://${metrics}/metrics`)).text());
    expect(Number(gauge?.[1])).toBeGreaterThanOrEqual(25);
    const status = await haAgent(['status', '--runtime', haproxy.tcpUrl, '--metrics', metrics]);
    expect(status.stdout).toContain(`agent: STALE member list: Serf cannot be read; the last good list (from ${String(stale.since)}`);
    expect(await up()).toEqual(['web-1', 'web-2']);

    // Serf back (rejoining the cluster, as -rejoin does from its snapshot): the list is current again.
    await startSerf({ ...lbOptions, join: members[0]!.serf.bind });
    await agent.waitForLog('list current again', (l) => l.event === 'membership.fresh', 30_000);
    await waitFor('both listed again', async () => {
      const body = (await (await fetch(`http://${metrics}/healthz`)).json()) as { membership?: unknown };
      return body.membership === undefined;
    });
    await load.stop();
    const window = load.window(from);
    console.log(`serf outage: ${window.requests} requests in ${((Date.now() - from) / 1000).toFixed(1)} s, ${window.failed} failed`);
    expect(window.requests).toBeGreaterThan(0);
    expect(window.failed).toBe(0);
    expect(await up()).toEqual(['web-1', 'web-2']);
    expect(agent.logs().filter((l) => l.event === 'plan.action' && l.action === 'remove')).toEqual([]);
  }, 120_000);
});
