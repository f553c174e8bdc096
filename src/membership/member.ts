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

const memberStatus = z.string();
const rawMember = z.object({
  Name: z.string(),
  Addr: z.instanceof(Uint8Array),
  Tags: z.record(z.string(), z.string()).nullish(),
  Status: memberStatus,
});

/** Serf's member record (RPC `members` and stream records), or undefined when its shape is wrong. */
export function toMember(value: unknown): Member | undefined {
  const parsed = rawMember.safeParse(value);
  if (!parsed.success) return undefined;
  const { Name, Addr, Tags, Status } = parsed.data;
  return { name: Name, address: ipFromBytes(Addr), tags: Tags ?? {}, status: Status };
}

/**
 * What toMember reads of a record but its status, as one unambiguous string; undefined for a record not in
 * Serf's plain shape (that one is always validated afresh, and refused). Tag order is not kept: Serf encodes a
 * Go map, in no fixed order.
 */
function recordKey(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { Name, Addr, Tags } = value as Record<string, unknown>;
  if (typeof Name !== 'string' || !(Addr instanceof Uint8Array)) return undefined;
  if (Tags !== undefined && Tags !== null && (typeof Tags !== 'object' || Array.isArray(Tags) || Tags instanceof Uint8Array))
    return undefined;
  // JSON strings end where they end, and the address's digits and dots stand between two of them: no two records
  // make the same text. Built piece by piece: a list's 1,000 records each made an array of tag pairs to stringify.
  let key = `${JSON.stringify(Name)}${Addr.join('.')}`;
  const tags = (Tags ?? {}) as Record<string, unknown>;
  for (const name of Object.keys(tags).sort()) {
    const tag = tags[name];
    if (typeof tag !== 'string') return undefined;
    key += `${JSON.stringify(name)}${JSON.stringify(tag)}`;
  }
  return key;
}

/**
 * toMember over whole member lists, reusing what the previous list had of a record with the same fields: every
 * list of 1,000 members (the poll's, its confirmation, each event batch's) would validate all of them again,
 * though few changed. A new record is validated as toMember does, an invalid one is refused again each time; a
 * known one whose status alone changed (1,000 leaves) has only its status validated. Unchanged members come
 * back as the same objects (read-only: the desired state's memo keys on them).
 */
export class MemberDecoder {
  private known = new Map<string, Member | undefined>();

  /** One whole list, in order (undefined: a record not in a member's shape); remembers only this list's records. */
  list(records: readonly unknown[]): (Member | undefined)[] {
    const previous = this.known;
    this.known = new Map();
    return records.map((record) => {
      const key = recordKey(record);
      if (key === undefined) return toMember(record);
      const member = this.reuse(previous.get(key) ?? this.known.get(key), record);
      this.known.set(key, member);
      return member;
    });
  }

  /** One record (e.g. of an event), from the last list when it is there; remembers nothing. */
  one(record: unknown): Member | undefined {
    const key = recordKey(record);
    return key === undefined ? toMember(record) : this.reuse(this.known.get(key), record);
  }

  private reuse(known: Member | undefined, record: unknown): Member | undefined {
    if (known === undefined) return toMember(record);
    const status = memberStatus.safeParse((record as { Status?: unknown }).Status);
    if (!status.success) return undefined;
    return status.data === known.status ? known : { ...known, status: status.data };
  }
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
