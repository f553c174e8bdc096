/** Runs one action's steps in order against HAProxy, logging every command and its answer. */
import type { Logger } from '../log.js';
import { checkPassedOrPending, describeCheckFailure, type CheckFailure } from '../model/check.js';
import type { ServerPolicy } from '../model/server.js';
import {
  computesDynamicCookieOnAdd,
  enableDynamicCookie,
  supportsWaitRemovable,
  waitRemovable,
  type Command,
} from '../runtime/commands.js';
import { showSess } from '../runtime/data-commands.js';
import { RuntimeError } from '../runtime/errors.js';
import { streamsOnServer } from '../runtime/parse.js';
import { sleep, type Clock } from '../util/clock.js';
import type { ActualServer } from './actual.js';
import { commandFor, DEL_RETRIES, DEL_WAIT_MS, STREAMS_POLL_MS, type Action, type Step } from './plan.js';
import type { RuntimeApi } from './runtime-api.js';
import type { Cancel, ServerWatcher } from './watch.js';
import type { Turn } from './work-queue.js';

export interface ApplyContext {
  client: RuntimeApi;
  watcher: ServerWatcher;
  backend: string;
  policy: ServerPolicy;
  log: Logger;
  checkTimeoutMs: number;
  /** The path HAProxy's checks ask in this backend and the setting that sets it, now: a failing first check names both. */
  health?: (() => { path: string; setting: string }) | undefined;
  drainTimeoutMs: number;
  /**
   * The backend persists users with dynamic cookies: a server must have its cookie before it is ready,
   * and a draining server keeps its users until none of them has sent a request for `drainIdleMs`.
   */
  sticky?: { drainIdleMs: number } | undefined;
  /** How often `del server` is retried while HAProxy says the server still has connections. */
  delRetries?: number;
  /** Waits, deadlines and durations (systemClock, or fake time in a test). */
  clock: Clock;
  /** Aborted when the agent stops: no further step is sent, and a restarted agent resumes from HAProxy's state. */
  signal?: AbortSignal;
  /** When the member list that planned this action arrived (clock.now()). */
  listedAt?: number;
  /**
   * Called once with the server's name, when the commands the action sends first are answered, or as it starts when its
   * first step is a wait (not when it fails or stops before that): the pass's config write waits for it (see actions.ts).
   */
  firstAnswered?: (server: string) => void;
  /** Sends the action's commands when the work queue gives them a turn (work-queue.ts); none: at once. */
  turn?: Turn;
}

export type ActionOutcome = 'done' | 'failed' | 'rolled-back' | 'abandoned' | 'aborted';

/**
 * `abandon`: cancelled when the server this action brings in is no longer wanted (its member left before the first
 * passing check): the wait ends at once and the rollback takes the server out again.
 */
export async function applyAction(ctx: ApplyContext, action: Action, abandon?: Cancel): Promise<ActionOutcome> {
  const { clock } = ctx;
  const started = clock.now();
  const state: ActionState = { abandon };
  let firstAnswered = ctx.firstAnswered;
  for (let index = 0; index < action.steps.length;) {
    const steps = sentTogether(action.steps, index);
    const first = steps[0] as Step;
    if (firstAnswered && (index > 0 || first.kind === 'await-check' || first.kind === 'await-drained')) {
      firstAnswered(action.server);
      firstAnswered = undefined;
    }
    if (ctx.signal?.aborted) {
      ctx.log.warn('action.aborted', { server: action.server, action: action.kind, nextStep: first.kind });
      return 'aborted';
    }
    if (abandon?.cancelled) {
      await rollback(ctx, action, 'its member left before the first passing check');
      return 'abandoned';
    }
    const outcome = await applyTogether(ctx, action, steps, state);
    if ('error' in outcome) {
      const { failed, error } = outcome;
      ctx.log.error('step.failed', { server: action.server, action: action.kind, step: steps[failed]?.kind, index: index + failed, error });
      return 'failed';
    }
    index += steps.length;
    if (ctx.signal?.aborted) continue;
    if (!outcome.passed) {
      const abandoned = abandon?.cancelled ?? false;
      await rollback(ctx, action, abandoned ? 'its member left before the first passing check' : 'no passing health check in time');
      return abandoned ? 'abandoned' : 'rolled-back';
    }
  }
  const now = clock.now();
  ctx.log.info('action.finished', {
    server: action.server,
    action: action.kind,
    durationMs: round(now - started),
    sinceListMs: round(now - (ctx.listedAt ?? started)),
  });
  return 'done';
}

