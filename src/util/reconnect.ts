/**
 * One reconnect loop for every long-lived connection (HAProxy's Runtime API, Serf's RPC): the policy
 * is a function, as node-redis' `reconnectStrategy`, and the timers are injected, so a test drives
 * the loop with fake time and a caller can give up.
 */
import { systemClock, type Timers } from './clock.js';

/** How long to wait before retry number `retries` (0 = the first after a loss), or false to stop trying. */
export type ReconnectStrategy = (retries: number, cause: unknown) => number | false;

/** Capped exponential backoff: 100 ms, 200 ms, 400 ms … up to `maxMs`; never gives up. */
export function cappedBackoff(baseMs = 100, maxMs = 5_000): ReconnectStrategy {
  return (retries) => Math.min(maxMs, baseMs * 2 ** Math.min(retries, 30));
}

export interface ReconnectorOptions {
  /** Opens one connection; resolves once it is usable, rejects when this attempt failed. */
  connect: () => Promise<void>;
  strategy?: ReconnectStrategy | undefined;
  timers?: Timers | undefined;
  /** An attempt failed (`retries` counts the failures since the last success); another follows unless the strategy stops. */
  onFailure?: (error: unknown, retries: number) => void;
  /** The strategy returned false: no further attempt until start() is called again. */
  onGiveUp?: (cause: unknown, retries: number) => void;
}

/**
 * Calls `connect` now (start) and again after every loss or failed attempt, waiting what the strategy
 * says. The owner reports a lost connection with lost(); a successful attempt resets the count.
 */
export class Reconnector {
  private readonly strategy: ReconnectStrategy;
  private readonly timers: Timers;
  private timer: unknown;
  private retries = 0;
  private active = false;

  constructor(private readonly options: ReconnectorOptions) {
    this.strategy = options.strategy ?? cappedBackoff();
    this.timers = options.timers ?? systemClock;
  }

  /** Connects at once, and keeps reconnecting until stop(). */
  start(): void {
    this.active = true;
    this.retries = 0;
    this.schedule(0);
  }

  stop(): void {
    this.active = false;
    this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The connection that was up closed: try again after the strategy's delay. */
  lost(cause: unknown): void {
    this.retry(cause);
  }

  private retry(cause: unknown): void {
    if (!this.active) return;
    const delayMs = this.strategy(this.retries, cause);
    if (delayMs === false) {
      this.active = false;
      this.options.onGiveUp?.(cause, this.retries);
      return;
    }
    this.schedule(delayMs);
  }

  private schedule(delayMs: number): void {
    this.timers.clearTimeout(this.timer);
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      this.options.connect().then(
        () => {
          this.retries = 0;
        },
        (error: unknown) => {
          this.retries += 1;
          if (!this.active) return;
          this.options.onFailure?.(error, this.retries);
          this.retry(error);
        },
      );
    }, delayMs);
  }
}
