/**
 * Continuous HTTP load, bounded in time by the caller: keep-alive clients, new-connection-per-request
 * clients and sticky users (keep-alive, each with its own cookie jar, like a browser), each recording
 * every answer (when, how long, who served it, or the error; a user's answer also its `sessionViews`).
 * Other clients may send their requests with another Host header, for another service.
 * A failed request is a connection error, a timeout or any status other than 200.
 */
import http from 'node:http';
import type { Sample } from './monitor.js';

/**
 * The demo's services: `web`, the default backend's web servers (any Host), and, with `--apis N`, `api`,
 * the second service's backend (members tagged service=api, reached with `Host: api.localhost`).
 */
export type DemoService = 'web' | 'api';

export interface Outcome {
  at: number;
  latencyMs: number;
  ok: boolean;
  status: number;
  by: string;
  error?: string;
  keepAlive: boolean;
  /** The service the request was for (its Host header); none: the default one, `web`. */
  service?: DemoService;
  /** A sticky user's number and the web app's count of its session's views. */
  user?: number;
  views?: number;
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

/** Sticky users in a window: those who sent a request, and those whose session started again (`sessionViews` did not grow). */
export interface Sessions {
  users: number;
  kept: number;
  renewed: number;
  /** The server each renewed user had before, once per renewal. */
  movedFrom: string[];
}

/** Users' sessions between `from` and `to` (ms since epoch), each compared with the user's last answer before. */
export function sessionsIn(outcomes: readonly Outcome[], from: number, to: number): Sessions {
  const last = new Map<number, { views: number; by: string }>();
  const active = new Set<number>();
  const renewed = new Set<number>();
  const movedFrom: string[] = [];
  for (const o of outcomes) {
    if (o.user === undefined || o.views === undefined || !o.ok || o.at > to) continue;
    const previous = last.get(o.user);
    last.set(o.user, { views: o.views, by: o.by });
    if (o.at < from) continue;
    active.add(o.user);
    if (previous && o.views <= previous.views) {
      renewed.add(o.user);
      movedFrom.push(previous.by);
    }
  }
  return { users: active.size, kept: active.size - renewed.size, renewed: renewed.size, movedFrom };
}

/** One service's requests in a phase, and its backend's servers in HAProxy at the phase's end. */
export interface ServiceWindow extends Window {
  service: DemoService;
  backend: string;
  servers: number;
  /** Answered by a server HAProxy lists in another service's backend (never in this one's). */
  misrouted: number;
}

/**
 * Each service's requests between `from` and `to`: a request is misrouted when the server that answered it
 * (its `x-backend`) is one HAProxy listed, in `samples`, under another backend and never under its service's.
 */
export function serviceWindows(
  outcomes: readonly Outcome[],
  samples: readonly Sample[],
  backends: ReadonlyMap<DemoService, string>,
  from: number,
  to: number,
): ServiceWindow[] {
  const seenIn = new Map<string, Set<string>>();
  for (const sample of samples)
    for (const s of sample.servers) seenIn.set(s.name, (seenIn.get(s.name) ?? new Set<string>()).add(s.backend));
  const last = [...samples].reverse().find((s) => s.at <= to && s.process !== undefined);
  return [...backends].map(([service, backend]) => {
    const mine = outcomes.filter((o) => (o.service ?? 'web') === service && o.at >= from && o.at <= to);
    const misrouted = mine.filter((o) => {
      const where = seenIn.get(o.by);
      return o.ok && where !== undefined && !where.has(backend);
    }).length;
    const servers = last?.servers.filter((s) => s.backend === backend).length ?? 0;
    return { service, backend, servers, ...summarise(mine), misrouted };
  });
}

export interface Load {
  outcomes: Outcome[];
  /** Outcomes since `from` (ms since epoch): totals and failures. */
  window: (from: number, to?: number) => Window;
  sessions: (from: number, to?: number) => Sessions;
  /** Whether every request started before `time` (ms since epoch) has its outcome recorded. */
  answeredBefore: (time: number) => boolean;
  stop: () => Promise<void>;
}

interface Answer {
  status: number;
  by: string;
  cookies: string[];
  body: string;
}

function request(url: string, agent: http.Agent | false, path = '/', cookie = '', host?: string): Promise<Answer> {
  const headers = { ...(cookie ? { cookie } : {}), ...(host ? { host } : {}) };
  return new Promise((resolve, reject) => {
    const req = http.get(`${url}${path}`, { agent, timeout: 15_000, headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          by: String(response.headers['x-backend'] ?? '?'),
          cookies: response.headers['set-cookie'] ?? [],
          body,
        }),
      );
      response.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** A browser's cookie jar, as much as the lab needs: `name=value` pairs; an empty or expired cookie is removed. */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  store(setCookies: readonly string[], now = Date.now()): void {
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';');
      const at = pair.indexOf('=');
      if (at <= 0) continue;
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      const expires = attributes.map((a) => /^\s*expires=(.*)$/i.exec(a)?.[1]).find((e) => e !== undefined);
      if (value === '' || (expires !== undefined && Date.parse(expires) <= now)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

const viewsOf = (body: string): number | undefined => {
  try {
    const views = (JSON.parse(body) as { sessionViews?: unknown }).sessionViews;
    return typeof views === 'number' ? views : undefined;
  } catch {
    return undefined;
  }
};

/** Requests for another service than the URL's default: its Host header, and how many clients send them. */
export interface LoadTarget {
  service: DemoService;
  host: string;
  keepAlive: number;
  newConnection: number;
}

/**
 * `stickyUsers` users at any time; with `visitMs`, each visit ends after that long and a new user (an
 * empty cookie jar, the next number) takes its place, so that users spread over servers that joined.
 */
export function startLoad(
  url: string,
  { keepAlive = 4, newConnection = 2, stickyUsers = 0, visitMs = Infinity, pauseMs = 5, others = [] as readonly LoadTarget[] } = {},
): Load {
  const outcomes: Outcome[] = [];
  const inFlight = new Set<{ since: number }>();
  let running = true;
  let nextUser = 0;
  const worker = async (reuse: boolean, sticky: boolean, target?: LoadTarget) => {
    const aimed = target ? { service: target.service } : {};
    const agent = reuse ? new http.Agent({ keepAlive: true, maxSockets: 1 }) : false;
    let jar: CookieJar | undefined;
    let who = {};
    let visitStarted = 0;
    while (running) {
      if (sticky && (!jar || Date.now() - visitStarted >= visitMs)) {
        jar = new CookieJar();
        who = { user: nextUser++ };
        visitStarted = Date.now();
      }
      const started = performance.now();
      const pending = { since: Date.now() };
      inFlight.add(pending);
      try {
        const { status, by, cookies, body } = await request(url, agent, '/', jar?.header(), target?.host);
        jar?.store(cookies);
        const views = jar && status === 200 ? viewsOf(body) : undefined;
        const ok = status === 200;
        outcomes.push({
          at: Date.now(),
          latencyMs: performance.now() - started,
          ok,
          status,
          by,
          keepAlive: reuse,
          ...aimed,
          ...who,
          ...(views === undefined ? {} : { views }),
        });
      } catch (error) {
        const message = (error as Error).message;
        outcomes.push({
          at: Date.now(),
          latencyMs: performance.now() - started,
          ok: false,
          status: 0,
          by: '',
          error: message,
          keepAlive: reuse,
          ...aimed,
          ...who,
        });
      } finally {
        inFlight.delete(pending);
      }
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
    if (agent) agent.destroy();
  };
  const workers = [
    ...Array.from({ length: keepAlive }, () => worker(true, false)),
    ...Array.from({ length: newConnection }, () => worker(false, false)),
    ...Array.from({ length: stickyUsers }, () => worker(true, true)),
    ...others.flatMap((target) => [
      ...Array.from({ length: target.keepAlive }, () => worker(true, false, target)),
      ...Array.from({ length: target.newConnection }, () => worker(false, false, target)),
    ]),
  ];
  return {
    outcomes,
    window: (from, to = Date.now()) => summarise(outcomes.filter((o) => o.at >= from && o.at <= to)),
    sessions: (from, to = Date.now()) => sessionsIn(outcomes, from, to),
    answeredBefore: (time) => [...inFlight].every((r) => r.since >= time),
    stop: async () => {
      running = false;
      await Promise.all(workers);
    },
  };
}

/** One request, e.g. a slow one: resolves with its status and the server that answered. */
export async function once(url: string, path: string): Promise<{ status: number; by: string }> {
  const { status, by } = await request(url, false, path);
  return { status, by };
}

export interface Stream {
  /** The server that answered (its `x-backend` header), known as soon as the headers arrive; '' when the request failed. */
  by: string;
  /** Resolves true when the response ran its full length (200, ending in `done`), false when it was cut. */
  done: Promise<boolean>;
}

/** A long-lived response (the web app's `/stream`, like a WebSocket or a download) on a connection of its own. */
export function openStream(url: string, ms: number): Promise<Stream> {
  return new Promise((resolve) => {
    const req = http.get(`${url}/stream?ms=${ms}`, { agent: false }, (response) => {
      let tail = '';
      const done = new Promise<boolean>((finish) => {
        response.on('data', (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-16)));
        response.on('end', () => finish(response.statusCode === 200 && tail.endsWith('done\n')));
        response.on('error', () => finish(false));
        response.on('aborted', () => finish(false));
      });
      resolve({ by: String(response.headers['x-backend'] ?? '?'), done });
    });
    req.on('error', () => resolve({ by: '', done: Promise.resolve(false) }));
  });
}
