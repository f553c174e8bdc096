/**
 * `npm run bench`: the same cluster, load and scaling scenario five ways, in one run —
 *   a. ha-agent (Runtime API, no reload)        b. render + restart HAProxy (the seed lab)
 *   c. render + `haproxy -sf` (consul-template, SO_REUSEPORT)
 *   c2. the same with `-x` (the listening sockets passed over)   d. render + master-worker seamless reload
 * Every way's balancer runs in a process of its own (ha-agent under s6; a reload way forked from
 * bench/reload-balancer.ts), apart from this process's /proc sampler and the load's process.
 * Real haproxy, serf (profile `lan`, as the images use), s6 and web app on loopback; short requests
 * from a separate process, plus long-lived streaming responses open across the scale events. Every way's
 * balancer follows a Serf agent set up as the product's: the local cluster's ha container's
 * (scripts/serf-agent.sh under s6), whose HAProxy and ha-agent are held down for the reload-based ways.
 * Each way: 2 web servers, then BENCH_CYCLES (default 5) cycles of scale to 4 and back to 2.
 * Long streams: BENCH_STREAMS opened before the first scale event (on the 2 servers that stay), and as many
 * right after the first scale to 4 (round robin puts about half on the 2 servers that leave 3 s later).
 * Prints figures and writes them to bench/results/compare/ (docs' tables are generated from those files);
 * asserts nothing.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalCluster } from '../src/lab/cluster/local.js';
import { openStream, percentile, summarise, type Outcome } from '../src/lab/demo/load.js';
import { DEFAULT_SERF_ADDRESS } from '../src/membership/rpc-client.js';
import { freePort } from '../test/helpers/ports.js';
import { machineLine, medianRange } from './figures.js';
import { addSamples, saveRecord, startRecord } from './record.js';
import { forkReloadBalancer, type ReloadWay } from './reload-balancer.js';

const HOLD_MS = Number(process.env.BENCH_HOLD_MS ?? 3000);
const CYCLES = Number(process.env.BENCH_CYCLES ?? 5);
const STREAMS = Number(process.env.BENCH_STREAMS ?? 8);
/** Longer than HAProxy's `hard-stop-after 30s`, as a WebSocket or a long download can be. */
const STREAM_MS = Number(process.env.BENCH_STREAM_MS ?? 40_000);
const SERF_PROFILE = 'lan';
const home = path.resolve(import.meta.dirname, '..');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** HAProxy processes started with a given config file, and their memory. */
function haproxyProcesses(configPath: string): { pids: number[]; rssMb: number } {
  const pids: number[] = [];
  let rssKb = 0;
  for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (!cmdline[0]?.endsWith('haproxy') || !cmdline.includes(configPath)) continue;
      pids.push(Number(pid));
      rssKb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // exited meanwhile
    }
  }
  return { pids, rssMb: rssKb / 1024 };
}

/**
 * Watches the HAProxy processes of one config the same way for every way: each PID not there at
 * the start is a process the way started (a restart, a `-sf` reload, or a master-worker reload's
 * new worker), and the peak count and memory show what old processes leave behind.
 */
function watchProcesses(configPath: string) {
  const initial = new Set(haproxyProcesses(configPath).pids);
  const started = new Set<number>();
  let peak = { count: initial.size, rssMb: 0 };
  const sample = () => {
    const now = haproxyProcesses(configPath);
    for (const pid of now.pids) if (!initial.has(pid)) started.add(pid);
    peak = { count: Math.max(peak.count, now.pids.length), rssMb: Math.max(peak.rssMb, now.rssMb) };
    return now;
  };
  const timer = setInterval(sample, 20);
  return {
    stop: () => {
      clearInterval(timer);
      const end = sample();
      return { started: started.size, peak, end: { count: end.pids.length, rssMb: end.rssMb } };
    },
  };
}