/**
 * The steps sent from `index` without waiting for each other's answers: `enable health` goes out right behind
 * `add server` (HAProxy runs one connection's commands in order, so it still applies to the added server). With
 * 1,000 joins in flight, `enable health` sent after the add's answer (0.1–0.2 s later) left most first checks ~1 s
 * (`inter`) after the add, as if a check found off at the add is looked at again only after `inter`; sent right
 * behind it, they came `downinter` after (100 ms then; bench/mass.ts). Each command keeps its own answer and log
 * line; a refused add still fails the action (were it refused because a same-named server appeared since the pass
 * read HAProxy, `enable health` would reach that one: it only turns checks on, and the failed add is logged).
 */
function sentTogether(steps: readonly Step[], index: number): Step[] {
  const together = steps[index]?.kind === 'add' && steps[index + 1]?.kind === 'enable-health' ? 2 : 1;
  return steps.slice(index, index + together);
}

/**
 * Applies steps sent together and waits for all of them: `passed` is false when a bounded wait ran out; `failed` is
 * the first step that threw. A single step (most of them) is awaited as it is, without Promise.allSettled.
 */
async function applyTogether(
  ctx: ApplyContext,
  action: Action,
  steps: readonly Step[],
  state: ActionState,
): Promise<{ passed: boolean } | { failed: number; error: unknown }> {
  if (steps.length === 1) {
    try {
      return { passed: await applyStep(ctx, action, steps[0] as Step, state) };
    } catch (error) {
      return { failed: 0, error };
    }
  }
  const outcomes = await Promise.allSettled(steps.map((step) => applyStep(ctx, action, step, state)));
  const failed = outcomes.findIndex((o) => o.status === 'rejected');
  if (failed >= 0) return { failed, error: (outcomes[failed] as PromiseRejectedResult).reason as unknown };
  return { passed: outcomes.every((o) => o.status === 'fulfilled' && o.value) };
}

/** One action's run: what ends its first-check wait early, and when its drain began (the drain timeout bounds its waits together). */
interface ActionState {
  abandon?: Cancel | undefined;
  drainStartedAt?: number;
}

/** Returns false when a bounded wait for a first passing check runs out. */
async function applyStep(ctx: ApplyContext, action: Action, step: Step, state: ActionState = {}): Promise<boolean> {
  const name = action.server;
  switch (step.kind) {
    case 'await-check':
      return awaitFirstCheck(ctx, name, state);
    case 'await-drained':
      return awaitDrained(ctx, name, step, state);
    case 'del':
      await deleteServer(ctx, name);
      return true;
    default:
      if (step.kind === 'set-state' && step.state === 'ready' && ctx.sticky && !computesDynamicCookieOnAdd(ctx.client.version)) {
        await sendCommand(ctx, name, 'enable-dynamic-cookie', enableDynamicCookie(ctx.backend));
      }
      await send(ctx, action, step);
      if (step.kind === 'set-addr' || step.kind === 'set-weight') await verify(ctx, name, step);
      return true;
  }
}

/**
 * Waits for a new server's first passing check, within the check timeout. Each failure that differs from the
 * last one reported (connection refused while the app starts, then 404) is logged at once as `check.failing`,
 * naming the path and HAProxy's result, rather than only when the timeout runs out (`check.timeout` repeats it).
 */
async function awaitFirstCheck(ctx: ApplyContext, name: string, state: ActionState): Promise<boolean> {
  const { clock } = ctx;
  const waitStarted = clock.now();
  const deadline = waitStarted + ctx.checkTimeoutMs;
  let reported = 0;
  let failing: number | undefined;
  let last: CheckFailure | undefined;
  for (;;) {
    failing = undefined;
    const met = await ctx.watcher.waitFor(
      name,
      (s) => {
        if (s?.checkFailed && s.checkStatus !== reported) failing = s.checkStatus;
        return s !== undefined && (s.checkPassed || failing !== undefined);
      },
      Math.max(0, deadline - clock.now()),
      { cancel: state.abandon },
    );
    if (!met || failing === undefined) {
      const fields = { server: name, waitedMs: round(clock.now() - waitStarted) };
      if (met) ctx.log.info('check.passed', fields);
      else if (state.abandon?.cancelled) ctx.log.info('check.abandoned', fields);
      else ctx.log.warn('check.timeout', { ...fields, ...(last ?? (await failedCheck(ctx, name))) });
      return met;
    }
    reported = failing;
    last = await failedCheck(ctx, name);
    if (last) ctx.log.warn('check.failing', { server: name, waitedMs: round(clock.now() - waitStarted), ...last });
  }
}

