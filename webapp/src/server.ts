/**
 * The web application of every `webapp` container (the seed lab's app, in TypeScript, no framework).
 *   GET /          JSON {hello, ip, host, tag, sessionViews, id}; headers x-backend-ip and x-backend;
 *                  a NODESESSID cookie whose session (kept in this process, as in the lab) counts views.
 *                  `?delay=MS` delays this one answer.
 *   POST /delay    {"delay": MS} delays every later answer (to show draining); {"delay": 0} resets.
 *   GET /stream    `?ms=N`: a long-lived response (like a WebSocket or a download) that sends a line every
 *                  250 ms for N ms (at most 60 s), then `done`; header x-backend names the server.
 *   GET /health    200, or 503 once the server is stopping.
 * On SIGTERM it keeps serving for GRACE_MS (default 3000) while /health answers 503, so HAProxy stops
 * sending it new requests; then it stops accepting, closes idle keep-alive connections, and exits once
 * the requests in flight are answered.
 * With MODE=plain it behaves like most apps users bring instead (an Express app with in-memory sessions):
 * no /health route (a 404, as any unknown path: the user passes `--health-path /`), and on SIGTERM or
 * SIGINT it exits at once, dropping whatever is in flight. A mode of the same app rather than a second
 * app, so that both keep the same pages and sessions and differ only in how they leave.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import os from 'node:os';

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '0.0.0.0';
const graceMs = Number(process.env.GRACE_MS ?? 3000);
const plain = process.env.MODE === 'plain';
const tag = process.env.TAG ?? 'Welcome to the Wonderful World of Node.js!';
const name = process.env.SERVER_NAME ?? os.hostname();
const MAX_DELAY_MS = 60_000;

const sessions = new Map<string, number>();
let globalDelayMs = 0;
let stopping = false;
let closing = false;
let inFlight = 0;

function ownAddress(): string {
  if (host !== '0.0.0.0' && host !== '::') return host;
  for (const addresses of Object.values(os.networkInterfaces())) {
    for (const address of addresses ?? []) if (address.family === 'IPv4' && !address.internal) return address.address;
  }
  return '127.0.0.1';
}
const ip = ownAddress();

function sessionOf(request: http.IncomingMessage): string {
  const match = /(?:^|;\s*)NODESESSID=([A-Za-z0-9_-]{16,64})/.exec(request.headers.cookie ?? '');
  return match?.[1] ?? randomBytes(18).toString('base64url');
}

function send(response: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-backend-ip': ip,
    'x-backend': name,
    // Past the grace period, keep-alive connections are closed after their answer.
    ...(closing ? { connection: 'close' } : {}),
  });
  response.end(text);
}

function readBody(request: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString();
      if (body.length > 10_000) request.destroy(new Error('body too large'));
    });
    request.on('end', () => resolve(body));
    request.on('error', reject);
  });
}

async function handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://webapp');
  if (url.pathname === '/health' && !plain) {
    send(response, stopping ? 503 : 200, { status: stopping ? 'stopping' : 'ok' });
    return;
  }
  if (url.pathname === '/delay' && request.method === 'POST') {
    const delay = Number((JSON.parse((await readBody(request)) || '{}') as { delay?: unknown }).delay);
    if (!Number.isInteger(delay) || delay < 0 || delay > MAX_DELAY_MS) {
      send(response, 400, { error: `delay must be a whole number of ms, 0-${MAX_DELAY_MS}` });
      return;
    }
    globalDelayMs = delay;
    send(response, 200, { delay });
    return;
  }
  if (url.pathname === '/stream' && request.method === 'GET') {
    stream(response, Math.min(MAX_DELAY_MS, Number(url.searchParams.get('ms')) || 0));
    return;
  }
  if (url.pathname !== '/' || request.method !== 'GET') {
    send(response, 404, { error: 'not found' });
    return;
  }
  const id = sessionOf(request);
  const views = (sessions.get(id) ?? 0) + 1;
  sessions.set(id, views);
  const delay = Math.min(MAX_DELAY_MS, Number(url.searchParams.get('delay') ?? 0) || 0) + globalDelayMs;
  if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
  response.setHeader('set-cookie', `NODESESSID=${id}; Path=/; HttpOnly`);
  send(response, 200, { hello: 'world!', ip, host: os.hostname(), tag, sessionViews: views, id });
}

function stream(response: http.ServerResponse, ms: number): void {
  response.writeHead(200, { 'content-type': 'text/plain', 'x-backend-ip': ip, 'x-backend': name });
  const ends = Date.now() + ms;
  const timer = setInterval(() => {
    if (Date.now() < ends) {
      response.write('.\n');
      return;
    }
    clearInterval(timer);
    response.end('done\n');
  }, 250);
  response.on('close', () => clearInterval(timer));
}

const server = http.createServer((request, response) => {
  inFlight += 1;
  response.on('close', () => (inFlight -= 1));
  handle(request, response).catch((error: Error) => {
    if (!response.headersSent) send(response, 400, { error: error.message });
  });
});
server.keepAliveTimeout = 5_000;

function log(event: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), event, name, ...fields })}\n`);
}

function stop(signal: string): void {
  if (stopping) return;
  stopping = true;
  if (plain) {
    log('webapp.exiting', { signal, inFlight });
    process.exit(0);
  }
  log('webapp.stopping', { signal, graceMs, inFlight });
  setTimeout(() => {
    closing = true;
    log('webapp.closing', { inFlight });
    server.close(() => {
      log('webapp.stopped');
      process.exit(0);
    });
    server.closeIdleConnections();
    // A client that keeps a connection open without sending anything cannot hold the exit forever.
    setTimeout(() => process.exit(0), 30_000).unref();
  }, graceMs);
}

process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
server.listen(port, host, () => log('webapp.listening', { host, port, ip, mode: plain ? 'plain' : 'graceful' }));
