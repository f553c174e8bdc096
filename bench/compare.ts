/**
 * `npm run bench`: the same cluster, load and scaling scenario four ways, in one run —
 *   a. ha-agent (Runtime API, no reload)        b. render + restart HAProxy (the seed lab)
 *   c. render + `haproxy -sf` (consul-template)  d. render + master-worker seamless reload
 * then how fast ha-agent converges when 10, 100 and 1,000 members join or leave at once, and its
 * memory at 1,000. Real haproxy, serf, s6 and web app on loopback; load from a separate process.
 * Prints figures (docs/benchmarks.md records a run); asserts nothing.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalCluster } from '../src/lab/cluster/local.js';
import { percentile, summarise, type Outcome } from '../src/lab/demo/load.js';
import { startSerf } from '../test/helpers/serf.js';
import { stopAll } from '../test/helpers/processes.js';
import { freePort } from '../test/helpers/ports.js';
import { massChange } from './mass.js';
import { ReloadBalancer, type ReloadWay } from './reload-balancer.js';

const HOLD_MS = Number(process.env.BENCH_HOLD_MS ?? 4000);
const home = path.resolve(import.meta.dirname, '..');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** HAProxy processes (and their memory) started with a given config file. */
function haproxyProcesses(configPath: string): { count: number; rssMb: number } {
  let count = 0;
  let rssKb = 0;
  for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (!cmdline[0]?.endsWith('haproxy') || !cmdline.includes(configPath)) continue;
      count += 1;
      rssKb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // exited meanwhile
    }
  }
  return { count, rssMb: rssKb / 1024 };
}

function startLoadProcess(url: string): Promise<{ stop: () => Promise<Outcome[]> }> {
  const child: ChildProcess = fork(path.join(import.meta.dirname, 'load-worker.ts'), [url], { execArgv: ['--import', 'tsx'] });
  return new Promise((resolve) => {
    child.once('message', () =>
      resolve({
        stop: () =>
          new Promise((done) => {
            child.once('message', (message) => {
              const rows = (message as { outcomes: Array<[number, number, number, string, string]> }).outcomes;
              done(rows.map(([at, latencyMs, ok, by, error]) => ({ at, latencyMs, ok: ok === 1, by, status: ok === 1 ? 200 : 0, keepAlive: true, ...(error ? { error } : {}) })));
            });
            child.send('stop');
          }),
      }),
    );
  });
}

interface Row {
  way: string;
  seconds: number;
  requests: number;
  failed: number;
  errors: string[];
  steadyP50: number;
  steadyP99: number;
  changeP50: number;
  changeP99: number;
  joinMs: number;
  leaveMs: number;
  reloads: number;
  processes: number;
  rssMb: number;
}

async function scenario(way: string, cluster: LocalCluster, frontendUrl: string, configPath: string, reloads: () => number): Promise<Row> {
  const load = await startLoadProcess(frontendUrl);
  const t0 = Date.now();
  await sleep(HOLD_MS);
  const before = new Set(cluster.webs().map((c) => c.name));
  const t1 = Date.now();
  await cluster.scale(4);
  const added = cluster.webs().map((c) => c.name).filter((n) => !before.has(n));
  await sleep(HOLD_MS);
  const removed = cluster.webs().slice(2).map((c) => c.name);
  const t2 = Date.now();
  await cluster.scale(2);
  await sleep(HOLD_MS);
  const processes = haproxyProcesses(configPath);
  const outcomes = await load.stop();
  const steady = outcomes.filter((o) => o.at >= t0 && o.at < t1);
  const change = outcomes.filter((o) => o.at >= t1);
  const firstServed = added.map((name) => (outcomes.find((o) => o.by === name && o.at >= t1)?.at ?? Number.NaN) - t1);
  const lastServed = removed.map((name) => ([...outcomes].reverse().find((o) => o.by === name)?.at ?? t2) - t2);
  const all = summarise(outcomes);
  const lat = (list: Outcome[]) => list.map((o) => o.latencyMs).sort((a, b) => a - b);
  return {
    way,
    seconds: ((outcomes.at(-1)?.at ?? t0) - (outcomes[0]?.at ?? t0)) / 1000,
    requests: all.requests,
    failed: all.failed,
    errors: all.errors,
    steadyP50: percentile(lat(steady), 50),
    steadyP99: percentile(lat(steady), 99),
    changeP50: percentile(lat(change), 50),
    changeP99: percentile(lat(change), 99),
    joinMs: Math.max(...firstServed),
    leaveMs: Math.max(0, ...lastServed),
    reloads: reloads(),
    processes: processes.count,
    rssMb: processes.rssMb,
  };
}

