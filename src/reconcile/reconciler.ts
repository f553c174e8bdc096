/**
 * The level-triggered loop: on every trigger (member event, resync, HAProxy (re)connected, an
 * action that did not simply succeed, or one a pass had to leave alone) it reads HAProxy, recomputes desired state from the latest member list, plans
 * from scratch and starts the actions. Actions for different servers run concurrently; a server
 * with an action in flight is left alone until it finishes.
 */
import type { Logger } from '../log.js';
import type { Member } from '../membership/member.js';
import type { ServerPolicy } from '../model/server.js';
import type { RuntimeClient } from '../runtime/client.js';
import { actualServers } from './actual.js';
import { applyAction, type ActionOutcome } from './apply.js';
import { desiredServers, type DesiredOptions } from './desired.js';
import { describeStep, plan, type Action } from './plan.js';
import { planSlots } from './plan-slots.js';
import type { ConfigServer } from '../render/template.js';
import { ServerWatcher } from './watch.js';

export interface ReconcilerOptions {
  client: RuntimeClient;
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
  mode?: 'dynamic' | 'slots';
  /** Called after every pass with the servers the config must list (the config writer). */
  persist?: (servers: ConfigServer[]) => Promise<unknown>;
}

export interface ReconcilerStats {
  /** How each action ended (`handle` exits non-zero when one failed). */
  actions: Map<ActionOutcome, number>;
}

export class Reconciler {
  private members: readonly Member[] | undefined;
  private listedAt = 0;
  private readonly running = new Map<string, Promise<void>>();
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
    this.watcher = new ServerWatcher(options.client, options.backend);
  }

  /** The full member list (never a delta): every call replaces the previous one. */
  setMembers(members: readonly Member[], reason: string): void {
    this.members = members;
    this.listedAt = performance.now();
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
    const failed = new Set(this.members.filter((m) => m.status === 'failed').map((m) => m.name));
    const options = { busy: new Set(this.running.keys()), failed };
    for (const name of options.busy) this.deferred.add(name);
    let actions: Action[];
    let persisted: ConfigServer[];
    if (this.options.mode === 'slots') {
      const slots = planSlots(desired.servers, actual, options);
      actions = slots.actions;
      persisted = slots.layout.map(({ slot, member }) =>
        member ? { ...member, name: slot.name } : { name: slot.name, address: slot.address, port: slot.port, weight: slot.weight, disabled: true },
      );
      if (slots.unplaced.join() !== this.lastUnplaced) {
        this.lastUnplaced = slots.unplaced.join();
        if (slots.unplaced.length > 0) log.warn('slots.full', { members: slots.unplaced, slots: actual.size });
      }
    } else {
      actions = plan(desired.servers, actual, options);
      persisted = [...desired.servers.values()];
    }
    log.debug('pass', { reason, members: this.members.length, desired: desired.servers.size, actual: actual.size, actions: actions.length });

    if (this.options.dryRun) {
      const lines = actions.flatMap((a) => a.steps.map((s) => `${a.kind} ${a.server}: ${describeStep(backend, a.server, s, this.options.policy)}`));
      if (lines.join('\n') !== this.lastDryRun) {
        this.lastDryRun = lines.join('\n');
        for (const line of lines) log.info('dry-run.step', { step: line });
      }
      return;
    }
    for (const action of actions) {
      log.info('plan.action', { server: action.server, action: action.kind, reason: action.reason, steps: action.steps.map((s) => s.kind) });
      const run = applyAction({ ...this.options, watcher: this.watcher, signal: this.stopping.signal, listedAt: this.listedAt }, action).then((outcome) => {
        this.stats.actions.set(outcome, (this.stats.actions.get(outcome) ?? 0) + 1);
        this.running.delete(action.server);
        // Follow-ups (a rejoin during a drain, a failed step) are planned from fresh state. A plain
        // success needs no new pass: with 1,000 joins that would be 1,000 reads of HAProxy's tables.
        const deferred = this.deferred.delete(action.server);
        if (outcome !== 'done' || deferred) this.trigger(`${action.kind} ${action.server} ${outcome}`);
      });
      this.running.set(action.server, run);
    }
    await this.options.persist?.(persisted);
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
