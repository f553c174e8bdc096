/**
 * Continuous HTTP load from this process, bounded in time by the caller: keep-alive clients and
 * new-connection-per-request clients, each recording every answer (who served it, or the error).
 */
import http from 'node:http';

export interface Outcome {
  at: number;
  ok: boolean;
  status: number;
  by: string;
  error?: string;
  keepAlive: boolean;
}

export interface Load {
  outcomes: Outcome[];
  /** Outcomes since `from` (ms since epoch): totals and failures. */
  window: (from: number, to?: number) => { requests: number; failed: number; errors: string[] };
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
  let running = true;
  const worker = async (reuse: boolean) => {
    const agent = reuse ? new http.Agent({ keepAlive: true, maxSockets: 1 }) : false;
    while (running) {
      try {
        const { status, by } = await request(url, agent);
        outcomes.push({ at: Date.now(), ok: status === 200, status, by, keepAlive: reuse });
      } catch (error) {
        outcomes.push({ at: Date.now(), ok: false, status: 0, by: '', error: (error as Error).message, keepAlive: reuse });
      }
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
    if (agent) agent.destroy();
  };
  const workers = [...Array.from({ length: keepAlive }, () => worker(true)), ...Array.from({ length: newConnection }, () => worker(false))];
  return {
    outcomes,
    window: (from, to = Date.now()) => {
      const inWindow = outcomes.filter((o) => o.at >= from && o.at <= to);
      const failed = inWindow.filter((o) => !o.ok);
      return { requests: inWindow.length, failed: failed.length, errors: [...new Set(failed.map((o) => o.error ?? `HTTP ${o.status}`))] };
    },
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
