/**
 * The level-triggered loop: on every trigger (member list, HAProxy (re)connected, an action that
 * did not simply succeed, or one a pass wanted otherwise while it ran) it reads HAProxy, recomputes desired
 * state from the latest member list, plans from scratch and hands the actions over (actions.ts, through the work queue):
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
import { Actions } from './actions.js';
import type { ActionOutcome } from './apply.js';
import type { Decision } from './decide.js';
import { Decider } from './decider.js';
import type { DesiredOptions } from './desired.js';
import { DryRunSteps } from './dry-run.js';
import { LedgerStore } from './ledger.js';
import type { OwnershipCheck } from './ownership.js';
import { planModes, type PlanMode } from './plan-mode.js';
import { describeAction } from './plan.js';
import type { RuntimeApi } from './runtime-api.js';

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
  /** The actions in flight and the config writes that follow them (actions.ts). */
  private readonly actions: Actions;
  private readonly clock: Clock;
  private readonly passes = new SerialPass((reason) => this.pass(reason));
  /** Wakes the loop when a kept server's grace ends (the decision's `lookAgainAt`). */
  private readonly lookAgain: Alarm;
  private readonly dryRun: DryRunSteps;

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
    this.actions = new Actions({ ...options, clock: this.clock });
  }

  get stats(): ReconcilerStats {
    return { actions: this.actions.outcomes };
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
      while (this.passes.current || this.actions.size > 0) {
        await Promise.all([this.passes.current, this.actions.idle()]);
      }
      const written = this.actions.written;
      await written;
      // A pass that started meanwhile may have asked for another write.
      if (this.actions.written === written && !this.passes.current && this.actions.size === 0) return;
    }
  }

  async close(): Promise<void> {
    this.passes.close();
    this.lookAgain.set(undefined);
    this.actions.close();
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
    const look = { members, actual, busy: this.actions.busy(), now, wallNow: (this.options.wallNow ?? Date.now)() };
    const decision = this.decider.decide(look);
    this.actions.revisit(decision);
    this.report(decision, actual.size);
    this.actions.abandonGone(decision.desired.servers);
    this.lookAgain.set(decision.lookAgainAt === undefined ? undefined : decision.lookAgainAt - now);
    const { actions } = decision;
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
    this.actions.start(decision, listedAt, (action, outcome, deferred) => {
      if (outcome === 'done') this.decider.done(action.server);
      // Follow-ups (a rejoin during a drain, a failed step) are planned from fresh state. A plain
      // success needs no new pass: with 1,000 joins that would be 1,000 reads of HAProxy's tables.
      if (outcome !== 'done' || deferred) this.trigger(`${action.kind} ${action.server} ${outcome}`);
    });
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
}
