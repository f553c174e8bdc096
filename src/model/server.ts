/**
 * A server as ha-agent wants it in HAProxy, the check/pool policy applied to every server, and how both are
 * written on a server line — shared by the Runtime API's `add server` and the rendered haproxy.cfg (pure).
 */
import { z } from 'zod';
import { ipAddress, milliseconds, port, serverName, weight } from './values.js';

/** A server's administrative state: what `set server … state` sets and `show servers state` reports. */
export const serverStates = ['ready', 'drain', 'maint'] as const;
export type ServerState = (typeof serverStates)[number];

export const serverSchema = z.object({ name: serverName, address: ipAddress, port, weight });
export type Server = z.infer<typeof serverSchema>;

export const serverPolicySchema = z.object({
  /**
   * A new server's first check runs `downinter` after `add server` (HAProxy 2.6 arms it then; `enable health`
   * and other commands do not bring it forward), so `downinter` is most of a join's wait. It is also how often
   * a server that is down is checked: 50 halves the wait of 100 at twice the checks of a down server (with
   * 1,000 down, 0.8–1 core of HAProxy against ~0.5; 25 would take 1.3–1.5). See docs/benchmarks.md.
   * `fastinter` speeds up the checks that confirm a failure.
   */
  check: z.object({
    inter: milliseconds,
    fastinter: milliseconds,
    downinter: milliseconds,
    rise: z.number().int().min(1).max(100),
    fall: z.number().int().min(1).max(100),
  }),
  /** `add server` gives a server no idle-connection pool (purge_delay 0, idle_lim 0) unless these are passed. */
  pool: z.object({ maxConn: z.number().int().min(-1).max(1_000_000), purgeDelay: milliseconds }),
  /**
   * HAProxy's `slowstart`: once up, a server's weight ramps from ~0 to its own over this long. HAProxy 2.6 and 3.0
   * accept it on `add server` and ramp a dynamic server as a static one. None: off.
   */
  slowstartMs: milliseconds.optional(),
});
export type ServerPolicy = z.infer<typeof serverPolicySchema>;

export const defaultServerPolicy: ServerPolicy = {
  check: { inter: 1000, fastinter: 200, downinter: 50, rise: 1, fall: 2 },
  pool: { maxConn: -1, purgeDelay: 5000 },
};

/**
 * A server whose app has exited refuses connections until the agent or `fall` checks take it out; meanwhile a
 * request's retries (redispatched) may meet it, or another such server, every time. Marked down at its first
 * refused or timed-out connection, it is out of the rotation before the request's next try. A live server
 * that misses one connection is back after one passing check (`rise`, `downinter` later).
 */
const MARK_DOWN_ON_CONNECT_ERROR = 'observe layer4 error-limit 1 on-error mark-down';

/** The keywords after the address, identical on `add server` and in the rendered config's `server` lines. */
export function serverKeywords(serverWeight: number, policy: ServerPolicy): string {
  const { check, pool, slowstartMs } = policy;
  const timing = `inter ${check.inter} fastinter ${check.fastinter} downinter ${check.downinter} rise ${check.rise} fall ${check.fall}`;
  const slowstart = slowstartMs === undefined ? '' : ` slowstart ${slowstartMs}`;
  return `check ${timing} ${MARK_DOWN_ON_CONNECT_ERROR} weight ${serverWeight} pool-max-conn ${pool.maxConn} pool-purge-delay ${pool.purgeDelay}${slowstart}`;
}

/** Brackets keep the port of an IPv6 literal unambiguous; the same form is valid in haproxy.cfg. */
export function endpoint(address: string, portNumber: number): string {
  return address.includes(':') ? `[${address}]:${portNumber}` : `${address}:${portNumber}`;
}