function startLoadProcess(url: string): Promise<{ stop: () => Promise<Outcome[]>; kill: () => void }> {
  const child: ChildProcess = fork(path.join(import.meta.dirname, 'load-worker.ts'), [url], { execArgv: ['--import', 'tsx'] });
  return new Promise((resolve) => {
    child.once('message', () =>
      resolve({
        kill: () => child.kill('SIGKILL'),
        stop: () =>
          new Promise((done) => {
            child.once('message', (message) => {
              const rows = (message as { outcomes: Array<[number, number, number, string, string]> }).outcomes;
              done(
                rows.map(([at, latencyMs, ok, by, error]) => ({
                  at,
                  latencyMs,
                  ok: ok === 1,
                  by,
                  status: ok === 1 ? 200 : 0,
                  keepAlive: true,
                  ...(error ? { error } : {}),
                })),
              );
            });
            child.send('stop');
          }),
      }),
    );
  });
}

interface Row {
  key: string;
  way: string;
  seconds: number;
  requests: number;
  failed: number;
  errors: string[];
  steadyP50: number;
  steadyP99: number;
  changeP50: number;
  changeP99: number;
  joinMs: number[];
  leaveMs: number[];
  /** leaveMs split by the order the balancer acted on the two leaves of a cycle: the first it acted on, then the second. */
  leaveFirstMs: number[];
  leaveSecondMs: number[];
  leaveServingMs: number[];
  /** SIGTERM → the balancer acted on the leave (ha-agent: `state drain` answered; a reload way: the reload or restart began). */
  actedMs: number[];
  reloads: number;
  streamsCut: number;
  streams: number;
  /** Streams opened right after the first scale to 4 that landed on a server that then left: how many, how many cut, and stop → cut s. */
  leavingStreams: number;
  leavingStreamsCut: number;
  leavingStreamCutS: number[];
  peakProcesses: number;
  peakRssMb: number;
  endProcesses: number;
  endRssMb: number;
}

/**
 * When the balancer acted on a server's leave, after `since` (ms since the epoch): ha-agent's
 * `state drain` answered, or the reload way's reload or restart that dropped it began.
 */
type ActedAt = (server: string, since: number) => number;

/** A long stream and when it ended (ms since the epoch). */
interface TimedStream {
  by: string;
  done: Promise<{ ok: boolean; at: number }>;
}
const timedStream = async (url: string): Promise<TimedStream> => {
  const stream = await openStream(url, STREAM_MS);
  return { by: stream.by, done: stream.done.then((ok) => ({ ok, at: Date.now() })) };
};

