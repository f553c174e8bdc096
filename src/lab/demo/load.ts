/**
 * Continuous HTTP load, bounded in time by the caller: keep-alive clients and new-connection-per-
 * request clients, each recording every answer (when, how long, who served it, or the error).
 * A failed request is a connection error, a timeout or any status other than 200.
 */
import http from 'node:http';

export interface Outcome {
  at: number;
  latencyMs: number;
  ok: boolean;
  status: number;
  by: string;
  error?: string;
  keepAlive: boolean;
}

export interface Window {
  requests: number;
  failed: number;
  errors: string[];
  p50: number;
  p99: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

export function summarise(outcomes: readonly Outcome[]): Window {
  const failed = outcomes.filter((o) => !o.ok);
  const latencies = outcomes.map((o) => o.latencyMs).sort((a, b) => a - b);
  return {
    requests: outcomes.length,
    failed: failed.length,
    errors: [...new Set(failed.map((o) => o.error ?? `HTTP ${o.status}`))],
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

export interface Load {
  outcomes: Outcome[];
  /** Outcomes since `from` (ms since epoch): totals and failures. */
  window: (from: number, to?: number) => Window;
  /** Whether every request started before `time` (ms since epoch) has its outcome recorded. */
  answeredBefore: (time: number) => boolean;
  stop: () => Promise<void>;
}

function request(url: string, agent: http.Agent | false, path = '/'): Promise<{ status: number; by: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${url}${path}`, { agent, timeout: 15_000 }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0, by: String(response.headers['x-backend'] ?? '?') }));
      response.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

export function startLoad(url: string, { keepAlive = 4, newConnection = 2, pauseMs = 5 } = {}): Load {
  const outcomes: Outcome[] = [];
  const inFlight = new Set<{ since: number }>();
  let running = true;
  const worker = async (reuse: boolean) => {
    const agent = reuse ? new http.Agent({ keepAlive: true, maxSockets: 1 }) : false;
    while (running) {
      const started = performance.now();
      const pending = { since: Date.now() };
      inFlight.add(pending);
      try {
        const { status, by } = await request(url, agent);
        outcomes.push({ at: Date.now(), latencyMs: performance.now() - started, ok: status === 200, status, by, keepAlive: reuse });
      } catch (error) {
        outcomes.push({ at: Date.now(), latencyMs: performance.now() - started, ok: false, status: 0, by: '', error: (error as Error).message, keepAlive: reuse });
      } finally {
        inFlight.delete(pending);
      }
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
    if (agent) agent.destroy();
  };
  const workers = [...Array.from({ length: keepAlive }, () => worker(true)), ...Array.from({ length: newConnection }, () => worker(false))];
  return {
    outcomes,
    window: (from, to = Date.now()) => summarise(outcomes.filter((o) => o.at >= from && o.at <= to)),
    answeredBefore: (time) => [...inFlight].every((r) => r.since >= time),
    stop: async () => {
      running = false;
      await Promise.all(workers);
    },
  };
}

/** One request, e.g. a slow one: resolves with its status and the server that answered. */
export function once(url: string, path: string): Promise<{ status: number; by: string }> {
  return request(url, false, path);
}
