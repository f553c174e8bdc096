/**
 * `--metrics ADDR:PORT`: GET /metrics (Prometheus) and GET /healthz (503 while HAProxy or Serf is
 * unreachable, or the HAProxy reached is another deployment's; stale boot settings and services
 * whose backend HAProxy lacks are listed).
 */
import http from 'node:http';
import type { Health } from './observe.js';
import type { Registry } from './registry.js';

export function serveMetrics(bind: string, metrics: Registry, health: Health): Promise<http.Server> {
  const match = /^\[?([^\]]*)\]?:(\d+)$/.exec(bind);
  if (!match) throw new Error(`--metrics: '${bind}' is not ADDR:PORT`);
  const server = http.createServer((request, response) => {
    if (request.url === '/metrics') {
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      response.end(metrics.render());
      return;
    }
    if (request.url === '/healthz') {
      const ok = health.runtime && health.serf && health.foreign === undefined;
      response.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
      const { runtime, serf, foreign, stale, missing, unknown, holds } = health;
      const body = {
        ok,
        runtime,
        serf,
        config: health.configError ?? 'ok',
        ...(foreign ? { foreign } : {}),
        ...(stale ? { stale } : {}),
        ...(missing ? { missing } : {}),
        ...(unknown ? { unknown } : {}),
        ...(holds && Object.keys(holds).length > 0 ? { holds } : {}),
      };
      response.end(`${JSON.stringify(body)}\n`);
      return;
    }
    response.writeHead(404).end();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(match[2]), match[1], () => resolve(server));
  });
}