async function scenario(
  key: string,
  way: string,
  cluster: LocalCluster,
  frontendUrl: string,
  configPath: string,
  actedAt: ActedAt,
): Promise<Row> {
  const processes = watchProcesses(configPath);
  const load = await startLoadProcess(frontendUrl);
  const joins: Array<{ name: string; at: number }> = [];
  const leaves: Array<{ name: string; at: number; cycle: number }> = [];
  let t0 = 0;
  let steadyEnd = 0;
  let streams: TimedStream[] = [];
  let later: TimedStream[] = [];
  let completed: Array<{ ok: boolean; at: number }> = [];
  try {
    streams = await Promise.all(Array.from({ length: STREAMS }, () => timedStream(frontendUrl)));
    t0 = Date.now();
    await sleep(HOLD_MS);
    steadyEnd = Date.now();
    for (let cycle = 0; cycle < CYCLES; cycle += 1) {
      // From when each new web server's Serf agent started, its app already listening.
      const { joined } = await cluster.scale(4);
      for (const [name, at] of joined) joins.push({ name, at });
      if (cycle === 0) later = await Promise.all(Array.from({ length: STREAMS }, () => timedStream(frontendUrl)));
      await sleep(HOLD_MS);
      const removed = cluster
        .webs()
        .slice(2)
        .map((c) => c.name);
      // From SIGTERM to each web server's s6 (its Serf agent gets SIGINT, its app keeps serving).
      const left = await cluster.scale(2);
      for (const name of removed) leaves.push({ name, at: left.stopped?.get(name) ?? left.changedAt, cycle });
      await sleep(HOLD_MS);
    }
    let timer: NodeJS.Timeout | undefined;
    const all = [...streams, ...later];
    const late = new Promise<Array<{ ok: boolean; at: number }>>(
      (resolve) => (timer = setTimeout(() => resolve(all.map(() => ({ ok: false, at: Number.NaN }))), STREAM_MS + 20_000)),
    );
    // Cleared: a pending timer would keep the script (and the benchmark lock) alive for another minute.
    completed = await Promise.race([Promise.all(all.map((s) => s.done)), late]).finally(() => clearTimeout(timer));
  } catch (error) {
    // A way that fails leaves no load process and no sampler behind.
    load.kill();
    processes.stop();
    throw error;
  }
  const outcomes = await load.stop();
  const seen = processes.stop();
  const steady = outcomes.filter((o) => o.at >= t0 && o.at < steadyEnd);
  const change = outcomes.filter((o) => o.at >= steadyEnd);
  // Web server names are never reused, so each one's first and last answer belong to its one join and leave.
  const joinMs = joins.map(({ name, at }) => (outcomes.find((o) => o.by === name && o.at >= at)?.at ?? Number.NaN) - at);
  const lastBy = (name: string, at: number) => Math.max(at, [...outcomes].reverse().find((o) => o.by === name)?.at ?? at);
  const leaveMs = leaves.map(({ name, at }) => lastBy(name, at) - at);
  // A restart serves no one for a while: the server is out of a *serving* balancer only once a request is answered again.
  const leaveServingMs = leaves.map(({ name, at }) => {
    const last = lastBy(name, at);
    return (outcomes.find((o) => o.ok && o.by !== name && o.at > last)?.at ?? Number.NaN) - at;
  });
  const actedMs = leaves.map(({ name, at }) => actedAt(name, at) - at);
  // The two leaves of each cycle in the order the balancer acted on them (a restart for the first one cuts both).
  const [leaveFirstMs, leaveSecondMs]: [number[], number[]] = [[], []];
  for (let cycle = 0; cycle < CYCLES; cycle += 1) {
    const pair = leaves
      .map((leave, i) => ({ cycle: leave.cycle, acted: leave.at + (actedMs[i] ?? Number.NaN), last: leaveMs[i] ?? Number.NaN }))
      .filter((leave) => leave.cycle === cycle)
      .sort((a, b) => a.acted - b.acted);
    // A cycle whose order is not known counts as missing in both columns.
    if (pair.length !== 2 || !pair.every((leave) => Number.isFinite(leave.acted))) {
      leaveFirstMs.push(Number.NaN);
      leaveSecondMs.push(Number.NaN);
      continue;
    }
    leaveFirstMs.push(pair[0]!.last);
    leaveSecondMs.push(pair[1]!.last);
  }
  const stoppedAt = new Map(leaves.map(({ name, at }) => [name, at]));
  const onLeaving = later
    .map((s, i) => ({ stopped: stoppedAt.get(s.by), end: completed[STREAMS + i] }))
    .filter((s) => s.stopped !== undefined);
  const leavingCut = onLeaving.filter((s) => !s.end?.ok);
  const all = summarise(outcomes);
  const lat = (list: Outcome[]) => list.map((o) => o.latencyMs).sort((a, b) => a - b);
  return {
    key,
    way,
    seconds: ((outcomes.at(-1)?.at ?? t0) - (outcomes[0]?.at ?? t0)) / 1000,
    requests: all.requests,
    failed: all.failed,
    errors: all.errors,
    steadyP50: percentile(lat(steady), 50),
    steadyP99: percentile(lat(steady), 99),
    changeP50: percentile(lat(change), 50),
    changeP99: percentile(lat(change), 99),
    joinMs,
    leaveMs,
    leaveFirstMs,
    leaveSecondMs,
    leaveServingMs,
    actedMs,
    reloads: seen.started,
    streamsCut: completed.slice(0, STREAMS).filter((s) => !s.ok).length,
    streams: streams.length,
    leavingStreams: onLeaving.length,
    leavingStreamsCut: leavingCut.length,
    leavingStreamCutS: leavingCut.map((s) => ((s.end?.at ?? Number.NaN) - (s.stopped ?? Number.NaN)) / 1000),
    peakProcesses: seen.peak.count,
    peakRssMb: seen.peak.rssMb,
    endProcesses: seen.end.count,
    endRssMb: seen.end.rssMb,
  };
}

