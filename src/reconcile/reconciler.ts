/**
 * The level-triggered loop: on every trigger (member list, HAProxy (re)connected, an action that
 * did not simply succeed, or one a pass wanted otherwise while it ran) it reads HAProxy, recomputes desired
 * state from the latest member list, plans from scratch and hands the actions to the work queue (work-queue.ts):
 * actions for different servers run concurrently; a server with an action in flight is left alone until it finishes.
 */
import type { Logger } from '../log.js';
import type { Member } from '../membership/member.js';
import type { ServerPolicy } from '../model/server.js';
import type { ConfigServer } from '../render/template.js';
import { Alarm, systemClock, type Clock } from '../util/clock.js';
import { SerialPass } from '../util/serial-pass.js';
import { DEFAULT_ABSENT_GRACE_MS } from './absent.js';
import { actualServers } from './actual.js';
import { applyAction, type ActionOutcome } from './apply.js';
import { ConfigWrites } from './config-writes.js';
import { intentOf, type Decision } from './decide.js';
import { Decider } from './decider.js';
import type { DesiredOptions } from './desired.js';
import { DryRunSteps } from './dry-run.js';
import { LedgerStore } from './ledger.js';
import type { OwnershipCheck } from './ownership.js';
import { planModes, type PlanMode } from './plan-mode.js';
import { describeAction } from './plan.js';
import type { RuntimeApi } from './runtime-api.js';
import { ServerWatcher, type Cancel } from './watch.js';
import { WorkQueue, type Turn } from './work-queue.js';

export interface ReconcilerOptions {
  client: RuntimeApi;
  backend: string;
  policy: ServerPolicy;
  desired: DesiredOptions;
  log: Logger;
  checkTimeoutMs: number;
  /** The path this backend's checks ask and the setting that sets it (named by a failing first check). */
  health?: (() => { path: string; setting: string }) | undefined;
  drainTimeoutMs: number;
  /** Users are persisted with dynamic cookies; a drain holds them until they go quiet (see apply). */
  sticky?: { drainIdleMs: number } | undefined;
  dryRun?: boolean;
  /** `dynamic`: add/del server; `slots`: fill and free fixed server slots. */
  mode?: PlanMode;
  /** Called after every pass with the servers the config must list (the config writer). */
  persist?: (servers: ConfigServer[]) => Promise<unknown>;
  /** Asked before every pass: another deployment's HAProxy is never read into a plan or changed. */
  ownership?: Pick<OwnershipCheck, 'allows'>;
  /** Waits, deadlines and durations; the process's clock unless a test injects fake time. */
  clock?: Clock;
  /** Longest time the server of a member absent from the list is kept while it is up (see absent.ts). */
  absentGraceMs?: number;
  /** What the agent set itself and the holds seen (see holds.ts); none: a ledger in memory. Dynamic mode only. */
  ledger?: LedgerStore;
  /** Wall clock (ms since the epoch), for when a hold began. */
  wallNow?: () => number;
  /** Commands in flight at once across this backend's actions (default: work-queue.ts). */
  concurrency?: number;
}

export interface ReconcilerStats {
  /** How each action ended (`handle` exits non-zero when one failed). */
  actions: Map<ActionOutcome, number>;
}

export class Reconciler {
  /** The member list and what the decision remembers, pass after pass (decider.ts). */
  private readonly decider: Decider;
  private readonly work: WorkQueue;
  private readonly clock: Clock;
  private readonly watcher: ServerWatcher;
  private readonly stopping = new AbortController();
  private readonly passes = new SerialPass((reason) => this.pass(reason));
  private readonly dryRun: DryRunSteps;
  /** Wakes the loop when a kept server's grace ends (the decision's `lookAgainAt`). */
  private readonly lookAgain: Alarm;
  /** The passes' config writes: a pass does not wait for them (config-writes.ts), `idle` does. */
  private readonly writes: ConfigWrites;
  readonly stats: ReconcilerStats = { actions: new Map() };

  constructor(private readonly options: ReconcilerOptions) {
    this.clock = options.clock ?? systemClock;
    this.dryRun = new DryRunSteps(options.log);
    this.lookAgain = new Alarm(this.clock, () => this.trigger('absent member grace ended'));
    this.decider = new Decider(options.ledger ?? new LedgerStore(undefined), options.backend, {
      mode: planModes[options.mode ?? 'dynamic'],
      desired: options.desired,
      absentGraceMs: options.absentGraceMs ?? DEFAULT_ABSENT_GRACE_MS,
      dryRun: options.dryRun ?? false,
    });
    this.watcher = new ServerWatcher(options.client, options.backend, this.clock);
    this.work = new WorkQueue(options.concurrency);
    this.writes = new ConfigWrites(options.persist, options.log);
  }

  /** The full member list (never a delta): every call replaces the previous one. */
  setMembers(members: readonly Member[], reason: string): void {
    this.decider.listed = { members, at: this.clock.now() };
    this.trigger(reason);
  }

  trigger(reason: string): void {
    this.passes.trigger(reason);
  }

