/**
 * `npm run bench:soak`: the agent's memory under continuous scale churn. Real haproxy (its Pid must not
 * change), real health checks against a fleet of web servers (bench/http-fleet.ts: one extra haproxy
 * with a bind per server), keep-alive load through the balancer, and a Serf RPC stand-in
 * (test/helpers/fake-serf.ts) whose members come and go as containers do when a service is scaled
 * between 1 and SOAK_MAX (default 6) replicas: every replica that starts is a NEW member name (as
 * `docker service scale` names its tasks), on one of the fleet's addresses, and leaves gracefully
 * (`leaving`, then `left` with Serf's coalesced event 1 s later, then reaped 30 s later as Serf's
 * tombstone would). One scale operation every SOAK_OP_MS (default 8 s), for SOAK_MINUTES (default 60).
 * The agent runs with ha/services/ha-agent/run's NODE_OPTIONS.
 *
 * Prints and records (bench/record.ts, bench `soak`): operations and their failures, requests and
 * failed requests, HAProxy's Pid at start and end, the agent's RSS every 10 s, and the verdict: RSS over
 * its last 20 minutes within 5 % of its value at 40 minutes (for runs of 60 minutes or more).
 * SOAK_HEAP_DIR: the agent writes V8 heap snapshots there (SIGUSR2) after the warm-up (5 min, or a quarter of
 * a shorter run) and at the end.
 */
import { readdirSync, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { RuntimeClient } from '../src/runtime/client.js';
import { agentArgs, imageNodeOptions, startAgent } from '../test/helpers/agent.js';
import { FakeSerf, type FakeMember } from '../test/helpers/fake-serf.js';
import { startHaproxy } from '../test/helpers/haproxy.js';
import { stopAll } from '../test/helpers/processes.js';
import { waitFor } from '../test/helpers/wait.js';
import { machineLine, productDefaults, rssMb } from './figures.js';
import { startFleet } from './http-fleet.js';
import { addSamples, saveRecord, startRecord } from './record.js';

const MINUTES = Number(process.env.SOAK_MINUTES ?? 60);
const MAX = Number(process.env.SOAK_MAX ?? 6);
const OP_MS = Number(process.env.SOAK_OP_MS ?? 8_000);
const HEAP_DIR = process.env.SOAK_HEAP_DIR;
/** Serf's quiet period before its coalesced event, and how long a left member stays listed before it is reaped. */
const SERF_BATCH_MS = 1_000;
const REAP_MS = 30_000;
const SAMPLE_MS = 10_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Keep-alive GETs through the balancer from `connections` loops, counted (the outcomes are not kept). */
function startTraffic(url: string, connections: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const counts = { ok: 0, failed: 0, lastError: '' };
  let running = true;
  const failed = (why: string) => {
    counts.failed += 1;
    counts.lastError = why;
  };
  const one = () =>
    new Promise<void>((resolve) => {
      const request = http.get(url, { agent }, (response) => {
        response.resume();
        response.on('end', () => {
          if (response.statusCode === 200) counts.ok += 1;
          else failed(`status ${response.statusCode}`);
          resolve();
        });
      });
      request.on('error', (error) => {
        failed(error.message);
        resolve();
      });
    });
  const loops = Array.from({ length: connections }, async () => {
    while (running) await one();
  });
  return {
    counts,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      agent.destroy();
    },
  };
}

/** Asks the agent for a heap snapshot (SIGUSR2) and waits until it is written (its size stops changing). */
async function snapshot(pid: number, dir: string): Promise<void> {
  const files = () => readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot'));
  const before = new Set(files());
  process.kill(pid, 'SIGUSR2');
  let size = -1;
  await waitFor(
    'the heap snapshot written',
    () => {
      const file = files().find((f) => !before.has(f));
      const now = file ? statSync(path.join(dir, file)).size : -1;
      const done = now > 0 && now === size;
      size = now;
      return done;
    },
    { timeoutMs: 180_000, intervalMs: 2_000 },
  );
}

/**
 * Drives the churn and returns what it saw. `onSample` gets the agent's RSS (MB) every 10 s with the
 * minute it was taken at.
 */
