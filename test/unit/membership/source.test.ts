/**
 * SerfMembership over fake Serf sessions (the list and the watch injected) with fake time: the list
 * is the truth, events only prompt a list, and reconnects follow the injected strategy.
 */
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Logger } from '../../../src/log.js';
import { SerfError } from '../../../src/membership/errors.js';
import type { Member } from '../../../src/membership/member.js';
import { SerfMembership, type MembershipOptions, type SerfSession } from '../../../src/membership/source.js';
import { MEMBER_EVENTS } from '../../../src/membership/member.js';

const raw = (name: string, n: number, status = 'alive') => ({
  Name: name,
  Addr: new Uint8Array([10, 0, 0, n]),
  Tags: { role: 'backend' },
  Status: status,
});

/** One fake RPC connection: answers `members` from the shared cluster view, records its calls. */
class FakeSession extends EventEmitter<{ record: [unknown]; close: [SerfError] }> implements SerfSession {
  closed = false;
  readonly calls: string[] = [];
  constructor(private readonly cluster: Cluster) {
    super();
  }
  async members(): Promise<unknown[]> {
    this.calls.push('members');
    await Promise.resolve();
    if (this.cluster.failList) throw new SerfError('SERF_TIMEOUT', 'no answer to members');
    return [...this.cluster.members];
  }
  /** Serf's `members-filtered`: here only the status filter, as the poll uses it. */
  async membersFiltered(filter: { Status?: string }): Promise<unknown[]> {
    return this.cluster.members.filter((m) => (m as { Status: string }).Status === filter.Status);
  }
  /** Serf's counters: only the member clock moves here, when a test says a change happened. */
  async stats(): Promise<unknown> {
    return { serf: { member_time: String(this.cluster.memberTime), members: '1', failed: '0', left: '0' } };
  }
  async stream(type: string): Promise<void> {
    this.calls.push(`stream ${type}`);
  }
  /** Serf's log: refused unless the cluster says it is there (the poll's tests run without it). */
  async monitor(level: string): Promise<void> {
    if (!this.cluster.log) throw new SerfError('SERF_COMMAND_FAILED', `Serf refused 'monitor'`);
    this.calls.push(`monitor ${level}`);
  }
  /** A line of Serf's log, as the monitor streams it. */
  logLine(text: string): void {
    this.emit('record', { Log: `2026/12/07 02:09:27 ${text}` });
  }
  /** A record on the stream, as Serf sends after a (coalesced) member event. */
  event(type: string, members: unknown[]): void {
    this.emit('record', { Event: type, Members: members });
  }
  close(): void {
    this.drop(new SerfError('SERF_DISCONNECTED', 'closed by the client'));
  }
  drop(error = new SerfError('SERF_DISCONNECTED', 'connection closed')): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close', error);
  }
}

interface Cluster {
  members: unknown[];
  failList: boolean;
  memberTime: number;
  /** Whether the sessions accept `monitor` (Serf's log). */
  log: boolean;
}

