/**
 * A person's holds (pure). A server in MAINT or DRAIN that the agent did not put there was put there by
 * a person (any Runtime API client, the stats page, `ha-agent hold`): it stays so across passes and
 * restarts until a person sets it ready again. The agent's own transitional states (a join waiting for its
 * first check, a drain before a delete) are told apart by a ledger of what the agent itself set, which
 * outlives the process (ledger.ts keeps it beside the rendered config), so a restart mid-join still
 * resumes the join instead of taking it for a hold.
 */
import type { ServerState } from '../model/server.js';
import type { ActualServer } from './actual.js';

/** A state a person set and the agent keeps. */
export type HeldState = Exclude<ServerState, 'ready'>;

export interface Hold {
  state: HeldState;
  /** Wall-clock ms (Date.now()) at which the agent first saw it. */
  since: number;
}

/** One backend's ledger: what the agent set itself (by server: the action), and the holds it has seen. */
export interface BackendLedger {
  own: Map<string, string>;
  holds: Map<string, Hold>;
}

export const emptyLedger = (): BackendLedger => ({ own: new Map(), holds: new Map() });

export interface HoldChanges {
  /** The ledger after this read of HAProxy. */
  next: BackendLedger;
  started: Array<{ server: string } & Hold>;
  released: Array<{ server: string; heldMs: number; why: 'ready' | 'deleted' }>;
}

/**
 * A held DRAIN is rendered with weight 0 (a server line has no drain keyword): a HAProxy that booted
 * from the file shows the server ready at weight 0, which is the hold to restore, not a release.
 */
const bootedHeldDrain = (hold: Hold | undefined, server: ActualServer) =>
  hold?.state === 'drain' && server.mode === 'ready' && server.weight === 0;

/**
 * Judges one read of HAProxy against the ledger. `busy`: servers with an action in flight (their state is
 * the agent's, whatever the ledger says). `nowMs`: wall clock, for `since`.
 */
export function judgeHolds(
  actual: ReadonlyMap<string, ActualServer>,
  ledger: BackendLedger,
  busy: ReadonlySet<string>,
  nowMs: number,
): HoldChanges {
  const next = emptyLedger();
  const started: HoldChanges['started'] = [];
  const released: HoldChanges['released'] = [];
  for (const [server, action] of ledger.own) {
    const current = actual.get(server);
    // Once the agent's action is over (the server ready, or gone), the entry has served.
    if (busy.has(server) || (current !== undefined && current.mode !== 'ready')) next.own.set(server, action);
  }
  for (const [server, hold] of ledger.holds) {
    const current = actual.get(server);
    if (current === undefined) released.push({ server, heldMs: nowMs - hold.since, why: 'deleted' });
    else if (current.mode === 'ready' && !bootedHeldDrain(hold, current))
      released.push({ server, heldMs: nowMs - hold.since, why: 'ready' });
    else next.holds.set(server, current.mode === 'ready' ? hold : { ...hold, state: current.mode });
  }
  for (const [server, current] of actual) {
    if (current.mode === 'ready' || busy.has(server) || next.own.has(server) || next.holds.has(server)) continue;
    const hold: Hold = { state: current.mode, since: nowMs };
    next.holds.set(server, hold);
    started.push({ server, ...hold });
  }
  return { next, started, released };
}

/** The held states by server, as the planner takes them. */
export const heldStates = (ledger: BackendLedger): Map<string, HeldState> =>
  new Map([...ledger.holds].map(([server, hold]) => [server, hold.state]));
