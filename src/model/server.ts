/** A server as ha-agent wants it in HAProxy, and the check/pool policy applied to every server. */
import { z } from 'zod';
import { ipAddress, milliseconds, port, serverName, weight } from './values.js';

export const serverSchema = z.object({ name: serverName, address: ipAddress, port, weight });
export type Server = z.infer<typeof serverSchema>;

export const serverPolicySchema = z.object({
  check: z.object({ inter: milliseconds, rise: z.number().int().min(1).max(100), fall: z.number().int().min(1).max(100) }),
  /** Dynamic servers have no idle-connection pool unless asked (runtime-api.md §1). */
  pool: z.object({ maxConn: z.number().int().min(-1).max(1_000_000), purgeDelay: milliseconds }),
});
export type ServerPolicy = z.infer<typeof serverPolicySchema>;

export const defaultServerPolicy: ServerPolicy = {
  check: { inter: 1000, rise: 1, fall: 2 },
  pool: { maxConn: -1, purgeDelay: 5000 },
};
