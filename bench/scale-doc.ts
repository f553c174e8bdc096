/**
 * `tsx bench/scale-doc.ts`: rewrites the tables of docs/scale.md between `<!-- table:NAME -->` and
 * `<!-- /table:NAME -->` from the recorded runs (bench/results/<bench>/*.json, bench/record.ts), so
 * that no figure there is typed by hand. Each table names the records it was made from.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { medianRange } from './figures.js';
import { resultsDir, type RunRecord } from './record.js';

const doc = path.resolve(import.meta.dirname, '../docs/scale.md');

function records(bench: string): RunRecord[] {
  const dir = path.join(resultsDir, bench);
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  return files.sort().map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as RunRecord);
}

const when = (r: RunRecord) =>
  `${r.started.slice(0, 16).replace('T', ' ')}–${r.ended.slice(11, 16)} UTC, load ${r.loadStart[0]?.toFixed(0)} → ${r.loadEnd[0]?.toFixed(0)}, commit ${r.commit.slice(0, 7)}${r.dirty ? ' (uncommitted changes)' : ''}`;
const row = (cells: readonly (string | number)[]) => `| ${cells.join(' | ')} |`;
const cell = (r: RunRecord, name: string, digits = 0) => {
  const values = r.samples[name] ?? [];
  return values.length > 0 ? medianRange(values, digits) : '–';
};
const sources = (list: readonly RunRecord[]) => list.map((r) => `- ${r.bench}: ${when(r)}`).join('\n');

const tables: Record<string, () => string> = {
  'serf-idle': () => {
    const list = records('serf-idle');
    const out = ['| idle, real Serf | ha-agent, % of a core | its Serf agent, % of a core | windows |', '|---|---|---|---|'];
    for (const r of list) {
      const labels = [...new Set(Object.keys(r.samples).map((k) => k.split(': ')[0] as string))];
      for (const label of labels)
        out.push(
          row([
            `${r.settings.members as number} members, ${label}`,
            cell(r, `${label}: agent CPU % of a core`, 2),
            cell(r, `${label}: Serf agent CPU % of a core`, 2),
            (r.samples[`${label}: Serf agent CPU % of a core`] ?? []).length,
          ]),
        );
    }
    return `${out.join('\n')}\n\nMedians (min–max) of ${list.length} recorded run(s) of \`npm run bench:serf-idle\`:\n${sources(list)}`;
  },
  'serf-scale': () => {
    const list = records('serf-scale');
    const out = [
      "| real Serf agents | runs | start → all UP, ms | Serf's part | agent's part | SIGINT → all out, ms | Serf's part | agent's part | agent CPU join / leave, ms | agent RSS after joins / peak, MB |",
      '|---|---|---|---|---|---|---|---|---|---|',
    ];
    for (const r of list)
      out.push(
        row([
          r.settings.members as number,
          `${(r.samples.joinMs ?? []).length}${(r.facts.failures as string[] | undefined)?.length ? ` (+${(r.facts.failures as string[]).length} failed)` : ''}`,
          cell(r, 'joinMs'),
          cell(r, 'joinSerfMs'),
          cell(r, 'joinAgentMs'),
          cell(r, 'leaveMs'),
          cell(r, 'leaveSerfMs'),
          cell(r, 'leaveAgentMs'),
          `${cell(r, 'joinCpuMs')} / ${cell(r, 'leaveCpuMs')}`,
          `${cell(r, 'rssMb', 1)} / ${cell(r, 'rssPeakMb', 1)}`,
        ]),
      );
    return `${out.join('\n')}\n\nMedians (min–max) of each recorded run set of \`npm run bench:serf-scale\`:\n${sources(list)}`;
  },
  'services-scale': () => {
    const list = records('services-scale');
    const out = [
      '| members (stand-in Serf) | runs | list change → all UP, ms | 1,000 leave → out, ms | agent CPU join / leave, ms | RSS 5 s after, MB | RSS settled, MB | RSS peak, MB | idle CPU, % |',
      '|---|---|---|---|---|---|---|---|---|',
    ];
    for (const r of list) {
      const n = r.settings.members as number;
      out.push(
        row([
          `${n} in ${r.settings.services as number} services`,
          (r.samples[`${n}: joinMs`] ?? []).length,
          cell(r, `${n}: joinMs`),
          cell(r, `${n}: leaveMs`),
          `${cell(r, `${n}: joinCpuMs`)} / ${cell(r, `${n}: leaveCpuMs`)}`,
          cell(r, `${n}: rssMb`, 1),
          cell(r, `${n}: rssSettledMb`, 1),
          cell(r, `${n}: rssPeakMb`, 1),
          cell(r, `${n}: idleCpu`, 2),
        ]),
      );
    }
    return `${out.join('\n')}\n\nMedians (min–max) of \`npm run bench:services-scale\` (stand-in Serf):\n${sources(list)}`;
  },
  'services-curve': () => {
    const list = records('services-curve');
    const out = [
      '| members (stand-in Serf) | all UP, ms | agent CPU, ms | 1,000 out, ms | agent CPU, ms | RSS settled, MB | RSS peak, MB | idle CPU, % |',
      '|---|---|---|---|---|---|---|---|',
    ];
    for (const r of list)
      for (const n of r.settings.counts as number[])
        out.push(
          row([
            n,
            cell(r, `${n}: joinMs`),
            cell(r, `${n}: joinCpuMs`),
            cell(r, `${n}: leaveMs`),
            cell(r, `${n}: leaveCpuMs`),
            cell(r, `${n}: rssSettledMb`, 1),
            cell(r, `${n}: rssPeakMb`, 1),
            cell(r, `${n}: idleCpu`, 2),
          ]),
        );
    return `${out.join('\n')}\n\nOne run per size, from:\n${sources(list)}`;
  },
  soak: () => {
    const list = records('soak');
    const out = [
      '| minutes | scale operations (failed) | requests (failed) | HAProxy Pid | agent RSS first → last, MB | RSS at 40 min, MB | last 20 min, most off it |',
      '|---|---|---|---|---|---|---|',
    ];
    for (const r of list) {
      const f = r.facts as Record<string, number>;
      out.push(
        row([
          r.settings.minutes as number,
          `${f.operations} (${f.failedOperations})`,
          `${f.requests} (${f.failedRequests})`,
          f.haproxyPidStart === f.haproxyPidEnd ? 'same' : 'CHANGED',
          `${f.rssFirstMb?.toFixed(1)} → ${f.rssLastMb?.toFixed(1)}`,
          Number.isFinite(f.rssAt40Mb) ? (f.rssAt40Mb as number).toFixed(1) : '–',
          Number.isFinite(f.rssLast20MaxDeviationPct) ? `${(f.rssLast20MaxDeviationPct as number).toFixed(1)} %` : '–',
        ]),
      );
    }
    return `${out.join('\n')}\n\nRecorded runs of \`npm run bench:soak\` (stand-in Serf):\n${sources(list)}`;
  },
};

/**
 * `BENCH_ONLY=events npm run bench:agent`'s printed output, kept as text under bench/results/idle-latency/
 * (`<time>-before.txt` on the commit before the log watch, `<time>-after.txt` on it): the p50 and p95 of its rows.
 */
