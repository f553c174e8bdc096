/**
 * The demo's live page, on loopback only: the HTML report's chart, the servers' states and the last
 * runtime commands, re-rendered on the server at every tick and pushed to the browser over
 * server-sent events (no client-side copy of the renderer, no dependency).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { liveFragment, pageStyle, type LiveInput } from './report.js';

/** `HOST:PORT` on a loopback address (127.0.0.0/8, localhost, [::1]); port 0 picks a free one. */
export const loopbackBind = z
  .string()
  .regex(
    /^(127(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}|localhost|\[::1\]):(\d{1,5})$/,
    'must be HOST:PORT with HOST on loopback (127.x.x.x, localhost or [::1])',
  )
  .transform((text) => {
    const at = text.lastIndexOf(':');
    return { host: text.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port: Number(text.slice(at + 1)) };
  })
  .refine((bind) => bind.port <= 65535, 'the port must be 0-65535');

const page = (title: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>${pageStyle}.cols{display:flex;gap:3em}ul{padding-left:1.2em}code{font-size:12px}#conn{color:#888}</style>
</head><body>
<h1>${title} <small id="conn">connecting…</small></h1>
<div id="live"></div>
<script src="live.js"></script>
</body></html>
`;

// Served as a file so that the page's Content-Security-Policy can forbid inline scripts.
const script = `const live = document.getElementById('live');
const conn = document.getElementById('conn');
const events = new EventSource('events');
events.onopen = () => { conn.textContent = 'live'; };
events.onerror = () => { conn.textContent = 'disconnected'; };
events.onmessage = (message) => {
  const update = JSON.parse(message.data);
  live.innerHTML = update.html;
  if (update.done) { events.close(); conn.textContent = 'finished'; }
};
`;

const security = {
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'",
};

export class LivePage {
  private readonly clients = new Set<http.ServerResponse>();
  private latest: LiveInput | undefined;

  private constructor(
    private readonly server: http.Server,
    private readonly title: string,
  ) {}

  /** Listens on `bind` (see loopbackBind). */
  static async listen(bind: string, title = 'ha-agent demo, live'): Promise<LivePage> {
    const { host, port } = loopbackBind.parse(bind);
    const server = http.createServer();
    const live = new LivePage(server, title);
    server.on('request', (request, response) => live.handle(request, response));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return live;
  }

  get url(): string {
    const { address, port } = this.server.address() as AddressInfo;
    return `http://${address.includes(':') ? `[${address}]` : address}:${port}/`;
  }

  /** How many browsers follow the page now. */
  get watchers(): number {
    return this.clients.size;
  }

  /** The state to show now; rendered only when a browser is watching. */
  update(input: LiveInput): void {
    this.latest = input;
    if (this.clients.size > 0) this.push(input);
  }

  /** Shows the run's results and tells the browsers the stream is over. */
  finish(done: NonNullable<LiveInput['done']>): void {
    if (!this.latest) return;
    this.latest = { ...this.latest, done };
    this.push(this.latest);
  }

  async close(): Promise<void> {
    for (const client of this.clients) client.end();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private push(input: LiveInput): void {
    const event = LivePage.event(input);
    // A browser that does not keep up skips frames rather than making the server buffer them.
    for (const client of this.clients) if (client.writableNeedDrain === false) client.write(event);
  }

  private static event(input: LiveInput): string {
    return `data: ${JSON.stringify({ html: liveFragment(input), done: input.done !== undefined })}\n\n`;
  }

  private handle(request: http.IncomingMessage, response: http.ServerResponse): void {
    // A page elsewhere may not read this one through a DNS name rebound to loopback.
    const { port } = this.server.address() as AddressInfo;
    const hostOk = new RegExp(`^(127(\\.\\d{1,3}){3}|localhost|\\[::1\\]):${port}$`).test(request.headers.host ?? '');
    if (!hostOk || request.method !== 'GET') {
      response.writeHead(hostOk ? 405 : 421, security).end();
      return;
    }
    switch (request.url) {
      case '/':
        response.writeHead(200, { ...security, 'content-type': 'text/html; charset=utf-8' }).end(page(this.title));
        return;
      case '/live.js':
        response.writeHead(200, { ...security, 'content-type': 'text/javascript; charset=utf-8' }).end(script);
        return;
      case '/events':
        response.writeHead(200, { ...security, 'content-type': 'text/event-stream', connection: 'keep-alive' });
        this.clients.add(response);
        response.on('close', () => this.clients.delete(response));
        if (this.latest) response.write(LivePage.event(this.latest));
        return;
      default:
        response.writeHead(404, security).end();
    }
  }
}
