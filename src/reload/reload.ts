/**
 * A planned reload of a master-worker HAProxy that loses nothing: render the config with every server
 * HAProxy has now (validated, written atomically), save `show servers state` where the config's
 * `server-state-file` points, ask the master to reload, follow the new worker (a new Pid that is not
 * stopping) and check that it carries every server's address, weight, admin state and health; then
 * empty the state file again. Membership changes never come this way: they stay runtime commands.
 */
import type { Logger } from '../log.js';
import { parseIdentity, type Identity } from '../render/identity.js';
import { judgeOwnership } from '../reconcile/ownership-verdict.js';
import type { ConfigServer } from '../render/template.js';
import type { WriteOutcome } from '../render/writer.js';
import { showServersState, type Command } from '../runtime/commands.js';
import { parseServersState, type Info, type ServerStateRow } from '../runtime/parse.js';
import { sleep, type Clock } from '../util/clock.js';
import { differences } from './carried.js';
import { backendsLost, describeProbe, type BackendProbe } from './probe.js';

export const reloadErrorCodes = {
  RELOAD_NOT_OURS: "the HAProxy at --runtime does not carry this deployment's id: nothing was written or reloaded",
  RELOAD_CHECKS_WOULD_FAIL:
    "the new config's health checks, tried on the servers UP now, would put every server of a backend DOWN: nothing was written or reloaded",
  RELOAD_INVALID_CONFIG: 'the re-rendered config did not pass `haproxy -c`: the previous file is kept, nothing was reloaded',
  RELOAD_FAILED: 'the master refused the reload or its new worker did not start',
  RELOAD_TIMEOUT: 'no new worker answered on the Runtime API in time',
} as const;
export type ReloadErrorCode = keyof typeof reloadErrorCodes;

export class ReloadError extends Error {
  constructor(
    readonly code: ReloadErrorCode,
    message: string,
    readonly answer?: string,
  ) {
    super(message);
    this.name = 'ReloadError';
  }
}

/** The Runtime API as the reload needs it: a new connection each time, so it reaches the newest worker. */
export interface ReloadSession {
  info(): Promise<Info>;
  /** The raw answer to a read-only command. */
  read(command: Command): Promise<string>;
  close(): Promise<void>;
}

export interface ReloadDeps {
  connect: () => Promise<ReloadSession>;
  reloadMaster: () => Promise<string>;
  /** Renders every backend's servers into the config, in one write. */
  writeConfig: (servers: ReadonlyMap<string, ConfigServer[]>) => Promise<WriteOutcome>;
  /** Tries the new config's checks on the servers UP now (`show servers state` rows), before anything is written. */
  probeChecks?: (rows: readonly ServerStateRow[]) => Promise<BackendProbe[]>;
  saveState: (dump: string) => Promise<void>;
  clearState: () => Promise<void>;
  clock: Clock;
  log: Logger;
}

export interface ReloadOptions {
  backend: string;
  /** The services' backends (--services): their servers are carried too. */
  services?: readonly string[];
  /** This deployment's id and settings: only an HAProxy that carries the id is reloaded. */
  identity: Identity;
  /** Longest wait for the new worker. */
  timeoutMs?: number;
}

export interface ReloadResult {
  oldPid: number;
  newPid: number;
  /** From the master's `reload` to the new worker answering. */
  tookMs: number;
  servers: number;
  /** What the new worker did not carry over ([] when everything was). */
  differences: string[];
}

const POLL_MS = 50;

