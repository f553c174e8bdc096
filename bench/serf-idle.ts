/**
 * `npm run bench:serf-idle`: what an idle ha-agent costs, itself and the balancer's Serf agent, with
 * real Serf holding BENCH_MEMBERS (default 1,000) members. The members are real Serf agents that join
 * BENCH_BATCH (default 50) at a time and then leave (1,000 running at once would not fit the machine);
 * the balancer's Serf agent keeps them listed as left for 1 h (the windows start once none of them is
 * alive, suspect or leaving), and its RPC answers scan every listed member whatever its status, so the
 * list's length is what a poll pays for. Real haproxy; the agent
 * with the product's defaults. CPU of the agent and of the Serf agent over BENCH_IDLE_MS (default 10 s)
 * windows, BENCH_WINDOWS (default 5) of each, alternating: no agent; the agent as built here; and, when
 * BENCH_BEFORE is a checkout with a build (e.g. the commit before this work), its agent, as the baseline
 * measured in the same run. Prints medians (min–max) and records them (bench/record.ts, `serf-idle`).
 */
import path from 'node:path';
import { parseSerfAddress, SerfRpcClient } from '../src/membership/rpc-client.js';
import { agentArgs, imageNodeOptions } from '../test/helpers/agent.js';
import { startHaproxy } from '../test/helpers/haproxy.js';
import { start, stopAll, type Started } from '../test/helpers/processes.js';
import { startSerf, type TestSerf } from '../test/helpers/serf.js';
import { waitFor } from '../test/helpers/wait.js';
import { cpuPercent, machineLine, medianRange, productDefaults } from './figures.js';
import { addSamples, saveRecord, startRecord } from './record.js';

const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 1000);
const BATCH = Number(process.env.BENCH_BATCH ?? 50);
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 10_000);
const WINDOWS = Number(process.env.BENCH_WINDOWS ?? 5);
const BEFORE = process.env.BENCH_BEFORE;
const config = { profile: 'lan' };
/** Member number `i` (0-based): 127.0.7.1 … 127.0.7.250, then 127.0.8.1 …, clear of the other benches' addresses. */
const address = (i: number) => `127.0.${7 + Math.floor(i / 250)}.${(i % 250) + 1}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One real Serf agent listing `members` members, all gone (joined, then left), kept listed for 1 h. */
export async function serfWithMembers(members: number, batch: number, name = 'lb'): Promise<{ lb: TestSerf; rpc: SerfRpcClient }> {
  const lb = await startSerf({
    name,
    address: '127.0.6.200',
    tags: { role: 'lb' },
    config: { ...config, tombstone_timeout: '1h', reconnect_timeout: '1h' },
  });
  const rpc = await SerfRpcClient.connect({ address: parseSerfAddress(lb.rpc) });
  const listed = async () => Number(((await rpc.stats()) as { serf: { members: string } }).serf.members);
  for (let from = 0; from < members; from += batch) {
    const count = Math.min(batch, members - from);
    const started = await Promise.all(
      Array.from({ length: count }, (_, k) =>
        startSerf({ name: `m-${from + k}`, address: address(from + k), join: lb.bind, tags: { role: 'backend', port: '3000' }, config }),
      ),
    );
    await waitFor(`${from + count} members listed`, async () => (await listed()) >= 1 + from + count, { timeoutMs: 60_000 });
    // A graceful leave, not a kill: Serf applies a leave intent as it arrives, but finds killed members failed one at
    // a time (1,000 of them took longer than 10 minutes), and until then it is not idle.
    await Promise.all(started.map((member) => member.leave()));
  }
  // Idle means no member still changing: one whose leave intent was lost is found failed a little later.
  await waitFor('every member listed left or failed', async () => (await rpc.membersFiltered({ Status: 'alive|suspect|leaving' })).length === 1, {
    timeoutMs: 600_000,
    intervalMs: 1_000,
  });
  return { lb, rpc };
}

console.log(machineLine());
const record = startRecord('serf-idle', { members: MEMBERS, idleMs: IDLE_MS, windows: WINDOWS, before: BEFORE ?? null, profile: 'lan' });
// Stopped by PID also when the set-up fails.
const started = await serfWithMembers(MEMBERS, BATCH).catch(async (error: unknown) => {
  await stopAll();
  throw error;
});
const { lb, rpc } = started;
const haproxy = await startHaproxy();
const bins: Array<[string, string]> = [['after (this build)', path.resolve(import.meta.dirname, '../bin/ha-agent.js')]];
if (BEFORE) bins.push(['before (BENCH_BEFORE)', path.resolve(BEFORE, 'bin/ha-agent.js')]);
const cpu: Record<string, { agent: number[]; serf: number[] }> = { 'no agent': { agent: [], serf: [] } };
try {
  for (let w = 0; w < WINDOWS; w += 1) {
    const [serfAlone = Number.NaN] = await cpuPercent([lb.process.pid], IDLE_MS);
    cpu['no agent']!.serf.push(serfAlone);
    for (const [label, bin] of bins) {
      const agent: Started = start(process.execPath, [bin, ...productDefaults(agentArgs(haproxy, lb.rpc, ['--log-level', 'info']))], {
        env: { ...process.env, NODE_OPTIONS: imageNodeOptions() },
      });
      try {
        await waitFor(`${label}: connected to Serf`, () => agent.output().includes('"serf.connected"'), { timeoutMs: 20_000 });
        // Past its start-up (first list, first pass, the rendered file written).
        await sleep(3_000);
        const [agentCpu = Number.NaN, serfCpu = Number.NaN] = await cpuPercent([agent.pid, lb.process.pid], IDLE_MS);
        (cpu[label] ??= { agent: [], serf: [] }).agent.push(agentCpu);
        cpu[label].serf.push(serfCpu);
      } finally {
        await agent.stop('SIGTERM');
      }
    }
  }
  const statuses = await Promise.all(['alive', 'left', 'failed'].map(async (s) => `${(await rpc.membersFiltered({ Status: s })).length} ${s}`));
  console.log(
    `\nIdle, ${MEMBERS + 1} members listed by the balancer's Serf agent (${statuses.join(', ')}), profile lan; ${WINDOWS} windows of ${IDLE_MS / 1000} s each:`,
  );
  console.log(`${''.padEnd(24)} ${'ha-agent, % of a core'.padEnd(24)} Serf agent, % of a core`);
  for (const [label, { agent, serf }] of Object.entries(cpu)) {
    console.log(`${label.padEnd(24)} ${(agent.length > 0 ? medianRange(agent, 2) : '-').padEnd(24)} ${medianRange(serf, 2)}`);
    if (agent.length > 0) addSamples(record, `${label}: agent CPU % of a core`, agent);
    addSamples(record, `${label}: Serf agent CPU % of a core`, serf);
  }
  record.facts = { listed: statuses };
  console.log(`recorded: ${saveRecord(record)}`);
} finally {
  rpc.close();
  await stopAll();
}
console.log(machineLine());
