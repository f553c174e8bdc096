/**
 * `npm run proof:scale-in`: the scale-in of test/integration/scale-in.test.ts (apps that exit at once,
 * two stopped together three times under sticky load) run PROOF_RUNS times (default 20) against one
 * HAProxy binary: the host's (Debian's 2.6.12), or HAPROXY_BIN (the image's 3.0 through
 * scripts/haproxy-from-image.sh). Prints each run and the totals (runs, requests, failed, crashes) and
 * records every run with bench/record.ts under bench/results/scale-in/ (PROOF_LABEL, when set, is kept in
 * the record's settings: what differs from the product). Exits 1 when any run failed a request or HAProxy
 * crashed.
 */
import { runScaleIn, scaleInDefaults, type ScaleInResult } from '../test/helpers/scale-in.js';
import { haproxyBin } from '../test/helpers/haproxy.js';
import { machineLine, medianRange } from './figures.js';
import { addSamples, saveRecord, startRecord } from './record.js';

const RUNS = Number(process.env.PROOF_RUNS ?? 20);
/** Another 127.0.X.0/24 for the members, so that two proofs (one per HAProxy version) can run side by side. */
const options = { ...scaleInDefaults, subnet: Number(process.env.PROOF_SUBNET ?? scaleInDefaults.subnet) };

console.log(machineLine());
const record = startRecord('scale-in', {
  ...options,
  runs: RUNS,
  haproxyBin,
  agent: 'product defaults, --sticky cookie, --health-path /',
  ...(process.env.PROOF_LABEL ? { label: process.env.PROOF_LABEL } : {}),
});
/** Runs that could not start (a member not listening in time on a loaded machine): counted, never dropped silently. */
const notStarted: string[] = [];
const results: ScaleInResult[] = [];
for (let run = 1; run <= RUNS; run += 1) {
  let result: ScaleInResult;
  try {
    result = await runScaleIn(options);
  } catch (error) {
    notStarted.push(String(error));
    console.log(`run ${run}/${RUNS} did not complete: ${String(error)}`);
    continue;
  }
  results.push(result);
  const kinds = new Map<string, number>();
  for (const f of result.failures)
    kinds.set(`${f.client} ${f.status || f.error}`, (kinds.get(`${f.client} ${f.status || f.error}`) ?? 0) + 1);
  const detail = [...kinds].map(([kind, n]) => `${n} × ${kind}`).join('; ');
  console.log(
    `run ${run}/${RUNS} HAProxy ${result.haproxyVersion}: ${result.requests} requests, ${result.failed} failed, ` +
      `${result.crashed ? 'CRASHED' : 'no crash'}, removals ${result.removalMs.join('/')} ms, ` +
      `retries ${result.retries}, redispatches ${result.redispatches}, waits run out ${result.waitsRunOut}${detail ? ` — ${detail}` : ''}`,
  );
}
const sum = (pick: (r: ScaleInResult) => number) => results.reduce((n, r) => n + pick(r), 0);
addSamples(
  record,
  'requests',
  results.map((r) => r.requests),
);
addSamples(
  record,
  'failed',
  results.map((r) => r.failed),
);
addSamples(
  record,
  'crashed',
  results.map((r) => (r.crashed ? 1 : 0)),
);
addSamples(
  record,
  'removal_ms',
  results.flatMap((r) => r.removalMs),
);
addSamples(
  record,
  'retries',
  results.map((r) => r.retries),
);
addSamples(
  record,
  'redispatches',
  results.map((r) => r.redispatches),
);
addSamples(
  record,
  'waits_run_out',
  results.map((r) => r.waitsRunOut),
);
record.facts = {
  haproxyVersion: [...new Set(results.map((r) => r.haproxyVersion))].join(', '),
  runs: results.length,
  requests: sum((r) => r.requests),
  failed: sum((r) => r.failed),
  crashes: sum((r) => (r.crashed ? 1 : 0)),
  notCompleted: notStarted,
  // The first failures of each run (after a crash every later request fails: those are counted, not listed).
  failures: results.flatMap((r, i) => r.failures.slice(0, 20).map((f) => ({ run: i + 1, ...f }))),
  haproxyLog: results.flatMap((r, i) => r.haproxyLog.map((line) => ({ run: i + 1, line }))),
};
console.log(
  `HAProxy ${String(record.facts.haproxyVersion)}: ${results.length} runs, ${String(record.facts.requests)} requests, ` +
    `${String(record.facts.failed)} failed, ${String(record.facts.crashes)} crashes; ` +
    `two servers deleted ${medianRange(results.flatMap((r) => r.removalMs))} ms after their stop (median (min–max))`,
);
console.log(`recorded in ${saveRecord(record)}`);
process.exitCode = record.facts.failed === 0 && record.facts.crashes === 0 && notStarted.length === 0 ? 0 : 1;
