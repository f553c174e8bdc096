/**
 * `npm run bench:serf-scale`: N real Serf agents (BENCH_COUNTS, default 50, 250 and 500), each a member on
 * its own loopback address, started at once; then half of them stopped at once (SIGINT: a graceful leave)
 * while the other half stay, as a fleet scaled in from N to N/2. Against the real balancer stack: HAProxy,
 * its Serf agent (profile lan, as the images run it) and ha-agent with the product's defaults. The web
 * servers are one extra haproxy with a bind per member (bench/http-fleet.ts), on the members' addresses.
 * BENCH_RUNS (default 5) fresh runs per N.
 *
 * The members run behind the balancer's processes (bench/serf-members.ts). With 250 and more what is left of the
 * two cores is not enough for them (their gossip and probes alone take it), so Serf's part is slower than on a
 * real fleet, and a member can miss its probes and be found failed: a run that never sees all N alive fails
 * (after BENCH_PHASE_TIMEOUT_MS, default 120 s, per phase), and each run records how many staying members
 * were not alive when the leaving ones were out.
 *
 * Per run: from the agents' start to all N UP in HAProxy, split into Serf's part (until the balancer's
 * Serf agent lists all N alive) and the agent's part (from then until all UP); from the SIGINTs to all
 * leaving members out of rotation (none UP), split into Serf's part (until the balancer's Serf agent lists
 * none of them alive: each is `leaving`, `left` or `failed`) and the agent's; the agent's CPU time (user +
 * system) in each window, its RSS after the joins and at its peak. The balancer's Serf agent is read every
 * 20 ms (`members-filtered`) and HAProxy every 50 ms (`show stat`), by this script. Everything it starts is
 * stopped by PID, also on failure. Prints medians (min–max) and records each N's runs (bench/record.ts,
 * `serf-scale`).
 */
import { RuntimeClient } from '../src/runtime/client.js';
import { parseSerfAddress, SerfRpcClient } from '../src/membership/rpc-client.js';
import { agentArgs, imageNodeOptions, startAgent } from '../test/helpers/agent.js';
import { startHaproxy } from '../test/helpers/haproxy.js';
import { stopAll } from '../test/helpers/processes.js';
import { startSerf } from '../test/helpers/serf.js';
import { waitFor } from '../test/helpers/wait.js';
import { cpuSeconds, machineLine, medianRange, productDefaults, rssMb } from './figures.js';
import { startFleet, type Fleet } from './http-fleet.js';
import { addSamples, saveRecord, startRecord } from './record.js';
import { MEMBER_PLACEMENT_SETTING, serfConfig, startWebMembers } from './serf-members.js';

const COUNTS = (process.env.BENCH_COUNTS ?? '50,250,500').split(',').map(Number);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
/** How long the join, and the leave, may take before the run counts as failed. */
const PHASE_TIMEOUT_MS = Number(process.env.BENCH_PHASE_TIMEOUT_MS ?? 120_000);
/** The members that leave in a run of `count`: half of them (the larger half when odd). */
const leavingOf = (count: number) => Math.ceil(count / 2);

interface ScaleRun {
  joinMs: number;
  joinSerfMs: number;
  joinAgentMs: number;
  joinCpuMs: number;
  leaveMs: number;
  leaveSerfMs: number;
  leaveAgentMs: number;
  leaveCpuMs: number;
  rssMb: number;
  rssPeakMb: number;
  /** Staying members the balancer's Serf agent did not list alive when the leaving ones were out. */
  stayingNotAlive: number;
}

