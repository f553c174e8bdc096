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

/** One line per step: the command, or the wait in words. */
export function describeStep(backend: string, server: string, step: Step, policy: ServerPolicy): string {
  if (step.kind === 'await-check') return `(wait for the first passing health check of ${backend}/${server})`;
  if (step.kind === 'await-drained') {
    const until = step.users ? 'no sessions and no queue, and (sticky) its users have gone quiet' : 'no sessions in flight';
    return `(wait until ${backend}/${server} has ${until}${step.untilDown ? ', or is down' : ''})`;
  }
  return commandFor(backend, server, step, policy)?.text ?? step.kind;
}

export function formatPlan(backend: string, actions: readonly Action[], policy: ServerPolicy): string {
  if (actions.length === 0) return 'nothing to do: HAProxy matches the members\n';
  return actions
    .map((action) =>
      [
        `${action.kind} ${action.server} (${action.reason})`,
        ...action.steps.map((step) => `  ${describeStep(backend, action.server, step, policy)}`),
      ].join('\n'),
    )
    .join('\n')
    .concat('\n');
}
