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

/** A wanted member judged: its server, or why it is refused. */
export type Judged = { server: Server } | { rejection: Rejection };

/**
 * What judge() said of each member object, for one reconciler's options (they never change). The membership
 * source hands unchanged members over as the same objects, so with 1,000 members a pass validates only the
 * new or changed ones; a WeakMap lets the members of older lists go.
 */
export type DesiredMemo = WeakMap<Member, Judged>;

function judge(member: Member, options: DesiredOptions): Judged {
  const parsed = serverSchema.safeParse({
    name: member.name,
    address: member.address,
    port: numberTag(member.tags, 'port', options.defaultPort),
    weight: numberTag(member.tags, 'weight', options.defaultWeight),
  });
  if (!parsed.success) return { rejection: { member: JSON.stringify(member.name), reason: describeIssues(parsed.error) } };
  const refused = options.refuseAddress?.(parsed.data.address);
  if (refused !== undefined) return { rejection: { member: JSON.stringify(member.name), reason: `address: ${refused}` } };
  return { server: parsed.data };
}

/** `memo`: only with the same options on every call (one per reconciler). */
export function desiredServers(members: readonly Member[], options: DesiredOptions, memo?: DesiredMemo): Desired {
  const servers = new Map<string, Server>();
  const rejected: Rejection[] = [];
  for (const member of members) {
    if (!isCandidate(member, options.role) || serviceTag(member.tags) !== options.service) continue;
    let judged = memo?.get(member);
    if (judged === undefined) {
      judged = judge(member, options);
      memo?.set(member, judged);
    }
    if ('server' in judged) servers.set(judged.server.name, judged.server);
    else rejected.push(judged.rejection);
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
