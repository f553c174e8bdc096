/**
 * `npm run tables`: every figure table in docs/ (and README.md, where it has markers) generated from the
 * recorded runs in bench/results/, between `<!-- table:NAME -->` and `<!-- /table -->`. A table shows
 * the runs of the newest commit a bench was recorded on; a headline is the median of ≥ 5 runs with
 * min–max, and a table over fewer runs says so. test/unit/tables.test.ts fails when a doc's table differs
 * from what this makes from the files.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SINGLE_CHANGE_P50_TARGET_MS, spread } from './figures.js';
import { resultsDir, type RunRecord } from './record.js';

const root = path.resolve(import.meta.dirname, '..');
/** A headline needs this many runs. */
export const HEADLINE_RUNS = 5;

/** The runs of one bench recorded on its newest commit, oldest first. */
export function records(bench: string, dir = resultsDir): RunRecord[] {
  let files: string[];
  try {
    files = readdirSync(path.join(dir, bench)).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  const all = files
    .map((f) => JSON.parse(readFileSync(path.join(dir, bench, f), 'utf8')) as RunRecord)
    .sort((a, b) => a.started.localeCompare(b.started));
  const newest = all.at(-1);
  return newest ? all.filter((r) => r.commit === newest.commit) : [];
}

const median = (values: readonly number[]) => spread(values).median;
const fmt = (value: number, digits = 0) =>
  Number.isFinite(value) ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-';

/** "median (min–max)" of values, with thousands separators (figures.ts's spread; one value alone is shown as itself). */
export function medianRange(values: readonly number[], digits = 0): string {
  const s = spread(values);
  if (s.n === 0) return '-';
  if (s.n === 1) return fmt(s.median, digits);
  return `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`;
}

/** Each run's median of `name`, leaving out runs without a sample of it. */
const runMedians = (runs: readonly RunRecord[], name: string) => runs.map((r) => median(r.samples[name] ?? [])).filter(Number.isFinite);
/** Across runs: the median of each run's median, with the min–max of those medians. */
const acrossRuns = (runs: readonly RunRecord[], name: string, digits = 0) => medianRange(runMedians(runs, name), digits);

/** The runs that started with uncommitted changes, and which files (when the record lists them). */
function uncommitted(runs: readonly RunRecord[]): string {
  const dirty = runs.filter((r) => r.dirty);
  if (dirty.length === 0) return '';
  const files = [...new Set(dirty.flatMap((r) => r.dirtyFiles ?? ['(files not recorded)']))];
  return ` (${dirty.length} of ${runs.length} started with uncommitted changes: ${files.join(', ')})`;
}

/** Which runs a table comes from: count (`runCount` when one record holds several runs), dates, commit, load and missing samples, under the table. */
function context(runs: readonly RunRecord[], headline: boolean, runCount = runs.length): string {
  const first = runs[0]!;
  const last = runs.at(-1)!;
  const loads = runs.flatMap((r) => [r.loadStart[0] ?? Number.NaN, r.loadEnd[0] ?? Number.NaN]);
  const missing: Record<string, number> = {};
  for (const run of runs) for (const [name, n] of Object.entries(run.missing)) missing[name] = (missing[name] ?? 0) + n;
  const missingText = Object.entries(missing).map(([name, n]) => `${name} ${n}`);
  const count = `${runCount} run${runCount === 1 ? '' : 's'}`;
  const kind = headline
    ? runCount >= HEADLINE_RUNS
      ? ' (headline: median of the runs, min–max)'
      : ` (fewer than ${HEADLINE_RUNS}: no headline)`
    : '';
  return (
    `_${count}${kind}, ${first.started.slice(0, 16).replace('T', ' ')}–${last.ended.slice(11, 16)} UTC, ` +
    `commit ${first.commit.slice(0, 7)}${uncommitted(runs)}, ${first.cpus} CPUs, ` +
    `load average (1 min) ${fmt(Math.min(...loads), 1)}–${fmt(Math.max(...loads), 1)}; ` +
    `missing samples: ${missingText.length > 0 ? missingText.join(', ') : 'none'}. Files: bench/results/${first.bench}/._`
  );
}

const table = (head: readonly string[], rows: ReadonlyArray<readonly string[]>) =>
  [`| ${head.join(' | ')} |`, `|${head.map(() => '---|').join('')}`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');

/** A table of runs with its context under it (no headline). */
const tableOf = (runs: readonly RunRecord[], head: readonly string[], rows: ReadonlyArray<readonly string[]>) =>
  [table(head, rows), '', context(runs, false)].join('\n');

interface WayFacts {
  way: string;
  requests: number;
  failed: number;
  reloads: number;
  streamsCut: number;
  streams: number;
  leavingStreams: number;
  leavingStreamsCut: number;
  peakProcesses: number;
  peakRssMb: number;
}

function compare(runs: RunRecord[]): string {
  const keys = ['agent', 'restart', 'soft', 'soft-x', 'seamless'].filter((key) => runs.some((r) => r.facts[key]));
  const rows = keys.map((key) => {
    const ran = runs.filter((r) => r.facts[key]);
    const facts = ran.map((r) => r.facts[key] as WayFacts);
    const sum = (pick: (f: WayFacts) => number) => facts.reduce((total, f) => total + pick(f), 0);
    const per = (pick: (f: WayFacts) => number, digits = 0) => medianRange(facts.map(pick), digits);
    const pair = (name: string, i: number) =>
      medianRange(
        ran.map((r) => r.samples[`${key} ${name}`]?.[i] ?? Number.NaN),
        1,
      );
    return [
      facts[0]!.way,
      `${ran.length}`,
      `${fmt(sum((f) => f.failed))} of ${fmt(sum((f) => f.requests))}`,
      `${pair('steady p50 / p99 ms', 0)} / ${pair('steady p50 / p99 ms', 1)}`,
      `${pair('change p50 / p99 ms', 0)} / ${pair('change p50 / p99 ms', 1)}`,
      acrossRuns(ran, `${key} joinMs`),
      acrossRuns(ran, `${key} leaveMs`),
      acrossRuns(ran, `${key} leaveServingMs`),
      acrossRuns(ran, `${key} actedMs`),
      per((f) => f.reloads),
      `${fmt(sum((f) => f.streamsCut))} of ${fmt(sum((f) => f.streams))}`,
      `${fmt(sum((f) => f.leavingStreamsCut))} of ${fmt(sum((f) => f.leavingStreams))}; ${medianRange(
        ran.flatMap((r) => r.samples[`${key} leavingStreamCutS`] ?? []),
        1,
      )}`,
      `${per((f) => f.peakProcesses)} / ${per((f) => f.peakRssMb, 1)}`,
    ];
  });
  const failed = runs.flatMap((r) => (r.facts.failures as string[] | undefined) ?? []);
  return [
    table(
      [
        'way',
        'runs',
        'failed requests (all runs)',
        'p50 / p99 ms steady',
        'p50 / p99 ms during changes',
        'join → serving ms',
        'stop → last request ms',
        'stop → serving without it ms',
        'stop → balancer acted ms',
        'HAProxy processes started',
        'long streams cut, on servers that stay',
        '… on servers that leave: cut; stop → cut s',
        'HAProxy processes / RSS MB at peak',
      ],
      rows,
    ),
    '',
    ...(failed.length > 0 ? [`_Ways that failed in a run (left out above): ${failed.join('; ')}._`] : []),
    context(runs, true),
  ].join('\n');
}

/** One row per figure: across runs, the median of each run's median with min–max; one run: p50, p95, min–max of its samples. */
function figures(runs: RunRecord[], names: readonly string[], digits = 0): string {
  const one = runs.length === 1;
  const rows = names.map((name) => {
    if (!one) return [name, acrossRuns(runs, name, digits)];
    const values = runs[0]!.samples[name] ?? [];
    const s = spread(values);
    return [name, fmt(s.median, digits), fmt(s.p95, digits), medianRange(values, digits), `${s.n}`];
  });
  const head = one ? ['ms', 'p50', 'p95', 'median (min–max)', 'samples'] : ['', `median (min–max) of ${runs.length} runs`];
  return `${table(head, rows)}\n\n${context(runs, !one)}`;
}

/** The members a real Serf agent lists in bench/serf-members.ts: how many, and how many of them alive. */
const listedMembers = (run: RunRecord) => `${String(run.settings.members)} members (${String(run.settings.alive)} alive)`;

/** The rows of a single change a user sees, judged against SINGLE_CHANGE_P50_TARGET_MS. */
const SINGLE_CHANGE_ROWS = {
  join: 'Serf agent started (app listening) → first request served',
  leave: 'SIGINT to its Serf agent → last request routed to it',
};

function agentEvents(runs: RunRecord[]): string {
  const facts = runs.map((r) => r.facts as { requests: number; failed: number; slowOnLeaving: number; slowFailed: number });
  const f = facts.at(-1)!;
  const targets = Object.entries(SINGLE_CHANGE_ROWS).map(([what, name]) => {
    const p50s = runMedians(runs, name);
    if (p50s.length < HEADLINE_RUNS) return `${what} no headline (fewer than ${HEADLINE_RUNS} runs)`;
    return `${what} ${median(p50s) <= SINGLE_CHANGE_P50_TARGET_MS ? 'met' : 'NOT met'}`;
  });
  return [
    figures(runs, Object.keys(runs[0]!.samples)),
    `_Target for a single change, p50 ≤ ${SINGLE_CHANGE_P50_TARGET_MS} ms (the median of the runs’ p50s): ${targets.join('; ')}._`,
    `_Requests ${fmt(f.requests)}, failed ${fmt(f.failed)}; slow requests in flight on leaving servers ${f.slowOnLeaving}, slow requests failed ${f.slowFailed} (the newest run)._`,
  ].join('\n');
}

function agentMass(runs: RunRecord[]): string {
  // One record holds the runs (one sample a run): its samples are read as runs.
  const run = runs.at(-1)!;
  const rows = Object.entries(run.samples).map(([name, values]) => [
    name,
    medianRange(values, name.includes('Rss') || name.includes('Cpu') ? 1 : 0),
    `${values.length}`,
  ]);
  const facts = run.facts as { succeededRuns: number; pollOffIdleCpuPercent: number | null };
  return [
    table(['figure (ms, MB, % of a core)', 'median (min–max) over the runs', 'runs'], rows),
    '',
    `_${String(facts.succeededRuns ?? 0)} of ${String(run.settings.runs)} runs succeeded; idle CPU with the poll off (--serf-poll 10m, 1 run): ${fmt(facts.pollOffIdleCpuPercent ?? Number.NaN, 2)} %._`,
    context([run], false),
  ].join('\n');
}

function runtime(runs: RunRecord[]): string {
  const run = runs.at(-1)!;
  const ways = Object.keys(run.samples)
    .filter((n) => n.endsWith(' add ms'))
    .map((n) => n.slice(0, -' add ms'.length));
  const total = (way: string) =>
    (run.samples[`${way} add ms`] ?? []).map((add, i) => add + (run.samples[`${way} del ms`]?.[i] ?? Number.NaN));
  const base = median(total(ways[0]!));
  const rows = ways.map((way) => [
    way,
    medianRange(run.samples[`${way} add ms`] ?? [], 1),
    medianRange(run.samples[`${way} del ms`] ?? [], 1),
    medianRange(total(way), 1),
    `${fmt(base / median(total(way)), 1)}x`,
  ]);
  const downinters = run.settings.downinters as number[];
  const checks = downinters.map((d) => [
    `downinter ${d}`,
    medianRange(run.samples[`downinter ${d} first check ms`] ?? [], 1),
    fmt(run.samples[`downinter ${d} HAProxy CPU %`]?.[0] ?? Number.NaN, 1),
  ]);
  return [
    table(['way', 'add ms', 'del ms', 'total ms', 'speed-up (medians)'], rows),
    '',
    table(
      ['checks `inter 1000` and', '`enable health` → first check passed, ms', 'HAProxy CPU, 1,000 servers down, % of a core (1 window)'],
      checks,
    ),
    '',
    `_Add then delete ${String(run.settings.servers)} servers, ${String(run.settings.rounds)} rounds, median (min–max) of the rounds; first check: ${String(run.settings.checks)} samples each._`,
    context([run], false),
  ].join('\n');
}

function serfPoll(runs: RunRecord[]): string {
  const run = runs.at(-1)!;
  const windows = Object.keys(run.samples)
    .filter((n) => n.endsWith(' CPU %'))
    .map((n) => n.slice(0, -' CPU %'.length));
  const rows = windows.map((w) => [
    w,
    fmt(run.samples[`${w} CPU %`]?.[0] ?? Number.NaN, 2),
    fmt(run.samples[`${w} reads/s`]?.[0] ?? Number.NaN, 1),
  ]);
  return [
    table(
      [`the Serf agent's CPU over ${Number(run.settings.idleMs) / 1000} s, ${listedMembers(run)} + itself`, '% of a core', 'reads/s'],
      rows,
    ),
    '',
    context([run], false),
  ].join('\n');
}

interface Phase {
  stack: string;
  phase: string;
  requests: number;
  failed: number;
  seconds: number;
  usersRequests: number;
  usersFailed: number;
  sessionsKept: number;
  sessionsNew: number;
}

/** A compose run's failed tests: a run that did not pass is shown, never hidden. */
const failedTests = (run: RunRecord) => {
  const failed = run.facts.failedTests as string[] | undefined;
  if (failed === undefined) return 'not recorded (a run made before the record listed them)';
  return failed.length > 0 ? failed.join('; ') : 'none';
};

/** The last run's phases (the compose and swarm-nodes end-to-end tests record them), headed by `what` ran. */
const phasesTable =
  (what: string, samplesHead: string) =>
  (runs: RunRecord[]): string => {
    const run = runs.at(-1)!;
    const phases = (run.facts.phases as Phase[] | undefined) ?? [];
    const rows = phases.map((p) => [
      p.stack,
      p.phase,
      fmt(p.requests),
      fmt(p.failed),
      fmt(p.seconds, 1),
      `${fmt(p.usersRequests)} / ${fmt(p.usersFailed)}`,
      `${p.sessionsKept} / ${p.sessionsNew}`,
    ]);
    const latencies = Object.entries(run.samples).map(([name, values]) => [
      name,
      medianRange(values),
      values.map((v) => fmt(v)).join(', '),
    ]);
    return [
      table([what, 'phase', 'requests', 'failed', 'seconds', 'sticky users: requests / failed', 'sessions kept / new'], rows),
      '',
      ...(latencies.length > 0 ? [table([samplesHead, 'median (min–max)', 'samples'], latencies), ''] : []),
      `_Tests that failed in this run: ${failedTests(run)}._`,
      context([run], false),
    ].join('\n');
  };

/** `npm run proof:scale-in`: one row per proof (one HAProxy binary, PROOF_RUNS runs of test/helpers/scale-in.ts). */
function scaleIn(runs: RunRecord[]): string {
  const total = (run: RunRecord, name: string) => (run.samples[name] ?? []).reduce((a, b) => a + b, 0);
  const rows = runs.map((run) => {
    const notCompleted = (run.facts.notCompleted as string[] | undefined)?.length ?? 0;
    const completed = Number(run.facts.runs);
    return [
      String(run.facts.haproxyVersion),
      `${completed} of ${completed + notCompleted}`,
      fmt(total(run, 'requests')),
      fmt(total(run, 'failed')),
      fmt(total(run, 'crashed')),
      `${fmt(total(run, 'retries'))} / ${fmt(total(run, 'redispatches'))}`,
      medianRange(run.samples.removal_ms ?? []),
    ];
  });
  return tableOf(
    runs,
    [
      'HAProxy',
      'runs completed',
      'requests',
      'failed',
      'crashes',
      'retries / redispatches',
      'stop → both servers deleted, ms: median (min–max)',
    ],
    rows,
  );
}

/** `npm run bench:swarm`: per phase, over the runs of its newest record (each record holds BENCH_RUNS deploys). */
function swarm(runs: RunRecord[]): string {
  const run = runs.at(-1)!;
  const requests = (run.facts.requestsPerPhase ?? {}) as Record<string, number[]>;
  const deploy = run.samples['deploy → serving (s)'] ?? [];
  const rows = Object.keys(requests).map((phase) => {
    const failed = run.samples[`${phase}: failed requests`] ?? [];
    return [
      phase,
      String(failed.length),
      medianRange(run.samples[`${phase}: converged (s)`] ?? [], 1),
      medianRange(failed),
      fmt(failed.reduce((a, b) => a + b, 0)),
      medianRange(requests[phase] ?? []),
    ];
  });
  return [
    `Deploy → serving: ${medianRange(deploy, 1)} s over ${deploy.length} deploys.`,
    '',
    table(
      ['phase', 'runs', 'command → HAProxy holds exactly the running tasks, s', 'failed requests', 'failed, all runs', 'requests'],
      rows,
    ),
    '',
    context([run], true, deploy.length),
  ].join('\n');
}

/** One figure of a run as "median (min–max)" of its samples, or "-" when it has none. */
const cellOf = (run: RunRecord, name: string, digits = 0) => medianRange(run.samples[name] ?? [], digits);

/** `npx tsx bench/libs.ts`: per candidate, ours → the library on the same hot path, their ratio, and the RSS it adds (one record, its runs as samples). */
function libs(runs: RunRecord[]): string {
  const run = runs.at(-1)!;
  const candidates = Object.keys(run.samples)
    .filter((n) => n.endsWith(': ratio'))
    .map((n) => n.slice(0, -': ratio'.length));
  const rss = (candidate: string) => Object.keys(run.samples).find((n) => n.startsWith(`rss added: ${candidate}`)) ?? '';
  const rows = candidates.map((c) => [
    c,
    cellOf(run, `${c}: ours ms`, 1),
    cellOf(run, `${c}: library ms`, 1),
    cellOf(run, `${c}: ratio`, 2),
    cellOf(run, rss(c), 1),
  ]);
  return [
    table(['candidate', 'ours, ms', 'the candidate, ms', 'ratio (candidate ÷ ours)', 'RSS added to a bare Node.js, MB'], rows),
    '',
    `_Median (min–max) of ${String(run.settings.runs)} runs in one process; hot paths: ${fmt(Number(run.settings.lines))} log lines, ` +
      `${fmt(Number(run.settings.lines))} counter increments, ${fmt(Number(run.settings.addresses))} address checks; ` +
      `a bare Node.js process: ${cellOf(run, 'rss: node alone MB', 1)} MB._`,
    context([run], false),
  ].join('\n');
}

/** `scripts/balancer-proof.ts`: one row per fault over its runs (one record holds RELOADS reloads and KILLS rounds of kills). */
function balancerTier(runs: RunRecord[]): string {
  const run = runs.at(-1)!;
  const s = (name: string) => run.samples[name] ?? [];
  const reloads = s('reload failed requests');
  const stayed = reloads.length - Number(run.facts.reloadVipMoved ?? Number.NaN);
  const lostNone = reloads.filter((n) => n === 0).length;
  const ratioMet = (fault: string) => {
    const ratios = s(`${fault} ratio to single`);
    const met = ratios.filter((r) => r <= 0.1).length;
    return `≤ 0.1 in ${met}/${ratios.length}: **${met === ratios.length ? 'met' : 'NOT met'}**`;
  };
  const killRow = (fault: string, label: string) => [
    label,
    String(s(`${fault} failed requests`).length),
    medianRange(s(`${fault} failed requests`)),
    medianRange(s(`${fault} ratio to single`), 3),
    `${medianRange(s(`${fault} vip moved ms`))} ms`,
    `${medianRange(s(`${fault} slowest request ms`))} ms`,
    ratioMet(fault),
  ];
  const rows = [
    [
      "planned reload of the VIP's holder",
      String(reloads.length),
      `${medianRange(reloads)} of ${medianRange(s('reload requests'))}; the VIP stayed in ${stayed} of ${reloads.length}`,
      '–',
      '– (stayed)',
      '–',
      `0 lost in ${lostNone}/${reloads.length}: **${lostNone === reloads.length && stayed === reloads.length ? 'met' : 'NOT met'}**`,
    ],
    [
      '**single balancer**: SIGKILL its HAProxy (s6 restarts it)',
      String(s('single failed requests').length),
      `${medianRange(s('single failed requests'))}; last failure ${medianRange(s('single outage ms'))} ms after the kill`,
      '1',
      '– (one balancer)',
      '–',
      'baseline',
    ],
    killRow('node', "SIGKILL every process of the VIP's holder"),
    killRow('node+link', 'the same, its link down first (a host that lost power)'),
  ];
  return [
    table(
      [
        "fault, demo's load",
        'runs',
        'requests failed',
        'failed vs. the single balancer of the round',
        'VIP on the other balancer after (poll)',
        'slowest request',
        'target',
      ],
      rows,
    ),
    '',
    `_Median (min–max) over the runs; adverts every ${fmt(Number(run.settings.advertIntervalS) * 1000)} ms, ${String(run.settings.balancers)} balancers, ${String(run.settings.webapps)} web servers._`,
    context([run], false),
  ].join('\n');
}

/** `npm run bench:serf-idle`: per window kind, the agent's and its Serf agent's CPU while idle (each record's windows). */
function serfIdle(runs: RunRecord[]): string {
  const rows = runs.flatMap((r) =>
    [...new Set(Object.keys(r.samples).map((k) => k.split(': ')[0]!))].map((label) => [
      `${listedMembers(r)}, ${label}`,
      cellOf(r, `${label}: agent CPU % of a core`, 2),
      cellOf(r, `${label}: Serf agent CPU % of a core`, 2),
      String((r.samples[`${label}: Serf agent CPU % of a core`] ?? []).length),
    ]),
  );
  return tableOf(runs, ['idle, real Serf', 'ha-agent, % of a core', 'its Serf agent, % of a core', 'windows'], rows);
}

/** `npm run bench:serf-scale`: one row per run set (N real Serf agents), Serf's and the agent's parts of a join and of half of them leaving. */
function serfScale(runs: RunRecord[]): string {
  const rows = runs.map((r) => {
    const failures = (r.facts.failures as string[] | undefined)?.length ?? 0;
    return [
      String(r.settings.members),
      `${(r.samples.joinMs ?? []).length}${failures > 0 ? ` (+${failures} failed)` : ''}`,
      ...['joinMs', 'joinSerfMs', 'joinAgentMs', 'leaveMs', 'leaveSerfMs', 'leaveAgentMs'].map((n) => cellOf(r, n)),
      `${cellOf(r, 'joinCpuMs')} / ${cellOf(r, 'leaveCpuMs')}`,
      `${cellOf(r, 'rssMb', 1)} / ${cellOf(r, 'rssPeakMb', 1)}`,
      cellOf(r, 'stayingNotAlive'),
    ];
  });
  return tableOf(
    runs,
    [
      'real Serf agents',
      'runs',
      'start → all UP, ms',
      "Serf's part",
      "agent's part",
      'SIGINT to half → those out, ms',
      "Serf's part",
      "agent's part",
      'agent CPU join / leave, ms',
      'agent RSS after joins / peak, MB',
      'staying members not alive then',
    ],
    rows,
  );
}

/** The last columns of both services tables. */
const SETTLED_HEAD = ['RSS settled, MB', 'RSS peak, MB', 'idle CPU, %'];

/** A services bench's cells for N members: all UP, 1,000 out, the agent's CPU for each, RSS and idle CPU. */
const membersCells = (r: RunRecord, n: number) => ({
  join: cellOf(r, `${n}: joinMs`),
  joinCpu: cellOf(r, `${n}: joinCpuMs`),
  leave: cellOf(r, `${n}: leaveMs`),
  leaveCpu: cellOf(r, `${n}: leaveCpuMs`),
  settled: cellOf(r, `${n}: rssSettledMb`, 1),
  peak: cellOf(r, `${n}: rssPeakMb`, 1),
  idle: cellOf(r, `${n}: idleCpu`, 2),
});

/** The runs of N members that failed (a services bench's facts), each with its reason, without the figures it took. */
const failuresOf = (r: RunRecord, n: number): string[] =>
  ((r.facts[String(n)] as { failures?: string[] } | undefined)?.failures ?? []).map((reason) => reason.replace(/ \(\{.*$/, ''));

/** What a reader of a services table needs beside it: failed runs and why, the agent's log level, the conntrack table. */
function servicesNotes(runs: RunRecord[], counts: (r: RunRecord) => number[]): string[] {
  const notes = runs.flatMap((r) => counts(r).flatMap((n) => failuresOf(r, n).map((reason) => `${n} members, a failed run: ${reason}`)));
  for (const r of runs)
    if (r.settings.logLevel !== undefined)
      notes.push(`agent log level ${r.settings.logLevel as string}; kernel conntrack table: ${r.settings.conntrackMax as string | number}`);
  return [...new Set(notes)].map((note) => `_${note}._`);
}

/** `npm run bench:services-scale`: one row per run set, its runs' medians (min–max). */
function servicesScale(runs: RunRecord[]): string {
  const rows = runs.map((r) => {
    const n = r.settings.members as number;
    const c = membersCells(r, n);
    return [
      `${n} in ${String(r.settings.services)} services`,
      String((r.samples[`${n}: joinMs`] ?? []).length) + (failuresOf(r, n).length > 0 ? ` (+${failuresOf(r, n).length} failed)` : ''),
      c.join,
      c.leave,
      `${c.joinCpu} / ${c.leaveCpu}`,
      cellOf(r, `${n}: rssMb`, 1),
      c.settled,
      c.peak,
      c.idle,
    ];
  });
  const head = [
    'members (stand-in Serf)',
    'runs',
    'list change → all UP, ms',
    '1,000 leave → out, ms',
    'agent CPU join / leave, ms',
    'RSS 5 s after, MB',
    ...SETTLED_HEAD,
  ];
  // A record holds a set's runs: the context counts those, as the headline rule does.
  const setRuns = Math.min(...rows.map((row) => Number.parseInt(row[1]!, 10)));
  const notes = servicesNotes(runs, (r) => [r.settings.members as number]);
  return [table(head, rows), '', context(runs, true, setRuns), ...notes].join('\n');
}

/** `npm run bench:services-curve`: one run per size. */
function servicesCurve(runs: RunRecord[]): string {
  const rows = runs.flatMap((r) =>
    (r.settings.counts as number[]).map((n) => {
      const c = membersCells(r, n);
      return [String(n), c.join, c.joinCpu, c.leave, c.leaveCpu, c.settled, c.peak, c.idle];
    }),
  );
  const head = ['members (stand-in Serf)', 'all UP, ms', 'agent CPU, ms', '1,000 out, ms', 'agent CPU, ms', ...SETTLED_HEAD];
  return [tableOf(runs, head, rows), ...servicesNotes(runs, (r) => r.settings.counts as number[])].join('\n');
}

/** `npm run bench:soak`: one row per run, from its facts. */
function soak(runs: RunRecord[]): string {
  const rows = runs.map((r) => {
    const f = r.facts as Record<string, number>;
    return [
      String(r.settings.minutes),
      `${fmt(f.operations ?? Number.NaN)} (${fmt(f.failedOperations ?? Number.NaN)})`,
      `${fmt(f.requests ?? Number.NaN)} (${fmt(f.failedRequests ?? Number.NaN)})`,
      f.haproxyPidStart === f.haproxyPidEnd ? 'same' : 'CHANGED',
      `${fmt(f.rssFirstMb ?? Number.NaN, 1)} → ${fmt(f.rssLastMb ?? Number.NaN, 1)}`,
      fmt(f.rssAt40Mb ?? Number.NaN, 1),
      `${fmt(f.rssLast20MaxDeviationPct ?? Number.NaN, 1)} %`,
      `${fmt(f.failedRequestsAfterScaleUp ?? Number.NaN)} / ${fmt(f.failedRequestsAfterScaleDown ?? Number.NaN)}`,
    ];
  });
  return tableOf(
    runs,
    [
      'minutes',
      'scale operations (failed)',
      'requests (failed)',
      'HAProxy Pid',
      'agent RSS first → last, MB',
      'RSS at 40 min, MB',
      'last 20 min, most off it',
      'failed after a scale-up / after a scale-down',
    ],
    rows,
  );
}

/** How a table is made: from the bench's run records. */
interface TableSpec {
  bench: string;
  make: (runs: RunRecord[]) => string;
}

/** Every table by name: the bench it reads and how it is made. */
export const TABLES: Record<string, TableSpec> = {
  compare: { bench: 'compare', make: compare },
  'agent-events': { bench: 'agent-events', make: agentEvents },
  'agent-mass': { bench: 'agent-mass', make: agentMass },
  runtime: { bench: 'runtime', make: runtime },
  'serf-poll': { bench: 'serf-poll', make: serfPoll },
  compose: { bench: 'compose', make: phasesTable('compose', 'one member, 5 times') },
  'swarm-nodes': { bench: 'swarm-nodes', make: phasesTable('swarm', 'this run') },
  'scale-in': { bench: 'scale-in', make: scaleIn },
  swarm: { bench: 'swarm', make: swarm },
  libs: { bench: 'libs', make: libs },
  'balancer-tier': { bench: 'balancer-tier', make: balancerTier },
  'serf-idle': { bench: 'serf-idle', make: serfIdle },
  'serf-scale': { bench: 'serf-scale', make: serfScale },
  'services-scale': { bench: 'services-scale', make: servicesScale },
  'services-curve': { bench: 'services-curve', make: servicesCurve },
  soak: { bench: 'soak', make: soak },
};

/** A table made from the recorded runs, or a line saying none is recorded. */
export function makeTable(name: string, dir = resultsDir): string {
  const spec = TABLES[name];
  if (!spec) throw new Error(`unknown table '${name}' (known: ${Object.keys(TABLES).join(', ')})`);
  const runs = records(spec.bench, dir);
  return runs.length > 0 ? spec.make(runs) : `_No run recorded in bench/results/${spec.bench}/._`;
}

/** A marked table: its opening line, its lines (none while empty), its closing line; never past its own close. */
const MARKER = /(<!-- table:([\w-]+) -->\n)(?:(?!<!-- \/?table)[\s\S])*?(<!-- \/table -->)/g;

/** The text with every marked table replaced by the one made from the files. */
export function fillTables(text: string, dir = resultsDir): string {
  return text.replace(MARKER, (_all, open: string, name: string, close: string) => `${open}${makeTable(name, dir)}\n${close}`);
}

/** The files whose tables are generated: README.md and docs/*.md. */
export function documents(): string[] {
  const docs = readdirSync(path.join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => path.join(root, 'docs', f));
  return [path.join(root, 'README.md'), ...docs];
}

if (process.argv[1] === import.meta.filename) {
  for (const file of documents()) {
    const text = readFileSync(file, 'utf8');
    const filled = fillTables(text);
    if (filled !== text) {
      writeFileSync(file, filled);
      console.log(`tables written: ${path.relative(root, file)}`);
    }
  }
}
