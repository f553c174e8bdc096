/**
 * Runtime API commands as data. Every builder validates its values first and throws
 * RUNTIME_INVALID_ARGUMENT before anything could be sent: HAProxy runs whatever follows a `;`
 * or a newline as another command, so nothing unvalidated is ever interpolated.
 */
import { z } from 'zod';
import { endpoint, serverKeywords, serverPolicySchema, serverStates, type ServerPolicy, type ServerState } from '../model/server.js';
import { backendName, describeIssues, ipAddress, port, serverName, weight } from '../model/values.js';
import { RuntimeError } from './errors.js';
import { defaultServerPolicy } from '../model/server.js';

/** How a command's answer tells success (`checkAnswer` judges it into a RuntimeError code). */
export type Expect =
  | { kind: 'empty' } // set / enable / disable / shutdown answer nothing
  | { kind: 'exact'; text: string } // add → "New server registered.", del → "Server deleted."
  | { kind: 'addr' } // set server addr answers informational text
  | { kind: 'read'; starts?: string } // show … answers a table (starting with `starts` when given), or an error text
  | { kind: 'raw' }; // exec: shown verbatim, never judged

/** One Runtime API command as data: build it with a builder here, send it with `RuntimeClient.run`. */
export interface Command {
  /** The exact line sent, without its newline. */
  readonly text: string;
  /** Changes HAProxy's state (a read does not): the unit tests' fake HAProxy answers reads elsewhere. */
  readonly mutation: boolean;
  readonly expect: Expect;
  /** Prompt mode answers once per `;`-separated command. */
  readonly responses: number;
}

/** HAProxy's buffer is 16 KB minus maxrewrite; a longer single command gets no answer at all. */
export const MAX_COMMAND_BYTES = 15_000;

// Schemas are built once: building one per command was a large share of 1,000 joins' CPU.
const serverRef = z.object({ backend: backendName, server: serverName });
const stateSchema = z.enum(serverStates);
const healthSchema = z.enum(['up', 'stopping', 'down']);
const agentSchema = z.enum(['up', 'down']);
const removableWaitMs = z.number().int().min(1).max(60_000);
const serverEndpoint = z.object({ address: ipAddress, port });
const serverSettings = z.object({ weight, policy: serverPolicySchema });

/** Everything `add server` sets: HAProxy ignores `default-server` for dynamic servers. */
export interface ServerSpec {
  /** An IPv4 or IPv6 literal: HAProxy would take a hostname as an FQDN it never resolves. */
  address: string;
  port: number;
  /** 0-256. */
  weight: number;
  /** Health-check and connection-pool settings; `defaultServerPolicy` when left out. */
  policy?: ServerPolicy;
}

/** Parses `value` with `schema`, or throws RUNTIME_INVALID_ARGUMENT naming `what`. */
export function valid<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new RuntimeError('RUNTIME_INVALID_ARGUMENT', `refused ${what}: ${describeIssues(parsed.error)}`, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}

/** Tab, and everything from space up but DEL. */
const printable = (text: string): boolean => [...text].every((c) => c === '\t' || (c >= ' ' && c !== '\x7f'));

/**
 * One CLI word holding any printable text. HAProxy's CLI splits a line at `;` and words at spaces
 * and tabs, and takes a backslash as "the next character is literal": so `\`, `;`, space and tab
 * are escaped with a backslash. A line break cannot be escaped (it ends the command), so CR, LF and
 * every other control character are refused, as is the empty string (no word can express it).
 */
const cliWordSchema = z.string().min(1, 'must not be empty').refine(printable, 'must not contain CR, LF or other control characters');

export function cliWord(value: string, what: string): string {
  const checked = valid(cliWordSchema, value, what);
  return checked.replace(/[\\; \t]/g, (c) => `\\${c}`);
}

/**
 * `backend/server` pairs already validated, by backend: a server's commands (add, enable health, state changes, del)
 * name the same pair, and 1,000 joins and leaves send ~7,000 of them. Bounded: emptied when it grows past
 * REF_MEMO_SIZE pairs (a fresh check costs a zod parse, nothing else).
 */
const validRefs = new Set<string>();
const REF_MEMO_SIZE = 20_000;

/** Adds a validated text to a bounded memo: emptied when it reaches REF_MEMO_SIZE. */
function remember(memo: Set<string>, text: string): string {
  if (memo.size >= REF_MEMO_SIZE) memo.clear();
  memo.add(text);
  return text;
}

