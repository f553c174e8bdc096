/** `ha-agent status`: one row per server, from `show stat`. */
import { recordedHolds } from '../reconcile/ledger.js';
import { applyHint } from '../reconcile/ownership.js';
import { splitAddress, type StatRow } from '../runtime/parse.js';
import type { CliIo } from './io.js';
import { metricsOption } from './run.js';
import { helpOption, parseCommandLine, runtimeOption, traceOption, type CommandSpec } from './options.js';
import { withRuntime } from './runtime-session.js';

export const statusSpec: CommandSpec = {
  name: 'status',
  summary: 'Show every server HAProxy has: backend, name, address:port, state, last check, current sessions, weight.',
  usage: 'ha-agent status [--runtime URL] [--backend NAME] [--config-out PATH] [--json] [--trace]',
  options: [
    runtimeOption,
    { name: 'backend', type: 'string', env: 'HA_AGENT_BACKEND', valueName: 'NAME', description: 'only this backend (default: all)' },
    { name: 'json', type: 'boolean', description: 'print a JSON array instead of a table' },
    {
      name: 'config-out',
      type: 'string',
      env: 'HA_AGENT_CONFIG_OUT',
      valueName: 'PATH',
      description: "the agent's rendered haproxy.cfg: servers a person holds (the ledger beside it) are marked HELD",
    },
    { ...metricsOption, description: "also show the agent's health from its /healthz (table only; set in the ha container)" },
    traceOption,
    helpOption,
  ],
};

export interface StatusRow {
  backend: string;
  name: string;
  address: string;
  port: number | null;
  state: string;
  check: string;
  sessions: number;
  weight: number;
  /** A person holds the server so (see docs/holds.md): the state and since when (ISO); null when not held or not known. */
  held: { state: string; since: string } | null;
}

export function toStatusRow(stat: StatRow): StatusRow {
  const { address, port } = splitAddress(stat.address);
  const check = [stat.checkStatus, stat.checkCode].filter((part) => part !== '').join(' ');
  return {
    backend: stat.backend,
    name: stat.name,
    address,
    port: port ?? null,
    state: stat.status,
    check: check === '' ? '-' : check,
    sessions: stat.sessions,
    weight: stat.weight,
    held: null,
  };
}

export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

export function formatStatus(rows: readonly StatusRow[]): string {
  if (rows.length === 0) return 'no servers\n';
  const anyHeld = rows.some((row) => row.held !== null);
  return formatTable(
    ['BACKEND', 'NAME', 'ADDRESS', 'STATE', 'CHECK', 'SESSIONS', 'WEIGHT', ...(anyHeld ? ['HELD'] : [])],
    rows.map((row) => [
      row.backend,
      row.name,
      row.port === null ? row.address : `${row.address.includes(':') ? `[${row.address}]` : row.address}:${row.port}`,
      row.state,
      row.check,
      String(row.sessions),
      String(row.weight),
      ...(anyHeld ? [row.held ? `${row.held.state} since ${row.held.since}` : '-'] : []),
    ]),
  );
}

export async function status(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine(statusSpec, argv, io.env);
  const backend = values.backend as string | undefined;
  const rows = await withRuntime(values, io, async (client) => (await client.stat(backend)).map(toStatusRow));
  if (typeof values['config-out'] === 'string') {
    const holds = await recordedHolds(values['config-out']);
    for (const row of rows) {
      const hold = holds.get(row.backend)?.get(row.name);
      if (hold) row.held = { state: hold.state, since: new Date(hold.since).toISOString() };
    }
  }
  if (values.json === true) {
    io.stdout(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  io.stdout(formatStatus(rows));
  if (typeof values.metrics === 'string') io.stdout(await agentHealth(values.metrics));
  return 0;
}

/** The agent itself: its connections, whether the rendered config is being written, and whose HAProxy it reached. */
export async function agentHealth(bind: string): Promise<string> {
  try {
    const response = await fetch(`http://${bind}/healthz`, { signal: AbortSignal.timeout(2000) });
    const health = (await response.json()) as {
      runtime: boolean;
      serf: boolean;
      config: string;
      foreign?: string;
      stale?: string[];
      missing?: { services: string[]; apply: string };
      unknown?: string[];
      checks?: string[];
      holds?: Record<string, { state: string; since: string }>;
      membership?: { since: string; seconds: number };
    };
    const state = (ok: boolean) => (ok ? 'connected' : 'UNREACHABLE');
    const config = health.config === 'ok' ? 'written' : `NOT WRITTEN (${health.config})`;
    const lines = [`agent: HAProxy ${state(health.runtime)}, Serf ${state(health.serf)}, haproxy.cfg ${config}`];
    if (health.membership) {
      const { since, seconds } = health.membership;
      lines.push(`agent: STALE member list: Serf cannot be read; the last good list (from ${since}, ${seconds} s ago) is kept`);
    }
    if (health.foreign) lines.push(`agent: NOT CHANGING HAProxy: ${health.foreign}`);
    if (health.stale) lines.push(...formatStale(health.stale));
    if (health.missing) lines.push(formatMissing(health.missing.services, health.missing.apply));
    if (health.checks) lines.push(formatFailingChecks(health.checks));
    for (const [server, hold] of Object.entries(health.holds ?? {})) {
      lines.push(
        `agent: HELD ${server} in ${hold.state} since ${hold.since} by a person (clear: ha-agent release ${server.split('/')[1]})`,
      );
    }
    if (health.unknown) lines.push(`agent: members of no configured service (served nowhere): ${health.unknown.join(', ')}`);
    return `${lines.join('\n')}\n`;
  } catch (error) {
    return `agent: no answer on http://${bind}/healthz (${(error as Error).message})\n`;
  }
}

/** New servers whose checks fail (`backend/server CHECK: what answered what`): they get no traffic. */
export function formatFailingChecks(checks: readonly string[]): string {
  return [`DEGRADED: health checks fail on ${checks.length} new server(s), which get no traffic:`, ...checks.map((c) => `  ${c}`)].join(
    '\n',
  );
}

/** Services whose backend the running HAProxy lacks: nothing is sent for them until it boots from the rendered config. */
export function formatMissing(services: readonly string[], apply: string): string {
  return `MISSING: HAProxy has no backend for service ${services.join(', ')} (its members and routes wait): ${apply}`;
}

/** Boot settings HAProxy still runs, one per line, and what applies them. */
export function formatStale(changes: readonly string[], configOut?: string): string[] {
  return [
    'STALE: HAProxy runs settings it read at boot that differ from the rendered ones:',
    ...changes.map((change) => `  ${change}`),
    `  apply them: ${applyHint(configOut)}`,
  ];
}