async function agentWay(): Promise<Row> {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'ha-agent-bench-'));
  const port = await freePort();
  const cluster = await LocalCluster.up({ home, stateDir, port, webapps: 2, serfProfile: SERF_PROFILE });
  const drained: ActedAt = (server, since) => {
    const lines = readFileSync(path.join(stateDir, 'ha/output.log'), 'utf8').split('\n');
    for (const text of lines) {
      if (!text.startsWith('{')) continue;
      const line = JSON.parse(text) as { time?: string; event?: string; command?: string };
      const at = Date.parse(line.time ?? '');
      if (at >= since && line.event === 'step.finished' && line.command?.endsWith(`/${server} state drain`)) return at;
    }
    return Number.NaN;
  };
  try {
    return await scenario(
      'agent',
      'a. ha-agent (Runtime API)',
      cluster,
      `http://127.0.0.1:${port}`,
      path.join(stateDir, 'ha/haproxy.cfg'),
      drained,
    );
  } finally {
    await cluster.down();
  }
}

async function reloadWay(way: ReloadWay, label: string): Promise<Row> {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'ha-agent-bench-'));
  const port = await freePort();
  // Not below the cluster's state folder: LocalCluster.up starts that afresh.
  const balancerDir = mkdtempSync(path.join(tmpdir(), 'ha-agent-bench-lb-'));
  const runtimePort = await freePort();
  // It follows the ha container's Serf agent (started below, with the product's settings) once that answers.
  const balancer = forkReloadBalancer(way, balancerDir, port, runtimePort, DEFAULT_SERF_ADDRESS);
  let cluster: LocalCluster | undefined;
  try {
    cluster = await LocalCluster.up({
      home,
      stateDir,
      port,
      webapps: 2,
      ha: 'serf',
      serfProfile: SERF_PROFILE,
      runtimeUrl: `tcp://127.0.0.1:${runtimePort}`,
    });
    const reloaded: ActedAt = (server, since) =>
      balancer.applied.find((a) => a.at >= since && !a.servers.includes(server))?.at ?? Number.NaN;
    return await scenario(way, label, cluster, `http://127.0.0.1:${port}`, path.join(balancerDir, 'haproxy.cfg'), reloaded);
  } finally {
    // Also when the way failed: a balancer left running would follow the next way's members.
    await cluster?.down();
    await balancer.stop();
  }
}

const f = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : '-');
const rows: Row[] = [];
const record = startRecord('compare', {
  cycles: CYCLES,
  holdMs: HOLD_MS,
  streams: STREAMS,
  streamMs: STREAM_MS,
  serfProfile: SERF_PROFILE,
  only: process.env.BENCH_ONLY ?? 'all',
  load: '4 keep-alive + 2 new-connection clients, 2 ms pause (bench/load-worker.ts)',
  haAgent: 'product defaults (the local cluster ha container: --resync 10s, --serf-poll 50ms, --drain-timeout 10s)',
  reloadWays: 'the product template without noreuseport; HAProxy hard-stop-after 30s',
});
console.log(machineLine());
const only = process.env.BENCH_ONLY; // e.g. BENCH_ONLY=agent,soft
const wanted = (name: string) => only === undefined || only.split(',').includes(name);
const failures: string[] = [];
/** A way that fails is reported as failed, and the others still run. */
const measure = async (name: string, run: () => Promise<Row>) => {
  if (!wanted(name)) return;
  try {
    rows.push(await run());
  } catch (error) {
    failures.push(`${name}: ${(error as Error).message.split('\n')[0]}`);
  }
};
await measure('agent', agentWay);
await measure('restart', () => reloadWay('restart', 'b. render + restart (seed lab)'));
await measure('soft', () => reloadWay('soft', 'c. render + haproxy -sf (consul-template, SO_REUSEPORT)'));
await measure('soft-x', () => reloadWay('soft-x', 'c2. render + haproxy -sf -x (sockets passed over)'));
await measure('seamless', () => reloadWay('seamless', 'd. render + seamless reload (master-worker)'));

