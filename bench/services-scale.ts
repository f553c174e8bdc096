/**
 * `npm run bench:services-scale`: thousands of members across services, through a Serf RPC stand-in
 * (test/helpers/fake-serf.ts: no gossip, no Serf process to pay for; its list, `stats` and log change
 * at once and its coalesced event follows 1 s later, as real Serf's do), real haproxy with
 * BENCH_SERVICES (default 5) service backends (`--services`, one path route each: HAProxy's
 * `roundrobin` takes at most 4,095 active servers a backend, so a large fleet is several services),
 * real health checks against one extra haproxy with a bind per member (bench/http-fleet.ts).
 *
 * 1. BENCH_COUNT (default 5,000) members, BENCH_RUNS (default 5) fresh runs: from the list change to
 *    all UP; a mass leave of BENCH_LEAVE (default 1,000; spread over the services) to all of them out
 *    of rotation; the agent's CPU in each; its RSS 5 s after the joins, after a further 10-s idle
 *    window (settled) and at its peak (VmHWM).
 * 2. BENCH_CURVE (default 1000,2000,5000,10000): one run each, the same figures, so that the cost's
 *    growth shows.
 * "In rotation" is each backend's own `act` count, read every 50 ms. Before each run it waits for room in the kernel's
 * conntrack table, and a run during which the full table dropped packets is reported as failed (bench/conntrack.ts);
 * BENCH_CONNTRACK_MAX raises the table for the bench's life (10,000 servers checked every second need ~1.2 M entries).
 * The agent logs at the product's default level (info). Records both (bench/record.ts, `services-scale` and
 * `services-curve`). Asserts nothing.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { RuntimeClient } from '../src/runtime/client.js';
import { raw } from '../src/runtime/commands.js';
import { agentArgs, benchNodeOptions, startAgent } from '../test/helpers/agent.js';
import { FakeSerf, type FakeMember } from '../test/helpers/fake-serf.js';
import { startHaproxy } from '../test/helpers/haproxy.js';
import { stopAll } from '../test/helpers/processes.js';
import { waitFor } from '../test/helpers/wait.js';
import { conntrack, conntrackMaxFromEnv, conntrackRoom } from './conntrack.js';
import { cpuPercent, cpuSeconds, machineLine, medianRange, productDefaults, rssMb, verdict } from './figures.js';
import { startFleet, type Fleet } from './http-fleet.js';
import { addSamples, saveRecord, startRecord, type RunRecord } from './record.js';

const COUNT = Number(process.env.BENCH_COUNT ?? 5000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const LEAVE = Number(process.env.BENCH_LEAVE ?? 1000);
const SERVICES = Number(process.env.BENCH_SERVICES ?? 5);
const CURVE = (process.env.BENCH_CURVE ?? '1000,2000,5000,10000').split(',').filter(Boolean).map(Number);
/** Serf's quiet period before it sends a batch of member events. */
const SERF_BATCH_MS = 1_000;
/** The agent's log level: the product's default (info: every step), unless BENCH_LOG_LEVEL says otherwise. */
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'info';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface ServicesRun {
  joinMs: number;
  joinCpuMs: number;
  leaveMs: number;
  leaveCpuMs: number;
  rssMb: number;
  rssSettledMb: number;
  rssPeakMb: number;
  idleCpu: number;
}

