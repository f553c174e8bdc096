/** Runs the scenario against a cluster under continuous load, with a live view, and collects the results. */
import { DEFAULT_BACKEND } from '../../model/values.js';
import { API_BACKEND, API_HOST } from '../cluster/layout.js';
import type { DemoDriver } from './driver.js';
import type { LivePage } from './live.js';
import { serviceWindows, startLoad, type Load } from './load.js';
import { Monitor } from './monitor.js';
import { COMMANDS_SHOWN, frame, htmlReport, lastCommands, plainLine, type FrameState, type PhaseMark } from './report.js';
import { INITIAL_WEBAPPS, scenarioFor, type DemoService, type Failover, type Phase, type PhaseResult } from './scenario.js';

/**
 * Users with their own cookie jars, beside the anonymous load; each visit lasts 2 s, then a new user
 * comes (stuck users never move to a server that joined: new ones do).
 */
const STICKY_USERS = 12;
const VISIT_MS = 2000;
/** The demo's load on its default service: anonymous clients (keep-alive, and a connection per request) and sticky users. */
export const DEMO_LOAD = { keepAlive: 4, newConnection: 2, stickyUsers: STICKY_USERS, visitMs: VISIT_MS, pauseMs: 2 } as const;
/** The api service's clients (anonymous: its servers keep no session the demo follows). */
const API_CLIENTS = { keepAlive: 2, newConnection: 1 };

export interface DemoOptions {
  driver: DemoDriver;
  /** How long each phase holds steady after converging. */
  holdMs: number;
  /** Where the live view goes; `tty` redraws in place. */
  write: (text: string) => void;
  tty: boolean;
  /** A browser page that follows the run. */
  live?: LivePage;
  /** Api servers at the start: the second service, its load (`Host: api.localhost`) and its scale phases; 0: none. */
  apis?: number;
}

export interface DemoRun {
  startedAt: number;
  results: PhaseResult[];
  monitor: Monitor;
  outcomes: ReturnType<typeof startLoad>['outcomes'];
  /** Phases of the scenario this driver did not run, with why. */
  skipped: Array<{ name: string; reason: string }>;
}

/** Why a driver does not run a phase, or undefined when it does: the failover needs balancers behind a virtual IP. */
export function skipReason(driver: Pick<DemoDriver, 'killActiveBalancer'>, phase: Phase): string | undefined {
  return phase.step.kind === 'kill-balancer' && !driver.killActiveBalancer ? 'one balancer: run the demo with --balancers 2' : undefined;
}

/** How long a failover may take before the first request is served again. */
const FAILOVER_TIMEOUT_MS = 30_000;

