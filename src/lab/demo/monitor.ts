/** Samples HAProxy twice a second: every server's backend, state and request total, and the process (Pid, start time). */
import { DEFAULT_BACKEND } from '../../model/values.js';
import { RuntimeClient } from '../../runtime/client.js';

export interface ServerSample {
  backend: string;
  name: string;
  status: string;
  total: number;
}

export interface Sample {
  at: number;
  /** `Pid@Start_time_sec`: a new value is a new HAProxy process (reload or restart). */
  process: string | undefined;
  servers: ServerSample[];
}

export class Monitor {
  readonly samples: Sample[] = [];
  private readonly client: RuntimeClient;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    runtimeUrl: string,
    private readonly backends: readonly string[] = [DEFAULT_BACKEND],
    private readonly intervalMs = 500,
  ) {
    this.client = new RuntimeClient({ url: runtimeUrl, heartbeatMs: 0, reconnectStrategy: () => 200 });
  }

  start(): void {
    this.client.start();
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.client.close();
  }

  latest(): Sample | undefined {
    return this.samples.at(-1);
  }

  /** Drops samples older than `before` (ms since epoch), for a view that runs for hours. */
  forget(before: number): void {
    const keep = this.samples.findIndex((s) => s.at >= before);
    this.samples.splice(0, keep < 0 ? this.samples.length : keep);
  }

  /** Requests per second of each server over the last interval. */
  rates(): Map<string, number> {
    const [previous, last] = this.samples.slice(-2);
    const rates = new Map<string, number>();
    if (!previous || !last) return rates;
    const seconds = (last.at - previous.at) / 1000;
    const before = new Map(previous.servers.map((s) => [s.name, s.total]));
    for (const s of last.servers) rates.set(s.name, Math.max(0, (s.total - (before.get(s.name) ?? s.total)) / seconds));
    return rates;
  }

  /** How many new HAProxy processes appeared between two times. */
  newProcesses(from: number, to: number): number {
    let count = 0;
    let previous = [...this.samples].reverse().find((s) => s.at < from && s.process !== undefined)?.process;
    for (const sample of this.samples) {
      if (sample.at < from || sample.at > to || sample.process === undefined) continue;
      if (previous !== undefined && sample.process !== previous) count += 1;
      previous = sample.process;
    }
    return count;
  }

  private async sample(): Promise<void> {
    if (!this.client.connected) {
      this.samples.push({ at: Date.now(), process: undefined, servers: [] });
      return;
    }
    try {
      const [info, ...stats] = await Promise.all([this.client.info(), ...this.backends.map((b) => this.client.stat(b))]);
      this.samples.push({
        at: Date.now(),
        process: `${info.pid}@${info.startTimeSec}`,
        servers: stats.flatMap((stat, i) =>
          stat.map((s) => ({ backend: this.backends[i] as string, name: s.name, status: s.status, total: s.sessionsTotal })),
        ),
      });
    } catch {
      this.samples.push({ at: Date.now(), process: undefined, servers: [] });
    }
  }
}
