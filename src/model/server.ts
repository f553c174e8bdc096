/** A server as ha-agent wants it in HAProxy, and the check/pool policy applied to every server. */
import { z } from 'zod';
import { ipAddress, milliseconds, port, serverName, weight } from './values.js';

export const serverSchema = z.object({ name: serverName, address: ipAddress, port, weight });
export type Server = z.infer<typeof serverSchema>;

export const serverPolicySchema = z.object({
  /**
   * `downinter` also sets when the first check runs after `enable health` (measured on 2.6: ~1 s with
   * inter 1000 alone, ~0.2 s with downinter 200, ~0.1 s with 100, ~55 ms with 50), so a new server
   * serves sooner; it is also how often a server that is down is checked, hence not lower.
   * `fastinter` speeds up the checks that confirm a failure.
   */
  check: z.object({
    inter: milliseconds,
    fastinter: milliseconds,
    downinter: milliseconds,
    rise: z.number().int().min(1).max(100),
    fall: z.number().int().min(1).max(100),
  }),
  /** Dynamic servers have no idle-connection pool unless asked (runtime-api.md §1). */
  pool: z.object({ maxConn: z.number().int().min(-1).max(1_000_000), purgeDelay: milliseconds }),
});
export type ServerPolicy = z.infer<typeof serverPolicySchema>;

export const defaultServerPolicy: ServerPolicy = {
  check: { inter: 1000, fastinter: 200, downinter: 100, rise: 1, fall: 2 },
  pool: { maxConn: -1, purgeDelay: 5000 },
};
