/** Serf members as they come off the RPC, normalised; nothing here trusts the values. */
import { z } from 'zod';

/** Serf's statuses by name; any other string Serf may send is kept as it is (`string & {}` keeps the names listed). */
export type MemberStatus = 'alive' | 'leaving' | 'left' | 'failed' | 'none' | (string & {});

/** Serf's member events, each with the status it reports its members in: what `run` subscribes to and `handle` acts on. */
export const statusByEvent: Readonly<Record<string, MemberStatus>> = {
  'member-join': 'alive',
  'member-leave': 'left',
  'member-failed': 'failed',
  'member-update': 'alive',
  'member-reap': 'left',
};

/** The events as Serf's `stream` filter and `-event-handler` take them: comma-separated. */
export const MEMBER_EVENTS = Object.keys(statusByEvent).join(',');

export interface Member {
  name: string;
  /** The IP from Serf's binary Addr, never from a tag; '' when Addr was not 4 or 16 bytes. */
  address: string;
  tags: Record<string, string>;
  status: MemberStatus;
}

const rawMember = z.object({
  Name: z.string(),
  Addr: z.instanceof(Uint8Array),
  Tags: z.record(z.string(), z.string()).nullish(),
  Status: z.string(),
});

/** Serf's member record (RPC `members` and stream records), or undefined when its shape is wrong. */
export function toMember(value: unknown): Member | undefined {
  const parsed = rawMember.safeParse(value);
  if (!parsed.success) return undefined;
  const { Name, Addr, Tags, Status } = parsed.data;
  return { name: Name, address: ipFromBytes(Addr), tags: Tags ?? {}, status: Status };
}

/** 4 bytes → dotted IPv4; 16 bytes → IPv6 (an IPv4-mapped one → IPv4); anything else → ''. */
export function ipFromBytes(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) return '';
  const mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (mapped) return Array.from(bytes.subarray(12)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => (((bytes[2 * i] ?? 0) << 8) | (bytes[2 * i + 1] ?? 0)).toString(16));
  // Compress the longest run of zero groups (RFC 5952).
  let best = { start: -1, length: 0 };
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j += 1;
    if (j - i > best.length && j - i > 1) best = { start: i, length: j - i };
    i = j;
  }
  if (best.start === -1) return groups.join(':');
  return `${groups.slice(0, best.start).join(':')}::${groups.slice(best.start + best.length).join(':')}`;
}