/** The server's last check result in words (`show stat`), or undefined when it cannot be read or did not fail. */
async function failedCheck(ctx: ApplyContext, name: string): Promise<(CheckFailure & { path: string }) | undefined> {
  const row = await inTurn(ctx, () => ctx.client.stat(ctx.backend, new Set([name])))
    .then((rows) => rows.find((r) => r.name === name))
    .catch(() => undefined);
  if (row === undefined) return undefined;
  const result = { status: row.checkStatus, code: row.checkCode, description: row.checkDescription };
  if (checkPassedOrPending(result)) return undefined;
  const health = ctx.health?.() ?? { path: '(the backend’s option httpchk)', setting: 'the template’s option httpchk' };
  return { ...describeCheckFailure(result, { path: health.path, endpoint: row.address, pathSetting: health.setting }), path: health.path };
}

/** A request that starts just before `set maint` gets at least this long, even when the drain timeout has run out. */
const IN_FLIGHT_FLOOR_MS = 1_000;

/**
 * Ends a drain (in `drain`, `users`) or waits for what is still in flight (in `maint`), within the drain
 * timeout counted from the drain's start. Never fails: what is still open when it ends is cut next.
 */
async function awaitDrained(
  ctx: ApplyContext,
  name: string,
  step: Extract<Step, { kind: 'await-drained' }>,
  state: ActionState,
): Promise<true> {
  const { clock } = ctx;
  const waitStarted = clock.now();
  state.drainStartedAt ??= waitStarted;
  const timeoutMs = step.users ? ctx.drainTimeoutMs : Math.max(IN_FLIGHT_FLOOR_MS, state.drainStartedAt + ctx.drainTimeoutMs - waitStarted);
  const quiet = step.users && ctx.sticky ? quietFor(clock, ctx.sticky.drainIdleMs) : () => true;
  let sessions: number | undefined;
  const drained = await ctx.watcher.waitFor(
    name,
    (s) => {
      sessions = s?.sessions;
      return s === undefined || (step.untilDown && !s.running) || (s.sessions === 0 && s.queue === 0 && quiet(s));
    },
    timeoutMs,
    { needsSessions: true },
  );
  // In maint, requests assigned to the server may still wait to be redispatched (the connect-retry turn-around,
  // ~1 s, counted in neither sessions nor queue): `shutdown sessions` would kill them (503), and HAProxy < 2.9 may
  // even free the server under them on `del server` and crash (haproxy/haproxy#2298). Wait until none points to it.
  const streams = step.users || !drained ? undefined : await awaitUnreferenced(ctx, name, waitStarted + timeoutMs - clock.now());
  // `sessions`: still open when the wait ended. After the drain they finish in maint; after that they are cut.
  const fields = { server: name, waitedMs: round(clock.now() - waitStarted), sessions, ...(streams ? { streams } : {}) };
  if (step.users) ctx.log[drained ? 'info' : 'warn'](drained ? 'drain.finished' : 'drain.timeout', fields);
  else if (!drained || streams) ctx.log.warn('inflight.timeout', fields);
  return true;
}

/**
 * Waits (at most `timeoutMs`) until no stream points to the server (it is in maint): `wait … srv-removable` where
 * HAProxy has it, else `show sess` read every STREAMS_POLL_MS. Returns how many streams `show sess` still lists at
 * the end (0: none), or undefined when it cannot tell (`wait` ran out, or a read was refused: logged). Never fails.
 */
async function awaitUnreferenced(ctx: ApplyContext, name: string, timeoutMs: number): Promise<number | undefined> {
  const { clock } = ctx;
  const ms = Math.max(1, Math.round(timeoutMs));
  try {
    if (supportsWaitRemovable(ctx.client.version)) {
      await sendCommand(ctx, name, 'wait-removable', waitRemovable(ctx.backend, name, Math.min(ms, 60_000)));
      return 0;
    }
    const deadline = clock.now() + ms;
    for (;;) {
      const streams = streamsOnServer(await inTurn(ctx, () => ctx.client.run(showSess())), ctx.backend, name);
      if (streams === 0 || clock.now() >= deadline) return streams;
      await sleep(clock, Math.min(STREAMS_POLL_MS, deadline - clock.now()));
    }
  } catch (error) {
    ctx.log.info('wait-removable.failed', { server: name, answer: error instanceof RuntimeError ? error.answer : String(error) });
    return undefined;
  }
}

/**
 * Whether the server has had no new session for `idleMs`: seeded from HAProxy's `lastsess` (whole
 * seconds, so never more than the truth), then from its session count (`stot`) moving. A server that
 * is down is quiet at once: HAProxy ignores its cookie, so its users already go elsewhere.
 */
