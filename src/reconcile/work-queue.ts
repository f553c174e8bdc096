/**
 * The agent's work queue: one action per server at a time, and every command of every action through one p-queue,
 * bounded and by priority. The bound is on commands, not on actions: an action spends most of its time waiting
 * (first check, drain), which costs HAProxy nothing, while its commands queue in HAProxy's connection one after the
 * other. The priority puts a leave's or a drain's next command ahead of every join command still queued, so that a
 * burst of 1,000 joins never holds a leave back.
 */
import PQueue from 'p-queue';
import type { ActionKind } from './plan.js';
import { Cancel } from './watch.js';

/**
 * Commands of a backend's actions in flight at once. A burst of the design's size (1,000 leaves) still goes out in one
 * socket write, as HAProxy takes it best: with 64 in flight, each refill waited for an answer and a turn of the event
 * loop, and on a loaded 2-core machine 1,000 drains took 0.4–2.5 s instead of 0.1 s (bench:agent). Beyond the bound
 * (1,000 joins are 2,000 commands) a leave's command goes ahead of every join command still queued.
 */
export const DEFAULT_CONCURRENCY = 1024;

/** Taking servers out first (a leave, a drain), then changes to servers in rotation, then joins. */
const PRIORITY: Record<ActionKind, number> = { remove: 2, update: 1, resume: 1, join: 0 };

/** Sends an action's next command(s) when the queue gives them a turn; resolves with their answer. */
export type Turn = <T>(send: () => Promise<T>) => Promise<T>;

/** One action for one server: what it is, the member it brings in (if any), and what it brings the server to. */
export interface Job {
  server: string;
  kind: ActionKind;
  /** The action brings this member in and can be abandoned (it is given the Cancel to watch). */
  member?: string | undefined;
  /**
   * What the server is to be once the action ends (decide.ts `intentOf`): a pass that finds another for a busy
   * server has the server planned again when its action ends.
   */
  intent: string;
}

interface Work {
  done: Promise<void>;
  intent: string;
  /** The member a join brings in, and what abandons its first-check wait when that member goes. */
  bringingIn?: { member: string; abandon: Cancel };
}

export class WorkQueue {
  private readonly commands: PQueue;
  private readonly work = new Map<string, Work>();
  /** Busy servers a pass wanted to be something else: their state is planned again once their action ends. */
  private readonly deferred = new Set<string>();

  constructor(concurrency = DEFAULT_CONCURRENCY) {
    this.commands = new PQueue({ concurrency });
  }

  /** Servers with an action in flight: a pass plans none of them. */
  busy(): Set<string> {
    return new Set(this.work.keys());
  }

  /**
   * A pass left the busy servers alone: those it wants to be something else than their action brings them to are
   * planned again when their action ends. The others need no pass: in a burst of 1,000 joins, a pass mid-burst
   * made every join still in flight trigger one more as it ended (29–39 passes, each reading HAProxy's table).
   */
  revisit(intentNow: (server: string) => string): void {
    for (const [server, { intent }] of this.work) if (intentNow(server) !== intent) this.deferred.add(server);
  }

  get size(): number {
    return this.work.size;
  }

  /** Runs one action. `ended` is told whether a pass wanted the server to be something else meanwhile (`revisit`). */
  start<T>(
    { server, kind, member, intent }: Job,
    run: (turn: Turn, abandon: Cancel | undefined) => Promise<T>,
    ended: (outcome: T, deferred: boolean) => void,
  ): void {
    if (this.work.has(server)) throw new Error(`bug: a second action for server ${server}`);
    const priority = PRIORITY[kind];
    const turn: Turn = (send) => this.commands.add(send, { priority });
    const bringingIn = member === undefined ? undefined : { member, abandon: new Cancel() };
    const done = run(turn, bringingIn?.abandon).then((outcome) => {
      this.work.delete(server);
      ended(outcome, this.deferred.delete(server));
    });
    this.work.set(server, { done, intent, ...(bringingIn ? { bringingIn } : {}) });
  }

  /** Cancels the first-check wait of each join whose member `wanted` no longer lists; returns those servers and members. */
  abandon(wanted: (member: string) => boolean): Array<{ server: string; member: string }> {
    const abandoned: Array<{ server: string; member: string }> = [];
    for (const [server, { bringingIn }] of this.work) {
      if (!bringingIn || wanted(bringingIn.member) || bringingIn.abandon.cancelled) continue;
      abandoned.push({ server, member: bringingIn.member });
      bringingIn.abandon.cancel();
    }
    return abandoned;
  }

  /** Resolves once no action runs (those started meanwhile included). */
  async idle(): Promise<void> {
    while (this.work.size > 0) await Promise.all([...this.work.values()].map((w) => w.done));
  }
}
