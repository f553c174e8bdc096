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