function ref(backend: string, server: string, what: string): string {
  const text = `${backend}/${server}`;
  if (validRefs.has(text)) return text;
  // Neither name may hold a '/' (both are `^[A-Za-z0-9_.-]+$`, which zod checks without changing them), so the
  // joined text names one pair only.
  valid(serverRef, { backend, server }, what);
  return remember(validRefs, text);
}

/**
 * The keyword texts of `add server` already made from valid settings (weight and policy): an agent has one policy and
 * a few weights, and validating the policy on each of 1,000 adds was most of their zod cost. Keyed by the text
 * itself, the only thing sent, so settings that make the same text are as safe; bounded like validRefs.
 */
const validKeywords = new Set<string>();

function keywords(serverWeight: number, policy: ServerPolicy, what: string): string {
  let text: string | undefined;
  try {
    text = serverKeywords(serverWeight, policy);
  } catch {
    // Not a policy's shape: the validation below says what is wrong.
  }
  if (text !== undefined && validKeywords.has(text)) return text;
  const checked = valid(serverSettings, { weight: serverWeight, policy }, what);
  return remember(validKeywords, serverKeywords(checked.weight, checked.policy));
}

const mutation = (text: string, expect: Expect): Command => ({ text, mutation: true, expect, responses: 1 });
const read = (text: string): Command => ({ text, mutation: false, expect: { kind: 'read' }, responses: 1 });

/**
 * `add server`: the server starts in MAINT with its check configured but not running; follow with
 * {@link enableHealth}, wait for a passing check, then `setState(…, 'ready')`. Never passes `enabled`
 * (it corrupts 2.6's server counts).
 */
export function addServer(backend: string, server: string, spec: ServerSpec): Command {
  const target = ref(backend, server, 'add server');
  const where = valid(serverEndpoint, { address: spec.address, port: spec.port }, `add server ${target}`);
  const settings = keywords(spec.weight, spec.policy ?? defaultServerPolicy, `add server ${target}`);
  return mutation(`add server ${target} ${endpoint(where.address, where.port)} ${settings}`, {
    kind: 'exact',
    text: 'New server registered.',
  });
}

/** Starts the configured health check (it runs even while the server is in MAINT). */
export function enableHealth(backend: string, server: string): Command {
  return mutation(`enable health ${ref(backend, server, 'enable health')}`, { kind: 'empty' });
}

export function disableHealth(backend: string, server: string): Command {
  return mutation(`disable health ${ref(backend, server, 'disable health')}`, { kind: 'empty' });
}

/** Starts the agent check of a server added with `agent-check`; RUNTIME_AGENT_NOT_CONFIGURED otherwise. */
export function enableAgent(backend: string, server: string): Command {
  return mutation(`enable agent ${ref(backend, server, 'enable agent')}`, { kind: 'empty' });
}

/** Stops the agent check: do this before maint/del, as an agent answering `ready` lifts a CLI-set MAINT. */
export function disableAgent(backend: string, server: string): Command {
  return mutation(`disable agent ${ref(backend, server, 'disable agent')}`, { kind: 'empty' });
}

/** Where the agent check connects; needs the agent enabled (RUNTIME_AGENT_NOT_ENABLED). IP literals only. */
export function setAgentAddr(backend: string, server: string, address: string, portNumber?: number): Command {
  const target = ref(backend, server, 'set server agent-addr');
  const a = valid(ipAddress, address, `set server ${target} agent-addr`);
  const p = portNumber === undefined ? '' : ` port ${valid(port, portNumber, `set server ${target} agent-addr port`)}`;
  return mutation(`set server ${target} agent-addr ${a}${p}`, { kind: 'empty' });
}

/** The agent check's port; needs the agent enabled (RUNTIME_AGENT_NOT_ENABLED). */
export function setAgentPort(backend: string, server: string, portNumber: number): Command {
  const target = ref(backend, server, 'set server agent-port');
  return mutation(`set server ${target} agent-port ${valid(port, portNumber, `set server ${target} agent-port`)}`, { kind: 'empty' });
}

/** The text the agent check sends; printable characters only, escaped for the CLI (see `cliWord`). */
export function setAgentSend(backend: string, server: string, text: string): Command {
  const target = ref(backend, server, 'set server agent-send');
  return mutation(`set server ${target} agent-send ${cliWord(text, `set server ${target} agent-send`)}`, { kind: 'empty' });
}

/** Forces the health-check state until the next check says otherwise. */
export function setHealth(backend: string, server: string, health: 'up' | 'stopping' | 'down'): Command {
  const target = ref(backend, server, 'set server health');
  return mutation(`set server ${target} health ${valid(healthSchema, health, `set server ${target} health`)}`, {
    kind: 'empty',
  });
}

