/** The demo's outputs (pure): the live frame, the summary table and the self-contained HTML report. */
import type { Outcome } from './load.js';
import type { Sample } from './monitor.js';
import type { PhaseResult } from './scenario.js';

export interface FrameState {
  label: string;
  frontendUrl: string;
  elapsedMs: number;
  phase: string;
  /** Each server with its backend (named in the views once there is more than one). */
  servers: Array<{ backend: string; name: string; status: string; rate: number }>;
  totalRate: number;
  requests: number;
  failed: number;
  process: string | undefined;
  commands: string[];
}

/** `web-1`, or `api/api-1` once servers of more than one backend show. */
function serverLabels<T extends { backend: string; name: string }>(servers: readonly T[]): Array<T & { label: string }> {
  const several = new Set(servers.map((s) => s.backend)).size > 1;
  return servers.map((s) => ({ ...s, label: several ? `${s.backend}/${s.name}` : s.name }));
}

export function frame(state: FrameState): string {
  const rows = serverLabels(state.servers).map(
    (s) => `  ${s.label.padEnd(14)} ${s.status.padEnd(10)} ${s.rate.toFixed(0).padStart(6)} req/s`,
  );
  return [
    `ha-agent demo — ${state.label}, HAProxy on ${state.frontendUrl}   ${(state.elapsedMs / 1000).toFixed(1)} s`,
    `phase: ${state.phase}`,
    '',
    `  ${'SERVER'.padEnd(14)} ${'STATE'.padEnd(10)} ${'RATE'.padStart(6)}`,
    ...(rows.length > 0 ? rows : ['  (no servers)']),
    '',
    `total ${state.totalRate.toFixed(0)} req/s   requests ${state.requests}   failed ${state.failed}   HAProxy ${state.process ?? 'unreachable'}`,
    'last runtime commands:',
    ...(state.commands.length > 0 ? state.commands.map((c) => `  ${c}`) : ['  (none yet)']),
    '',
  ].join('\n');
}

/** One line of a frame, for output that is not a terminal. */
export function plainLine(state: FrameState): string {
  const servers = serverLabels(state.servers)
    .map((s) => `${s.label}=${s.status}`)
    .join(' ');
  return `[${(state.elapsedMs / 1000).toFixed(1)}s] ${state.phase} | ${state.totalRate.toFixed(0)} req/s, ${state.requests} requests, ${state.failed} failed | ${servers}\n`;
}

/** How many of the last runtime commands the live views show. */
export const COMMANDS_SHOWN = 6;

/** `add server …  → New server registered.` from the agent's step.finished log lines. */
export function lastCommands(lines: readonly string[], count = COMMANDS_SHOWN): string[] {
  const commands: string[] = [];
  for (const line of lines) {
    if (!line.startsWith('{')) continue;
    try {
      const record = JSON.parse(line) as { event?: string; command?: string; answer?: string };
      if (record.event === 'step.finished' && record.command) commands.push(`${record.command}  → ${record.answer || '(done)'}`);
    } catch {
      // not one of the agent's lines
    }
  }
  return commands.slice(-count);
}

const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : '-');

/** What "converged in" measures, given where a scale's clock starts (the driver's `convergeClock`). */
export function convergeNote(clock: string): string {
  return `converged in: from ${clock} (other phases: from the kill, reload or restart) to HAProxy's backend holding exactly the running web servers, all UP`;
}

/** The first `left` columns left-aligned (names), the others right-aligned (figures). */
function textTable(header: readonly string[], rows: readonly string[][], left = 1): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i < left ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), ...rows.map(line)];
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** One service over the whole run (a demo with more than the default service). */
export interface ServiceSummary {
  service: string;
  backend: string;
  /** Its backend's servers at the phases' ends: fewest–most. */
  servers: string;
  requests: number;
  failed: number;
  misrouted: number;
  /** Its scale phases' converged-in times. */
  convergedIn: string;
}

export function serviceSummaries(results: readonly PhaseResult[]): ServiceSummary[] {
  const names = [...new Set(results.flatMap((r) => (r.services ?? []).map((s) => s.service)))];
  return names.map((service) => {
    const windows = results.flatMap((r) => (r.services ?? []).filter((s) => s.service === service));
    const counts = windows.map((w) => w.servers);
    const sum = (key: 'requests' | 'failed' | 'misrouted') => windows.reduce((total, w) => total + w[key], 0);
    const scales = results.filter((r) => r.scaled === service).map((r) => seconds(r.convergeMs));
    const [fewest, most] = [Math.min(...counts), Math.max(...counts)];
    return {
      service,
      backend: windows[0]?.backend ?? '',
      servers: fewest === most ? String(fewest) : `${fewest}–${most}`,
      requests: sum('requests'),
      failed: sum('failed'),
      misrouted: sum('misrouted'),
      convergedIn: scales.join(', ') || '-',
    };
  });
}

