/** A real HTTP server for a test backend: `/health`, `/slow?ms=N`, and `/` naming itself. */
import http from 'node:http';
import { freePort } from './ports.js';

export interface HttpBackend {
  id: string;
  address: string;
  port: number;
  requests: () => number;
  close: () => Promise<void>;
}

export async function startHttpBackend(id: string, address = '127.0.0.1'): Promise<HttpBackend> {
  const port = await freePort(address);
  let requests = 0;
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://x');
    if (url.pathname === '/health') {
      response.end('ok');
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
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

