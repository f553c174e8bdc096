/**
 * Many members joining, then leaving, at once, through a Serf RPC stand-in (test/helpers/fake-serf.ts)
 * so that the figure is ha-agent's, not hundreds of Serf processes': real haproxy, real HTTP servers.
 */
import { readFileSync } from 'node:fs';
import { RuntimeClient } from '../src/runtime/client.js';
import { agentArgs, startAgent } from '../test/helpers/agent.js';
import { FakeSerf } from '../test/helpers/fake-serf.js';
import { startHaproxy } from '../test/helpers/haproxy.js';
import { startHttpBackend, type HttpBackend } from '../test/helpers/http-backend.js';
import { stopAll } from '../test/helpers/processes.js';
import { waitFor } from '../test/helpers/wait.js';

export interface MassResult {
  joinMs: number;
  outMs: number;
  deletedMs: number;
  distinctServed: number;
  agentRssMb: number;
}

export async function massChange(count: number): Promise<MassResult> {
  const haproxy = await startHaproxy();
  const serf = new FakeSerf();
  await serf.listen();
  // As ha/services/ha-agent/run starts it.
  const agent = startAgent(agentArgs(haproxy, serf.address, ['--log-level', 'info']), { NODE_OPTIONS: '--max-semi-space-size=1' });
  const runtime = new RuntimeClient({ url: haproxy.tcpUrl });
  runtime.start();
  await waitFor('runtime connected', () => runtime.connected);
  await waitFor('agent connected to serf', () => serf.streaming, { timeoutMs: 20_000 });
  const webs: HttpBackend[] = [];
  for (let i = 0; i < count; i += 1) webs.push(await startHttpBackend(`m${i}`, `127.0.${2 + Math.floor(i / 250)}.${1 + (i % 250)}`));
  const members = webs.map((w) => ({ name: w.id, address: w.address, tags: { role: 'backend', port: String(w.port) }, status: 'alive' as const }));

  const t0 = Date.now();
  serf.event('member-join', members);
  const up = async () => (await runtime.stat(haproxy.backend)).filter((s) => s.status.startsWith('UP')).length;
  await waitFor(`${count} UP`, async () => (await up()) === count, { timeoutMs: 120_000, intervalMs: 10 });
  const joinMs = Date.now() - t0;
  // Memory with every member served, once the burst of joins has settled.
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  const agentRssMb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${agent.process.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  const served = new Set<string>();
  for (let i = 0; i < Math.min(count * 2, 400); i += 1) served.add((await fetch(`${haproxy.frontendUrl}/`)).headers.get('x-backend') ?? '?');

  const t1 = Date.now();
  serf.event('member-leave', members.map((m) => ({ ...m, status: 'left' as const })));
  await waitFor(`${count} out of rotation`, async () => (await up()) === 0, { timeoutMs: 120_000, intervalMs: 10 });
  const outMs = Date.now() - t1;
  await waitFor(`${count} deleted`, async () => (await runtime.serversState(haproxy.backend)).length === 0, { timeoutMs: 120_000, intervalMs: 10 });
  const deletedMs = Date.now() - t1;
  await runtime.close();
  await Promise.all(webs.map((w) => w.close()));
  await serf.close();
  await stopAll();
  return { joinMs, outMs, deletedMs, distinctServed: served.size, agentRssMb };
}