const servicesHeader = ['service', 'backend', 'servers', 'requests', 'failed', 'misrouted', 'converged in (its scale phases)'];
const serviceRow = (s: ServiceSummary) => [
  s.service,
  s.backend,
  s.servers,
  String(s.requests),
  String(s.failed),
  String(s.misrouted),
  s.convergedIn,
];
const misroutedNote =
  "misrouted: answered by a server that HAProxy listed in another service's backend; failed: every phase, the deliberate faults included";

/** The phases table's columns: short in the text summary, spelled out in the HTML report. */
function phaseHeader(several: boolean, form: 'text' | 'html'): string[] {
  const long = form === 'html';
  return [
    'phase',
    'requests',
    'failed',
    ...(several ? ['misrouted'] : []),
    'p50 ms',
    'p99 ms',
    long ? 'new HAProxy processes' : 'reloads',
    'converged in',
    long ? 'users who kept their session' : 'sessions kept',
    long ? 'new sessions' : 'new',
  ];
}

export function summaryTable(results: readonly PhaseResult[], clock: string): string {
  const several = results.some((r) => r.services);
  const header = phaseHeader(several, 'text');
  const rows = results.map((r) => [
    r.name,
    String(r.requests),
    String(r.failed),
    ...(several ? [String(misrouted(r))] : []),
    ms(r.p50),
    ms(r.p99),
    r.newHaproxy ? `${r.graceful ? 'reload' : 'restart'} (${r.haproxyProcesses})` : String(r.haproxyProcesses),
    r.convergeMs > 0 ? seconds(r.convergeMs) : '-',
    `${r.sessions.kept}/${r.sessions.users}`,
    String(r.sessions.renewed),
  ]);
  const services = several ? ['', ...textTable(servicesHeader, serviceSummaries(results).map(serviceRow), 2), misroutedNote] : [];
  return [...textTable(header, rows), ...services, convergeNote(clock)].join('\n') + '\n';
}

/** One line per failover (the phases that killed the balancer holding the virtual IP): what was lost, and how fast it came back. */
export function failoverLines(results: readonly PhaseResult[]): string[] {
  return results.flatMap((r) =>
    r.failover
      ? [
          `failover: SIGKILL of every process of ${r.failover.from} (it held the VIP): the VIP on ${r.failover.to} after ${r.failover.vipMs} ms, ` +
            `the first request served through it ${r.failover.servedMs ?? '(none)'} ms after the kill; ${r.failed} of ${r.requests} requests lost ` +
            `in the phase; ${r.failover.from} came back, converged and passed its check, and the VIP ` +
            (r.failover.vipStayed ? `stayed on ${r.failover.to}` : 'moved again'),
        ]
      : [],
  );
}

/** Phases the driver did not run, with why. */
export const skippedLines = (skipped: ReadonlyArray<{ name: string; reason: string }>): string[] =>
  skipped.map((s) => `skipped: ${s.name} (${s.reason})`);

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const colors = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];

/** Where each phase starts: a finished phase's result, or the one running now. */
export interface PhaseMark {
  name: string;
  startedAt: number;
}

export interface ChartInput {
  startedAt: number;
  samples: readonly Sample[];
  outcomes: readonly Outcome[];
  phases: readonly PhaseMark[];
}

export interface ReportInput extends Omit<ChartInput, 'phases'> {
  title: string;
  label: string;
  /** Where a scale's "converged in" clock starts (the driver's `convergeClock`). */
  convergeClock: string;
  results: readonly PhaseResult[];
  problems: readonly string[];
  /** Phases the driver did not run, with why. */
  skipped?: ReadonlyArray<{ name: string; reason: string }>;
}

