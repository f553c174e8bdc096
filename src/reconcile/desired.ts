/**
 * Membership → desired servers (pure). A member is a server when it is alive and its role tag
 * matches. Every field is validated; an invalid member is rejected with a reason and never
 * reaches HAProxy or the template, and the others are unaffected.
 */
import type { Member } from '../membership/member.js';
import { serverSchema, type Server } from '../model/server.js';
import { describeIssues } from '../model/values.js';

export interface DesiredOptions {
  role: string;
  defaultPort: number;
  defaultWeight: number;
  /** Address policy (e.g. an allowed CIDR); returns a reason to refuse, or undefined. */
  refuseAddress?: (address: string) => string | undefined;
}

export interface Rejection {
  /** The name as Serf gave it, JSON-quoted so CR, LF or NUL cannot forge a log line. */
  member: string;
  reason: string;
}

export interface Desired {
  servers: Map<string, Server>;
  rejected: Rejection[];
}

export function isCandidate(member: Member, role: string): boolean {
  return member.status === 'alive' && member.tags.role === role;
}

/** A tag holding a whole number, or the default when the tag is absent. */
function numberTag(tags: Record<string, string>, key: string, fallback: number): number {
  const value = tags[key];
  if (value === undefined) return fallback;
  return /^\d{1,6}$/.test(value) ? Number(value) : Number.NaN;
}

export function desiredServers(members: readonly Member[], options: DesiredOptions): Desired {
  const servers = new Map<string, Server>();
  const rejected: Rejection[] = [];
  for (const member of members) {
    if (!isCandidate(member, options.role)) continue;
    const parsed = serverSchema.safeParse({
      name: member.name,
      address: member.address,
      port: numberTag(member.tags, 'port', options.defaultPort),
      weight: numberTag(member.tags, 'weight', options.defaultWeight),
    });
    if (!parsed.success) {
      rejected.push({ member: JSON.stringify(member.name), reason: describeIssues(parsed.error) });
      continue;
    }
    const refused = options.refuseAddress?.(parsed.data.address);
    if (refused !== undefined) {
      rejected.push({ member: JSON.stringify(member.name), reason: `address: ${refused}` });
      continue;
    }
    servers.set(parsed.data.name, parsed.data);
  }
  return { servers, rejected };
}
