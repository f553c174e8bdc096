/**
 * Spots membership changes before Serf's event batch does. Serf delivers member events only after
 * 1 s of quiet (3 s at most), but its member list shows a join (the push/pull at join) and a leave
 * intent (status `leaving`) within gossip time. Each tick reads two answers that stay small whatever
 * the cluster's size: `stats` (the member clock and the member/failed/left counts move with a join, a
 * left or a failure) and the members whose status is `leaving` (`members-filtered`: empty but during a
 * leave). The full list is read only when one of them moved, so the poll costs almost nothing.
 * The leaving members are read because a leave intent moves the member clock only when the leaver's
 * clock was not behind ours: of two members leaving together, the second's intent usually moves no
 * counter until its `left`, ~0.2–0.4 s later (Serf's queue of intents to re-broadcast grows with it,
 * but gossip often sends it on before the next read).
 * If Serf refuses the leaving read, the poller reads `stats` alone from then on (its owner logs it once).
 * This is only a prompt to list again: events and the periodic resync stay the safety net.
 */
import { z } from 'zod';
import { systemClock, type Timers } from '../util/clock.js';

/** Read often enough that detection stays well under the gossip time a leave takes to arrive. */
export const DEFAULT_POLL_MS = 50;

export interface ChangePollerOptions {
  /** Serf's `stats` answer. */
  readStats: () => Promise<unknown>;
  /** Serf's members whose status is `leaving` (RPC `members-filtered`). */
  readLeaving: () => Promise<unknown>;
  /** A change was seen: list the members again. */
  onChange: (reason: string) => void;
  /** The leaving members could not be read: from then on this poller reads `stats` alone. */
  onLeavingUnavailable?: (error: unknown) => void;
  intervalMs?: number;
  timers?: Timers;
}

const statsSchema = z.object({
  serf: z.object({ member_time: z.string(), members: z.string(), failed: z.string(), left: z.string() }),
});
const leavingSchema = z.array(z.object({ Name: z.string() }));

/**
 * What moves when a member joins, starts leaving, leaves or fails: the member clock, the counts and
 * the names of the leaving members. Any difference between two signatures is a change; undefined
 * when an answer is not Serf's.
 */
export function membershipSignature(stats: unknown, leaving: unknown): string | undefined {
  const counters = statsSchema.safeParse(stats);
  const names = leavingSchema.safeParse(leaving);
  if (!counters.success || !names.success) return undefined;
  const { member_time, members, failed, left } = counters.data.serf;
  return JSON.stringify([member_time, members, failed, left, names.data.map((m) => m.Name).sort()]);
}

export class ChangePoller {
  private timer: unknown;
  private running = false;
  private last: string | undefined;
  /** Set after a change: list once more on the next tick, in case the list was read a moment before Serf applied it. */
  private confirm = false;
  /** Cleared when Serf refuses `members-filtered`: a refused read must not blank every signature. */
  private readLeaving = true;

  constructor(private readonly options: ChangePollerOptions) {}

  /** The first read only sets the baseline: whoever starts the poller lists right after connecting. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.last = undefined;
    this.confirm = false;
    void this.tick();
  }

  stop(): void {
    this.running = false;
    (this.options.timers ?? systemClock).clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async tick(): Promise<void> {
    // Both requests go out at once: one round trip per tick.
    const [stats, leaving] = await Promise.allSettled([
      this.options.readStats(),
      this.readLeaving ? this.options.readLeaving() : Promise.resolve([]),
    ]);
    // A lost connection stops the poller before its reads reject: the connection's owner handles it.
    if (!this.running) return;
    if (leaving.status === 'rejected') {
      // The connection is up, so Serf refused this read: poll the counters alone rather than nothing.
      this.readLeaving = false;
      this.options.onLeavingUnavailable?.(leaving.reason);
    }
    // A failed or foreign stats read changes nothing; so far the leaving members count as none.
    const signature =
      stats.status === 'fulfilled' ? membershipSignature(stats.value, leaving.status === 'fulfilled' ? leaving.value : []) : undefined;
    if (signature !== undefined) {
      if (this.last !== undefined && signature !== this.last) {
        this.options.onChange('serf stats changed');
        this.confirm = true;
      } else if (this.confirm) {
        this.options.onChange('serf stats settled');
        this.confirm = false;
      }
      this.last = signature;
    }
    const timers = this.options.timers ?? systemClock;
    this.timer = timers.setTimeout(() => void this.tick(), this.options.intervalMs ?? DEFAULT_POLL_MS);
  }
}
