/**
 * Spots membership changes before Serf's event batch does. Serf delivers member events only after
 * 1 s of quiet (3 s at most), but its member list shows a join (the push/pull at join) and a leave
 * intent (status `leaving`) within gossip time. The RPC `stats` answer is small and fixed-size
 * whatever the cluster's size, and what moves in it with every such change is read often; the
 * members are listed again only when it moved, so the poll costs almost nothing.
 * A leave intent moves the member clock only when the leaver's clock was not behind ours: of two
 * members leaving together, the second's intent usually moves neither the clock nor a count (until
 * its `left`, ~0.2–0.4 s later). Every intent new to this agent is queued for re-broadcast, though,
 * so the intent queue grows with it; it shrinks again as gossip sends them on, which is no change.
 * This is only a prompt to list again: events and the periodic resync stay the safety net.
 */
import { z } from 'zod';
import { systemClock, type Timers } from '../util/clock.js';

/** Read often enough that detection stays well under the gossip time a leave takes to arrive. */
export const DEFAULT_POLL_MS = 50;

export interface ChangePollerOptions {
  /** Serf's `stats` answer. */
  readStats: () => Promise<unknown>;
  /** A change was seen: list the members again. */
  onChange: (reason: string) => void;
  intervalMs?: number;
  timers?: Timers;
}

const statsSchema = z.object({
  serf: z.object({
    member_time: z.string(),
    members: z.string(),
    failed: z.string(),
    left: z.string(),
    // Optional: without it the clock and counts alone still catch most changes.
    intent_queue: z.string().regex(/^\d+$/).optional(),
  }),
});

/** What moves when a member joins, starts leaving, leaves or fails; undefined when the answer is not Serf's. */
export interface MembershipSignature {
  /** The member clock and the member/failed/left counts: any change counts. */
  counters: string;
  /** Intents queued for re-broadcast: only growth counts (the queue also shrinks as gossip sends them on). */
  intents: number;
}

export function membershipSignature(stats: unknown): MembershipSignature | undefined {
  const parsed = statsSchema.safeParse(stats);
  if (!parsed.success) return undefined;
  const { member_time, members, failed, left, intent_queue = '0' } = parsed.data.serf;
  return { counters: `${member_time}/${members}/${failed}/${left}`, intents: Number(intent_queue) };
}

/** A new signature shows a membership change since the last one. */
export function membershipMoved(last: MembershipSignature, now: MembershipSignature): boolean {
  return now.counters !== last.counters || now.intents > last.intents;
}

export class ChangePoller {
  private timer: unknown;
  private running = false;
  private last: MembershipSignature | undefined;
  /** Set after a change: list once more on the next tick, in case the list was read a moment before Serf applied it. */
  private confirm = false;

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
    let signature: MembershipSignature | undefined;
    try {
      signature = membershipSignature(await this.options.readStats());
    } catch {
      // A failed read changes nothing: the connection's owner handles a lost connection.
    }
    if (!this.running) return;
    if (signature !== undefined) {
      if (this.last !== undefined && membershipMoved(this.last, signature)) {
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