/** Per-server figures (ms, s) by the name the tables read them by. */
const SAMPLES = ['joinMs', 'leaveMs', 'leaveFirstMs', 'leaveSecondMs', 'leaveServingMs', 'actedMs', 'leavingStreamCutS'] as const;
for (const r of rows) {
  for (const name of SAMPLES) addSamples(record, `${r.key} ${name}`, r[name]);
  addSamples(record, `${r.key} steady p50 / p99 ms`, [r.steadyP50, r.steadyP99]);
  addSamples(record, `${r.key} change p50 / p99 ms`, [r.changeP50, r.changeP99]);
  const facts: Record<string, unknown> = { ...r };
  for (const name of SAMPLES) delete facts[name];
  record.facts[r.key] = facts;
}
record.facts.failures = failures;
const table = [
  '| way | seconds | requests | failed | p50 / p99 ms steady | p50 / p99 ms during changes | join → serving ms | stop → last request ms | … of the first / second leave acted on ms | stop → serving without it ms | … stop → balancer acted ms | HAProxy processes started (reloads) | long streams cut, on servers that stay | … on servers that leave: cut, stop → cut s | HAProxy processes peak / end | their RSS MB peak / end |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.way} | ${f(r.seconds)} | ${r.requests} | ${r.failed}${r.errors.length ? ` (${r.errors.slice(0, 2).join('; ')})` : ''} | ${f(r.steadyP50)} / ${f(r.steadyP99)} | ${f(r.changeP50)} / ${f(r.changeP99)} | ${medianRange(r.joinMs)} | ${medianRange(r.leaveMs)} | ${medianRange(r.leaveFirstMs)} / ${medianRange(r.leaveSecondMs)} | ${medianRange(r.leaveServingMs)} | ${medianRange(r.actedMs)} | ${r.reloads} | ${r.streamsCut} of ${r.streams} | ${r.leavingStreamsCut} of ${r.leavingStreams}, ${medianRange(r.leavingStreamCutS, 1)} | ${r.peakProcesses} / ${r.endProcesses} | ${f(r.peakRssMb)} / ${f(r.endRssMb)} |`,
  ),
];
console.log(
  `\n${CYCLES} cycles of scale 2 → 4 → 2 under load (4 keep-alive + 2 new-connection clients), ${HOLD_MS} ms per phase, Serf profile ${SERF_PROFILE}.` +
    `\njoin → serving: the new web server's Serf agent started (its app already listening) → first request served by it;` +
    ` stop → last request: SIGTERM to the web server's s6 (SIGINT to its Serf agent; the app serves on) → last request it served` +
    ` (a restart serves no one while HAProxy is down, so another server's leave can end it);` +
    ` … of the first / second leave acted on: the same, split by the order the balancer acted on the cycle's two leaves;` +
    ` stop → serving without it: … → the first request another server served after that (a balancer answering again);` +
    ` … balancer acted: SIGTERM → ha-agent's \`state drain\` answered / the reload or restart without it began;` +
    ` all median (min–max) over ${CYCLES * 2} servers (2 stopped at once each cycle), [n missing] when a sample could not be taken.` +
    ` Long streams: ${STREAMS} responses of ${STREAM_MS / 1000} s opened before the first scale event (so on the 2 servers that stay),` +
    ` and ${STREAMS} more right after the first scale to 4: those on the 2 servers that leave 3 s later, and when each was cut after its server's stop.\n`,
);
console.log(table.join('\n'));
for (const failure of failures) console.log(`FAILED: ${failure}`);
const missing = Object.entries(record.missing).map(([name, n]) => `${name}: ${n}`);
console.log(missing.length > 0 ? `missing samples: ${missing.join(', ')}` : 'missing samples: none');
console.log(`recorded: ${saveRecord(record)}`);
console.log(machineLine());
