/**
 * Desired vs actual → a plan (pure, level-triggered): recomputed from scratch on every event
 * batch and resync, so missed, duplicated or stale events do no harm, and a restarted agent
 * adopts what HAProxy already has. A plan is data: it prints without a connection (dry run).
 */
import type { Server, ServerPolicy, ServerState } from '../model/server.js';
import * as cmd from '../runtime/commands.js';
import type { Command } from '../runtime/commands.js';
import type { AbsentServer } from './absent.js';
import type { ActualServer } from './actual.js';
import type { HeldState } from './holds.js';

export type Step =
  | { kind: 'add'; server: Server }
  | { kind: 'enable-health' }
  /** Wait (bounded) for the first passing check, so the server never takes traffic optimistically. */
  | { kind: 'await-check' }
  | { kind: 'set-state'; state: ServerState }
  /**
   * Wait (bounded by the drain timeout) until no session and no queue. `users` (in drain): with
   * stickiness, also until its users have gone quiet, since a draining server still takes the requests
   * of the users stuck to it; without `users` (in maint, which takes nothing new) only for the requests
   * in flight. For a failed member it also ends once checks mark the server down: nothing in flight
   * there can finish anyway.
   */
  | { kind: 'await-drained'; untilDown: boolean; users: boolean }
  | { kind: 'shutdown-sessions' }
  | { kind: 'del' }
  | { kind: 'set-weight'; weight: number }
  | { kind: 'set-addr'; address: string; port: number };

export type ActionKind = 'join' | 'remove' | 'update' | 'resume';

export interface Action {
  server: string;
  kind: ActionKind;
  reason: string;
  steps: Step[];
  /** What undoes the action when a new server's first check does not pass in time. */
  rollback?: Step[];
}

const JOIN: Step[] = [{ kind: 'enable-health' }, { kind: 'await-check' }, { kind: 'set-state', state: 'ready' }];
const REMOVE_FROM_MAINT: Step[] = [{ kind: 'shutdown-sessions' }, { kind: 'del' }];
const DELETE: Step[] = [{ kind: 'set-state', state: 'maint' }, { kind: 'del' }];
/** Drain → maint: the users move, then what is still in flight finishes (both within the drain timeout). */
export const drainToMaint = (untilDown: boolean): Step[] => [
  { kind: 'await-drained', untilDown, users: true },
  { kind: 'set-state', state: 'maint' },
  { kind: 'await-drained', untilDown, users: false },
];
const removeFromDrain = (untilDown: boolean): Step[] => [...drainToMaint(untilDown), ...REMOVE_FROM_MAINT];

export interface PlanOptions {
  /** Servers whose previous action is still running: their steps stay strictly ordered. */
  busy?: ReadonlySet<string>;
  /** Servers whose member Serf reports failed (not left): their drain may end once they are down. */
  failed?: ReadonlySet<string>;
  /** Servers whose member is absent from the list (see absent.ts): kept as they are, or removed with this reason. */
  absent?: ReadonlyMap<string, Pick<AbsentServer, 'hold' | 'reason'>>;
  /** Servers a person put in MAINT or DRAIN (see holds.ts): kept so while their member is alive. */
  held?: ReadonlyMap<string, HeldState>;
}

export function plan(desired: ReadonlyMap<string, Server>, actual: ReadonlyMap<string, ActualServer>, options: PlanOptions = {}): Action[] {
  const busy = options.busy ?? new Set<string>();
  const actions: Action[] = [];
  for (const [name, server] of desired) {
    if (busy.has(name)) continue;
    const current = actual.get(name);
    if (!current) {
      actions.push({ server: name, kind: 'join', reason: 'member is alive', steps: [{ kind: 'add', server }, ...JOIN], rollback: DELETE });
      continue;
    }
    const steps: Step[] = [];
    const changed: string[] = [];
    if (current.address !== server.address || current.port !== server.port) {
      steps.push({ kind: 'set-addr', address: server.address, port: server.port });
      changed.push(`address ${current.address}:${current.port} → ${server.address}:${server.port}`);
    }
    if (current.weight !== server.weight) {
      steps.push({ kind: 'set-weight', weight: server.weight });
      changed.push(`weight ${current.weight} → ${server.weight}`);
    }
    const held = options.held?.get(name);
    if (held !== undefined) {
      // A person's state is kept; a held drain HAProxy booted with (weight 0 in the file) is restored first.
      if (held === 'drain' && current.mode === 'ready') {
        steps.unshift({ kind: 'set-state', state: 'drain' });
        changed.unshift('held in drain');
      }
    } else if (current.mode === 'maint') {
      steps.push(...(current.checkEnabled ? JOIN.slice(1) : JOIN));
      changed.push('in maintenance');
    } else if (current.mode === 'drain') {
      steps.push({ kind: 'set-state', state: 'ready' });
      changed.push('draining');
    }
    if (steps.length > 0) {
      const resumes = current.mode !== 'ready' && held === undefined;
      const kind: ActionKind = resumes ? 'resume' : 'update';
      actions.push({
        server: name,
        kind,
        reason: changed.join(', '),
        steps,
        ...(resumes && current.mode === 'maint' ? { rollback: DELETE } : {}),
      });
    }
  }
  for (const [name, current] of actual) {
    if (desired.has(name) || busy.has(name)) continue;
    const absent = options.absent?.get(name);
    if (absent?.hold) continue;
    const failed = options.failed?.has(name) ?? false;
    const steps =
      current.mode === 'maint'
        ? REMOVE_FROM_MAINT
        : current.mode === 'drain'
          ? removeFromDrain(failed)
          : [{ kind: 'set-state', state: 'drain' } as const, ...removeFromDrain(failed)];
    actions.push({ server: name, kind: 'remove', reason: absent?.reason ?? (failed ? 'member failed' : 'not an alive member'), steps });
  }
  return actions;
}