export async function plannedReload(deps: ReloadDeps, options: ReloadOptions): Promise<ReloadResult> {
  const { clock, log } = deps;
  const { backend } = options;
  const before = await withSession(deps, async (session) => {
    const info = await session.info();
    const ownership = judgeOwnership(options.identity, parseIdentity(info.fields.description));
    if (ownership.owner !== 'own') {
      const found = ownership.owner === 'foreign' ? `deployment ${ownership.found.deployment}` : 'no ha-agent deployment id';
      throw new ReloadError('RELOAD_NOT_OURS', `HAProxy (Pid ${info.pid}) carries ${found}, not ${options.identity.deployment}`);
    }
    const dump = await session.read(showServersState());
    return { info, dump };
  });
  const rows = parseServersState(before.dump);
  const backends = [backend, ...(options.services ?? [])];
  const servers = new Map(backends.map((name) => [name, rows.filter((row) => row.backend === name).map(configServer)]));
  const count = [...servers.values()].reduce((sum, list) => sum + list.length, 0);
  await checkFirst(deps, rows);
  const outcome = await deps.writeConfig(servers);
  if (outcome === 'invalid' || outcome === 'failed') {
    throw new ReloadError('RELOAD_INVALID_CONFIG', `the config with ${count} servers was not written (${outcome}): see config.invalid`);
  }
  await deps.saveState(before.dump);
  log.info('reload.started', { pid: before.info.pid, servers: count });
  const started = clock.now();
  const answer = await deps.reloadMaster();
  // HAProxy ≥ 2.9 answers `Success=0|1` and the new worker's start-up messages; 2.6 just closes.
  if (/^Success=0/m.test(answer)) throw new ReloadError('RELOAD_FAILED', 'the master could not start a new worker', answer);
  const after = await newWorker(deps, before.info.pid, options.timeoutMs ?? 30_000);
  const tookMs = Math.round(clock.now() - started);
  await deps.clearState();
  const found = backends.flatMap((name) => differences(name, rows, after.rows).map((d) => (name === backend ? d : `${name}/${d}`)));
  const result = { oldPid: before.info.pid, newPid: after.info.pid, tookMs, servers: count, differences: found };
  log[found.length === 0 ? 'info' : 'warn']('reload.finished', { ...result });
  return result;
}

/**
 * The new checks, tried on the servers UP now: a backend whose servers would all go DOWN refuses the reload
 * before anything is written; a server that would fail among others that pass is named, and the reload goes on.
 */
async function checkFirst(deps: ReloadDeps, rows: readonly ServerStateRow[]): Promise<void> {
  const probes = (await deps.probeChecks?.(rows)) ?? [];
  for (const probe of probes) {
    const servers = probe.servers.map((s) => `${s.server} ${s.endpoint}: ${s.verdict} (${s.answer})`);
    const failing = probe.servers.some((s) => s.verdict === 'fail');
    deps.log[failing ? 'warn' : 'info']('reload.checked', { backend: probe.backend, check: probe.check, servers });
  }
  const lost = backendsLost(probes);
  if (lost.length > 0) {
    throw new ReloadError(
      'RELOAD_CHECKS_WOULD_FAIL',
      `${lost.map(describeProbe).join('; ')}. After this reload every one of them would go DOWN and each request get a 503: ` +
        "nothing was written or reloaded. Is --health-path (or a service's health=) right?",
    );
  }
}

function configServer(row: ServerStateRow): ConfigServer {
  return { name: row.name, address: row.address, port: row.port, weight: row.userWeight };
}

async function withSession<T>(deps: ReloadDeps, work: (session: ReloadSession) => Promise<T>): Promise<T> {
  const session = await deps.connect();
  try {
    return await work(session);
  } finally {
    await session.close();
  }
}

/** Polls fresh connections until one reaches a worker other than `oldPid` that is not stopping. */
async function newWorker(deps: ReloadDeps, oldPid: number, timeoutMs: number): Promise<{ info: Info; rows: ServerStateRow[] }> {
  const deadline = deps.clock.now() + timeoutMs;
  for (;;) {
    const found = await withSession(deps, async (session) => {
      const info = await session.info();
      if (info.pid === oldPid || info.stopping) return undefined;
      return { info, rows: parseServersState(await session.read(showServersState())) };
    }).catch(() => undefined); // the listener may refuse for a moment while the workers change places
    if (found) return found;
    if (deps.clock.now() >= deadline)
      throw new ReloadError('RELOAD_TIMEOUT', `no new HAProxy worker within ${timeoutMs} ms (old Pid ${oldPid})`);
    await sleep(deps.clock, POLL_MS);
  }
}