  /** Resolves once no pass and no action is running (one-shot use and tests). */
  async idle(): Promise<void> {
    for (;;) {
      while (this.passes.current || this.work.size > 0) {
        await Promise.all([this.passes.current, this.work.idle()]);
      }
      const writes = this.writes.settled;
      await writes;
      // A pass that started meanwhile may have asked for another write.
      if (this.writes.settled === writes && !this.passes.current && this.work.size === 0) return;
    }
  }

  async close(): Promise<void> {
    this.passes.close();
    this.lookAgain.set(undefined);
    this.stopping.abort();
    this.watcher.cancelAll();
    await this.idle();
  }

  private async pass(reason: string): Promise<void> {
    const { client, backend, log } = this.options;
    // Never act on an empty view: before the first member list, nothing is known to be gone.
    if (this.decider.listed === undefined || !client.connected) return;
    if (this.options.ownership && !(await this.options.ownership.allows())) return;
    const { members, at: listedAt } = this.decider.listed;
    let actual;
    try {
      // `show servers state` alone: a plan reads nothing of `show stat` (sessions, status), which is ~4× the bytes
      // and fields (1,000 servers: ~80 columns a row); the drain waits read it themselves (watch.ts).
      actual = actualServers(backend, await client.serversState(backend), []);
    } catch (error) {
      log.error('pass.failed', { reason, error });
      return;
    }
    const now = this.clock.now();
    const look = { members, actual, busy: this.work.busy(), now, wallNow: (this.options.wallNow ?? Date.now)() };
    const decision = this.decider.decide(look);
    this.work.revisit((server) => intentOf(decision, server));
    this.report(decision, actual.size);
    this.abandonGone(decision.desired.servers);
    this.lookAgain.set(decision.lookAgainAt === undefined ? undefined : decision.lookAgainAt - now);
    const { actions, persisted, memberOf } = decision;
    log.debug('pass', {
      reason,
      members: members.length,
      desired: decision.desired.servers.size,
      actual: actual.size,
      actions: actions.length,
    });

    if (this.options.dryRun) {
      const ctx = { backend, policy: this.options.policy, version: client.version, sticky: this.options.sticky !== undefined };
      const steps = actions.flatMap((a) => describeAction(a, ctx).map((line) => `${a.kind} ${a.server}: ${line}`));
      this.dryRun.report(backend, steps);
      return;
    }
    // What the agent is about to set itself is on disk before it is sent: a restart mid-join resumes it, never holds it.
    if (decision.ledgerChanged === 'own') await this.saveLedger();
    else if (decision.ledgerChanged === 'holds') void this.saveLedger();
    const firstAnswered = this.writes.after(
      actions.map((a) => a.server),
      persisted,
    );
    // One context for the pass's actions (each adds its turn); a Cancel to abandon one only for those that bring a member in.
    const context = {
      ...this.options,
      clock: this.clock,
      watcher: this.watcher,
      listedAt,
      signal: this.stopping.signal,
      firstAnswered,
    };
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
        this.stats.actions.set(outcome, (this.stats.actions.get(outcome) ?? 0) + 1);
        if (outcome === 'done') this.decider.done(action.server);
        // Follow-ups (a rejoin during a drain, a failed step) are planned from fresh state. A plain
        // success needs no new pass: with 1,000 joins that would be 1,000 reads of HAProxy's tables.
        if (outcome !== 'done' || deferred) this.trigger(`${action.kind} ${action.server} ${outcome}`);
      });
    }
  }

  /** A failed write is logged: the agent goes on (a restart may then take a server it was bringing in for a hold). */
  private saveLedger(): Promise<void> {
    return this.decider.saveLedger().catch((error: unknown) => this.options.log.error('ledger.write-failed', { error }));
  }

  /** Logs what the decision found new: rejections, absences begun or ended, holds begun or ended, members without a slot. */
  private report({ news, memory }: Decision, slots: number): void {
    const { log } = this.options;
    for (const { member, reason } of news.rejected) log.warn('member.rejected', { member, reason });
    for (const { member, absentMs } of news.returned) log.info('member.returned', { member, absentMs });
    for (const { member, server, hold, reason, until, since } of news.absent) {
      const kept = { removeInMs: Math.round(until - since), removeEarlier: 'when HAProxy reports it down' };
      log.warn('member.absent', { member, server, action: hold ? 'keep' : 'remove', reason, ...(hold ? kept : {}) });
    }
    const held = memory.ledger.holds.size;
    for (const { server, state, since } of news.holds.started) {
      log.warn('hold.started', { server, state, since: new Date(since).toISOString(), held, release: `ha-agent release ${server}` });
    }
    for (const { server, heldMs, why } of news.holds.released) log.info('hold.released', { server, heldMs, why, held });
    if (news.unplaced && news.unplaced.length > 0) log.warn('slots.full', { members: news.unplaced, slots });
  }

  /**
   * A server still waiting for its first passing check never took traffic: when its member is no
   * longer wanted (it left, failed, or its tags changed), stop waiting and take it out at once
   * rather than at the end of --check-timeout.
   */
  private abandonGone(desired: ReadonlyMap<string, unknown>): void {
    for (const { server, member } of this.work.abandon((member) => desired.has(member))) {
      this.options.log.info('action.abandoned', { server, member, reason: 'member is no longer wanted' });
    }
  }
}
