/**
 * Waits on conditions over one backend's servers. While anyone waits, one poller reads the
 * backend's tables and serves every waiter from that read, so 200 concurrent joins cost one read
 * per tick, not 200. `show stat` (sessions, ~230 bytes a server) is read only while someone waits
 * for a drain; check results come from the smaller `show servers state`.
 */
import { systemClock, type Clock } from '../util/clock.js';
import { actualServers, type ActualServer } from './actual.js';
import type { RuntimeApi } from './runtime-api.js';

interface Waiter {
  server: string;
  needsSessions: boolean;
  until: (server: ActualServer | undefined) => boolean;
  deadline: number;
  resolve: (met: boolean) => void;
}

/**
 * Ends waits early, once (the member of a server still waiting for its first check left). What an AbortController
 * would do for a wait, without an EventTarget per join: 1,000 joins made 1,000 of them (~40 ms of CPU in a profile).
 */
export class Cancel {
  private wakers: Array<() => void> | undefined = [];

  get cancelled(): boolean {
    return this.wakers === undefined;
  }

  cancel(): void {
    const wakers = this.wakers;
    this.wakers = undefined;
    for (const wake of wakers ?? []) wake();
  }

  /** Runs `wake` once when cancelled (at once if it already is). */
  onCancel(wake: () => void): void {
    if (this.wakers) this.wakers.push(wake);
    else wake();
  }
}

export class ServerWatcher {
  private readonly waiters = new Set<Waiter>();
  private timer: unknown;

  constructor(
    private readonly client: Pick<RuntimeApi, 'serversState' | 'stat'>,
    private readonly backend: string,
    private readonly clock: Clock = systemClock,
    // Short: a joining server waits on this poll between its first passing check and `state ready`.
    private readonly intervalMs = 25,
  ) {}

  /**
   * Resolves true once `until` holds for the server, false when `timeoutMs` passes first.
   * `needsSessions`: `until` reads sessions and queue (drains), so `show stat` must be read too.
   * `cancel`: ends the wait at once with false (the reason to wait is gone).
   */
  waitFor(
    server: string,
    until: (server: ActualServer | undefined) => boolean,
    timeoutMs: number,
    { needsSessions = false, cancel }: { needsSessions?: boolean; cancel?: Cancel | undefined } = {},
  ): Promise<boolean> {
    if (cancel?.cancelled) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter: Waiter = { server, needsSessions, until, deadline: this.clock.now() + timeoutMs, resolve };
      this.waiters.add(waiter);
      cancel?.onCancel(() => this.waiters.delete(waiter) && resolve(false));
      this.timer ??= this.clock.setTimeout(() => void this.poll(), 0);
    });
  }

  /** Wakes every waiter with false (shutdown). */
  cancelAll(): void {
    for (const waiter of this.waiters) waiter.resolve(false);
    this.waiters.clear();
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async poll(): Promise<void> {
    let servers: Map<string, ActualServer> | undefined;
    // Judged on this read: the waiters it was made for. One that came while it was in flight has no row (or no
    // sessions) in it, and a missing server reads as drained: it waits for the next tick.
    const list = [...this.waiters];
    const polled = new Set(list);
    try {
      const sessions = list.some((waiter) => waiter.needsSessions);
      // Only the rows of the servers waited on are parsed: 1,000 joining servers wait a while for their first
      // checks, and fewer and fewer of them are still waiting.
      const names = new Set(list.map((waiter) => waiter.server));
      const [state, stat] = await Promise.all([
        this.client.serversState(this.backend, names),
        sessions ? this.client.stat(this.backend, names) : [],
      ]);
      servers = actualServers(this.backend, state, stat);
    } catch {
      // HAProxy unreachable for this tick: waiters keep waiting until their deadline.
    }
    const now = this.clock.now();
    for (const waiter of this.waiters) {
      const met = servers !== undefined && polled.has(waiter) && waiter.until(servers.get(waiter.server));
      if (met || now >= waiter.deadline) {
        this.waiters.delete(waiter);
        waiter.resolve(met);
      }
    }
    this.timer = this.waiters.size > 0 ? this.clock.setTimeout(() => void this.poll(), this.intervalMs) : undefined;
  }
}