/** The runtime command a step sends, or undefined for a wait. */
export function commandFor(backend: string, server: string, step: Step, policy: ServerPolicy): Command | undefined {
  switch (step.kind) {
    case 'add':
      return cmd.addServer(backend, server, { address: step.server.address, port: step.server.port, weight: step.server.weight, policy });
    case 'enable-health':
      return cmd.enableHealth(backend, server);
    case 'set-state':
      return cmd.setState(backend, server, step.state);
    case 'shutdown-sessions':
      return cmd.shutdownSessions(backend, server);
    case 'del':
      return cmd.delServer(backend, server);
    case 'set-weight':
      return cmd.setWeight(backend, server, step.weight);
    case 'set-addr':
      return cmd.setAddr(backend, server, step.address, step.port);
    case 'await-check':
    case 'await-drained':
      return undefined;
  }
}

/** How long `del server` first waits for no stream to point to the server (and again after each refusal). */
export const DEL_WAIT_MS = 2_000;
/** How often `del server` is retried while HAProxy says the server still has connections. */
export const DEL_RETRIES = 20;

/** What a step sends besides its own command depends on HAProxy's version and on stickiness (apply.ts). */
export interface StepContext {
  backend: string;
  policy: ServerPolicy;
  /** The connected HAProxy's version; none: the oldest's commands are named. */
  version?: string | undefined;
  /** The backend persists users with dynamic cookies. */
  sticky?: boolean;
}

/** How often `show sess` is read while streams still point to a server (HAProxy < 2.8). */
export const STREAMS_POLL_MS = 50;

/** How apply waits until no stream points to a server in maint: `wait … srv-removable` where HAProxy has it. */
function unreferenced(ctx: StepContext, server: string, ms: string): string {
  return cmd.supportsWaitRemovable(ctx.version)
    ? `wait ${ms} srv-removable ${ctx.backend}/${server}`
    : `(show sess every ${STREAMS_POLL_MS} ms until no stream points to ${ctx.backend}/${server}, at most ${ms} ms)`;
}

/**
 * Every line a step sends, in apply's order: its commands, its waits in parentheses, and what it sends only on a
 * condition (`if …: …`). test/unit/reconcile/plan-sent.test.ts checks them against what the agent sends.
 */
export function describeStep(server: string, step: Step, ctx: StepContext): string[] {
  const { backend } = ctx;
  const command = (s: Step) => commandFor(backend, server, s, ctx.policy)?.text ?? s.kind;
  switch (step.kind) {
    case 'await-check':
      return [`(wait for the first passing health check of ${backend}/${server})`];
    case 'await-drained': {
      const until = step.users ? 'no sessions and no queue, and (sticky) its users have gone quiet' : 'no sessions in flight';
      const wait = `(wait until ${backend}/${server} has ${until}${step.untilDown ? ', or is down' : ''})`;
      // In maint, requests may still wait to be redispatched: apply waits for none to point to the server (apply.ts).
      return step.users ? [wait] : [wait, unreferenced(ctx, server, '<rest of drain timeout>')];
    }
    case 'del':
      return [
        unreferenced(ctx, server, String(DEL_WAIT_MS)),
        command(step),
        `if refused while connections remain: ${command({ kind: 'shutdown-sessions' })}, then the wait and the del again (at most ${DEL_RETRIES} times)`,
      ];
    case 'set-state':
      return step.state === 'ready' && ctx.sticky && !cmd.computesDynamicCookieOnAdd(ctx.version)
        ? [cmd.enableDynamicCookie(backend).text, command(step)]
        : [command(step)];
    case 'set-addr':
    case 'set-weight':
      // HAProxy accepts some bad values silently: apply reads back what it has.
      return [command(step), `(read back: show servers state ${backend})`];
    default:
      return [command(step)];
  }
}

/** An action's lines: its steps', then its rollback's, sent only when the server's first check does not pass. */
export function describeAction(action: Action, ctx: StepContext): string[] {
  const lines = action.steps.flatMap((step) => describeStep(action.server, step, ctx));
  const rollback = (action.rollback ?? []).flatMap((step) => describeStep(action.server, step, ctx));
  if (rollback.length === 0) return lines;
  return [...lines, 'if no passing check in time, or its member goes first:', ...rollback.map((line) => `  ${line}`)];
}

export function formatPlan(actions: readonly Action[], ctx: StepContext): string {
  if (actions.length === 0) return 'nothing to do: HAProxy matches the members\n';
  return actions
    .map((action) =>
      [`${action.kind} ${action.server} (${action.reason})`, ...describeAction(action, ctx).map((line) => `  ${line}`)].join('\n'),
    )
    .join('\n')
    .concat('\n');
}
