/**
 * The checks of a config HAProxy has not booted yet, tried against the servers serving now: one HTTP request
 * to each server HAProxy has UP, with the method and path the new config's check sends, judged by its
 * `http-check expect status` (HAProxy's default without one: 2xx or 3xx). `ha-agent reload` refuses a config
 * whose checks would put every server of a backend DOWN, and `ha-agent run` says what a restart would do.
 * Only an answer counts against a server: one this host cannot reach is not judged (HAProxy may reach it).
 */
import http from 'node:http';
import { declaredChecks, describeHttpCheck, passes, type HttpCheck } from '../model/check.js';
import { endpoint } from '../model/server.js';
import { actualServers } from '../reconcile/actual.js';
import type { ServerStateRow } from '../runtime/parse.js';

export interface ServerProbe {
  server: string;
  endpoint: string;
  /** pass: the check would pass; fail: the server answered, and the check would fail; unreachable: no answer. */
  verdict: 'pass' | 'fail' | 'unreachable';
  /** `404`, or why nothing answered. */
  answer: string;
}

export interface BackendProbe {
  backend: string;
  /** What the new config's check asks (`GET /health expecting status 200`), or why it was not tried. */
  check: string;
  /** The servers HAProxy has UP now, each tried (none when the check cannot be judged here). */
  servers: ServerProbe[];
}

/** HAProxy gives a check `inter` to answer when no `timeout check` is set (the template sets none); at least 1 s here. */
export const probeTimeoutMs = (inter: number): number => Math.max(1000, inter);

/** One request as the check would send it; never rejects. */
export function probeServer(address: string, port: number, check: HttpCheck, timeoutMs: number): Promise<ServerProbe['verdict'] | number> {
  return new Promise((resolve) => {
    const request = http.request(
      { host: address, port, method: check.method, path: check.path, agent: false, timeout: timeoutMs },
      (response) => {
        response.resume();
        request.destroy();
        resolve(response.statusCode ?? 'unreachable');
      },
    );
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', () => resolve('unreachable'));
    request.end();
  });
}

/** Tries `config`'s checks of `backends` on the servers `rows` (show servers state) has UP, all at once. */
export async function probeChecks(
  config: string,
  rows: readonly ServerStateRow[],
  backends: readonly string[],
  timeoutMs: number,
): Promise<BackendProbe[]> {
  const declared = declaredChecks(config);
  return Promise.all(
    backends.map(async (backend): Promise<BackendProbe> => {
      const check = declared.get(backend) ?? { unsupported: 'not in the config' };
      if ('unsupported' in check) return { backend, check: `not tried: ${check.unsupported}`, servers: [] };
      const up = [...actualServers(backend, rows, []).values()].filter((s) => s.running && s.mode !== 'maint');
      const servers = await Promise.all(
        up.map(async (s): Promise<ServerProbe> => {
          const answer = await probeServer(s.address, s.port, check, timeoutMs);
          const verdict = typeof answer === 'string' ? answer : passes(check, answer) ? 'pass' : 'fail';
          return {
            server: s.name,
            endpoint: endpoint(s.address, s.port),
            verdict,
            answer: typeof answer === 'string' ? 'no answer' : String(answer),
          };
        }),
      );
      return { backend, check: describeHttpCheck(check), servers };
    }),
  );
}

/** The backends whose servers UP now would all go DOWN under the new checks (each answered, and each would fail). */
export function backendsLost(probes: readonly BackendProbe[]): BackendProbe[] {
  return probes.filter((p) => p.servers.length > 0 && p.servers.every((s) => s.verdict === 'fail'));
}

/** `nodes: GET /nope expecting status 200 fails on web-1 (127.0.0.2:3000 answered 404), …` */
export function describeProbe(probe: BackendProbe): string {
  const failing = probe.servers.filter((s) => s.verdict === 'fail');
  const list = failing.map((s) => `${s.server} (${s.endpoint} answered ${s.answer})`).join(', ');
  return `${probe.backend}: ${probe.check} fails on ${failing.length} of ${probe.servers.length} servers UP now${list ? `: ${list}` : ''}`;
}
