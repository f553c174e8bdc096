/**
 * Runtime API commands as data. Every builder validates its values first and throws
 * RUNTIME_INVALID_ARGUMENT before anything could be sent: HAProxy runs whatever follows a `;`
 * or a newline as another command, so nothing unvalidated is ever interpolated.
 */
import { z } from 'zod';
import { serverPolicySchema, type ServerPolicy } from '../model/server.js';
import { backendName, describeIssues, ipAddress, port, serverName, weight } from '../model/values.js';
import { RuntimeError } from './errors.js';

/** How a command's answer tells success. */
export type Expect =
  | { kind: 'empty' } // set / enable / disable / shutdown answer nothing
  | { kind: 'exact'; text: string } // add → "New server registered.", del → "Server deleted."
  | { kind: 'addr' } // set server addr answers informational text
  | { kind: 'read' } // show … answers a table, or an error text
  | { kind: 'raw' }; // exec: shown verbatim, never judged

export interface Command {
  readonly text: string;
  /** Mutations go through the client's single ordered queue; reads may run concurrently. */
  readonly mutation: boolean;
  readonly expect: Expect;
  /** Prompt mode answers once per `;`-separated command. */
  readonly responses: number;
}

/** HAProxy's buffer is 16 KB minus maxrewrite; a longer single command gets no answer at all. */
export const MAX_COMMAND_BYTES = 15_000;

export type ServerState = 'ready' | 'drain' | 'maint';

const serverRef = z.object({ backend: backendName, server: serverName });
const serverSpec = z.object({ address: ipAddress, port, weight, policy: serverPolicySchema });

/** Everything `add server` sets: HAProxy ignores `default-server` for dynamic servers. */
export interface ServerSpec {
  address: string;
  port: number;
  weight: number;
  policy: ServerPolicy;
}

function valid<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new RuntimeError('RUNTIME_INVALID_ARGUMENT', `refused ${what}: ${describeIssues(parsed.error)}`, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}

function ref(backend: string, server: string, what: string): string {
  const checked = valid(serverRef, { backend, server }, what);
  return `${checked.backend}/${checked.server}`;
}

/** The keywords after the address, identical on `add server` and in the rendered config's `server` lines. */
export function serverKeywords(serverWeight: number, policy: ServerPolicy): string {
  const { check, pool } = policy;
  return `check inter ${check.inter} fastinter ${check.fastinter} downinter ${check.downinter} rise ${check.rise} fall ${check.fall} weight ${serverWeight} pool-max-conn ${pool.maxConn} pool-purge-delay ${pool.purgeDelay}`;
}

/** Brackets keep the port of an IPv6 literal unambiguous; the same form is valid in haproxy.cfg. */
export function endpoint(address: string, portNumber: number): string {
  return address.includes(':') ? `[${address}]:${portNumber}` : `${address}:${portNumber}`;
}

const mutation = (text: string, expect: Expect): Command => ({ text, mutation: true, expect, responses: 1 });
const read = (text: string): Command => ({ text, mutation: false, expect: { kind: 'read' }, responses: 1 });

/** Added servers start in MAINT; never pass `enabled` (it corrupts 2.6's server counts). */
export function addServer(backend: string, server: string, spec: ServerSpec): Command {
  const target = ref(backend, server, 'add server');
  const s = valid(serverSpec, spec, `add server ${target}`);
  return mutation(`add server ${target} ${endpoint(s.address, s.port)} ${serverKeywords(s.weight, s.policy)}`, {
    kind: 'exact',
    text: 'New server registered.',
  });
}

export function enableHealth(backend: string, server: string): Command {
  return mutation(`enable health ${ref(backend, server, 'enable health')}`, { kind: 'empty' });
}

export function setState(backend: string, server: string, state: ServerState): Command {
  const target = ref(backend, server, 'set server state');
  const checked = valid(z.enum(['ready', 'drain', 'maint']), state, `set server ${target} state`);
  return mutation(`set server ${target} state ${checked}`, { kind: 'empty' });
}

export function setWeight(backend: string, server: string, value: number): Command {
  const target = ref(backend, server, 'set server weight');
  return mutation(`set server ${target} weight ${valid(weight, value, `set server ${target} weight`)}`, { kind: 'empty' });
}