async function servicesRun(count: number): Promise<ServicesRun> {
  const names = Array.from({ length: SERVICES }, (_, i) => `s${i + 1}`);
  const haproxy = await startHaproxy({ services: names });
  const serf = new FakeSerf();
  await serf.listen();
  const services = names.map((name) => `${name}:path=/${name}`).join(' ');
  const agent = startAgent(productDefaults(agentArgs(haproxy, serf.address, ['--log-level', LOG_LEVEL, '--services', services])), {
    NODE_OPTIONS: benchNodeOptions(),
  });
  const runtime = new RuntimeClient({ url: haproxy.tcpUrl });
  runtime.start();
  const timers: NodeJS.Timeout[] = [];
  let fleet: Fleet | undefined;
  try {
    fleet = await startFleet('haproxy', count);
    await waitFor('runtime connected', () => runtime.connected);
    await waitFor('agent connected to serf', () => serf.streaming, { timeoutMs: 20_000 });
    const members: FakeMember[] = fleet.webs.map((w, i) => ({
      name: w.id,
      address: w.address,
      tags: { role: 'backend', port: String(w.port), service: names[i % SERVICES]! },
      status: 'alive',
    }));
    const change = (type: 'member-join' | 'member-leave', changed: FakeMember[], then: FakeMember[]) => {
      serf.set(changed);
      timers.push(setTimeout(() => serf.event(type, then), SERF_BATCH_MS));
    };
    // Servers in rotation: each backend's own row (`act`: running, not in maint, weight above 0), not one row a
    // server. Reading every server's row every 50 ms (10,000 rows, ~2.3 MB) loaded HAProxy as much as the agent did.
    const up = async () => {
      let total = 0;
      for (const backend of names) total += activeServers(await runtime.run(raw(`show stat ${backend} 2 -1`)));
      return total;
    };
    const agentCpuMs = () => cpuSeconds(agent.process.pid) * 1000;

    const cpu0 = agentCpuMs();
    const t0 = Date.now();
    change('member-join', members, members);
    await waitFor(`${count} UP`, async () => (await up()) === count, { timeoutMs: 300_000, intervalMs: 50 });
    const joinMs = Date.now() - t0;
    const joinCpuMs = agentCpuMs() - cpu0;
    await sleep(5_000);
    const rss = rssMb(agent.process.pid);
    const [idleCpu = Number.NaN] = await cpuPercent([agent.process.pid], 10_000);
    const rssSettledMb = rssMb(agent.process.pid);

    // Members are dealt to the services in turn (member i to service i % SERVICES): whole rounds of them leave, one
    // round in every (count / LEAVE), so the leavers are spread evenly over the services.
    const stride = Math.max(1, Math.round(count / LEAVE));
    const leavers = members.filter((_, i) => Math.floor(i / SERVICES) % stride === 0).slice(0, LEAVE);
    const cpu1 = agentCpuMs();
    const t1 = Date.now();
    change(
      'member-leave',
      leavers.map((m) => ({ ...m, status: 'leaving' })),
      leavers.map((m) => ({ ...m, status: 'left' })),
    );
    await waitFor(`${leavers.length} out of rotation`, async () => (await up()) === count - leavers.length, {
      timeoutMs: 300_000,
      intervalMs: 20,
    });
    const leaveMs = Date.now() - t1;
    const leaveCpuMs = agentCpuMs() - cpu1;
    // BENCH_LOG_DIR: keep the agent's log of each run there.
    if (process.env.BENCH_LOG_DIR)
      writeFileSync(path.join(process.env.BENCH_LOG_DIR, `services-${count}-${t0}.log`), agent.process.output());
    return { joinMs, joinCpuMs, leaveMs, leaveCpuMs, rssMb: rss, rssSettledMb, rssPeakMb: rssMb(agent.process.pid, 'VmHWM'), idleCpu };
  } finally {
    for (const timer of timers) clearTimeout(timer);
    await runtime.close();
    await fleet?.stop();
    await serf.close();
    await stopAll();
  }
}