function latencyTable(): string {
  const dir = path.join(resultsDir, 'idle-latency');
  let files: string[] = [];
  try {
    files = readdirSync(dir)
      .filter((f) => f.endsWith('.txt'))
      .sort();
  } catch {
    // none recorded
  }
  const rows: Array<[string, RegExp]> = [
    ['Serf agent started → first request served', /^Serf agent started \(app listening\) → first request served\s+(\d+)\s+(\d+)/m],
    ['  Serf agent started → agent planned the join', /^\s+Serf agent started → agent planned the join.*?\s(\d+)\s+(\d+)\s+\d+\s+\d+\s*$/m],
    ['SIGINT → last request routed to it', /^SIGINT to its Serf agent → last request routed to it\s+(\d+)\s+(\d+)/m],
    ['  SIGINT → out of rotation', /^\s+SIGINT → out of rotation.*?\s(\d+)\s+(\d+)\s+\d+\s+\d+\s*$/m],
  ];
  const out = [`| ms, p50 / p95 (20 real Serf members, lan) | ${files.join(' | ')} |`, `|---|${files.map(() => '---|').join('')}`];
  const texts = files.map((f) => readFileSync(path.join(dir, f), 'utf8'));
  for (const [label, pattern] of rows)
    out.push(
      row([
        label,
        ...texts.map((t) => {
          const m = pattern.exec(t);
          return m ? `${m[1]} / ${m[2]}` : '–';
        }),
      ]),
    );
  const idle = /ha-agent ([\d.]+) % of a core, the balancer's Serf agent ([\d.]+) %/;
  out.push(
    row([
      'idle 10 s, 1 member: ha-agent % / Serf %',
      ...texts.map((t) => {
        const m = idle.exec(t);
        return m ? `${m[1]} / ${m[2]}` : '–';
      }),
    ]),
  );
  const machine = /^machine: .*load average ([\d.]+) \(1 min\).* at (\S+)$/m;
  out.push(row(['machine load (1 min) at the start', ...texts.map((t) => machine.exec(t)?.slice(1).join(' at ') ?? '–')]));
  return out.join('\n');
}
tables['idle-latency'] = latencyTable;

let text = readFileSync(doc, 'utf8');
for (const [name, make] of Object.entries(tables)) {
  const pattern = new RegExp(`(<!-- table:${name} -->)[\\s\\S]*?(<!-- /table:${name} -->)`);
  if (pattern.test(text)) text = text.replace(pattern, (_, open: string, close: string) => `${open}\n${make()}\n${close}`);
}
writeFileSync(doc, text);
console.log(`rewrote the tables of ${path.relative(process.cwd(), doc)}`);
