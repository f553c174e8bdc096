/**
 * The level-triggered loop: on every trigger (member list, HAProxy (re)connected, an action that
 * did not simply succeed, or one a pass had to leave alone) it reads HAProxy, recomputes desired
 * state from the latest member list, plans from scratch and starts the actions. Actions for different servers run concurrently; a server
 * with an action in flight is left alone until it finishes.
 */
import type { Logger } from '../log.js';
import type { Member } from '../membership/member.js';
import type { ServerPolicy } from '../model/server.js';
import { actualServers } from './actual.js';
import { applyAction, type ActionOutcome } from './apply.js';
import { desiredServers, type DesiredOptions } from './desired.js';
import { describeStep } from './plan.js';
import { planForMode, type PlanMode } from './plan-mode.js';
import type { ConfigServer } from '../render/template.js';
import type { RuntimeApi } from './runtime-api.js';
import { ServerWatcher } from './watch.js';
import type { OwnershipCheck } from './ownership.js';
import { systemClock, type Clock } from '../util/clock.js';

export interface ReconcilerOptions {
  client: RuntimeApi;
  backend: string;
  policy: ServerPolicy;
  desired: DesiredOptions;
  log: Logger;
  checkTimeoutMs: number;
  drainTimeoutMs: number;
  /** Users are persisted with dynamic cookies (see apply). */
  sticky?: boolean;
  dryRun?: boolean;
  /** `dynamic`: add/del server; `slots`: fill and free fixed server slots. */
  mode?: PlanMode;
  /** Called after every pass with the servers the config must list (the config writer). */
  persist?: (servers: ConfigServer[]) => Promise<unknown>;
  /** Asked before every pass: another deployment's HAProxy is never read into a plan or changed. */
  ownership?: Pick<OwnershipCheck, 'allows'>;
  /** Waits, deadlines and durations; the process's clock unless a test injects fake time. */
  clock?: Clock;
}

export interface ReconcilerStats {
  /** How each action ended (`handle` exits non-zero when one failed). */
  actions: Map<ActionOutcome, number>;
}

export class Reconciler {
  private members: readonly Member[] | undefined;
  private listedAt = 0;
  private readonly running = new Map<string, Promise<void>>();
  /** Running actions that bring a member in (they have a rollback), by server: abandoned if the member goes. */
  private readonly bringingIn = new Map<string, { member: string; abandon: AbortController }>();
  private readonly clock: Clock;
  /** Busy servers a pass had to leave alone: their state is planned again once their action ends. */
  private readonly deferred = new Set<string>();
  private readonly watcher: ServerWatcher;
  private readonly stopping = new AbortController();
  private passing: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private loggedRejections = new Map<string, string>();
  private lastDryRun = '';
  private lastUnplaced = '';
  readonly stats: ReconcilerStats = { actions: new Map() };

  constructor(private readonly options: ReconcilerOptions) {
    this.clock = options.clock ?? systemClock;
    this.watcher = new ServerWatcher(options.client, options.backend, this.clock);
  }

  /** The full member list (never a delta): every call replaces the previous one. */
  setMembers(members: readonly Member[], reason: string): void {
    this.members = members;
    this.listedAt = this.clock.now();
    this.trigger(reason);
  }

  trigger(reason: string): void {
    if (this.closed) return;
    if (this.passing) {
      this.again = true;
      return;
    }
    this.passing = this.pass(reason).finally(() => {
      this.passing = undefined;
      if (this.again) {
        this.again = false;
        this.trigger('changed during the last pass');
      }
    });
  }