/** `act` of the backend row in a `show stat <backend> 2 -1` answer: how many of its servers are in rotation. */
function activeServers(answer: string): number {
  const [header = '', ...rows] = answer.split('\n');
  const columns = header.replace(/^# /, '').split(',');
  const row = rows.find((r) => r.split(',')[1] === 'BACKEND')?.split(',');
  const act = Number(row?.[columns.indexOf('act')]);
  if (!Number.isInteger(act)) throw new Error(`no backend row with act in: ${answer.slice(0, 200)}`);
  return act;
}

/** Runs and records; a failed run is reported and counted, not hidden. */
async function runs(record: RunRecord, count: number, times: number): Promise<ServicesRun[]> {
  const done: ServicesRun[] = [];
  const failures: string[] = [];
  for (let i = 0; i < times; i += 1) {
    try {
      const before = await conntrackRoom();
      const run = await servicesRun(count);
      const dropped = before ? (conntrack()?.drops ?? before.drops) - before.drops : 0;
      // A full table drops health checks' packets: servers flap, and the run measures the kernel (bench/conntrack.ts).
      if (dropped > 0) throw new Error(`the kernel's conntrack table was full: ${dropped} packets dropped (${JSON.stringify(run)})`);
      done.push(run);
      console.log(`  ${count} members, run ${i + 1}: ${JSON.stringify(run)}`);
    } catch (error) {
      failures.push((error as Error).message.split('\n')[0] ?? 'failed');
      console.log(`  ${count} members, run ${i + 1} FAILED: ${failures.at(-1)}`);
    }
  }
  for (const key of Object.keys(done[0] ?? {}) as Array<keyof ServicesRun>)
    addSamples(
      record,
      `${count}: ${key}`,
      done.map((r) => r[key]),
    );
  record.facts[String(count)] = { runs: done.length, failures };
  return done;
}

const standIn = 'Serf RPC stand-in (test/helpers/fake-serf.ts), real haproxy and health checks';
console.log(machineLine());
const table = conntrackMaxFromEnv();
const tableFact = table ? `raised from ${table.was} to ${table.now} entries for this run` : (conntrack()?.max ?? 'not loaded');
console.log(`conntrack table: ${tableFact}`);
if (RUNS > 0) {
  const record = startRecord('services-scale', {
    members: COUNT,
    services: SERVICES,
    leave: LEAVE,
    runs: RUNS,
    serf: 'stand-in (fake-serf)',
    logLevel: LOG_LEVEL,
    conntrackMax: tableFact,
  });
  const done = await runs(record, COUNT, RUNS);
  const pick = (key: keyof ServicesRun) => done.map((r) => r[key]);
  console.log(`\n${COUNT} members in ${SERVICES} services, ${done.length} of ${RUNS} runs, median (min–max); ${standIn}:`);
  console.log(`  list change → all UP: ${medianRange(pick('joinMs'))} ms — target <= 2000: ${verdict(pick('joinMs'), 2000)}`);
  console.log(`  ${LEAVE} leave → out of rotation: ${medianRange(pick('leaveMs'))} ms — target <= 500: ${verdict(pick('leaveMs'), 500)}`);
  console.log(`  agent CPU: joins ${medianRange(pick('joinCpuMs'))} ms, leave ${medianRange(pick('leaveCpuMs'))} ms`);
  console.log(`  agent RSS 5 s after the joins ${medianRange(pick('rssMb'), 1)} MB`);
  console.log(
    `  agent RSS settled (after a further 10-s idle window) ${medianRange(pick('rssSettledMb'), 1)} MB — target <= 100: ${verdict(pick('rssSettledMb'), 100)}`,
  );
  console.log(`  agent RSS peak (VmHWM) ${medianRange(pick('rssPeakMb'), 1)} MB — target <= 150: ${verdict(pick('rssPeakMb'), 150)}`);
  console.log(`  idle agent CPU, ${COUNT} members: ${medianRange(pick('idleCpu'), 2)} % of a core`);
  console.log(`recorded: ${saveRecord(record)}`);
}
if (CURVE.length > 0) {
  const record = startRecord('services-curve', {
    counts: CURVE,
    services: SERVICES,
    leave: LEAVE,
    runs: 1,
    serf: 'stand-in (fake-serf)',
    logLevel: LOG_LEVEL,
    conntrackMax: tableFact,
  });
  const rows: Array<[number, ServicesRun | undefined]> = [];
  for (const count of CURVE) rows.push([count, (await runs(record, count, 1))[0]]);
  console.log(`\nThe curve, 1 run each, ${SERVICES} services; ${standIn}:`);
  console.log('members   all UP ms   CPU ms   1,000 out ms   CPU ms   RSS settled MB   RSS peak MB   idle CPU %');
  for (const [count, r] of rows)
    console.log(
      r
        ? [
            count,
            r.joinMs,
            r.joinCpuMs.toFixed(0),
            r.leaveMs,
            r.leaveCpuMs.toFixed(0),
            r.rssSettledMb.toFixed(1),
            r.rssPeakMb.toFixed(1),
            r.idleCpu.toFixed(2),
          ]
            .map(String)
            .join('   ')
        : `${count}   FAILED`,
    );
  console.log(`recorded: ${saveRecord(record)}`);
}
console.log(machineLine());
