/**
 * The kernel's connection-tracking table, where the module is loaded (Docker loads it). Every connection that
 * HAProxy's health checks open stays in it for up to 120 s after it closes (TIME_WAIT): 5,000 servers checked
 * every second keep up to ~600,000 entries, past the 262,144 a default table holds here. A full table drops the
 * packets of new connections: checks time out (L4TOUT), servers flap, and a run measures the kernel, not the agent.
 * So a benchmark with thousands of servers waits for room before each run and counts the packets dropped during it.
 */
import { readFileSync, writeFileSync } from 'node:fs';

const COUNT = '/proc/sys/net/netfilter/nf_conntrack_count';
const MAX = '/proc/sys/net/netfilter/nf_conntrack_max';
const STAT = '/proc/net/stat/nf_conntrack';

export interface Conntrack {
  count: number;
  max: number;
  /** Packets dropped since boot because the table was full (the `drop` column, summed over CPUs). */
  drops: number;
}

/** The table now, or undefined where connection tracking is not loaded. */
export function conntrack(): Conntrack | undefined {
  try {
    const [header = '', ...rows] = readFileSync(STAT, 'utf8').trim().split('\n');
    const at = header.trim().split(/\s+/).indexOf('drop');
    const drops = rows.reduce((sum, row) => sum + Number.parseInt(row.trim().split(/\s+/)[at] ?? '0', 16), 0);
    return { count: Number(readFileSync(COUNT, 'utf8')), max: Number(readFileSync(MAX, 'utf8')), drops };
  } catch {
    return undefined;
  }
}

/** Waits (at most `timeoutMs`) until the table is at most `fraction` full; returns it as it then is. */
export async function conntrackRoom(fraction = 0.1, timeoutMs = 240_000): Promise<Conntrack | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const table = conntrack();
    if (!table || table.count <= table.max * fraction || Date.now() >= deadline) return table;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
}

/**
 * BENCH_CONNTRACK_MAX: a larger table for this process's life (the old size is put back when it exits), for a run
 * whose health checks alone would fill the default one. Returns the sizes, or undefined when not asked or not loaded.
 */
export function conntrackMaxFromEnv(): { was: number; now: number } | undefined {
  const wanted = Number(process.env.BENCH_CONNTRACK_MAX ?? '');
  const table = conntrack();
  if (!Number.isInteger(wanted) || wanted <= 0 || !table) return undefined;
  writeFileSync(MAX, String(wanted));
  const restore = () => writeFileSync(MAX, String(table.max));
  process.once('exit', restore);
  // The usual exit status of a process a signal ended (128 + its number); `exit` puts the size back.
  process.once('SIGINT', () => process.exit(130));
  process.once('SIGTERM', () => process.exit(143));
  return { was: table.max, now: wanted };
}
