/** `ha-agent plan`: desired vs actual and the steps, printed once; nothing is changed. */
import { listMembers } from '../membership/list.js';
import { DEFAULT_ABSENT_GRACE_MS } from '../reconcile/absent.js';
import { actualServers } from '../reconcile/actual.js';
import { decide, freshMemory } from '../reconcile/decide.js';
import { unknownServices } from '../reconcile/desired.js';
import { LedgerStore, ledgerPath } from '../reconcile/ledger.js';
import { formatPlan } from '../reconcile/plan.js';
import { planModes } from '../reconcile/plan-mode.js';
import { applyHint, inspect, type Inspection } from '../reconcile/ownership.js';
import { mapSteps } from '../reconcile/routing.js';
import type { RuntimeApi } from '../reconcile/runtime-api.js';
import { routingTable } from '../render/routes.js';
import type { Member } from '../membership/member.js';
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
  desiredFor,
  healthSetting,
  isSticky,
  type AgentConfig,
} from './agent-config.js';
import type { CliIo } from './io.js';
import { helpOption, parseCommandLine, type CommandSpec } from './options.js';
import { loadTemplate } from './stamped-template.js';
import { formatTraceLine } from './runtime-session.js';
import { formatFailingChecks, formatMissing, formatStale, formatTable } from './status.js';
import { checkPassedOrPending, describeCheckFailure } from '../model/check.js';
import type { Service } from '../model/service.js';
import type { BootSettings } from '../render/identity.js';
import type { StatRow } from '../runtime/parse.js';

export const planSpec: CommandSpec = {
  name: 'plan',
  summary: "Print Serf's live members (desired), HAProxy's servers (actual) and the steps that would reconcile them, then exit.",
  usage: "ha-agent plan [--runtime URL] [--serf HOST:PORT] [--backend NAME] [--role ROLE] [run's settings, to compare with HAProxy's]",
  options: [runtimeOption, ...serfOptions, ...membershipOptions, modeOption, ...renderOptions, traceOption, helpOption],
};

/** Whose HAProxy this is and which boot settings it runs, against the settings given (as run would render them). */
async function inspectInfo(config: AgentConfig, info: Info): Promise<Inspection | undefined> {
  const { identity, settings } = await loadTemplate(config);
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
    const members = await listMembers({ address: config.serf, authKey: config.serfAuth });
    const backends = new Set(config.services.length > 0 ? await client.backends() : []);
    const ledger = new LedgerStore(config.configOut === undefined ? undefined : ledgerPath(config.configOut));
    await ledger.load();
    const printBackend = (backend: string, service: Service | undefined) =>
      printBackendPlan(io, client, config, members, { backend, service, booted: inspection?.booted, ledger });
    await printBackend(config.backend, undefined);
    for (const service of config.services) {
      io.stdout(`\nService ${service.name} (members tagged service=${service.name}):\n`);
      if (!backends.has(service.name)) {
        io.stdout(`${formatMissing([service.name], applyHint(config.configOut))}\n`);
        continue;
      }
      await printBackend(service.name, service);
    }
    const unknown = unknownServices(members, config.desired.role, new Set(config.services.map((s) => s.name)));
    for (const u of unknown) io.stdout(`\nunknown service ${u.service} of member ${u.member}: served nowhere\n`);
    if (config.maps) {
      const table = routingTable(config.services.filter((s) => backends.has(s.name)));
      io.stdout(`\nRouting (${config.maps.hosts}, ${config.maps.paths}):\n`);
      try {
        const steps = [
          ...mapSteps(config.maps.hosts, await client.mapEntries(config.maps.hosts), table.hosts),
          ...mapSteps(config.maps.paths, await client.mapEntries(config.maps.paths), table.paths),
        ];
        io.stdout(steps.length === 0 ? 'up to date\n' : steps.map((step) => `${step.text}\n`).join(''));
      } catch (error) {
        io.stdout(`cannot read the routing maps (${(error as Error).message}): ${applyHint(config.configOut)}\n`);
      }
    }
    if (inspection && inspection.changes.length > 0) io.stdout(`\n${formatStale(inspection.changes, config.configOut).join('\n')}\n`);
    return 0;
  } finally {
    await client.close();
  }
}