/** The answer is informational text, and HAProxy accepts some bad values silently: verify with `show servers state`. */
export function setAddr(backend: string, server: string, address: string, portNumber: number): Command {
  const target = ref(backend, server, 'set server addr');
  const a = valid(ipAddress, address, `set server ${target} addr`);
  const p = valid(port, portNumber, `set server ${target} port`);
  return mutation(`set server ${target} addr ${a} port ${p}`, { kind: 'addr' });
}

export function shutdownSessions(backend: string, server: string): Command {
  return mutation(`shutdown sessions server ${ref(backend, server, 'shutdown sessions')}`, { kind: 'empty' });
}

export function delServer(backend: string, server: string): Command {
  return mutation(`del server ${ref(backend, server, 'del server')}`, { kind: 'exact', text: 'Server deleted.' });
}

/** HAProxy ≥ 2.8: blocks until the server can be deleted, or answers "Failed." after `timeoutMs`. */
export function waitRemovable(backend: string, server: string, timeoutMs: number): Command {
  const target = ref(backend, server, 'wait srv-removable');
  const ms = valid(z.number().int().min(1).max(60_000), timeoutMs, `wait srv-removable ${target}`);
  return mutation(`wait ${ms} srv-removable ${target}`, { kind: 'exact', text: 'Done.' });
}

/** `wait … srv-removable` exists from HAProxy 2.8 (the images run 3.0; bookworm's host package is 2.6). */
export function supportsWaitRemovable(version: string | undefined): boolean {
  const match = /^(\d+)\.(\d+)/.exec(version ?? '');
  if (!match) return false;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  return major > 2 || (major === 2 && minor >= 8);
}

/** Recomputes every server's dynamic cookie (`XXH64(key + IP + port)`): the same values each time. */
export function enableDynamicCookie(backend: string): Command {
  return mutation(`enable dynamic-cookie backend ${valid(backendName, backend, 'enable dynamic-cookie')}`, { kind: 'empty' });
}

/** HAProxy < 3.0 leaves the dynamic cookie of a server added with `add server` empty (fixed in 3.0-dev7, commit 9a0e0d3a1). */
export function computesDynamicCookieOnAdd(version: string | undefined): boolean {
  const match = /^(\d+)\./.exec(version ?? '');
  return match !== null && Number(match[1]) >= 3;
}

export function showServersState(backend?: string): Command {
  return read(backend === undefined ? 'show servers state' : `show servers state ${valid(backendName, backend, 'show servers state')}`);
}

/** Servers only (type 4); `-1` means every proxy. */
export function showStat(backend?: string): Command {
  return read(`show stat ${backend === undefined ? '-1' : valid(backendName, backend, 'show stat')} 4 -1`);
}

export function showInfo(): Command {
  return read('show info');
}

export function showServersConn(backend?: string): Command {
  return read(backend === undefined ? 'show servers conn' : `show servers conn ${valid(backendName, backend, 'show servers conn')}`);
}

/** Splits at unescaped `;` (HAProxy passes `\;` through as a literal `;`). */
export function splitCommands(line: string): string[] {
  return line.split(/(?<!\\);/);
}

/**
 * A raw command line typed by an operator (`ha-agent exec`). CR and LF are refused: they
 * would start commands HAProxy runs without this client expecting their answers.
 */
export function raw(line: string): Command {
  if (/[\r\n]/.test(line)) {
    throw new RuntimeError('RUNTIME_INVALID_ARGUMENT', 'refused a command containing CR or LF; join commands with ";"', {
      command: line,
    });
  }
  const parts = splitCommands(line);
  if (parts.some((part) => part.trim() === '')) {
    throw new RuntimeError('RUNTIME_INVALID_ARGUMENT', 'refused an empty command', { command: line });
  }
  return { text: line, mutation: true, expect: { kind: 'raw' }, responses: parts.length };
}

/** Refuses, before sending, any single command HAProxy would never answer. */
export function assertSendable(command: Command): void {
  for (const part of splitCommands(command.text)) {
    if (Buffer.byteLength(part) > MAX_COMMAND_BYTES) {
      throw new RuntimeError('RUNTIME_COMMAND_TOO_LONG', `refused a ${Buffer.byteLength(part)}-byte command (limit ${MAX_COMMAND_BYTES})`, {
        command: command.text.slice(0, 200),
      });
    }
  }
}
