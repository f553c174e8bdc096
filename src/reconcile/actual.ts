/** HAProxy's answers → the servers it has in one backend (pure). */
import type { ServerState } from '../model/server.js';
import { ADMIN, CHECK_RESULT, OP_STATE, type ServerStateRow, type StatRow } from '../runtime/parse.js';

export interface ActualServer {
  name: string;
  address: string;
  port: number;
  weight: number;
  mode: ServerState;
  checkEnabled: boolean;
  checkPassed: boolean;
  /** The last check failed; `checkStatus` (HAProxy's number for L4CON, L7STS…) tells one failure from another. */
  checkFailed: boolean;
  checkStatus: number;
  /** HAProxy considers the server up (op state RUNNING). */
  running: boolean;
  sessions: number;
  queue: number;
  /** Sessions HAProxy ever gave the server (`stot`): it grows with every request a sticky user sends to it. */
  sessionsTotal: number;
  /** Seconds since its last new session (`lastsess`); -1 when none or not read. */
  lastSessionSec: number;
  /** HAProxy's own words from `show stat` (UP, DOWN, MAINT, DRAIN…). */
  status: string;
}

/** CMAINT only says the server came from a `disabled` template slot (a filled slot keeps it): not maintenance. */
const MAINT_BITS = ADMIN.FMAINT | ADMIN.IMAINT | ADMIN.RMAINT | ADMIN.HMAINT;
const DRAIN_BITS = ADMIN.FDRAIN | ADMIN.IDRAIN;
const CHECK_ENABLED = 0x04;

export function adminMode(adminState: number): ServerState {
  if (adminState & MAINT_BITS) return 'maint';
  if (adminState & DRAIN_BITS) return 'drain';
  return 'ready';
}

export function actualServers(backend: string, state: readonly ServerStateRow[], stat: readonly StatRow[]): Map<string, ActualServer> {
  const stats = new Map(stat.filter((row) => row.backend === backend).map((row) => [row.name, row]));
  const servers = new Map<string, ActualServer>();
  for (const row of state) {
    if (row.backend !== backend) continue;
    const s = stats.get(row.name);
    servers.set(row.name, {
      name: row.name,
      address: row.address,
      port: row.port,
      weight: row.userWeight,
      mode: adminMode(row.adminState),
      checkEnabled: (row.checkState & CHECK_ENABLED) !== 0,
      checkPassed: row.checkResult === CHECK_RESULT.PASSED || row.checkResult === CHECK_RESULT.CONDPASS,
      checkFailed: row.checkResult === CHECK_RESULT.FAILED,
      checkStatus: row.checkStatus ?? 0,
      running: row.opState === OP_STATE.RUNNING,
      sessions: s?.sessions ?? 0,
      queue: s?.queue ?? 0,
      sessionsTotal: s?.sessionsTotal ?? 0,
      lastSessionSec: s?.lastSessionSec ?? -1,
      status: s?.status ?? '',
    });
  }
  return servers;
}