/** The timeline as inline SVG, with its legend: requests/s per server, phases and failed requests (the report and the live page). */
export function chart(input: ChartInput): { svg: string; legend: string } {
  const width = 1000;
  const height = 320;
  const pad = { left: 50, right: 20, top: 20, bottom: 40 };
  // A loop, not Math.max(...): a long run has more outcomes than a call may take arguments.
  let end = input.startedAt + 1000;
  for (const s of input.samples) end = Math.max(end, s.at);
  for (const o of input.outcomes) end = Math.max(end, o.at);
  const x = (at: number) => pad.left + ((at - input.startedAt) / (end - input.startedAt)) * (width - pad.left - pad.right);
  // Requests per second of each server between consecutive samples, stacked so every server shows.
  // Series by server name; the legend names each server's backend once there is more than one.
  const labels = new Map(serverLabels(input.samples.flatMap((sample) => sample.servers)).map((s) => [s.name, s.label]));
  const names = [...labels.keys()];
  const points: Array<{ at: number; rates: Map<string, number> }> = [];
  for (let i = 1; i < input.samples.length; i += 1) {
    const previous = input.samples[i - 1] as Sample;
    const sample = input.samples[i] as Sample;
    const before = new Map(previous.servers.map((server) => [server.name, server.total]));
    const seconds = (sample.at - previous.at) / 1000;
    points.push({
      at: sample.at,
      rates: new Map(
        sample.servers.map((server) => [server.name, Math.max(0, (server.total - (before.get(server.name) ?? server.total)) / seconds)]),
      ),
    });
  }
  const peak = Math.max(10, ...points.map((p) => [...p.rates.values()].reduce((a, b) => a + b, 0)));
  const y = (rate: number) => height - pad.bottom - (rate / peak) * (height - pad.top - pad.bottom);
  const lower = points.map(() => 0);
  const lines = names.map((name, i) => {
    const color = colors[i % colors.length] as string;
    const upper = points.map((p, j) => (lower[j] as number) + (p.rates.get(name) ?? 0));
    const top = points.map((p, j) => `${x(p.at).toFixed(1)},${y(upper[j] as number).toFixed(1)}`);
    const bottom = points.map((p, j) => `${x(p.at).toFixed(1)},${y(lower[j] as number).toFixed(1)}`).reverse();
    upper.forEach((value, j) => (lower[j] = value));
    return points.length === 0
      ? ''
      : `<polygon points="${[...top, ...bottom].join(' ')}" fill="${color}" fill-opacity="0.75" stroke="${color}" stroke-width="0.5"><title>${escape(labels.get(name) ?? name)}</title></polygon>`;
  });
  const legend = names
    .map((name, i) => `<span style="color:${colors[i % colors.length]}">■ ${escape(labels.get(name) ?? name)}</span>`)
    .join(' ');
  // Labels alternate between three rows so that short phases do not overwrite each other.
  const phases = input.phases.map(
    (r, i) =>
      `<line x1="${x(r.startedAt).toFixed(1)}" x2="${x(r.startedAt).toFixed(1)}" y1="${pad.top}" y2="${height - pad.bottom}" stroke="#999" stroke-dasharray="4 3"/>` +
      `<text x="${(x(r.startedAt) + 3).toFixed(1)}" y="${pad.top + 11 + (i % 3) * 12}" font-size="10" fill="#333"${x(r.startedAt) > width * 0.75 ? ' text-anchor="end"' : ''}>${escape(r.name)}</text>`,
  );
  // Failed requests, one mark per 250 ms that had any, sized by how many.
  const buckets = new Map<number, { count: number; errors: Set<string> }>();
  for (const o of input.outcomes) {
    if (o.ok) continue;
    const key = Math.floor(o.at / 250) * 250;
    const bucket = buckets.get(key) ?? { count: 0, errors: new Set<string>() };
    bucket.count += 1;
    bucket.errors.add(o.error ?? `HTTP ${o.status}`);
    buckets.set(key, bucket);
  }
  const failures = [...buckets.entries()].map(
    ([at, b]) =>
      `<circle cx="${x(at + 125).toFixed(1)}" cy="${height - pad.bottom + 8}" r="${Math.min(7, 2 + Math.log2(b.count)).toFixed(1)}" fill="#d62728" class="failed"><title>${b.count} failed: ${escape([...b.errors].join('; '))}</title></circle>`,
  );
  const axis = [0, 0.5, 1].map(
    (f) => `<text x="${pad.left - 6}" y="${y(peak * f) + 4}" font-size="10" text-anchor="end">${(peak * f).toFixed(0)}</text>`,
  );
  return {
    legend,
    svg: `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img">
<rect x="${pad.left}" y="${pad.top}" width="${width - pad.left - pad.right}" height="${height - pad.top - pad.bottom}" fill="#fafafa" stroke="#ddd"/>
${axis.join('\n')}
${phases.join('\n')}
${lines.join('\n')}
${failures.join('\n')}
<text x="${width / 2}" y="${height - 5}" font-size="11" text-anchor="middle">seconds since start (${((end - input.startedAt) / 1000).toFixed(0)} s in all)</text>
</svg>`,
  };
}

