/** `ha-agent plan`: desired vs actual and the steps, printed once; nothing is changed. */
import { readFileSync } from 'node:fs';
import { listMembers } from '../membership/list.js';
import { absentServers, DEFAULT_ABSENT_GRACE_MS } from '../reconcile/absent.js';
import { actualServers } from '../reconcile/actual.js';
import { desiredServers } from '../reconcile/desired.js';
import { formatPlan } from '../reconcile/plan.js';
import { planForMode } from '../reconcile/plan-mode.js';
import { inspect, type Inspection } from '../reconcile/ownership.js';
import { stamp } from '../render/identity.js';
import { recordedSettings } from '../render/settings-store.js';
import { RuntimeClient } from '../runtime/client.js';
import type { Info } from '../runtime/parse.js';
import {
  membershipOptions,
  modeOption,
  renderOptions,
  resolveAgentConfig,
  runtimeOption,
  serfOptions,
  traceOption,
} from './agent-config.js';
import type { CliIo } from './io.js';
import { helpOption, parseCommandLine, type CommandSpec } from './options.js';
import { formatTraceLine } from './runtime-session.js';
import { formatStale, formatTable } from './status.js';

export const planSpec: CommandSpec = {
  name: 'plan',
  summary: "Print Serf's live members (desired), HAProxy's servers (actual) and the steps that would reconcile them, then exit.",
  usage: "ha-agent plan [--runtime URL] [--serf HOST:PORT] [--backend NAME] [--role ROLE] [run's settings, to compare with HAProxy's]",
  options: [runtimeOption, ...serfOptions, ...membershipOptions, modeOption, ...renderOptions, traceOption, helpOption],
};

/** Whose HAProxy this is and which boot settings it runs, against the settings given (as run would render them). */
function inspectInfo(config: ReturnType<typeof resolveAgentConfig>, info: Info): Promise<Inspection> | undefined {
  const { identity, settings } = stamp(config.base, config.deployment, readFileSync(config.templatePath, 'utf8'));
  if (identity === undefined) return undefined;
  const { configOut } = config;
  const recorded = (fp: string) => (configOut === undefined ? Promise.resolve(undefined) : recordedSettings(configOut, fp));
  return inspect(info, { identity, settings, recorded });
}

export async function planCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine(planSpec, argv, io.env);
  const config = resolveAgentConfig(values);
  const client = new RuntimeClient({ url: config.runtime.url });
  if (config.trace) client.on('trace', (event) => io.stderr(formatTraceLine(event)));
  try {
    const inspection = await inspectInfo(config, await client.connect());
    if (inspection?.ownership.owner === 'foreign') {
      const found = inspection.ownership.found.deployment;
      const ours = String(config.deployment);
      io.stdout(`HAProxy at ${config.runtime.url} belongs to deployment ${found}, not ${ours}: ha-agent changes nothing there.\n`);
      return 1;
    }
    const [members, state, stat] = await Promise.all([
      listMembers({ address: config.serf, authKey: config.serfAuth }),
      client.serversState(config.backend),
      client.stat(config.backend),
    ]);
    const desired = desiredServers(members, config.desired);
    const actual = actualServers(config.backend, state, stat);
    const failed = new Set(members.filter((m) => m.status === 'failed').map((m) => m.name));
    io.stdout(`Desired (alive members with role=${config.desired.role}):\n`);
    io.stdout(
      formatTable(
        ['NAME', 'ADDRESS', 'PORT', 'WEIGHT'],
        [...desired.servers.values()].map((s) => [s.name, s.address, String(s.port), String(s.weight)]),
      ),
    );
    for (const r of desired.rejected) io.stdout(`  rejected ${r.member}: ${r.reason}\n`);
    io.stdout(`\nActual (HAProxy backend ${config.backend}):\n`);
    io.stdout(
      formatTable(
        ['NAME', 'ADDRESS', 'PORT', 'WEIGHT', 'MODE', 'STATUS'],
        [...actual.values()].map((s) => [s.name, s.address, String(s.port), String(s.weight), s.mode, s.status]),
      ),
    );
    io.stdout('\nPlan:\n');
    // One look, no memory: a server whose member is absent is kept while UP, as a fresh agent would keep it.
    const absent = absentServers(config.mode, members, actual, { since: new Map(), gone: new Set() }, 0, DEFAULT_ABSENT_GRACE_MS);
    const planned = planForMode(config.mode, desired.servers, actual, { failed, absent });
    io.stdout(formatPlan(config.backend, planned.actions, config.policy));
    for (const [server, a] of absent) if (a.hold) io.stdout(`keep ${server} (${a.reason}: removed if it stays absent, or once down)\n`);
    if (planned.unplaced.length > 0) io.stdout(`no free slot for: ${planned.unplaced.join(', ')}\n`);
    if (inspection && inspection.changes.length > 0) io.stdout(`\n${formatStale(inspection.changes, config.configOut).join('\n')}\n`);
    return 0;
  } finally {
    await client.close();
  }
}
