/**
 * `npx tsx bench/libs.ts`: what each library or built-in considered for issue 25 costs against the hand-made
 * part it would replace, in the same process and run (ratios are new / ours): pino for src/log.ts, prom-client for
 * src/metrics/registry.ts, node:net isIP + BlockList for src/model/cidr.ts + ip.ts (the hand-made ones read from
 * commit d67b911). Hot paths at 1,000 joins' scale (~7,000 log lines, as many counter increments, 1,000 address
 * checks), BENCH_RUNS (default 5) runs each; and the RSS a fresh Node.js process has after loading the library.
 * Prints figures and records them (bench/results/libs/); asserts nothing.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import client from 'prom-client';
import { createLogger } from '../src/log.js';
import { Registry } from '../src/metrics/registry.js';
import { addressPolicy, parseCidr, type Cidr } from '../src/model/cidr.js';
import { addSamples, saveRecord, startRecord } from './record.js';
import { machineLine, medianRange } from './figures.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const LINES = 7_000;
const ADDRESSES = 1_000;
const record = startRecord('libs', { runs: RUNS, lines: LINES, addresses: ADDRESSES });

/** The hand-made cidr.ts + ip.ts as they were before node:net replaced them. */
const oldDir = mkdtempSync(path.join(tmpdir(), 'libs-old-'));
const show = (file: string) =>
  execFileSync('git', ['show', `d67b911:src/model/${file}`], { cwd: path.resolve(import.meta.dirname, '..'), encoding: 'utf8' });
writeFileSync(path.join(oldDir, 'ip.ts'), show('ip.ts'));
writeFileSync(path.join(oldDir, 'cidr.ts'), show('cidr.ts').replace("from './ip.js'", "from './ip.ts'"));
const old = (await import(path.join(oldDir, 'cidr.ts'))) as {
  addressPolicy: (allowed: readonly unknown[], own: readonly string[]) => (address: string) => string | undefined;
  parseCidr: (text: string) => unknown;
};

const ms = (run: () => void) => {
  const start = performance.now();
  run();
  return performance.now() - start;
};

function logLines(log: { info: (event: string, fields: Record<string, unknown>) => void }) {
  for (let i = 0; i < LINES; i += 1)
    log.info('step.finished', {
      server: `web-${i % 1000}`,
      step: 'add-server',
      command: `add server nodes/web-${i} 10.0.${i >> 8}.${i & 255}:80`,
      answer: '',
      latencyMs: 0.4,
    });
}
const sink = { write: () => true };
const ours = createLogger({ write: () => undefined });
// pino as close to ours as it goes: level as its label, ISO time, no pid/hostname, the event as its message key.
const theirs = pino(
  { base: null, messageKey: 'event', timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } },
  sink,
);
const pinoLog = { info: (event: string, fields: Record<string, unknown>) => theirs.info(fields, event) };

function counters(inc: (i: number) => void) {
  for (let i = 0; i < LINES; i += 1) inc(i);
}
const kinds = ['add-server', 'set-state', 'enable-health', 'del'];
const ourRegistry = new Registry();
const promRegistry = new client.Registry();
const promSteps = new client.Counter({
  name: 'ha_agent_steps_total',
  help: 'Runtime API steps applied',
  labelNames: ['backend', 'kind'],
  registers: [promRegistry],
});

const addresses = Array.from({ length: ADDRESSES }, (_, i) => `172.18.${i >> 8}.${(i & 255) + 1}`);
const allowed = ['172.18.0.0/16', 'fd00::/8'];
const newPolicy = addressPolicy(
  allowed.map((c) => parseCidr(c) as Cidr),
  ['172.18.0.2'],
);
const oldPolicy = old.addressPolicy(
  allowed.map((c) => old.parseCidr(c)),
  ['172.18.0.2'],
);

const pairs: Array<[string, () => void, () => void]> = [
  [`${LINES} log lines`, () => logLines(ours), () => logLines(pinoLog)],
  [
    `${LINES} counter increments`,
    () => counters((i) => ourRegistry.inc('ha_agent_steps_total', 'Runtime API steps applied', { kind: kinds[i & 3]!, backend: 'nodes' })),
    () => counters((i) => promSteps.inc({ kind: kinds[i & 3]!, backend: 'nodes' })),
  ],
  [`${ADDRESSES} address checks`, () => addresses.forEach((a) => oldPolicy(a)), () => addresses.forEach((a) => newPolicy(a))],
];
const names = ['pino', 'prom-client', 'node:net'];

console.log(machineLine());
for (const [i, [what, mine, lib]] of pairs.entries()) {
  mine();
  lib(); // warm-up
  const a: number[] = [];
  const b: number[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    a.push(ms(mine));
    b.push(ms(lib));
  }
  addSamples(record, `${names[i]}: ours ms`, a);
  addSamples(record, `${names[i]}: library ms`, b);
  const ratios = a.map((x, j) => b[j]! / x);
  addSamples(record, `${names[i]}: ratio`, ratios);
  console.log(`${what}: ours ${medianRange(a, 2)} ms, ${names[i]} ${medianRange(b, 2)} ms, ratio ${medianRange(ratios, 2)} (${RUNS} runs)`);
}

/** RSS (MB) of a fresh node that imported `what` (nothing: the baseline), median of RUNS processes. */
function rss(code: string): number[] {
  return Array.from({ length: RUNS }, () =>
    Number(
      execFileSync(
        process.execPath,
        ['--input-type=module', '-e', `${code}; globalThis.gc?.(); console.log(process.memoryUsage().rss / 2 ** 20)`],
        { cwd: path.resolve(import.meta.dirname, '..'), encoding: 'utf8' },
      ),
    ),
  );
}
const base = rss('');
const rssOf: Array<[string, string]> = [
  ['pino', "const { pino } = await import('pino'); pino({}, { write() {} }).info('x')"],
  [
    'prom-client (with default metrics)',
    "const c = (await import('prom-client')).default; c.collectDefaultMetrics(); await c.register.metrics()",
  ],
  ['node:net', "await import('node:net')"],
];
addSamples(record, 'rss: node alone MB', base);
console.log(`RSS of a fresh node: ${medianRange(base, 1)} MB (${RUNS} processes)`);
for (const [name, code] of rssOf) {
  const values = rss(code);
  const added = values.map((v, j) => v - base[j]!);
  addSamples(record, `rss added: ${name} MB`, added);
  console.log(`  + ${name}: ${medianRange(added, 1)} MB`);
}
console.log(`recorded: ${saveRecord(record)}`);
console.log(machineLine());
