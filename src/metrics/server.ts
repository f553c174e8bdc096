/**
 * `--metrics ADDR:PORT`: GET /metrics (Prometheus) and GET /healthz (503 while HAProxy or Serf is
 * unreachable, or the HAProxy reached is another deployment's; stale boot settings and services
 * whose backend HAProxy lacks are listed). New servers whose checks fail make it `degraded`, still 200:
 * the agent works, and neither restarting it nor moving a virtual IP to another balancer (same settings)
 * would help; the reason names the path and HAProxy's answer.
 */
import http from 'node:http';
import type { Health } from './observe.js';
import type { Registry } from './registry.js';

export function serveMetrics(bind: string, metrics: Registry, health: Health): Promise<http.Server> {
  const match = /^\[?([^\]]*)\]?:(\d+)$/.exec(bind);
  if (!match) throw new Error(`--metrics: '${bind}' is not ADDR:PORT`);
  const server = http.createServer((request, response) => {
    const staleSeconds = health.membershipStaleSince === undefined ? 0 : (Date.now() - Date.parse(health.membershipStaleSince)) / 1000;
    if (request.url === '/metrics') {
      metrics.set(
        'ha_agent_membership_stale_seconds',
        'Age of the member list kept while Serf cannot be read (0: the list is current)',
        Math.round(staleSeconds * 10) / 10,
      );
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      response.end(metrics.render());
      return;
    }
    if (request.url === '/healthz') {
      const ok = health.runtime && health.serf && health.foreign === undefined;
      response.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
      const { runtime, serf, foreign, stale, missing, unknown, holds } = health;
      const failing = [...(health.failingChecks ?? new Map<string, string>())].map(([server, why]) => `${server} ${why}`);
      const body = {
        ok,
        status: !ok ? 'failing' : failing.length > 0 ? 'degraded' : 'ok',
        ...(failing.length > 0 ? { checks: failing } : {}),
        runtime,
        serf,
        config: health.configError ?? 'ok',
        ...(foreign ? { foreign } : {}),
        ...(stale ? { stale } : {}),
        ...(missing ? { missing } : {}),
        ...(unknown ? { unknown } : {}),
        ...(holds && Object.keys(holds).length > 0 ? { holds } : {}),
        ...(health.membershipStaleSince === undefined
          ? {}
          : { membership: { stale: true, since: health.membershipStaleSince, seconds: Math.round(staleSeconds) } }),
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
