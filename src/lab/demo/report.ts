/** The demo's outputs (pure): the live frame, the summary table and the self-contained HTML report. */
import { chart, escape, serverLabels, type ChartInput } from './chart.js';
import type { PhaseResult } from './scenario.js';

export { chart, type ChartInput, type PhaseMark } from './chart.js';

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
            (r.failover.stayedLost
              ? `in the phase; ${r.failover.from} stays lost, and ${r.failover.to} serves the tasks of the nodes left`
              : `in the phase; ${r.failover.from} came back, converged and passed its check, and the VIP ` +
                (r.failover.vipStayed ? `stayed on ${r.failover.to}` : 'moved again')),
        ]
      : [],
  );
}

/** Phases the driver did not run, with why. */
export const skippedLines = (skipped: ReadonlyArray<{ name: string; reason: string }>): string[] =>
  skipped.map((s) => `skipped: ${s.name} (${s.reason})`);

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
<p>${escape(input.label)} — ${new Date(input.startedAt).toISOString()}. Requests per second, stacked by server: above as the users saw them (the server that answered each of the load's \
requests), below from HAProxy's counters (they start again at 0 in each new HAProxy process); dashed lines: phases; red dots: failed requests. \
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