async function agentWay(): Promise<Row> {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'ha-agent-bench-'));
  const port = await freePort();
  const cluster = await LocalCluster.up({ home, stateDir, port, webapps: 2 });
  try {
    return await scenario('a. ha-agent (Runtime API)', cluster, `http://127.0.0.1:${port}`, path.join(stateDir, 'ha/haproxy.cfg'), () => 0);
  } finally {
    await cluster.down();
  }
}

async function reloadWay(way: ReloadWay, label: string): Promise<Row> {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'ha-agent-bench-'));
  const port = await freePort();
  await startSerf({ name: 'ha', address: '127.0.0.1', bindPort: 7946, rpcPort: 7373, tags: { role: 'lb' } });
  // Not below the cluster's state folder: LocalCluster.up starts that afresh.
  const balancerDir = mkdtempSync(path.join(tmpdir(), 'ha-agent-bench-lb-'));
  const balancer = new ReloadBalancer(way, balancerDir, port, '127.0.0.1:7373');
  balancer.start();
  const cluster = await LocalCluster.up({ home, stateDir, port, webapps: 2, ha: false });
  try {
    return await scenario(label, cluster, `http://127.0.0.1:${port}`, path.join(balancerDir, 'haproxy.cfg'), () => balancer.reloads);
  } finally {
    await cluster.down();
    await balancer.stop();
    await stopAll();
  }
}

const f = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : '-');
const rows: Row[] = [];
const only = process.env.BENCH_ONLY; // e.g. BENCH_ONLY=agent,soft
const wanted = (name: string) => only === undefined || only.split(',').includes(name);
if (wanted('agent')) rows.push(await agentWay());
if (wanted('restart')) rows.push(await reloadWay('restart', 'b. render + restart (seed lab)'));
if (wanted('soft')) rows.push(await reloadWay('soft', 'c. render + haproxy -sf (consul-template)'));
if (wanted('seamless')) rows.push(await reloadWay('seamless', 'd. render + seamless reload (master-worker)'));

const table = [
  '| way | seconds | requests | failed | p50 / p99 ms steady | p50 / p99 ms during changes | join → serving ms | stop → last request ms | reloads | HAProxy processes at end | their RSS MB |',
  '|---|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.way} | ${f(r.seconds)} | ${r.requests} | ${r.failed}${r.errors.length ? ` (${r.errors.slice(0, 2).join('; ')})` : ''} | ${f(r.steadyP50)} / ${f(r.steadyP99)} | ${f(r.changeP50)} / ${f(r.changeP99)} | ${f(r.joinMs, 0)} | ${f(r.leaveMs, 0)} | ${r.reloads} | ${r.processes} | ${f(r.rssMb)} |`),
];
console.log(`\nScale 2 → 4 → 2 under load (4 keep-alive + 2 new-connection clients), ${HOLD_MS} ms per phase:\n`);
console.log(table.join('\n'));

const mass: string[] = ['| members at once | join → all UP ms | leave → all out of rotation ms | leave → all deleted ms | ha-agent RSS MB |', '|---|---|---|---|---|'];
for (const n of wanted('mass') ? [10, 100, 1000] : []) {
  const m = await massChange(n);
  mass.push(`| ${n} | ${m.joinMs} | ${m.outMs} | ${m.deletedMs} | ${f(m.agentRssMb)} |`);
}
console.log(`\nha-agent with many members at once (Serf RPC stand-in, real haproxy and HTTP servers):\n`);
console.log(mass.join('\n'));

