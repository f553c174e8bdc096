/** What a planned reload must carry from the old worker to the new one, server by server (pure). */
import type { ServerState } from '../model/server.js';
import { adminMode } from '../reconcile/actual.js';
import { OP_STATE, type ServerStateRow } from '../runtime/parse.js';

export interface CarriedServer {
  name: string;
  endpoint: string;
  weight: number;
  mode: ServerState;
  /** The health the checks had found: HAProxy's op state RUNNING or not. */
  up: boolean;
}

export function carried(row: ServerStateRow): CarriedServer {
  return {
    name: row.name,
    endpoint: `${row.address}:${row.port}`,
    weight: row.userWeight,
    mode: adminMode(row.adminState),
    up: row.opState === OP_STATE.RUNNING,
  };
}

/** Every way the new worker's servers differ from the old one's, as `server: what old → new`; [] when all were carried. */
export function differences(backend: string, before: readonly ServerStateRow[], after: readonly ServerStateRow[]): string[] {
  const now = new Map(after.filter((row) => row.backend === backend).map((row) => [row.name, carried(row)]));
  const found: string[] = [];
  for (const row of before.filter((r) => r.backend === backend)) {
    const old = carried(row);
    const current = now.get(old.name);
    now.delete(old.name);
    if (!current) {
      found.push(`${old.name}: missing after the reload`);
      continue;
    }
    for (const key of ['endpoint', 'weight', 'mode', 'up'] as const) {
      if (current[key] !== old[key]) found.push(`${old.name}: ${key} ${String(old[key])} → ${String(current[key])}`);
    }
  }
  for (const name of now.keys()) found.push(`${name}: not there before the reload`);
  return found;
}
