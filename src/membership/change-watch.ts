/**
 * Hears of a membership change as it happens, ahead of Serf's event batch (1 s of quiet, 3 s at most),
 * without asking Serf anything while nothing changes. Serf logs each change to its member list the
 * moment it applies it, and streams its log to an RPC client that asks (`monitor`, at DEBUG):
 * `serf: EventMemberJoin: NAME ADDR` when a member joins (also after an address change),
 * `serf: messageLeaveType: NAME` when a leave intent arrives (the member turns `leaving`), and
 * `serf: EventMemberLeave|EventMemberFailed|EventMemberUpdate|EventMemberReap: …`. An idle cluster
 * logs none of these, so idle the watch costs neither the agent nor its Serf agent anything, where a
 * poll costs both on every tick whatever happens.
 * A matching line is only a prompt to list the members (the list stays the truth, names in the line
 * are never read): the first one lists at once, later ones at most once every `intervalMs`, and one
 * more list follows the last, in case a list was read a moment before Serf applied the change (Serf
 * logs a leave intent just before it marks the member `leaving`: on a busy machine the list can get
 * there first); so that such a leave still goes out in well under `intervalMs`, the first line is
 * also confirmed CONFIRM_MS after it.
 * The lines are Serf's log text, not an interface it promises: if Serf refuses the monitor, the
 * ChangePoller (a poll of `stats` and the leaving members) takes over; Serf's events and the periodic
 * resync stay the safety net either way.
 */
import { systemClock } from '../util/clock.js';
import { ChangePoller, DEFAULT_POLL_MS, type ChangePollerOptions } from './change-poller.js';

/** The log lines of Serf (0.8–0.10, whose delegate logs as `serf:` or `serf-delegate:`) that say the member list changed. */
export const MEMBER_CHANGE_LINE = /\] serf(?:-delegate)?: (?:EventMember(?:Join|Leave|Failed|Update|Reap)|message(?:Join|Leave)Type): /;

/** After the first line of a change, a list this much later catches a change Serf logged just before applying it. */
export const CONFIRM_MS = 10;

/** The level the watch asks Serf's log at: leave intents are logged at DEBUG. */
export const MONITOR_LEVEL = 'DEBUG';

export interface ChangeWatchOptions extends ChangePollerOptions {
  /** Subscribes to Serf's log at `level` (RPC `monitor`); its records must then be given to `take()`. */
  monitor: (level: string) => Promise<void>;
  /** Serf refused the monitor: from then on the poll watches instead. */
  onMonitorUnavailable?: (error: unknown) => void;
}

export class ChangeWatch {
  private running = false;
  private watching = false;
  private poller: ChangePoller | undefined;
  private timer: unknown;
  private confirmTimer: unknown;
  /** A matching line came while the last prompt's interval ran. */
  private pending = false;

  constructor(private readonly options: ChangeWatchOptions) {}

  /** Whether Serf's log is watched (false: not yet, or the poll runs instead). */
  get watchingLog(): boolean {
    return this.watching;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.begin();
  }

  stop(): void {
    this.running = false;
    this.watching = false;
    this.poller?.stop();
    this.poller = undefined;
    const timers = this.options.timers ?? systemClock;
    timers.clearTimeout(this.timer);
    timers.clearTimeout(this.confirmTimer);
    this.timer = undefined;
    this.confirmTimer = undefined;
  }

  /** Takes a record of the connection: true when it is a log line (watched or not), which is not a member event. */
  take(record: unknown): boolean {
    const line = (record as { Log?: unknown } | null | undefined)?.Log;
    if (typeof line !== 'string') return false;
    if (this.watching && MEMBER_CHANGE_LINE.test(line)) this.prompt();
    return true;
  }

  private async begin(): Promise<void> {
    try {
      await this.options.monitor(MONITOR_LEVEL);
      if (this.running) this.watching = true;
    } catch (error) {
      // A lost connection stops the watch before its request rejects: the connection's owner handles it.
      if (!this.running) return;
      this.options.onMonitorUnavailable?.(error);
      this.poller = new ChangePoller(this.options);
      this.poller.start();
    }
  }

  private prompt(): void {
    if (this.timer !== undefined) {
      this.pending = true;
      return;
    }
    this.options.onChange('serf log');
    this.confirmTimer = (this.options.timers ?? systemClock).setTimeout(() => {
      this.confirmTimer = undefined;
      if (this.running) this.options.onChange('serf log confirmed');
    }, CONFIRM_MS);
    this.arm();
  }

  private arm(): void {
    const timers = this.options.timers ?? systemClock;
    this.timer = timers.setTimeout(() => {
      this.timer = undefined;
      if (!this.running) return;
      this.options.onChange('serf log settled');
      if (this.pending) {
        this.pending = false;
        this.arm();
      }
    }, this.options.intervalMs ?? DEFAULT_POLL_MS);
  }
}
