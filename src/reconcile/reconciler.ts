/**
 * The level-triggered loop: on every trigger (member list, HAProxy (re)connected, an action that
 * did not simply succeed, or one a pass had to leave alone) it reads HAProxy, recomputes desired
 * state from the latest member list, plans from scratch and hands the actions to the work queue (work-queue.ts):
 * actions for different servers run concurrently; a server with an action in flight is left alone until it finishes.
 */
import type { Logger } from '../log.js';
import type { Member } from '../membership/member.js';
import type { ServerPolicy } from '../model/server.js';
import { absentServers, DEFAULT_ABSENT_GRACE_MS, goneMembers, memberKey, type AbsentServer } from './absent.js';
import { actualServers, type ActualServer } from './actual.js';
import { applyAction, type ActionOutcome } from './apply.js';
import { desiredServers, type DesiredMemo, type DesiredOptions } from './desired.js';
import { describeStep } from './plan.js';
import { heldStates, judgeHolds, type HeldState } from './holds.js';
import { LedgerStore } from './ledger.js';
import { planForMode, type PlanMode } from './plan-mode.js';
import type { ConfigServer } from '../render/template.js';
import type { RuntimeApi } from './runtime-api.js';
import { ServerWatcher, type Cancel } from './watch.js';
import { WorkQueue, type Turn } from './work-queue.js';
import type { OwnershipCheck } from './ownership.js';
import { systemClock, type Clock } from '../util/clock.js';
import { SerialPass } from '../util/serial-pass.js';

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
  private members: readonly Member[] | undefined;
  private listedAt = 0;
  private readonly work: WorkQueue;
  private readonly clock: Clock;
  private readonly watcher: ServerWatcher;
  private readonly stopping = new AbortController();
  private readonly passes = new SerialPass((reason) => this.pass(reason));
  private loggedRejections = new Map<string, string>();
  private readonly judged: DesiredMemo = new WeakMap();
  private lastDryRun = '';
  private lastUnplaced = '';
  /** When each absent member was first seen missing, and the members seen going: see absent.ts. */
  private readonly absentSince = new Map<string, number>();
  private gone = new Set<string>();
  private absentTimer: unknown;
  /** The config writes asked for: a pass does not wait for them (see pass), `idle` does. */
  private persisting: Promise<unknown> = Promise.resolve();
  /** Resolves once the last pass has asked for its write: each pass asks after the one before. */
  private writeAsked: Promise<void> = Promise.resolve();
  readonly stats: ReconcilerStats = { actions: new Map() };
  private readonly ledger: LedgerStore;

  constructor(private readonly options: ReconcilerOptions) {
    this.clock = options.clock ?? systemClock;
    this.ledger = options.ledger ?? new LedgerStore(undefined);
    this.watcher = new ServerWatcher(options.client, options.backend, this.clock);
    this.work = new WorkQueue(options.concurrency);
  }

  /** The full member list (never a delta): every call replaces the previous one. */
  setMembers(members: readonly Member[], reason: string): void {
    this.members = members;
    this.listedAt = this.clock.now();
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
      const writes = this.persisting;
      await writes;
      // A pass that started meanwhile may have asked for another write.
      if (this.persisting === writes && !this.passes.current && this.work.size === 0) return;
    }
  }

  async close(): Promise<void> {
    this.passes.close();
    this.clock.clearTimeout(this.absentTimer);
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
      // `show servers state` alone: a plan reads nothing of `show stat` (sessions, status), which is ~4× the bytes
      // and fields (1,000 servers: ~80 columns a row); the drain waits read it themselves (watch.ts).
      actual = actualServers(backend, await client.serversState(backend), []);
    } catch (error) {
      log.error('pass.failed', { reason, error });
      return;
    }
    const desired = desiredServers(this.members, this.options.desired, this.judged);
    this.logRejections(desired.rejected);
    this.abandonGone(desired.servers);
    const failed = new Set(this.members.filter((m) => m.status === 'failed').map((m) => m.name));
    const mode = this.options.mode ?? 'dynamic';
    const absent = this.absent(mode, this.members, actual);
    const busy = this.work.busy();
    const held = mode === 'dynamic' ? this.holds(actual, busy) : undefined;
    const options = { busy, failed, absent, held };
    const { actions, persisted, unplaced, memberOf } = planForMode(mode, desired.servers, actual, options);
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
    // What the agent is about to set itself is on disk before it is sent: a restart mid-join resumes it, never holds it.
    if (mode === 'dynamic') await this.recordOwn(actions);
    // The servers whose first commands are not answered yet: the pass's config write waits for them (see below).
    const unanswered = new Set(actions.map((a) => a.server));
    let allAnswered = () => {};
    const answered = unanswered.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => (allAnswered = resolve));
    const firstAnswered = (server: string) => {
      if (unanswered.delete(server) && unanswered.size === 0) allAnswered();
    };
    // One context for the pass's actions; a Cancel to abandon one only for those that bring a member in (1,000 leaves need none).
    const context = {
      ...this.options,
      clock: this.clock,
      watcher: this.watcher,
      listedAt: this.listedAt,
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
      this.work.start(action.server, action.kind, member, run, (outcome, deferred) => {
        this.stats.actions.set(outcome, (this.stats.actions.get(outcome) ?? 0) + 1);
        // Its state is now the one it meant: from here a MAINT or DRAIN is a person's.
        if (outcome === 'done') this.ledger.get(backend).own.delete(action.server);
        // Follow-ups (a rejoin during a drain, a failed step) are planned from fresh state. A plain
        // success needs no new pass: with 1,000 joins that would be 1,000 reads of HAProxy's tables.
        if (outcome !== 'done' || deferred) this.trigger(`${action.kind} ${action.server} ${outcome}`);
      });
    }
    // The file only serves a restarted HAProxy: the next pass never waits for its write (`haproxy -c` and
    // two fsyncs, 0.1–0.3 s on a busy machine), so a change seen meanwhile (a second leave) is acted on at once.
    // Nor do this pass's first answers wait for it: its render and the spawn of `haproxy -c` hold the event loop
    // (3–20 ms on a busy 2-core machine), which left a `state drain` answer unread meanwhile. So the write starts once
    // they are read, and the passes' writes are asked for in their order (the writer renders the latest servers asked).
    // The writer logs its own failures and does not reject; anything else must not go unhandled.
    let write: Promise<unknown> | undefined;
    this.writeAsked = Promise.all([this.writeAsked, answered]).then(() => {
      write = this.options.persist?.(persisted).catch((error: unknown) => this.options.log.error('config.write-failed', { error }));
    });
    this.persisting = Promise.all([this.persisting, this.writeAsked.then(() => write)]);
  }

  /** Reads the holds off this look at HAProxy (see holds.ts), logs those that start or end, and returns them. */
  private holds(actual: ReadonlyMap<string, ActualServer>, busy: ReadonlySet<string>): Map<string, HeldState> {
    const { backend, log } = this.options;
    const { next, started, released } = judgeHolds(actual, this.ledger.get(backend), busy, (this.options.wallNow ?? Date.now)());
    this.ledger.set(backend, next);
    const held = next.holds.size;
    for (const { server, state, since } of started) {
      log.warn('hold.started', { server, state, since: new Date(since).toISOString(), held, release: `ha-agent release ${server}` });
    }
    for (const { server, heldMs, why } of released) log.info('hold.released', { server, heldMs, why, held });
    if (started.length + released.length > 0) void this.saveLedger();
    return heldStates(next);
  }

  /** Records the servers this pass's joins and removals put in MAINT or DRAIN, and waits until that is on disk. */
  private async recordOwn(actions: readonly { server: string; kind: string }[]): Promise<void> {
    const own = this.ledger.get(this.options.backend).own;
    let changed = false;
    for (const { server, kind } of actions) {
      if ((kind === 'join' || kind === 'remove') && own.get(server) !== kind) {
        own.set(server, kind);
        changed = true;
      }
    }
    if (changed) await this.saveLedger();
  }

  /** A failed write is logged: the agent goes on (a restart may then take a server it was bringing in for a hold). */
  private saveLedger(): Promise<void> {
    return this.ledger.save().catch((error: unknown) => this.options.log.error('ledger.write-failed', { error }));
  }

  /**
   * Absent members, with the memory a pure plan lacks: since when each is missing and which were seen
   * going. Logs `member.absent` once per absence, `member.returned` when it ends with the member listed
   * again, and wakes the loop when the first kept server's grace ends.
   */
  private absent(mode: PlanMode, members: readonly Member[], actual: ReadonlyMap<string, ActualServer>): Map<string, AbsentServer> {
    const { log } = this.options;
    const now = this.clock.now();
    const graceMs = this.options.absentGraceMs ?? DEFAULT_ABSENT_GRACE_MS;
    const absent = absentServers(mode, members, actual, { since: this.absentSince, gone: this.gone }, now, graceMs);
    const missing = new Map([...absent].map(([server, a]) => [a.member, { server, ...a }]));
    for (const [member, since] of this.absentSince) {
      if (missing.has(member)) continue;
      this.absentSince.delete(member);
      if (members.some((m) => memberKey(mode, m) === member)) log.info('member.returned', { member, absentMs: Math.round(now - since) });
    }
    for (const [member, { server, hold, reason, until }] of missing) {
      if (this.absentSince.has(member)) continue;
      this.absentSince.set(member, now);
      const kept = { removeInMs: Math.round(until - now), removeEarlier: 'when HAProxy reports it down' };
      log.warn('member.absent', { member, server, action: hold ? 'keep' : 'remove', reason, ...(hold ? kept : {}) });
    }
    this.gone = goneMembers(mode, members, this.gone, absent.values());
    this.clock.clearTimeout(this.absentTimer);
    const next = Math.min(...[...absent.values()].filter((a) => a.hold).map((a) => a.until));
    this.absentTimer = Number.isFinite(next)
      ? this.clock.setTimeout(() => this.trigger('absent member grace ended'), next - now)
      : undefined;
    return absent;
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