async function scaleRun(count: number): Promise<ScaleRun> {
  const haproxy = await startHaproxy();
  const lb = await startSerf({ name: 'lb', address: '127.0.6.200', tags: { role: 'lb' }, config: serfConfig });
  const rpc = await SerfRpcClient.connect({ address: parseSerfAddress(lb.rpc) });
  const agent = startAgent(productDefaults(agentArgs(haproxy, lb.rpc, ['--log-level', 'info'])), { NODE_OPTIONS: imageNodeOptions() });
  const runtime = new RuntimeClient({ url: haproxy.tcpUrl });
  runtime.start();
  let fleet: Fleet | undefined;
  try {
    fleet = await startFleet('haproxy', count);
    await waitFor('runtime connected', () => runtime.connected);
    await waitFor('agent connected to Serf', () => agent.process.output().includes('"serf.connected"'), {
      timeoutMs: 20_000,
    });
    const aliveNames = async () =>
      (await rpc.membersFiltered({ Status: 'alive', Tags: { role: 'backend' } })).map((m) => (m as { Name: string }).Name);
    const alive = async () => (await aliveNames()).length;
    const up = async (only?: ReadonlySet<string>) =>
      (await runtime.stat(haproxy.backend)).filter((s) => s.status.startsWith('UP') && (!only || only.has(s.name))).length;
    const agentCpuMs = () => cpuSeconds(agent.process.pid) * 1000;
    // Both waits of a phase run together: when one fails, the other stops, and the error says how far Serf got.
    const phase = async <A, B>(waits: (signal: AbortSignal) => [Promise<A>, Promise<B>]): Promise<[A, B]> => {
      const stop = new AbortController();
      try {
        return await Promise.all(waits(stop.signal));
      } catch (error) {
        stop.abort();
        const counts: Record<string, number> = {};
        try {
          for (const m of await rpc.membersFiltered({ Tags: { role: 'backend' } })) {
            const status = (m as { Status: string }).Status;
            counts[status] = (counts[status] ?? 0) + 1;
          }
        } catch {
          throw error;
        }
        throw new Error(`${(error as Error).message}; the balancer's Serf agent lists ${JSON.stringify(counts)}`);
      }
    };

    const cpu0 = agentCpuMs();
    const t0 = Date.now();
    const members = await startWebMembers(fleet.webs, lb.bind);
    const [known, upAt] = await phase((signal) => [
      waitFor(`Serf lists ${count} alive`, async () => (await alive()) === count && Date.now(), {
        timeoutMs: PHASE_TIMEOUT_MS,
        intervalMs: 20,
        signal,
      }),
      waitFor(`${count} UP`, async () => (await up()) === count && Date.now(), { timeoutMs: PHASE_TIMEOUT_MS, intervalMs: 50, signal }),
    ]);
    const joinCpuMs = agentCpuMs() - cpu0;
    const rss = rssMb(agent.process.pid);

    const cpu1 = agentCpuMs();
    const t1 = Date.now();
    const leavers = members.slice(0, leavingOf(count));
    const leaverNames = new Set(leavers.map((m) => m.name));
    const leaving = Promise.all(leavers.map((member) => member.leave()));
    const [gone, outAt] = await phase((signal) => [
      waitFor(
        `Serf lists none of the ${leavers.length} leaving alive`,
        async () => (await aliveNames()).every((name) => !leaverNames.has(name)) && Date.now(),
        { timeoutMs: PHASE_TIMEOUT_MS, intervalMs: 20, signal },
      ),
      waitFor(`${leavers.length} out of rotation`, async () => (await up(leaverNames)) === 0 && Date.now(), {
        timeoutMs: PHASE_TIMEOUT_MS,
        intervalMs: 50,
        signal,
      }),
    ]);
    const leaveCpuMs = agentCpuMs() - cpu1;
    const stayingNotAlive = count - leavers.length - (await alive());
    await leaving;
    return {
      joinMs: upAt - t0,
      joinSerfMs: known - t0,
      joinAgentMs: upAt - known,
      joinCpuMs,
      leaveMs: outAt - t1,
      leaveSerfMs: gone - t1,
      leaveAgentMs: outAt - gone,
      leaveCpuMs,
      rssMb: rss,
      rssPeakMb: rssMb(agent.process.pid, 'VmHWM'),
      stayingNotAlive,
    };
  } finally {
    rpc.close();
    await runtime.close();
    await fleet?.stop();
    await stopAll();
  }
}

console.log(machineLine());
for (const count of COUNTS) {
  const record = startRecord('serf-scale', {
    members: count,
    leaving: leavingOf(count),
    runs: RUNS,
    phaseTimeoutMs: PHASE_TIMEOUT_MS,
    profile: 'lan',
    agent: 'product defaults',
    memberPlacement: MEMBER_PLACEMENT_SETTING,
  });
  const runs: ScaleRun[] = [];
  const failures: string[] = [];
  for (let i = 0; i < RUNS; i += 1) {
    try {
      const run = await scaleRun(count);
      runs.push(run);
      console.log(`  ${count} members, run ${i + 1}: ${JSON.stringify(run)}`);
    } catch (error) {
      failures.push((error as Error).message.split('\n')[0] ?? 'failed');
      console.log(`  ${count} members, run ${i + 1} FAILED: ${failures.at(-1)}`);
    }
  }
  const pick = (key: keyof ScaleRun) => runs.map((r) => r[key]);
  for (const key of Object.keys(runs[0] ?? {}) as Array<keyof ScaleRun>) addSamples(record, key, pick(key));
  record.facts = { runs: runs.length, failures };
  console.log(`\n${count} real Serf agents (profile lan), ${runs.length} runs (${failures.length} failed), median (min–max):`);
  console.log(
    `  start → all UP: ${medianRange(pick('joinMs'))} ms = Serf ${medianRange(pick('joinSerfMs'))} + agent ${medianRange(pick('joinAgentMs'))}`,
  );
  console.log(
    `  SIGINT to ${leavingOf(count)} → those out: ${medianRange(pick('leaveMs'))} ms = Serf ${medianRange(pick('leaveSerfMs'))} + agent ${medianRange(pick('leaveAgentMs'))}`,
  );
  console.log(`  staying members not listed alive at that point: ${medianRange(pick('stayingNotAlive'))}`);
  console.log(`  agent CPU: join ${medianRange(pick('joinCpuMs'))} ms, leave ${medianRange(pick('leaveCpuMs'))} ms`);
  console.log(`  agent RSS after the joins ${medianRange(pick('rssMb'), 1)} MB, peak ${medianRange(pick('rssPeakMb'), 1)} MB`);
  console.log(`recorded: ${saveRecord(record)}`);
}
console.log(machineLine());
