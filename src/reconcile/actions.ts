/**
 * One backend's actions: each runs its steps (apply.ts) when the work queue gives it a turn (work-queue.ts), waits on
 * the backend's servers through one watcher (watch.ts), and stops at its next step once the actions are closed. A
 * pass's config write follows its actions' first answers (config-writes.ts).
 */
import type { ConfigServer } from '../render/template.js';
import { applyAction, type ActionOutcome, type ApplyContext } from './apply.js';
import { ConfigWrites } from './config-writes.js';
import { intentOf, type Decision } from './decide.js';
import type { Action } from './plan.js';
import { ServerWatcher, type Cancel } from './watch.js';
import { WorkQueue, type Turn } from './work-queue.js';

/** What every action runs with (apply.ts), and how the config is written. */
export interface ActionsOptions extends Omit<ApplyContext, 'watcher' | 'signal' | 'listedAt' | 'firstAnswered' | 'turn'> {
  /** Writes the servers the config must list (the config writer). */
  persist?: ((servers: ConfigServer[]) => Promise<unknown>) | undefined;
  /** Commands in flight at once across the backend's actions (default: work-queue.ts). */
  concurrency?: number | undefined;
}

export class Actions {
  /** How each action ended. */
  readonly outcomes = new Map<ActionOutcome, number>();
  private readonly work: WorkQueue;
  private readonly watcher: ServerWatcher;
  /** The passes' config writes: a pass does not wait for them (config-writes.ts); the reconciler's `idle` does. */
  private readonly writes: ConfigWrites;
  private readonly stopping = new AbortController();

  constructor(private readonly options: ActionsOptions) {
    this.watcher = new ServerWatcher(options.client, options.backend, options.clock);
    this.work = new WorkQueue(options.concurrency);
    this.writes = new ConfigWrites(options.persist, options.log);
  }

  /** Servers with an action in flight: a pass plans none of them. */
  busy(): Set<string> {
    return this.work.busy();
  }

  /** A busy server the decision wants to be something else is planned again when its action ends (work-queue.ts). */
  revisit(decision: Pick<Decision, 'memberOf' | 'desired'>): void {
    this.work.revisit((server) => intentOf(decision, server));
  }

  /**
   * A server still waiting for its first passing check never took traffic: when its member is no
   * longer wanted (it left, failed, or its tags changed), stop waiting and take it out at once
   * rather than at the end of --check-timeout.
   */
  abandonGone(desired: ReadonlyMap<string, unknown>): void {
    for (const { server, member } of this.work.abandon((member) => desired.has(member))) {
      this.options.log.info('action.abandoned', { server, member, reason: 'member is no longer wanted' });
    }
  }

  /**
   * Starts a pass's actions, and its config write once their first commands are answered. `ended` is told how each
   * ended, and whether a pass wanted its server to be something else meanwhile.
   */
  start(
    decision: Pick<Decision, 'actions' | 'persisted' | 'memberOf' | 'desired'>,
    listedAt: number,
    ended: (action: Action, outcome: ActionOutcome, deferred: boolean) => void,
  ): void {
    const { log } = this.options;
    const { actions, persisted, memberOf } = decision;
    const firstAnswered = this.writes.after(
      actions.map((a) => a.server),
      persisted,
    );
    // One context for the pass's actions (each adds its turn); a Cancel to abandon one only for those that bring a member in.
    const context = { ...this.options, watcher: this.watcher, listedAt, signal: this.stopping.signal, firstAnswered };
    for (const action of actions) {
      log.info('plan.action', {
        server: action.server,
        action: action.kind,
        reason: action.reason,
        steps: action.steps.map((s) => s.kind),
      });
      const member = action.rollback ? memberOf(action.server) : undefined;
      // finally: an action that ended before its first answer (refused, aborted) must not hold the pass's write back.
      const run = (turn: Turn, abandon: Cancel | undefined) =>
        applyAction({ ...context, turn }, action, abandon).finally(() => firstAnswered(action.server));
      const job = { server: action.server, kind: action.kind, member, intent: intentOf(decision, action.server) };
      this.work.start(job, run, (outcome, deferred) => {
        this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1);
        ended(action, outcome, deferred);
      });
    }
  }

  /** Actions in flight. */
  get size(): number {
    return this.work.size;
  }

  /** Resolves once no action runs (those started meanwhile included). */
  idle(): Promise<void> {
    return this.work.idle();
  }

  /** Resolves once every config write asked so far is done; a pass that starts meanwhile may ask for another. */
  get written(): Promise<unknown> {
    return this.writes.settled;
  }

  /** No further step is sent, and every wait ends now. */
  close(): void {
    this.stopping.abort();
    this.watcher.cancelAll();
  }
}
