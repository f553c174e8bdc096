/** Summaries the benchmarks print: median (headline), p95 and min–max, from the raw samples. */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { percentile } from '../src/lab/demo/load.js';

export interface Spread {
  n: number;
  median: number;
  p95: number;
  min: number;
  max: number;
}

export function spread(values: readonly number[]): Spread {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  return {
    n: sorted.length,
    median: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    min: sorted[0] ?? Number.NaN,
    max: sorted.at(-1) ?? Number.NaN,
  };
}

const num = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : '-');

/** "median (min–max)", and "[n missing]" when some values are not numbers (a sample that could not be taken). */
export function medianRange(values: readonly number[], digits = 0): string {
  const s = spread(values);
  const missing = values.length - s.n;
  return `${num(s.median, digits)} (${num(s.min, digits)}–${num(s.max, digits)})${missing > 0 ? ` [${missing} missing]` : ''}`;
}

/** "met" only when the median meets the target. */
/** A single change's target, end to end (a join served, a leave out of rotation): p50 ≤ 150 ms. */
export const SINGLE_CHANGE_P50_TARGET_MS = 150;

export function verdict(values: readonly number[], target: number): string {
  return spread(values).median <= target ? 'met' : 'NOT met';
}

/** CPU seconds a process has used so far (user + system), from /proc. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
    .replace(/^.*\) /, '')
    .split(' ');
  // After the command name: field 14 (utime) and 15 (stime) of proc(5) are at 11 and 12 here.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** A process's resident memory now (`VmRSS`), or the most it has held since it started (`VmHWM`). */
export function rssMb(pid: number, which: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  const line = new RegExp(`${which}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(line?.[1] ?? 0) / 1024;
}

/** CPU use of each process over `ms` of wall time, in % of one core. */
export async function cpuPercent(pids: readonly number[], ms: number): Promise<number[]> {
  const before = pids.map(cpuSeconds);
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const wall = (performance.now() - started) / 1000;
  return pids.map((pid, i) => ((cpuSeconds(pid) - (before[i] ?? 0)) / wall) * 100);
}

/** The agent's command line as the product runs it: agentArgs minus the tests' short `--resync`. */
export function productDefaults(args: readonly string[]): string[] {
  const out = [...args];
  const at = out.indexOf('--resync');
  if (at >= 0) out.splice(at, 2);
  return out;
}

/** The machine is shared: every report says how busy it was. */
export function machineLine(): string {
  const [one = 0, five = 0] = loadavg();
  return `machine: ${cpus().length} cores, load average ${one.toFixed(1)} (1 min) / ${five.toFixed(1)} (5 min) at ${new Date().toISOString()}`;
}
