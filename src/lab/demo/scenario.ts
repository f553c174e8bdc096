/** The demo's scripted scenario (pure data): what happens, and which phases must lose nothing. */
import type { DemoService, ServiceWindow, Sessions, Window } from './load.js';

export type { DemoService } from './load.js';

export type DemoStep =
  | { kind: 'steady' }
  | { kind: 'scale'; service: DemoService; to: number }
  | { kind: 'kill-web' }
  | { kind: 'restart-agent' }
  | { kind: 'reload-haproxy' }
  | { kind: 'restart-haproxy' }
  | { kind: 'kill-balancer' }
  | { kind: 'rolling-update' }
  | { kind: 'drain-node' }
  | { kind: 'lose-node' };

export interface Phase {
  name: string;
  step: DemoStep;
  /** Graceful phases must have 0 failed requests; the others report their count. */
  graceful: boolean;
  /** No server leaves: every sticky user must keep their session. */
  keepsSessions: boolean;
  /** The phase replaces HAProxy's process on purpose (anywhere else a new process fails the demo). */
  newHaproxy?: boolean;
  /** A phase that may fail requests: more failed than this fails the demo (no bound when undefined). */
  maxFailed?: number;
}

export const INITIAL_WEBAPPS = 1;

export const scenario: readonly Phase[] = [
  { name: 'steady, 1 web server', step: { kind: 'steady' }, graceful: true, keepsSessions: true },
  { name: 'scale 1 → 5', step: { kind: 'scale', service: 'web', to: 5 }, graceful: true, keepsSessions: true },
  { name: 'scale 5 → 2', step: { kind: 'scale', service: 'web', to: 2 }, graceful: true, keepsSessions: false },
  { name: 'scale 2 → 4', step: { kind: 'scale', service: 'web', to: 4 }, graceful: true, keepsSessions: true },
  { name: 'SIGKILL one web server', step: { kind: 'kill-web' }, graceful: false, keepsSessions: false },
  { name: 'restart ha-agent (SIGKILL)', step: { kind: 'restart-agent' }, graceful: true, keepsSessions: true },
  // What a new boot-time setting or an upgrade needs: a new worker with every server's state, nothing lost.
  { name: 'planned HAProxy reload', step: { kind: 'reload-haproxy' }, graceful: true, keepsSessions: true, newHaproxy: true },
  // The cookies' values come from the rendered config, so a restarted HAProxy sends users where they were.
  { name: 'restart HAProxy (SIGKILL)', step: { kind: 'restart-haproxy' }, graceful: false, keepsSessions: true, newHaproxy: true },
  // Only with two or more balancers behind a virtual IP (`--balancers 2`): the other balancer takes the VIP and the
  // load, and its HAProxy is the one the demo watches from then on. Sticky cookies are the same on every balancer.
  { name: 'SIGKILL the active balancer', step: { kind: 'kill-balancer' }, graceful: false, keepsSessions: true, newHaproxy: true },
];

/** A rolling update of the web servers (Swarm's `docker service update --force`): each old one drains and leaves. */
export const ROLLING_UPDATE: Phase = {
  name: 'rolling update of the web servers',
  step: { kind: 'rolling-update' },
  graceful: true,
  keepsSessions: false,
};

/**
 * The scenario with `apis` api servers at the start (none: the scenario above): after the web servers' scale phases,
 * api scaled out by 2 and back, each on its own, while the load goes on to both. The sticky users are the web
 * servers' (the web app keeps sessions in memory), so no session is lost when api servers leave.
 * With `rollingUpdate` (a driver that has one), a rolling update of the web servers follows the scale phases.
 */
export function scenarioFor(apis: number, rollingUpdate = false): readonly Phase[] {
  if (apis === 0 && !rollingUpdate) return scenario;
  const at = scenario.findIndex((p) => p.name === 'scale 2 → 4') + 1;
  const api = (from: number, to: number): Phase => ({
    name: `scale api ${from} → ${to}`,
    step: { kind: 'scale', service: 'api', to },
    graceful: true,
    keepsSessions: true,
  });
  const apiPhases = apis > 0 ? [api(apis, apis + 2), api(apis + 2, apis)] : [];
  return [...scenario.slice(0, at), ...apiPhases, ...(rollingUpdate ? [ROLLING_UPDATE] : []), ...scenario.slice(at)];
}