  /** Resolves once no pass and no action is running (one-shot use and tests). */
  async idle(): Promise<void> {
    while (this.passing || this.running.size > 0) {
      await Promise.all([this.passing, ...this.running.values()]);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopping.abort();
    this.watcher.cancelAll();
    await this.idle();
  }

  private async pass(reason: string): Promise<void> {
    const { client, backend, log } = this.options;
    // Never act on an empty view: before the first member list, nothing is known to be gone.
    if (this.members === undefined || !client.connected) return;
    if (this.options.ownership && !(await this.options.ownership.allows())) return;
    let actual;
    try {
      const [state, stat] = await Promise.all([client.serversState(backend), client.stat(backend)]);
      actual = actualServers(backend, state, stat);
    } catch (error) {
      log.error('pass.failed', { reason, error });
      return;
    }
    const desired = desiredServers(this.members, this.options.desired);
    this.logRejections(desired.rejected);
    this.abandonGone(desired.servers);
    const failed = new Set(this.members.filter((m) => m.status === 'failed').map((m) => m.name));
    const options = { busy: new Set(this.running.keys()), failed };
    for (const name of options.busy) this.deferred.add(name);
    const { actions, persisted, unplaced, memberOf } = planForMode(this.options.mode ?? 'dynamic', desired.servers, actual, options);
    if (unplaced.join() !== this.lastUnplaced) {
      this.lastUnplaced = unplaced.join();
      if (unplaced.length > 0) log.warn('slots.full', { members: unplaced, slots: actual.size });
    }
    log.debug('pass', {
      reason,
      members: this.members.length,
      desired: desired.servers.size,
      actual: actual.size,
      actions: actions.length,
    });

    if (this.options.dryRun) {
      const lines = actions.flatMap((a) =>
        a.steps.map((s) => `${a.kind} ${a.server}: ${describeStep(backend, a.server, s, this.options.policy)}`),
      );
      if (lines.join('\n') !== this.lastDryRun) {
        this.lastDryRun = lines.join('\n');
        for (const line of lines) log.info('dry-run.step', { step: line });
      }
      return;
    }
    for (const action of actions) {
      log.info('plan.action', {
        server: action.server,
        action: action.kind,
        reason: action.reason,
        steps: action.steps.map((s) => s.kind),
      });
      const member = action.rollback ? memberOf(action.server) : undefined;
      const abandon = new AbortController();
      if (member !== undefined) this.bringingIn.set(action.server, { member, abandon });
      const context = { ...this.options, clock: this.clock, watcher: this.watcher, listedAt: this.listedAt };
      const run = applyAction({ ...context, signal: this.stopping.signal, abandon: abandon.signal }, action).then((outcome) => {
        this.stats.actions.set(outcome, (this.stats.actions.get(outcome) ?? 0) + 1);
        this.running.delete(action.server);
        this.bringingIn.delete(action.server);
        // Follow-ups (a rejoin during a drain, a failed step) are planned from fresh state. A plain
        // success needs no new pass: with 1,000 joins that would be 1,000 reads of HAProxy's tables.
        const deferred = this.deferred.delete(action.server);
        if (outcome !== 'done' || deferred) this.trigger(`${action.kind} ${action.server} ${outcome}`);
      });
      this.running.set(action.server, run);
    }
    await this.options.persist?.(persisted);
  }

  /**
   * A server still waiting for its first passing check never took traffic: when its member is no
   * longer wanted (it left, failed, or its tags changed), stop waiting and take it out at once
   * rather than at the end of --check-timeout.
   */
  private abandonGone(desired: ReadonlyMap<string, unknown>): void {
    for (const [server, { member, abandon }] of this.bringingIn) {
      if (desired.has(member) || abandon.signal.aborted) continue;
      this.options.log.info('action.abandoned', { server, member, reason: 'member is no longer wanted' });
      abandon.abort();
    }
  }

  /** One log line per rejected member, when first seen or when its reason changes (metrics count those lines). */
  private logRejections(rejections: readonly { member: string; reason: string }[]): void {
    const now = new Map(rejections.map((r) => [r.member, r.reason]));
    for (const [member, reason] of now) {
      if (this.loggedRejections.get(member) !== reason) {
        this.options.log.warn('member.rejected', { member, reason });
      }
    }
    this.loggedRejections = now;
  }
}