async function soak() {
  const record = startRecord('soak', {
    minutes: MINUTES,
    maxReplicas: MAX,
    opMs: OP_MS,
    serf: 'stand-in (fake-serf)',
    agentEnv: process.env.SOAK_AGENT_ENV ?? '',
  });
  const haproxy = await startHaproxy();
  const serf = new FakeSerf();
  await serf.listen();
  const heapArgs = HEAP_DIR ? ` --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${HEAP_DIR}` : '';
  // SOAK_AGENT_ENV: variables tried beside the run script's (`MALLOC_ARENA_MAX=2 …`).
  const tried: Record<string, string> = {};
  for (const pair of (process.env.SOAK_AGENT_ENV ?? '').split(/\s+/).filter(Boolean)) {
    const [key = '', value = ''] = pair.split('=', 2);
    tried[key] = value;
  }
  const agent = startAgent(productDefaults(agentArgs(haproxy, serf.address, ['--log-level', 'warn'])), {
    NODE_OPTIONS: `${imageNodeOptions()}${heapArgs}`,
    ...tried,
  });
  const runtime = new RuntimeClient({ url: haproxy.tcpUrl });
  runtime.start();
  // Twice the replicas' addresses: a new replica never reuses the address of one still leaving.
  const fleet = await startFleet('haproxy', MAX * 2);
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, run: () => void) => {
    const timer = setTimeout(() => (timers.delete(timer), run()), ms);
    timers.add(timer);
  };
  let traffic: ReturnType<typeof startTraffic> | undefined;
  try {
    await waitFor('runtime connected', () => runtime.connected);
    await waitFor('agent connected to serf', () => serf.streaming, { timeoutMs: 20_000 });
    const pidStart = (await runtime.info()).pid;
    let task = 0;
    let slot = 0;
    let replicas: FakeMember[] = [];
    const up = async () => (await runtime.stat(haproxy.backend)).filter((s) => s.status.startsWith('UP')).map((s) => s.name);
    const newReplica = (): FakeMember => {
      const web = fleet.webs[slot % fleet.webs.length]!;
      slot += 1;
      task += 1;
      return { name: `web-${task}`, address: web.address, tags: { role: 'backend', port: String(web.port) }, status: 'alive' };
    };
    /** Scales to `target` replicas: starts new members or stops the oldest; resolves when HAProxy serves exactly them. */
    const scale = async (target: number) => {
      const started: FakeMember[] = [];
      while (replicas.length + started.length < target) started.push(newReplica());
      const stopping = replicas.slice(0, Math.max(0, replicas.length - target));
      replicas = [...replicas.slice(stopping.length), ...started];
      const leaving = stopping.map((m) => ({ ...m, status: 'leaving' as const }));
      serf.set([...started, ...leaving]);
      later(SERF_BATCH_MS, () => {
        if (started.length > 0) serf.event('member-join', started);
        const left = stopping.map((m) => ({ ...m, status: 'left' as const }));
        if (left.length > 0) serf.event('member-leave', left);
        later(REAP_MS, () => {
          for (const m of stopping) serf.members.delete(m.name);
        });
      });
      const want = replicas.map((m) => m.name).sort();
      await waitFor(
        `HAProxy serving ${want.join(',')}`,
        async () => {
          const serving = (await up()).sort();
          const servers = (await runtime.serversState(haproxy.backend)).length;
          return serving.join(',') === want.join(',') && servers === want.length;
        },
        { timeoutMs: 30_000, intervalMs: 100 },
      );
    };
    await scale(1);
    // The load starts once a server is UP: before, an empty backend answers 503.
    traffic = startTraffic(`${haproxy.frontendUrl}/`, 8);
    const t0 = Date.now();
    const end = t0 + MINUTES * 60_000;
    const minutes = () => (Date.now() - t0) / 60_000;
    const rss: Array<[number, number]> = [];
    const sampler = setInterval(() => rss.push([minutes(), rssMb(agent.process.pid)]), SAMPLE_MS);
    let ops = 0;
    let failedOps = 0;
    let lastFailure = '';
    let direction = 1;
    let snapped = false;
    /** Failed requests from the start of a scale-up (down) operation to the start of the next. */
    const failedAfter = { up: 0, down: 0 };
    try {
      while (Date.now() < end) {
        const target = replicas.length + direction;
        if (target >= MAX || target <= 1) direction = -direction;
        const opStart = Date.now();
        const failedBefore = traffic.counts.failed;
        const kind = target > replicas.length ? 'up' : 'down';
        try {
          await scale(Math.min(MAX, Math.max(1, target)));
        } catch (error) {
          failedOps += 1;
          lastFailure = (error as Error).message;
        }
        ops += 1;
        if (HEAP_DIR && !snapped && minutes() >= Math.min(5, MINUTES / 4)) {
          await snapshot(agent.process.pid, HEAP_DIR);
          snapped = true;
        }
        await sleep(Math.max(0, OP_MS - (Date.now() - opStart)));
        failedAfter[kind] += traffic.counts.failed - failedBefore;
      }
    } finally {
      clearInterval(sampler);
    }
    if (HEAP_DIR) await snapshot(agent.process.pid, HEAP_DIR);
    const pidEnd = (await runtime.info()).pid;
    await traffic.stop();
    const at40 = rss.filter(([m]) => m >= 39.5 && m <= 40.5).map(([, v]) => v);
    const last20 = rss.filter(([m]) => m >= MINUTES - 20).map(([, v]) => v);
    const ref = at40.length > 0 ? at40.reduce((a, b) => a + b, 0) / at40.length : Number.NaN;
    const worst = Math.max(...last20.map((v) => Math.abs(v - ref) / ref));
    addSamples(
      record,
      'agent RSS MB (every 10 s)',
      rss.map(([, v]) => v),
    );
    addSamples(
      record,
      'sample minute',
      rss.map(([m]) => Number(m.toFixed(2))),
    );
    record.facts = {
      operations: ops,
      failedOperations: failedOps,
      lastFailure,
      requests: traffic.counts.ok + traffic.counts.failed,
      failedRequests: traffic.counts.failed,
      failedRequestsAfterScaleUp: failedAfter.up,
      failedRequestsAfterScaleDown: failedAfter.down,
      lastRequestError: traffic.counts.lastError,
      haproxyPidStart: pidStart,
      haproxyPidEnd: pidEnd,
      membersStarted: task,
      rssAt40Mb: ref,
      rssLast20MaxDeviationPct: worst * 100,
      rssFirstMb: rss[0]?.[1],
      rssLastMb: rss.at(-1)?.[1],
    };
    const file = saveRecord(record);
    console.log(
      `${MINUTES} min of churn (Serf stand-in): ${ops} scale operations (${failedOps} failed${lastFailure ? `: ${lastFailure}` : ''}),`,
    );
    console.log(
      `  ${task} members started; ${traffic.counts.ok + traffic.counts.failed} requests, ${traffic.counts.failed} failed` +
        ` (${failedAfter.up} after a scale-up, ${failedAfter.down} after a scale-down${traffic.counts.lastError ? `; last: ${traffic.counts.lastError}` : ''})`,
    );
    console.log(`  HAProxy Pid ${pidStart} → ${pidEnd} (${pidStart === pidEnd ? 'same' : 'CHANGED'})`);
    console.log(`  agent RSS: first ${rss[0]?.[1].toFixed(1)} MB, last ${rss.at(-1)?.[1].toFixed(1)} MB`);
    for (let m = 0; m <= MINUTES; m += 5) {
      const near = rss.find(([at]) => at >= m);
      if (near) console.log(`    minute ${String(m).padStart(3)}: ${near[1].toFixed(1)} MB`);
    }
    if (MINUTES >= 60) {
      const met = worst <= 0.05 && failedOps === 0 && traffic.counts.failed === 0 && pidStart === pidEnd;
      console.log(
        `  RSS at 40 min ${ref.toFixed(1)} MB; last 20 min within ${(worst * 100).toFixed(1)} % of it — target <= 5 %, 0 failed, same Pid: ${met ? 'met' : 'NOT met'}`,
      );
    }
    console.log(`recorded: ${file}`);
  } finally {
    for (const timer of timers) clearTimeout(timer);
    await traffic?.stop();
    await runtime.close();
    await fleet.stop();
    await serf.close();
    await stopAll();
  }
}

console.log(machineLine());
await soak();
console.log(machineLine());