/** The phases' results as an HTML table; with more than the default service, each service's over the run below it. */
export function phasesTable(results: readonly PhaseResult[]): string {
  const several = results.some((r) => r.services);
  const rows = results
    .map(
      (r) =>
        `<tr class="${(r.graceful && r.failed > 0) || (r.keepsSessions && r.sessions.renewed > 0) || misrouted(r) > 0 ? 'bad' : ''}"><td>${escape(r.name)}</td><td>${r.requests}</td>` +
        `<td>${r.failed}</td>${several ? `<td>${misrouted(r)}</td>` : ''}<td>${ms(r.p50)}</td><td>${ms(r.p99)}</td><td>${r.haproxyProcesses}</td>` +
        `<td>${r.convergeMs > 0 ? seconds(r.convergeMs) : '-'}</td><td>${r.sessions.kept} of ${r.sessions.users}</td><td>${r.sessions.renewed}</td></tr>`,
    )
    .join('\n');
  const header = phaseHeader(several, 'html')
    .map((h) => `<th>${h}</th>`)
    .join('');
  const servicesTable = several
    ? `\n<h2>Services</h2>\n<table id="services"><tr>${servicesHeader.map((h) => `<th>${h}</th>`).join('')}</tr>\n` +
      serviceSummaries(results)
        .map(
          (s) =>
            `<tr class="${s.misrouted > 0 ? 'bad' : ''}">${serviceRow(s)
              .map((c) => `<td>${escape(c)}</td>`)
              .join('')}</tr>`,
        )
        .join('\n') +
      `\n</table>\n<p>${escape(misroutedNote)}.</p>`
    : '';
  return `<table><tr>${header}</tr>
${rows}
</table>${servicesTable}`;
}

export const verdictLine = (problems: readonly string[]): string =>
  problems.length === 0
    ? '<p class="ok">Every graceful phase: 0 failed requests; no HAProxy reload but the planned one; every phase where no server ' +
      'left: 0 sessions lost.</p>'
    : `<p class="ko">${problems.map(escape).join('<br>')}</p>`;

export const pageStyle =
  'body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}' +
  'td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}' +
  'tr.bad{background:#fdd}.ok{color:#2a2}.ko{color:#d22}';

export interface LiveInput extends ChartInput {
  frame: FrameState;
  /** Set once the run is over: its results and verdict. */
  done?: { results: readonly PhaseResult[]; problems: readonly string[] };
}

/** The live page's body, re-rendered on every tick: the frame's figures, the report's chart, servers' states, last commands. */
export function liveFragment(input: LiveInput): string {
  const { frame: state } = input;
  const { svg, legend } = chart(input);
  const servers = serverLabels(state.servers)
    .map((s) => {
      const kind = escape((s.status.split(' ')[0] ?? '').toLowerCase());
      return `<tr class="state-${kind}"><td>${escape(s.label)}</td><td>${escape(s.status)}</td><td>${s.rate.toFixed(0)}</td></tr>`;
    })
    .join('');
  const commands = state.commands.map((c) => `<li><code>${escape(c)}</code></li>`).join('');
  const phase = input.done ? 'finished' : escape(state.phase);
  const elapsed = (state.elapsedMs / 1000).toFixed(1);
  return `<p id="status">${escape(state.label)}, HAProxy on ${escape(state.frontendUrl)} — <b>${phase}</b>, ${elapsed} s</p>
<p>total <b>${state.totalRate.toFixed(0)}</b> req/s · requests <b id="requests">${state.requests}</b> · \
failed <b id="failed">${state.failed}</b> · HAProxy ${escape(state.process ?? 'unreachable')}</p>
<p>${legend}</p>
${svg}
<div class="cols"><div><h2>Servers</h2><table id="servers"><tr><th>server</th><th>state</th><th>req/s</th></tr>\
${servers || '<tr><td colspan="3">(none)</td></tr>'}</table></div>
<div><h2>Last runtime commands</h2><ul id="commands">${commands || '<li>(none yet)</li>'}</ul></div></div>
${input.done ? `<h2>Phases</h2>\n${phasesTable(input.done.results)}\n${verdictLine(input.done.problems)}` : ''}`;
}

/** One HTML file, no scripts, no CDN: a timeline of requests/s per server with phases and failures marked. */
export function htmlReport(input: ReportInput): string {
  const { svg, legend } = chart({ ...input, phases: input.results });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(input.title)}</title>
<style>${pageStyle}</style>
</head><body>
<h1>${escape(input.title)}</h1>
<p>${escape(input.label)} — ${new Date(input.startedAt).toISOString()}. Requests per second, stacked by server (from HAProxy's counters); dashed lines: phases; red dots: failed requests. \
Sessions: users with their own cookie jar (stickiness on); a new session is one whose <code>sessionViews</code> did not grow.</p>
<p>${legend}</p>
${svg}
<h2>Phases</h2>
${phasesTable(input.results)}
<p>${escape(convergeNote(input.convergeClock))}.</p>
${verdictLine(input.problems)}
${[...failoverLines(input.results), ...skippedLines(input.skipped ?? [])].map((line) => `<p>${escape(line)}</p>`).join('\n')}
</body></html>
`;
}

/** A phase's misrouted requests over every service. */
const misrouted = (r: PhaseResult): number => (r.services ?? []).reduce((total, s) => total + s.misrouted, 0);
