/**
 * The fast path (Serf's log watched, members listed at once) with real haproxy, serf and agent:
 * it finds a joining member long before Serf's event batch, yet never puts the server in rotation
 * before its first passing health check; and a member that starts leaving is drained at once.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startLoad } from '../../src/lab/demo/load.js';
import { RuntimeClient } from '../../src/runtime/client.js';
import { imageArgs, startAgent, type TestAgent } from '../helpers/agent.js';
import { startHaproxy } from '../helpers/haproxy.js';
import { startHttpBackend, type HttpBackend } from '../helpers/http-backend.js';
import { stopAll } from '../helpers/processes.js';
import { startSerf } from '../helpers/serf.js';
import { waitFor } from '../helpers/wait.js';

const webs: HttpBackend[] = [];
afterAll(async () => {
  await Promise.all(webs.map((w) => w.close()));
  await stopAll();
});

/** The reason of the pass that planned a command (the last pass with actions logged before the command's first step). */
function triggerOf(agent: TestAgent, command: string): unknown {
  const logs = agent.logs();
  const step = logs.findIndex((l) => l.event === 'step.finished' && String(l.command).startsWith(command));
  expect(step).toBeGreaterThan(0);
  return logs
    .slice(0, step)
    .reverse()
    .find((l) => l.event === 'pass' && Number(l.actions) > 0)?.reason;
}

describe('fast path', () => {
  it('a member found by the log watch stays out of rotation until its first check passes; its leave intent drains it before Serf reports it', async () => {
    const haproxy = await startHaproxy();
    const lb = await startSerf({ name: 'lb', address: '127.0.0.1', tags: { role: 'lb' }, config: { profile: 'lan' } });
    // The default resync (10 s): the poll alone must find the member and its leave intent.
    const agent = startAgent(imageArgs(haproxy, lb.rpc, ['--log-level', 'debug']));
    const runtime = new RuntimeClient({ url: haproxy.tcpUrl });
    runtime.start();
    await agent.waitForLog('agent on serf', (l) => l.event === 'serf.connected');
    await waitFor('runtime connected', () => runtime.connected);

    let healthy = false;
    const web = await startHttpBackend('late', '127.0.0.71', { health: () => (healthy ? 200 : 503) });
    webs.push(web);
    const load = startLoad(haproxy.frontendUrl, { keepAlive: 2, newConnection: 0 });
    try {
      const member = await startSerf({
        name: 'late',
        address: web.address,
        join: lb.bind,
        tags: { role: 'backend', port: String(web.port) },
        config: { profile: 'lan' },
      });
      const added = await agent.waitForLog('late added', (l) => l.event === 'step.finished' && l.command === 'enable health nodes/late');
      // Found by the log watch, not by Serf's coalesced member-join (which comes ≥ 1 s after the join).
      const joinEvent = agent
        .logs()
        .find((l) => l.event === 'serf.event' && l.type === 'member-join' && (l.members as string[]).includes('late'));
      expect(joinEvent === undefined || Date.parse(String(joinEvent.time)) > Date.parse(String(added.time))).toBe(true);
      expect(triggerOf(agent, 'add server nodes/late')).toMatch(/^serf log/);

      await waitFor('three failed checks', () => web.healthChecks() >= 3);
      const state = (await runtime.stat(haproxy.backend)).find((s) => s.name === 'late');
      expect(state?.status).toMatch(/^MAINT/);
      expect(load.outcomes.some((o) => o.by === 'late')).toBe(false);
      expect(agent.logs().some((l) => l.event === 'step.finished' && l.command === 'set server nodes/late state ready')).toBe(false);

      const healthyAt = Date.now();
      healthy = true;
      const first = await waitFor('late serves', () => load.outcomes.find((o) => o.by === 'late'), { timeoutMs: 15_000, intervalMs: 10 });
      expect(first.at).toBeGreaterThanOrEqual(healthyAt);
      const ready = await agent.waitForLog(
        'late ready',
        (l) => l.event === 'step.finished' && l.command === 'set server nodes/late state ready',
      );
      expect(Date.parse(String(ready.time))).toBeGreaterThanOrEqual(healthyAt - 1); // log times are whole ms
      expect(agent.logs().some((l) => l.event === 'check.timeout')).toBe(false);

      // Graceful leave: `leaving` in Serf's list is enough to drain, before Serf's member-leave batch.
      const stopping = member.leave();
      const drained = await agent.waitForLog(
        'late drained',
        (l) => l.event === 'step.finished' && l.command === 'set server nodes/late state drain',
      );
      const leaveEvent = agent
        .logs()
        .find((l) => l.event === 'serf.event' && l.type === 'member-leave' && (l.members as string[]).includes('late'));
      expect(leaveEvent === undefined || Date.parse(String(leaveEvent.time)) > Date.parse(String(drained.time))).toBe(true);
      expect(triggerOf(agent, 'set server nodes/late state drain')).toMatch(/^serf log/);
      await stopping;
      await waitFor('late deleted', async () => !(await runtime.serversState(haproxy.backend)).some((s) => s.name === 'late'), {
        timeoutMs: 20_000,
      });
    } finally {
      await load.stop();
      await runtime.close();
    }
  }, 90_000);
});
