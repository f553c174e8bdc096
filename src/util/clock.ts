/** Time as the stateful parts see it: injected, so a unit test drives waits, deadlines and retries with fake time. */

/** The timer functions a stateful part uses. */
export interface Timers {
  setTimeout: (callback: () => void, ms: number) => unknown;
  clearTimeout: (handle: unknown) => void;
}

export interface Clock extends Timers {
  /** Milliseconds on a monotonic clock: for durations and deadlines, not dates. */
  now: () => number;
}

/** The process's own clock. Globals are looked up at call time, so vitest's fake timers apply to it too. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export function sleep(timers: Timers, ms: number): Promise<void> {
  return new Promise((resolve) => timers.setTimeout(resolve, ms));
}

/** One pending wake-up at most: setting it again replaces the one pending. */
export class Alarm {
  private timer: unknown;

  constructor(
    private readonly timers: Timers,
    private readonly ring: () => void,
  ) {}

  /** Rings once in `ms`, and not when it was set to before; undefined: not at all. */
  set(ms: number | undefined): void {
    this.timers.clearTimeout(this.timer);
    this.timer = ms === undefined ? undefined : this.timers.setTimeout(this.ring, ms);
  }
}