/** One backend's desired servers, HAProxy's, and every step between them (the agent's decision, decide.ts). */
export async function printBackendPlan(
  io: Pick<CliIo, 'stdout'>,
  client: Pick<RuntimeApi, 'serversState' | 'stat' | 'version'>,
  config: AgentConfig,
  members: Member[],
  where: { backend: string; service: Service | undefined; booted: BootSettings | undefined; ledger: LedgerStore },
): Promise<void> {
  const { backend, service, booted, ledger } = where;
  const desiredOptions = desiredFor(config.desired, service);
  const [state, stat] = await Promise.all([client.serversState(backend), client.stat(backend)]);
  const actual = actualServers(backend, state, stat);
  const mode = planModes[config.mode];
  // One look with a fresh agent's memory: a server whose member is absent is kept while UP, as a fresh agent would
  // keep it; holds are judged against the ledger beside --config-out (what the agent set itself).
  const look = { members, actual, busy: new Set<string>(), now: 0, wallNow: Date.now() };
  const decision = decide(freshMemory(ledger.get(backend)), look, {
    mode,
    desired: desiredOptions,
    absentGraceMs: DEFAULT_ABSENT_GRACE_MS,
    dryRun: true,
  });
  const { desired, absent } = decision;
  const which = desiredOptions.service === undefined ? '' : ` service=${desiredOptions.service}`;
  io.stdout(`Desired (alive members with role=${desiredOptions.role}${which}):\n`);
  io.stdout(
    formatTable(
      ['NAME', 'ADDRESS', 'PORT', 'WEIGHT'],
      [...desired.servers.values()].map((s) => [s.name, s.address, String(s.port), String(s.weight)]),
    ),
  );
  for (const r of desired.rejected) io.stdout(`  rejected ${r.member}: ${r.reason}\n`);
  io.stdout(`\nActual (HAProxy backend ${backend}):\n`);
  io.stdout(
    formatTable(
      ['NAME', 'ADDRESS', 'PORT', 'WEIGHT', 'MODE', 'STATUS'],
      [...actual.values()].map((s) => [s.name, s.address, String(s.port), String(s.weight), s.mode, s.status]),
    ),
  );
  io.stdout('\nPlan:\n');
  io.stdout(formatPlan(decision.actions, { backend, policy: config.policy, version: client.version, sticky: isSticky(config, service) }));
  for (const [server, hold] of mode.judgesHolds ? decision.memory.ledger.holds : []) {
    io.stdout(`held ${server} (${hold.state} since ${new Date(hold.since).toISOString()}, set by a person: ha-agent release ${server})\n`);
  }
  for (const [server, a] of absent) if (a.hold) io.stdout(`keep ${server} (${a.reason}: removed if it stays absent, or once down)\n`);
  if (decision.memory.unplaced.length > 0) io.stdout(`no free slot for: ${decision.memory.unplaced.join(', ')}\n`);
  const failing = failingChecks(backend, await settledChecks(client, backend, stat), healthSetting(config, service, booted));
  if (failing.length > 0) io.stdout(`\n${formatFailingChecks(failing)}\n`);
}

/**
 * `show stat` again while a server out of rotation is read in the middle of a check with no code (HAProxy then
 * shows `* L7STS` with code 0, as if no check had answered yet): a new server's checks run every `downinter`, so a
 * few reads 60 ms apart find the last one's answer.
 */
async function settledChecks(client: Pick<RuntimeApi, 'stat'>, backend: string, stat: readonly StatRow[]): Promise<readonly StatRow[]> {
  const unsettled = (rows: readonly StatRow[]) =>
    rows.some((row) => /^(MAINT|DOWN)/.test(row.status) && row.checkRunning && (row.checkCode === '' || row.checkCode === '0'));
  for (let read = 1; read < 5 && unsettled(stat); read += 1) {
    await new Promise((resolve) => setTimeout(resolve, 60));
    stat = await client.stat(backend);
  }
  return stat;
}

/** Servers not in rotation whose last check failed, in words (`backend/server CHECK: message`). */
function failingChecks(backend: string, stat: readonly StatRow[], health: { path: string; setting: string }): string[] {
  return stat.flatMap((row) => {
    const result = { status: row.checkStatus, code: row.checkCode, description: row.checkDescription };
    if (!/^(MAINT|DOWN)/.test(row.status) || checkPassedOrPending(result)) return [];
    const failure = describeCheckFailure(result, { path: health.path, endpoint: row.address, pathSetting: health.setting });
    return [`${backend}/${row.name} ${failure.check}: ${failure.message}`];
  });
}
