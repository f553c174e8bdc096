/**
 * Servers whose member is absent from the member list (pure). Absent is not gone: Serf reports a
 * member that went as `leaving`, `left` or `failed` until it reaps it, while a member the local Serf
 * agent merely does not know (it restarted and has not rejoined the cluster yet) is not listed at
 * all. So the server of an absent member is kept while HAProxy's own checks hold it up, for at most
 * a grace period; it is removed at once when HAProxy reports it DOWN, or when the agent saw its member
 * leaving, left or failed before it went from the list (Serf reaped it).
 */
import type { Member } from '../membership/member.js';
import type { ActualServer } from './actual.js';

/**
 * Four push/pull intervals of Serf's default `lan` profile (30 s). In each, every peer syncs its whole
 * member list with one random member, so a peer that still knows a restarted agent soon reaches it:
 * with 3 peers the chance that none has after four intervals is (2/3)^12, under 1%. A member still
 * absent then is taken not to be coming back through gossip.
 */
export const DEFAULT_ABSENT_GRACE_MS = 120_000;

/** Statuses in which Serf reports a member that went; one seen so and then missing was reaped. */
const GONE = new Set(['leaving', 'left', 'failed']);

export interface AbsentServer {
  /** The member as the list would name it: its name (dynamic), the slot's address (slots). */
  member: string;
  /** Monotonic ms at which the agent first saw the member missing. */
  since: number;
  /** true: keep the server as it is for now. */
  hold: boolean;
  reason: string;
  /** When a kept server is removed if its member is still absent (monotonic ms). */
  until: number;
}

export interface AbsenceMemory {
  /** When each absent member was first seen missing, by member key; empty for a one-shot run. */
  since: ReadonlyMap<string, number>;
  /** Member keys the agent saw leaving, left or failed in an earlier list. */
  gone: ReadonlySet<string>;
}

/**
 * How the list knows a server's member, given by the mode (plan-mode.ts): by name in dynamic mode, where a server is
 * named for its member; by address in slot mode, where a slot is named for itself and holds a member's endpoint.
 */
export type MemberKey = (server: Pick<ActualServer, 'name' | 'address'> | Member) => string;

/**
 * Every server in HAProxy (out of maintenance: a server there takes no traffic and goes at no cost)
 * whose member is not in the list at all, with whether to keep it now.
 */
export function absentServers(
  memberKey: MemberKey,
  members: readonly Member[],
  actual: ReadonlyMap<string, ActualServer>,
  memory: AbsenceMemory,
  now: number,
  graceMs: number,
): Map<string, AbsentServer> {
  const listed = new Set(members.map((m) => memberKey(m)));
  const absent = new Map<string, AbsentServer>();
  for (const server of actual.values()) {
    const member = memberKey(server);
    if (server.mode === 'maint' || listed.has(member)) continue;
    const since = memory.since.get(member) ?? now;
    const until = since + graceMs;
    const decide = (hold: boolean, reason: string) => absent.set(server.name, { member, since, hold, reason, until });
    if (memory.gone.has(member)) decide(false, 'member left or failed, then went from the member list');
    else if (!server.running) decide(false, 'member absent from the member list and HAProxy reports the server down');
    else if (now >= until) decide(false, `member absent from the member list for ${Math.round((now - since) / 1000)} s`);
    else decide(true, 'member absent from the member list, server up');
  }
  return absent;
}

/** The member keys to remember as gone after this list: those it reports going, and gone ones still missing. */
export function goneMembers(
  memberKey: MemberKey,
  members: readonly Member[],
  previous: ReadonlySet<string>,
  absent: Iterable<AbsentServer>,
): Set<string> {
  const gone = new Set(members.filter((m) => GONE.has(m.status)).map((m) => memberKey(m)));
  for (const { member } of absent) if (previous.has(member)) gone.add(member);
  return gone;
}