function quietFor(clock: Clock, idleMs: number): (server: ActualServer) => boolean {
  let seen: number | undefined;
  let lastNewAt = -Infinity;
  return (server) => {
    const now = clock.now();
    if (seen === undefined) lastNewAt = server.lastSessionSec < 0 ? -Infinity : now - server.lastSessionSec * 1000;
    else if (server.sessionsTotal !== seen) lastNewAt = now;
    seen = server.sessionsTotal;
    return !server.running || now - lastNewAt >= idleMs;
  };
}

/** Throws at once when the step's command cannot be built (a value refused); callers await it in an async function. */
function send(ctx: ApplyContext, action: Action, step: Step): Promise<string> {
  const command = commandFor(ctx.backend, action.server, step, ctx.policy);
  if (!command) throw new Error(`bug: step ${step.kind} has no command`);
  return sendCommand(ctx, action.server, step.kind, command);
}

/** What the action asks HAProxy goes when the work queue gives it a turn (at once without a queue). */
function inTurn<T>(ctx: ApplyContext, ask: () => Promise<T>): Promise<T> {
  return ctx.turn ? ctx.turn(ask) : ask();
}

async function sendCommand(ctx: ApplyContext, server: string, step: string, command: Command): Promise<string> {
  const { clock } = ctx;
  const started = clock.now();
  try {
    const answer = await inTurn(ctx, () => ctx.client.run(command));
    ctx.log.info('step.finished', { server, step, command: command.text, answer, latencyMs: round(clock.now() - started) });
    return answer;
  } catch (error) {
    if (error instanceof RuntimeError) ctx.log.debug('step.refused', { server, command: command.text, answer: error.answer });
    throw error;
  }
}

/**
 * `del server` is refused while connections are attached; HAProxy < 2.9 does not see every stream that points to
 * the server and may delete it under them (then crash), so the wait for none comes first, on every version, and
 * `del` is not sent while `show sess` still lists one (as if HAProxy had refused it). A refusal cuts the sessions
 * and retries.
 */
async function deleteServer(ctx: ApplyContext, name: string): Promise<void> {
  const retries = ctx.delRetries ?? DEL_RETRIES;
  const action: Action = { server: name, kind: 'remove', reason: 'delete', steps: [] };
  for (let attempt = 0; ; attempt += 1) {
    const streams = await awaitUnreferenced(ctx, name, DEL_WAIT_MS);
    try {
      if (streams) {
        const command = `del server ${ctx.backend}/${name}`;
        ctx.log.warn('wait-removable.failed', { server: name, streams });
        throw new RuntimeError('RUNTIME_SERVER_HAS_CONNECTIONS', `not sent: ${streams} streams still point to the server`, {
          command,
          answer: `show sess lists ${streams} streams`,
        });
      }
      await send(ctx, action, { kind: 'del' });
      return;
    } catch (error) {
      if (!(error instanceof RuntimeError) || error.code !== 'RUNTIME_SERVER_HAS_CONNECTIONS' || attempt >= retries) throw error;
      ctx.log.info('del.retry', { server: name, attempt: attempt + 1, answer: error.answer });
      await send(ctx, action, { kind: 'shutdown-sessions' });
      await sleep(ctx.clock, 100);
    }
  }
}

/** HAProxy accepts some bad values silently (port 70000 wraps): read back what it really has. */
async function verify(ctx: ApplyContext, name: string, step: Extract<Step, { kind: 'set-addr' | 'set-weight' }>): Promise<void> {
  const row = (await inTurn(ctx, () => ctx.client.serversState(ctx.backend))).find((s) => s.name === name);
  const ok =
    row !== undefined &&
    (step.kind === 'set-addr' ? row.address === step.address && row.port === step.port : row.userWeight === step.weight);
  if (!ok) {
    throw new RuntimeError('RUNTIME_COMMAND_REJECTED', `HAProxy does not show the ${step.kind} change on ${ctx.backend}/${name}`, {
      command: step.kind,
      answer: row ? `${row.address}:${row.port} weight ${row.userWeight}` : 'no such server',
    });
  }
}

/**
 * A server whose first check did not pass (in time, or before its member left) is taken out again
 * (deleted, or its slot freed); a later pass brings it in again if its member is still wanted.
 */
async function rollback(ctx: ApplyContext, action: Action, reason: string): Promise<void> {
  try {
    for (const step of action.rollback ?? []) await applyStep(ctx, action, step);
    ctx.log.warn('action.rolled-back', { server: action.server, action: action.kind, reason });
  } catch (error) {
    ctx.log.error('rollback.failed', { server: action.server, error });
  }
}

const round = (ms: number) => Math.round(ms * 10) / 10;