/** Kills the balancer holding the VIP, finds the load's first answer after the kill, then brings the node back. */
async function failover(driver: DemoDriver, load: Load): Promise<Failover> {
  if (!driver.killActiveBalancer) throw new Error('this driver has no balancer to kill');
  const seen = load.outcomes.length;
  const { from, to, killedAt, vipAt } = await driver.killActiveBalancer();
  // Every process of the killed node is gone: a request sent after the kill that succeeded went through another balancer.
  const deadline = Date.now() + FAILOVER_TIMEOUT_MS;
  let served: number | undefined;
  while (served === undefined && Date.now() < deadline) {
    served = load.outcomes.slice(seen).find((o) => o.ok && o.at - o.latencyMs >= killedAt)?.at;
    if (served === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  // A driver that cannot bring the node back (a lost Swarm node) leaves it lost: the phase ends on the survivors.
  const holder = driver.restoreBalancers ? await driver.restoreBalancers() : undefined;
  await driver.waitConverged();
  const servedMs = served === undefined ? undefined : served - killedAt;
  return {
    from,
    to,
    vipMs: vipAt - killedAt,
    servedMs,
    vipStayed: holder === to,
    ...(driver.restoreBalancers ? {} : { stayedLost: true }),
  };
}

/**
 * Does the phase's step; returns what it acted on and, for a scale, when the membership changed and
 * when HAProxy matched it (otherwise the phase's start and the step's end); for a failover, its figures.
 */
async function perform(
  driver: DemoDriver,
  phase: Phase,
  load: Load,
): Promise<{ detail: string; changedAt?: number; convergedAt?: number; failover?: Failover }> {
  const step = phase.step;
  switch (step.kind) {
    case 'steady':
      return { detail: '' };
    case 'scale':
      return { detail: '', ...(await driver.scale(step.to, step.service)) };
    case 'kill-web': {
      const victim = await driver.killWeb();
      await driver.waitConverged();
      return { detail: victim };
    }
    case 'restart-agent':
      await driver.restartAgent();
      await driver.waitConverged();
      return { detail: '' };
    case 'reload-haproxy': {
      const said = await driver.reloadHaproxy();
      await driver.waitConverged();
      // `reloaded: HAProxy worker 120 → 134 in 250 ms; …` → `worker 120 → 134 in 250 ms`
      return { detail: /worker \d+ → \d+ in \d+ ms/.exec(said)?.[0] ?? '' };
    }
    case 'restart-haproxy':
      await driver.restartHaproxy();
      await driver.waitConverged();
      return { detail: '' };
    case 'rolling-update': {
      if (!driver.rollingUpdate) throw new Error('this driver has no rolling update');
      const { replaced, ...timing } = await driver.rollingUpdate();
      return { detail: `${replaced} tasks replaced`, ...timing };
    }
    case 'drain-node':
      if (!driver.drainNode) throw new Error('this driver has no node to drain');
      return driver.drainNode();
    case 'lose-node':
      if (!driver.loseNode) throw new Error('this driver has no node to lose');
      return driver.loseNode();
    case 'kill-balancer': {
      const f = await failover(driver, load);
      return { detail: `${f.from} → ${f.to}, served again in ${f.servedMs ?? '-'} ms`, failover: f };
    }
  }
}

export interface ViewOptions {
  driver: Pick<DemoDriver, 'label' | 'frontendUrl' | 'agentLog'>;
  monitor: Monitor;
  startedAt: number;
  /** Where each phase started, the current one last; the caller appends and renames. */
  phases: PhaseMark[];
  load?: Load;
  write?: (text: string) => void;
  tty?: boolean;
  live?: LivePage;
  /** Chart only this much of the past, and forget the rest (a view without an end). */
  windowMs?: number;
}

/** Twice a second: the terminal frame (or a plain line every 2 s) and the live page's update. */
export function startView({ driver, monitor, startedAt, phases, load, write, tty = false, live, windowMs }: ViewOptions): () => void {
  let commands: string[] = [];
  let reading = false;
  let ticks = 0;
  const timer = setInterval(() => {
    ticks += 1;
    if (ticks % 2 === 0 && !reading) {
      reading = true;
      void driver
        .agentLog()
        .then(
          (lines) => (commands = [...commands, ...lastCommands(lines)].slice(-COMMANDS_SHOWN)),
          () => undefined,
        )
        .finally(() => (reading = false));
    }
    const rates = monitor.rates();
    const latest = monitor.latest();
    const state: FrameState = {
      label: driver.label,
      frontendUrl: driver.frontendUrl,
      elapsedMs: Date.now() - startedAt,
      phase: phases.at(-1)?.name ?? 'starting',
      servers: (latest?.servers ?? []).map((s) => ({ backend: s.backend, name: s.name, status: s.status, rate: rates.get(s.name) ?? 0 })),
      totalRate: [...rates.values()].reduce((a, b) => a + b, 0),
      requests: load?.outcomes.length ?? 0,
      failed: load?.outcomes.filter((o) => !o.ok).length ?? 0,
      process: latest?.process,
      commands,
    };
    if (write && tty) write(`\x1b[H\x1b[2J${frame(state)}`);
    else if (write && ticks % 4 === 0) write(plainLine(state));
    const from = windowMs === undefined ? startedAt : Math.max(startedAt, Date.now() - windowMs);
    if (from > startedAt) monitor.forget(from);
    live?.update({ frame: state, startedAt: from, samples: monitor.samples, outcomes: load?.outcomes ?? [], phases });
  }, 500);
  return () => clearInterval(timer);
}

export async function runDemo({ driver, holdMs, write, tty, live, apis = 0 }: DemoOptions): Promise<DemoRun> {
  const scenario = driver.scenario ?? scenarioFor(apis, driver.rollingUpdate !== undefined);
  const backends = new Map<DemoService, string>([['web', DEFAULT_BACKEND], ...(apis > 0 ? [['api', API_BACKEND] as const] : [])]);
  await driver.up(driver.initialWebapps ?? INITIAL_WEBAPPS, apis);
  const startedAt = Date.now();
  const monitor = new Monitor(driver.runtimeUrl, [...backends.values()]);
  monitor.start();
  const others = apis > 0 ? [{ service: 'api' as const, host: API_HOST, ...API_CLIENTS }] : [];
  const load = startLoad(driver.frontendUrl, { ...DEMO_LOAD, others });
  const phases: PhaseMark[] = [];
  const stopView = startView({ driver, monitor, startedAt, phases, load, write, tty, ...(live ? { live } : {}) });

  const results: PhaseResult[] = [];
  const skipped = scenario.flatMap((phase) => {
    const reason = skipReason(driver, phase);
    return reason === undefined ? [] : [{ name: phase.name, reason }];
  });
  try {
    for (const phase of scenario) {
      if (skipReason(driver, phase) !== undefined) continue;
      const started = Date.now();
      const mark = { name: phase.name, startedAt: started };
      phases.push(mark);
      const { detail, changedAt = started, convergedAt = Date.now(), failover: failedOver } = await perform(driver, phase, load);
      if (detail) mark.name = `${phase.name} (${detail})`;
      await new Promise((resolve) => setTimeout(resolve, holdMs));
      // Answers to requests sent during the phase are counted in it, even if they arrive a little later.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const ended = Date.now();
      const window = load.window(started, ended);
      results.push({
        name: detail ? `${phase.name} (${detail})` : phase.name,
        graceful: phase.graceful,
        keepsSessions: phase.keepsSessions,
        newHaproxy: phase.newHaproxy ?? false,
        ...(phase.maxFailed !== undefined ? { maxFailed: phase.maxFailed } : {}),
        startedAt: started,
        endedAt: ended,
        requests: window.requests,
        failed: window.failed,
        errors: window.errors,
        p50: window.p50,
        p99: window.p99,
        haproxyProcesses: monitor.newProcesses(started, ended),
        convergeMs: phase.step.kind === 'steady' ? 0 : convergedAt - changedAt,
        sessions: load.sessions(started, ended),
        ...(phase.step.kind === 'scale' ? { scaled: phase.step.service } : {}),
        ...(failedOver ? { failover: failedOver } : {}),
        ...(apis > 0 ? { services: serviceWindows(load.outcomes, monitor.samples, backends, started, ended) } : {}),
      });
    }
  } finally {
    stopView();
    await load.stop();
    await monitor.stop();
  }
  return { startedAt, results, monitor, outcomes: load.outcomes, skipped };
}

/** The self-contained HTML report of a demo run. */
export function runReport(title: string, driver: Pick<DemoDriver, 'label' | 'convergeClock'>, run: DemoRun, problems: string[]): string {
  return htmlReport({
    title,
    label: driver.label,
    convergeClock: driver.convergeClock,
    startedAt: run.startedAt,
    samples: run.monitor.samples,
    outcomes: run.outcomes,
    results: run.results,
    problems,
    skipped: run.skipped,
  });
}
