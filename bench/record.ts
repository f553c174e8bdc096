/**
 * A bench run's raw figures and context, kept in the repository (bench/results/<bench>/) so that the
 * tables in README and docs/ are generated from recorded runs, never typed by hand.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';

export interface RunRecord {
  /** Which bench wrote it, e.g. `agent-events`: also the folder under bench/results/. */
  bench: string;
  commit: string;
  /** Uncommitted changes under src/, bench/, webapp/, ha/ or scripts/ when the run started (results files aside): such a run describes no commit. */
  dirty: boolean;
  /** Which files were uncommitted (`git status --porcelain` lines), so that a reader can judge them. */
  dirtyFiles?: string[];
  /** ISO time at the run's start and end. */
  started: string;
  ended: string;
  cpus: number;
  /** 1/5/15-min load averages at the start and at the end. */
  loadStart: readonly number[];
  loadEnd: readonly number[];
  /** The settings it ran with (the product's defaults unless a field says otherwise). */
  settings: Record<string, unknown>;
  /** Raw samples by figure name (ms, MB, % of a core…: the name says the unit). */
  samples: Record<string, number[]>;
  /** Samples that were expected but not taken, by figure name (a NaN, a timed-out wait): counted, never dropped silently. */
  missing: Record<string, number>;
  /** Whatever else the run observed that a table may show (counts of requests, failures, Pids…). */
  facts: Record<string, unknown>;
}

const root = path.resolve(import.meta.dirname, '..');
export const resultsDir = path.join(root, 'bench/results');

function git(...args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

/** Starts a record: the commit and machine context are taken now. */
export function startRecord(bench: string, settings: Record<string, unknown>): RunRecord {
  // The results of earlier runs (bench/results/) are not code: a run that follows another is not dirty for them.
  const changed = git('status', '--porcelain', '--', 'src', 'bench', 'webapp', 'ha', 'scripts', ':!bench/results');
  return {
    bench,
    commit: git('rev-parse', 'HEAD') || 'unknown',
    dirty: changed !== '',
    dirtyFiles: changed === '' ? [] : changed.split('\n'),
    started: new Date().toISOString(),
    ended: '',
    cpus: cpus().length,
    loadStart: loadavg(),
    loadEnd: [],
    settings,
    samples: {},
    missing: {},
    facts: {},
  };
}

/** Adds samples under a name; non-finite values are counted as missing rather than kept. */
export function addSamples(record: RunRecord, name: string, values: readonly number[]): void {
  const kept = values.filter(Number.isFinite);
  (record.samples[name] ??= []).push(...kept);
  const lost = values.length - kept.length;
  if (lost > 0) record.missing[name] = (record.missing[name] ?? 0) + lost;
}

/** Ends the record and writes it; returns the file's path. */
export function saveRecord(record: RunRecord): string {
  record.ended = new Date().toISOString();
  record.loadEnd = loadavg();
  const dir = path.join(resultsDir, record.bench);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${record.started.replace(/[:.]/g, '-')}-${record.commit.slice(0, 10)}.json`);
  writeFileSync(file, `${JSON.stringify(record, null, 1)}\n`);
  return file;
}