/**
 * Requests a lost node may take with it: those in flight to its web servers, at most one per client loop
 * of the demo's load (keep-alive, new-connection and sticky-user loops: 18), with room for a second
 * round sent before HAProxy's check marks its servers DOWN.
 */
export const NODE_LOSS_MAX_FAILED = 40;
/** Requests a lost balancer node may take with it: those it held when it died, and those sent to the VIP before it moved. */
export const BALANCER_LOSS_MAX_FAILED = 40;

/**
 * Several Swarm nodes (`demo --swarm --nodes N`): web servers scaled across nodes, a node drained, a rolling update,
 * then a node lost and, last, the node of the active balancer lost (after it Swarm may have no quorum left).
 */
export const nodesScenario: readonly Phase[] = [
  { name: 'steady, 3 web servers on 3 nodes', step: { kind: 'steady' }, graceful: true, keepsSessions: true },
  { name: 'scale 3 → 6 across nodes', step: { kind: 'scale', service: 'web', to: 6 }, graceful: true, keepsSessions: true },
  { name: 'scale 6 → 3', step: { kind: 'scale', service: 'web', to: 3 }, graceful: true, keepsSessions: false },
  { name: 'drain a node', step: { kind: 'drain-node' }, graceful: true, keepsSessions: false },
  ROLLING_UPDATE,
  { name: 'a node lost', step: { kind: 'lose-node' }, graceful: false, keepsSessions: false, maxFailed: NODE_LOSS_MAX_FAILED },
  {
    name: 'the active balancer’s node lost',
    step: { kind: 'kill-balancer' },
    graceful: false,
    keepsSessions: false,
    newHaproxy: true,
    maxFailed: BALANCER_LOSS_MAX_FAILED,
  },
];

/** A failover: the active balancer's node killed, and when the load was served again through another. */
export interface Failover {
  from: string;
  to: string;
  /** From the SIGKILL to the VIP on the other balancer (polled every 10 ms). */
  vipMs: number;
  /** From the SIGKILL to the first successful answer to a request sent after it (necessarily through the other balancer). */
  servedMs: number | undefined;
  /** After the killed node came back (converged, its check passed): whether the VIP stayed where it went. */
  vipStayed: boolean;
  /** The killed node was not brought back (a lost Swarm node): `vipStayed` says nothing. */
  stayedLost?: boolean;
}

/** The phase's requests (a load window) and what HAProxy did meanwhile. */
export interface PhaseResult extends Window {
  name: string;
  graceful: boolean;
  keepsSessions: boolean;
  newHaproxy: boolean;
  startedAt: number;
  endedAt: number;
  /** New HAProxy processes seen during the phase (a reload or a restart). */
  haproxyProcesses: number;
  /** From the membership change (see `convergeNote`) to HAProxy matching the cluster again. */
  convergeMs: number;
  /** The sticky users' sessions during the phase. */
  sessions: Sessions;
  /** The phase's bound on failed requests, if any. */
  maxFailed?: number;
  /** The phase killed the balancer that held the virtual IP. */
  failover?: Failover;
  /** The service a scale phase scaled. */
  scaled?: DemoService;
  /** With more than the default service: each service's share of the phase (the totals above are their sum). */
  services?: ServiceWindow[];
}

/**
 * A graceful phase with a failed request, a phase where no server left but a user's session started
 * again, a new HAProxy process outside the restart phase, or a misrouted request, fails the demo.
 */
export function verdict(results: readonly PhaseResult[]): string[] {
  const problems: string[] = [];
  for (const r of results) {
    if (r.graceful && r.failed > 0) problems.push(`${r.name}: ${r.failed} failed requests (${r.errors.join('; ')})`);
    if (r.maxFailed !== undefined && r.failed > r.maxFailed)
      problems.push(`${r.name}: ${r.failed} failed requests, more than ${r.maxFailed} (${r.errors.join('; ')})`);
    if (r.keepsSessions && r.sessions.renewed > 0) problems.push(`${r.name}: ${r.sessions.renewed} users lost their session`);
    if (!r.newHaproxy && r.haproxyProcesses > 0) problems.push(`${r.name}: HAProxy reloaded or restarted ${r.haproxyProcesses} time(s)`);
    // Even a phase that may fail requests must never send one to the other service.
    for (const s of r.services ?? []) if (s.misrouted > 0) problems.push(`${r.name}: ${s.misrouted} ${s.service} requests misrouted`);
  }
  return problems;
}
