/**
 * `npm run bench:serf-idle`: what an idle ha-agent costs, itself and the balancer's Serf agent, with
 * real Serf holding BENCH_MEMBERS (default 1,000) members: BENCH_CORE (default 50) of them alive throughout, the
 * rest joining BENCH_BATCH (default 50) at a time and then leaving (bench/serf-members.ts; the windows start once
 * only the core is alive, suspect or leaving). Real haproxy; the agent
 * with the product's defaults. CPU of the agent and of the Serf agent over BENCH_IDLE_MS (default 10 s)
 * windows, BENCH_WINDOWS (default 5) of each, alternating: no agent; the agent as built here; and, when
 * BENCH_BEFORE is a checkout with a build (e.g. the commit before this work), its agent, as the baseline
 * measured in the same run. Prints medians (min–max) and records them (bench/record.ts, `serf-idle`).
 */
import path from 'node:path';
import { agentArgs, imageNodeOptions } from '../test/helpers/agent.js';
import { startHaproxy } from '../test/helpers/haproxy.js';
import { start, stopAll, type Started } from '../test/helpers/processes.js';
import { waitFor } from '../test/helpers/wait.js';
import { cpuPercent, machineLine, medianRange, productDefaults } from './figures.js';
import { addSamples, saveRecord, startRecord } from './record.js';
import { MEMBER_PLACEMENT_SETTING, serfWithMembers } from './serf-members.js';

const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 1000);
const BATCH = Number(process.env.BENCH_BATCH ?? 50);
const CORE = Number(process.env.BENCH_CORE ?? 50);
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 10_000);
const WINDOWS = Number(process.env.BENCH_WINDOWS ?? 5);
const BEFORE = process.env.BENCH_BEFORE;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

console.log(machineLine());
const record = startRecord('serf-idle', {
  members: MEMBERS,
  alive: CORE,
  batch: BATCH,
  idleMs: IDLE_MS,
  windows: WINDOWS,
  before: BEFORE ?? null,
  profile: 'lan',
  memberPlacement: MEMBER_PLACEMENT_SETTING,
});
// Stopped by PID also when the set-up fails.
const started = await serfWithMembers(MEMBERS, BATCH, CORE).catch(async (error: unknown) => {
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
  const statuses = await Promise.all(
    ['alive', 'left', 'failed'].map(async (s) => `${(await rpc.membersFiltered({ Status: s })).length} ${s}`),
  );
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
