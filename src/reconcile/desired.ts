/**
 * Membership → desired servers (pure). A member is a server when it is alive and its role tag
 * matches, in the backend of the service its `service` tag names (none: the default backend).
 * Every field is validated; an invalid member is rejected with a reason and never reaches HAProxy
 * or the template, and the others are unaffected.
 */
import type { Member } from '../membership/member.js';
import { serverSchema, type Server } from '../model/server.js';
import { serviceTag } from '../model/service.js';
import { describeIssues } from '../model/values.js';

export interface DesiredOptions {
  role: string;
  /** The service whose members are wanted (their `service` tag); undefined: the default backend's, members without the tag. */
  service?: string | undefined;
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
    if (!isCandidate(member, options.role) || serviceTag(member.tags) !== options.service) continue;
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

export interface UnknownService {
  /** JSON-quoted, like a rejection: the name and the tag come from the network. */
  member: string;
  service: string;
}

/** Alive members of the role whose `service` tag names no configured service: they are servers nowhere. */
export function unknownServices(members: readonly Member[], role: string, services: ReadonlySet<string>): UnknownService[] {
  return members.flatMap((member) => {
    const service = serviceTag(member.tags);
    if (service === undefined || services.has(service) || !isCandidate(member, role)) return [];
    return [{ member: JSON.stringify(member.name), service: JSON.stringify(service) }];
  });
}