function setup(options: Partial<MembershipOptions> & { refuse?: number; serfLog?: boolean } = {}) {
  const cluster: Cluster = { members: [raw('web-1', 1)], failList: false, memberTime: 1, log: options.serfLog ?? false };
  const sessions: FakeSession[] = [];
  const logged: string[] = [];
  const record = (event: string) => void logged.push(event);
  const log: Logger = { debug: () => {}, info: record, warn: record, error: record };
  let refuse = options.refuse ?? 0;
  const lists: Array<{ names: string[]; reason: string }> = [];
  const membership = new SerfMembership({
    address: { host: '127.0.0.1', port: 7373, text: '127.0.0.1:7373' },
    resyncMs: 10_000,
    log,
    connect: async () => {
      if (refuse > 0) {
        refuse -= 1;
        throw new SerfError('SERF_CONNECT_FAILED', 'ECONNREFUSED');
      }
      const session = new FakeSession(cluster);
      sessions.push(session);
      return session;
    },
    ...options,
  });
  membership.on('members', (members: Member[], reason) => lists.push({ names: members.map((m) => `${m.name}:${m.status}`), reason }));
  return { cluster, sessions, logged, lists, membership };
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('SerfMembership', () => {
  it('subscribes to the stream before the first list, so no change falls between them', async () => {
    const { sessions, lists, membership } = setup();
    membership.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(sessions[0]!.calls).toEqual([`stream ${MEMBER_EVENTS}`, 'members']);
    expect(lists).toEqual([{ names: ['web-1:alive'], reason: 'connected' }]);
    membership.close();
  });

  it('an event only prompts a list: what is emitted is the list, not the event (a stale event cannot win)', async () => {
    const { cluster, sessions, lists, membership } = setup();
    membership.start();
    await vi.advanceTimersByTimeAsync(0);
    cluster.members = [raw('web-1', 1, 'left'), raw('web-2', 2)];
    sessions[0]!.event('member-join', [raw('web-1', 1)]); // an old event that says web-1 joined
    await vi.advanceTimersByTimeAsync(0);
    expect(lists.at(-1)).toEqual({ names: ['web-1:left', 'web-2:alive'], reason: 'member-join' });
    membership.close();
  });

  it('duplicated events in a burst coalesce: one list in flight plus at most one more', async () => {
    const { cluster, sessions, lists, membership } = setup();
    membership.start();
    await vi.advanceTimersByTimeAsync(0);
    cluster.members = [raw('web-1', 1), raw('web-2', 2)];
    for (let i = 0; i < 20; i += 1) sessions[0]!.event('member-join', [raw('web-2', 2)]);
    await vi.advanceTimersByTimeAsync(0);
    expect(sessions[0]!.calls.filter((c) => c === 'members')).toHaveLength(3); // connected + 1 in flight + 1 after
    expect(lists.at(-1)?.names).toEqual(['web-1:alive', 'web-2:alive']);
    membership.close();
  });

  it("Serf's log: a member-change line lists at once, other lines list nothing, and idle nothing is asked of Serf", async () => {
    const { cluster, sessions, lists, membership } = setup({ serfLog: true });
    membership.start();
    await vi.advanceTimersByTimeAsync(0);
    const session = sessions[0]!;
    expect(session.calls).toEqual([`stream ${MEMBER_EVENTS}`, 'members', 'monitor DEBUG']);
    let stats = 0;
    session.stats = async () => (stats += 1);
    session.logLine('[DEBUG] memberlist: Stream connection from=127.0.0.1:59402');
    await vi.advanceTimersByTimeAsync(5_000);
    expect(lists).toHaveLength(1);
    expect(stats).toBe(0);
    cluster.members = [raw('web-1', 1, 'leaving')];
    session.logLine('[DEBUG] serf: messageLeaveType: web-1');
    await vi.advanceTimersByTimeAsync(0);
    expect(lists.at(-1)).toEqual({ names: ['web-1:leaving'], reason: 'serf log' });
    // Two more lists read, soon and after the interval: the line may have come a moment before Serf applied it.
    // Here it had, so they bring nothing new and are not emitted.
    await vi.advanceTimersByTimeAsync(60);
    expect(session.calls.filter((c) => c === 'members')).toHaveLength(4);
    expect(lists.map((l) => l.reason)).toEqual(['connected', 'serf log']);
    membership.close();
  });

  it('a list that brings nothing new is not emitted, whatever its order; the resync and a reconnect always are', async () => {
    const { cluster, sessions, lists, membership } = setup({ serfLog: true });
    cluster.members = [raw('web-1', 1), raw('web-2', 2)];
    membership.start();
    await vi.advanceTimersByTimeAsync(0);
    const session = sessions[0]!;
    cluster.members = [raw('web-2', 2), raw('web-1', 1)]; // Serf lists its members in no fixed order
    session.event('member-join', [raw('web-2', 2)]);
    session.logLine('[INFO] serf: EventMemberJoin: web-2 10.0.0.2');
    await vi.advanceTimersByTimeAsync(100);
    expect(lists.map((l) => l.reason)).toEqual(['connected']);
    cluster.members = [raw('web-2', 2), raw('web-1', 1, 'leaving')];
    session.logLine('[DEBUG] serf: messageLeaveType: web-1');
    await vi.advanceTimersByTimeAsync(0);
    expect(lists.at(-1)).toEqual({ names: ['web-2:alive', 'web-1:leaving'], reason: 'serf log' });
    cluster.members = [raw('web-2', 2), raw('web-1', 1, 'leaving'), raw('web-2', 2)]; // the same member twice: not the same list
    session.event('member-join', [raw('web-2', 2)]);
    await vi.advanceTimersByTimeAsync(0);
    expect(lists).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(lists.at(-1)?.reason).toBe('resync');
    session.drop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(lists.some((l, i) => i > 0 && l.reason === 'connected')).toBe(true);
    membership.close();
  });

  it("Serf's log: a burst of lines lists at most once per interval, and once more after the last", async () => {
    const { cluster, sessions, lists, membership } = setup({ serfLog: true, pollMs: 50 });
    membership.start();
    await vi.advanceTimersByTimeAsync(0);
    for (let i = 2; i < 202; i += 1) {
      cluster.members = [...cluster.members, raw(`web-${i}`, i)];
      sessions[0]!.logLine(`[INFO] serf: EventMemberJoin: web-${i} 10.0.0.${i}`);
      await vi.advanceTimersByTimeAsync(1); // 200 lines over 200 ms
    }
    await vi.advanceTimersByTimeAsync(200);
    // connected, then the first line and its confirmation, one per 50 ms while lines come, and one after the last.
    expect(lists.length).toBeGreaterThanOrEqual(6);
    expect(lists.length).toBeLessThanOrEqual(9);
    expect(lists.at(-1)?.names).toHaveLength(201);
    membership.close();
  });

  it("Serf's log refused: the poll watches instead, and it is logged", async () => {
    const { cluster, sessions, lists, logged, membership } = setup();
    membership.start();
    await vi.advanceTimersByTimeAsync(100);
    expect(logged).toContain('serf.monitor-unavailable');
    cluster.members = [raw('web-1', 1, 'leaving')];
    cluster.memberTime += 1;
    await vi.advanceTimersByTimeAsync(60);
    expect(lists.at(-1)?.names).toEqual(['web-1:leaving']);
    // A log record that slips through is never taken for a member event.
    sessions[0]!.logLine('[INFO] serf: EventMemberJoin: web-9 10.0.0.9');
    expect(logged).not.toContain('serf.event');
    membership.close();
  });

  it("fast path: a move of Serf's member clock lists at once, long before the event batch or the resync", async () => {
    const { cluster, lists, membership } = setup();
    membership.start();
    await vi.advanceTimersByTimeAsync(100);
    expect(lists).toHaveLength(1);
    cluster.members = [raw('web-1', 1, 'leaving')];
    cluster.memberTime += 1;
    await vi.advanceTimersByTimeAsync(60);
    expect(lists.at(-1)).toEqual({ names: ['web-1:leaving'], reason: expect.stringMatching(/./) });
    expect(lists.length).toBeGreaterThan(1);
    membership.close();
  });

  it('fast path: a member that starts leaving with no counter moved (the second of two leavers) lists at once', async () => {
    const { cluster, lists, membership } = setup();
    membership.start();
    await vi.advanceTimersByTimeAsync(100);
    expect(lists).toHaveLength(1);
    cluster.members = [raw('web-1', 1, 'leaving')]; // the member clock stays
    await vi.advanceTimersByTimeAsync(60);
    expect(lists.at(-1)).toEqual({ names: ['web-1:leaving'], reason: 'serf stats changed' });
    membership.close();
  });

  it('lost events: a change with no event reaches the listener at the next resync', async () => {
    const { cluster, lists, membership } = setup();
    membership.start();
    await vi.advanceTimersByTimeAsync(0);
    cluster.members = [raw('web-1', 1, 'failed')]; // Serf dropped the event (its buffer was full)
    await vi.advanceTimersByTimeAsync(9_000);
    expect(lists).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(lists.at(-1)).toEqual({ names: ['web-1:failed'], reason: 'resync' });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(lists.map((l) => l.reason)).toEqual(['connected', 'resync', 'resync']);
    membership.close();
  });

  it('a lost stream reconnects after the strategy delay and lists again; a list that fails is logged, not fatal', async () => {
    const strategy = vi.fn((retries: number) => 1_000 * (retries + 1));
    const { cluster, sessions, lists, logged, membership } = setup({ reconnectStrategy: strategy });
    membership.start();
    await vi.advanceTimersByTimeAsync(0);
    cluster.failList = true;
    sessions[0]!.event('member-leave', []);
    await vi.advanceTimersByTimeAsync(0);
    expect(logged).toContain('serf.list-failed');
    cluster.failList = false;
    cluster.members = [raw('web-2', 2)];
    sessions[0]!.drop();
    expect(membership.connected).toBe(false);
    expect(strategy).toHaveBeenLastCalledWith(0, expect.objectContaining({ code: 'SERF_DISCONNECTED' }));
    await vi.advanceTimersByTimeAsync(999);
    expect(sessions).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sessions).toHaveLength(2);
    expect(membership.connected).toBe(true);
    expect(lists.at(-1)).toEqual({ names: ['web-2:alive'], reason: 'connected' });
    membership.close();
  });

  it('failed connection attempts back off as the strategy says, and stop when it returns false', async () => {
    const strategy = vi.fn((retries: number) => (retries < 3 ? 100 * retries : false));
    const { sessions, logged, membership } = setup({ reconnectStrategy: strategy, refuse: 10 });
    membership.start();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(strategy.mock.calls.map(([retries]) => retries)).toEqual([1, 2, 3]);
    expect(logged.filter((e) => e === 'serf.connect-failed')).toHaveLength(3);
    expect(sessions).toHaveLength(0);
    membership.close();
  });

  it('skips a malformed member record and emits the others', async () => {
    const { cluster, sessions, lists, logged, membership } = setup();
    membership.start();
    await vi.advanceTimersByTimeAsync(0);
    cluster.members = [raw('web-1', 1), { Name: 'bad', Addr: 'not bytes', Status: 'alive' }];
    sessions[0]!.event('member-update', []);
    await vi.advanceTimersByTimeAsync(0);
    expect(lists.at(-1)?.names).toEqual(['web-1:alive']);
    expect(logged).toContain('member.malformed');
    membership.close();
  });
  it('when Serf cannot be read, emits nothing (the last good list stands) and says once since when; a list read ends it', async () => {
    const lines: Array<[string, Record<string, unknown>]> = [];
    const record = (event: string, fields: Record<string, unknown> = {}) => void lines.push([event, fields]);
    let now = Date.parse('2026-12-07T02:00:00Z');
    const { cluster, sessions, lists, membership } = setup({
      log: {
        debug: () => {},
        info: record,
        warn: record,
        error: record,
        child: () => {
          throw new Error('unused');
        },
      },
      now: () => now,
      reconnectStrategy: () => 1_000,
    });
    membership.start();
    await vi.advanceTimersByTimeAsync(0);
    now += 5_000;
    cluster.failList = true;
    await vi.advanceTimersByTimeAsync(10_000); // a resync that fails
    sessions[0]!.drop();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(lists).toHaveLength(1);
    const stale = lines.filter(([event]) => event === 'membership.stale');
    expect(stale).toEqual([['membership.stale', expect.objectContaining({ since: '2026-12-07T02:00:00.000Z', why: 'list failed' })]]);
    cluster.failList = false;
    now += 30_000;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(lists.length).toBeGreaterThan(1);
    expect(lines.find(([event]) => event === 'membership.fresh')?.[1]).toEqual({ staleMs: 35_000 });
    membership.close();
  });
});
