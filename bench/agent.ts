/**
 * `npm run bench:agent`: how fast membership changes reach HAProxy, with real processes.
 *  1. join → first request served by the new server, and leave → out of rotation / last request
 *     routed to it, p50/p95 over BENCH_EVENTS (default 20) real Serf agents joining and leaving;
 *  2. 200 members joining at once, then leaving at once, through a Serf RPC stand-in
 *     (test/helpers/fake-serf.ts) so that the figure is the agent's, not 200 Serf processes'.
 * Prints figures; asserts nothing.
 */
import { startLoad } from '../src/lab/demo/load.js';
import { RuntimeClient } from '../src/runtime/client.js';
import { agentArgs, startAgent, type LogLine, type TestAgent } from '../test/helpers/agent.js';
import { startWebMember, type WebMember } from '../test/helpers/cluster.js';
import { startHaproxy } from '../test/helpers/haproxy.js';
import { massChange } from './mass.js';
import { stopAll } from '../test/helpers/processes.js';
import { startSerf } from '../test/helpers/serf.js';
import { waitFor } from '../test/helpers/wait.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20);
const MASS = Number(process.env.BENCH_MASS ?? 200);

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
};
const row = (name: string, values: number[], target = '') =>
  console.log(`${name.padEnd(52)} ${percentile(values, 50).toFixed(0).padStart(7)} ${percentile(values, 95).toFixed(0).padStart(7)} ${Math.max(...values).toFixed(0).padStart(7)}  ${target}`);
const logTime = (agent: TestAgent, match: (l: LogLine) => boolean) => {
  const line = agent.logs().find(match);
  return line ? Date.parse(String(line.time)) : Number.NaN;
};

async function joinAndLeave(): Promise<void> {
  const haproxy = await startHaproxy();
  const lb = await startSerf({ name: 'lb', address: '127.0.0.1', tags: { role: 'lb' } });
  const agent = startAgent(agentArgs(haproxy, lb.rpc, ['--log-level', 'info']));
  const anchor = await startWebMember('anchor', '127.0.0.250', lb.bind); // keeps the backend serving
  // Started (heartbeat on): HAProxy closes a prompt session idle for `stats timeout`.
  const runtime = new RuntimeClient({ url: haproxy.tcpUrl });
  runtime.start();
  await waitFor('runtime connected', () => runtime.connected);
  await waitFor('anchor UP', async () => (await runtime.stat(haproxy.backend)).some((s) => s.status.startsWith('UP')), { timeoutMs: 20_000 });
  const traffic = startLoad(haproxy.frontendUrl, { keepAlive: 4, newConnection: 0 });
  const served = () => traffic.outcomes.filter((o) => o.ok);

  const joinToServed: number[] = [];
  const eventToServed: number[] = [];
  const members: WebMember[] = [];
  for (let i = 0; i < EVENTS; i += 1) {
    const name = `j${i}`;
    const t0 = Date.now();
    const member = await startWebMember(name, `127.0.1.${i + 1}`, lb.bind);
    members.push(member);
    const first = await waitFor(`${name} served`, () => served().find((s) => s.by === name && s.at >= t0), { timeoutMs: 20_000, intervalMs: 5 });
    joinToServed.push(first.at - t0);
    eventToServed.push(first.at - logTime(agent, (l) => l.event === 'plan.action' && l.action === 'join' && l.server === name));
  }

  const eventToOut: number[] = [];
  const leaveToOut: number[] = [];
  const leaveToLast: number[] = [];
  for (const member of members) {
    const t0 = Date.now();
    await member.serf.leave();
    const drained = `set server ${haproxy.backend}/${member.name} state drain`;
    await waitFor(`${member.name} drained`, () => agent.logs().some((l) => l.event === 'step.finished' && l.command === drained), { timeoutMs: 20_000, intervalMs: 5 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const out = logTime(agent, (l) => l.event === 'step.finished' && l.command === drained);
    // The agent learns of a leave from the stream event or from a resync list, whichever is first.
    const event = logTime(agent, (l) => l.event === 'plan.action' && l.action === 'remove' && l.server === member.name);
    const last = [...served()].reverse().find((s) => s.by === member.name);
    eventToOut.push(out - event);
    leaveToOut.push(out - t0);
    if (last) leaveToLast.push(Math.max(0, last.at - t0));
  }
  await traffic.stop();
  const pid = (await runtime.info()).pid;
  await runtime.close();

  console.log(`\nJoin and leave of ${EVENTS} real Serf members (profile local), under keep-alive load (${traffic.outcomes.length} requests, ${traffic.outcomes.length - served().length} failed)`);
  console.log(`${'ms'.padEnd(52)} ${'p50'.padStart(7)} ${'p95'.padStart(7)} ${'max'.padStart(7)}`);
  row('Serf agent started → first request served by it', joinToServed, 'target p50 <= 1500');
  row('  agent saw the member → first request served', eventToServed);
  row('SIGINT to Serf (graceful leave) → out of rotation', leaveToOut);
  row('  agent saw the member gone → out of rotation', eventToOut, 'target <= 300');
  row('SIGINT to Serf → last request routed to it', leaveToLast);
  console.log(`HAProxy Pid unchanged through ${EVENTS * 2} membership changes: ${pid === haproxy.process.pid}`);
  await Promise.all([...members, anchor].map((m) => m.web.close()));
  await stopAll();
}

async function mass(): Promise<void> {
  const m = await massChange(MASS);
  console.log(`\n${MASS} members at once (Serf RPC stand-in; real haproxy, real HTTP servers, health checks every 1 s)`);
  console.log(`  join event → all ${MASS} UP in HAProxy: ${m.joinMs} ms (target < 2000); ${m.distinctServed} distinct servers then answered requests`);
  console.log(`  leave event → all ${MASS} out of rotation: ${m.outMs} ms; all deleted: ${m.deletedMs} ms; ha-agent RSS ${m.agentRssMb.toFixed(1)} MB`);
}

await joinAndLeave();
await mass();