/** Forces the agent-check state; RUNTIME_AGENT_NOT_ENABLED without a running agent check. */
export function setAgent(backend: string, server: string, agent: 'up' | 'down'): Command {
  const target = ref(backend, server, 'set server agent');
  return mutation(`set server ${target} agent ${valid(agentSchema, agent, `set server ${target} agent`)}`, { kind: 'empty' });
}

/** `ready` takes traffic, `drain` finishes what it has and takes no new sessions, `maint` takes nothing. */
export function setState(backend: string, server: string, state: ServerState): Command {
  const target = ref(backend, server, 'set server state');
  const checked = valid(stateSchema, state, `set server ${target} state`);
  return mutation(`set server ${target} state ${checked}`, { kind: 'empty' });
}

/** The user weight, 0-256 (0 takes no new traffic; HAProxy's `%` form is not offered). */
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

/** Kills the server's active sessions (their clients see a 502): the last step before `del server`. */
export function shutdownSessions(backend: string, server: string): Command {
  return mutation(`shutdown sessions server ${ref(backend, server, 'shutdown sessions')}`, { kind: 'empty' });
}

/** Answers `Server deleted.`; only a server in MAINT with no sessions can go (RUNTIME_SERVER_NOT_IN_MAINT, …). */
export function delServer(backend: string, server: string): Command {
  return mutation(`del server ${ref(backend, server, 'del server')}`, { kind: 'exact', text: 'Server deleted.' });
}

/** HAProxy ≥ 2.8: blocks until the server can be deleted, or answers "Failed." after `timeoutMs`. */
export function waitRemovable(backend: string, server: string, timeoutMs: number): Command {
  const target = ref(backend, server, 'wait srv-removable');
  const ms = valid(removableWaitMs, timeoutMs, `wait srv-removable ${target}`);
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

/** Parse the answer with `parseServersState` (or call `RuntimeClient.serversState`). */
export function showServersState(backend?: string): Command {
  return read(backend === undefined ? 'show servers state' : `show servers state ${valid(backendName, backend, 'show servers state')}`);
}

/** Servers only (type 4); `-1` means every proxy. Parse with `parseStat` (or call `RuntimeClient.stat`). */
export function showStat(backend?: string): Command {
  return read(`show stat ${backend === undefined ? '-1' : valid(backendName, backend, 'show stat')} 4 -1`);
}

/** Parse with `parseInfo` (or call `RuntimeClient.info`). */
/** Every backend of the running configuration's (parse with `parseBackendList`): backends cannot be added at runtime. */
export function showBackend(): Command {
  return read('show backend');
}

export function showInfo(): Command {
  return read('show info');
}

/** Splits at unescaped `;` (HAProxy passes `\;` through as a literal `;`). */
export function splitCommands(line: string): string[] {
  // As HAProxy reads it: a backslash makes the next character literal, so `\\;` is an escaped backslash, then a separator.
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < line.length; i += 1) {
    if (line[i] === '\\') i += 1;
    else if (line[i] === ';') {
      parts.push(line.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(line.slice(start));
  return parts;
}

/**
 * A raw command line, sent as typed (`ha-agent exec`); its answers are never judged. CR and LF are
 * refused: they would start commands HAProxy runs without this client expecting their answers.
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
  // `prompt` would switch prompt mode off and `quit` closes the connection: answers could no longer be framed.
  if (parts.some((part) => /^(prompt|quit)$/.test(part.trim()))) {
    throw new RuntimeError('RUNTIME_INVALID_ARGUMENT', "refused 'prompt' and 'quit': the client keeps the connection in prompt mode", {
      command: line,
    });
  }
  return { text: line, mutation: true, expect: { kind: 'raw' }, responses: parts.length };
}

/** Refuses, before sending, any single command HAProxy would never answer. */
export function assertSendable(command: Command): void {
  // A UTF-16 code unit is at most 3 bytes of UTF-8: a line this short cannot be too long (every step's command).
  if (command.text.length * 3 <= MAX_COMMAND_BYTES) return;
  for (const part of splitCommands(command.text)) {
    if (Buffer.byteLength(part) > MAX_COMMAND_BYTES) {
      throw new RuntimeError('RUNTIME_COMMAND_TOO_LONG', `refused a ${Buffer.byteLength(part)}-byte command (limit ${MAX_COMMAND_BYTES})`, {
        command: command.text.slice(0, 200),
      });
    }
  }
}

/** For the other command builders of this directory (data-commands.ts); not part of the package's surface. */
export { mutation, read };
