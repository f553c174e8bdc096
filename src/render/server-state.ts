/**
 * HAProxy's server-state file, which the rendered config names (`server-state-file`, loaded by
 * `load-server-state-from-file global`): a planned reload saves `show servers state` into it just
 * before the new worker starts, so the new worker boots with every server's weight, admin state
 * (ready/drain/maint) and health instead of assuming all UP. Between reloads it holds only the format's
 * version line: HAProxy then loads nothing and prints no warning (a missing file warns on every
 * start), and a crash restart never applies a stale state.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

export const EMPTY_SERVER_STATE = '1\n';

/** Creates the file with no state if it is missing; an existing one is left alone. */
export async function ensureServerStateFile(file: string): Promise<void> {
  await fs.writeFile(file, EMPTY_SERVER_STATE, { flag: 'wx', mode: 0o644 }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
}

/** Replaces the file atomically with `dump`, the answer to `show servers state`. */
export async function saveServerState(file: string, dump: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  await fs.writeFile(tmp, dump.endsWith('\n') ? dump : `${dump}\n`, { mode: 0o644 });
  await fs.rename(tmp, file);
}

/** Back to no state, once the new worker has loaded it. */
export function clearServerState(file: string): Promise<void> {
  return saveServerState(file, EMPTY_SERVER_STATE);
}
