/** A real HTTP server for a test backend: `/health`, `/slow?ms=N`, and `/` naming itself. */
import http from 'node:http';
import { freePort } from './ports.js';

export interface HttpBackend {
  id: string;
  address: string;
  port: number;
  requests: () => number;
  /** Health checks answered so far. */
  healthChecks: () => number;
  close: () => Promise<void>;
}

/** `health`: the status `/health` answers right now (200 unless given). */
export async function startHttpBackend(id: string, address = '127.0.0.1', options: { health?: () => number } = {}): Promise<HttpBackend> {
  const port = await freePort(address);
  let requests = 0;
  let healthChecks = 0;
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://x');
    if (url.pathname === '/health') {
      healthChecks += 1;
      response.statusCode = options.health?.() ?? 200;
      response.end(response.statusCode === 200 ? 'ok' : 'not yet');
      return;
    }
    requests += 1;
    const delay = Number(url.searchParams.get('ms') ?? (url.pathname === '/slow' ? 1000 : 0));
    setTimeout(() => {
      response.setHeader('x-backend', id);
      response.end(JSON.stringify({ id }));
    }, delay);
  });
  await new Promise<void>((resolve) => server.listen(port, address, resolve));
  return {
    id,
    address,
    port,
    requests: () => requests,
    healthChecks: () => healthChecks,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
