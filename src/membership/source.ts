/**
 * List-then-watch over Serf's RPC: subscribe to member events first, then list members; list
 * again after every event batch, every resync period, every reconnect, and as soon as Serf's
 * log shows a change (change-watch.ts: well before the event batch). Serf coalesces events
 * and can hide a leave-then-rejoin or an address change entirely, and drops stream events when
 * its buffer fills, so events are only a prompt to re-list: the list is the truth.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../log.js';
import { systemClock, type Timers } from '../util/clock.js';
import { Reconnector, type ReconnectStrategy } from '../util/reconnect.js';
import { SerialPass } from '../util/serial-pass.js';
import type { SerfError } from './errors.js';
import { MEMBER_EVENTS, MemberDecoder, type Member } from './member.js';
import { ChangeWatch } from './change-watch.js';
import { SerfRpcClient, type SerfAddress, type SerfMemberFilter } from './rpc-client.js';

/**
 * What the membership source needs of one Serf RPC connection (SerfRpcClient in production): the
 * list (`members`) and the watch (`stream`), on one connection so the watch starts before the list.
 */
export interface SerfSession {
  readonly closed: boolean;
  members(): Promise<unknown[]>;
  /** Serf's counters: a cheap read that moves when a member joins, leaves or fails. */
  stats(): Promise<unknown>;
  /** The members matching Serf's filters: the poll reads those with status `leaving`. */
  membersFiltered(filter: SerfMemberFilter): Promise<unknown[]>;
  /** Serf's log lines at `level` and above, as records `{ Log }`: the watch's prompts. */
  monitor(level: string): Promise<void>;
  stream(type: string): Promise<void>;
  on(event: 'record', listener: (record: unknown) => void): unknown;
  once(event: 'close', listener: (error: SerfError) => void): unknown;
  close(): void;
}

export interface MembershipOptions {
  /** The Serf agent's RPC address (`parseSerfAddress('127.0.0.1:7373')`). */
  address: SerfAddress;
  authKey?: string | undefined;
  /** How often to list the members even without an event (Serf can drop events). */
  resyncMs: number;
  /** Where connection and malformed-member events go (`silentLogger` for none). */
  log: Logger;
  reconnectStrategy?: ReconnectStrategy;
  timeoutMs?: number;
  /** The least time between two lists prompted by Serf's log; the poll's period when Serf refuses its log (change-watch.ts). */
  pollMs?: number;
  /** Opens one session; a real RPC connection to `address` unless a test injects a fake. */
  connect?: () => Promise<SerfSession>;
  timers?: Timers;
  /** Wall clock (ms since the epoch): when the last good list was read, for the staleness report. */
  now?: () => number;
}

export interface MembershipEvents {
  /** The whole member list (every status; filter as you need), and why it was listed. */
  members: [members: Member[], reason: string];
  connected: [];
  disconnected: [error: SerfError];
}

/** The reasons of the lists that are emitted even when they bring nothing new (see listOnce). */
const RESYNC = 'resync';
const CONNECTED = 'connected';
const ALWAYS_EMITTED = new Set([RESYNC, CONNECTED]);

/**
 * List-then-watch over Serf's RPC: `start()` connects and keeps connected, `close()` stops.
 * Every trigger ends in list(reason): the session's (re)connect, a stream record, the resync timer.
 * A new trigger (say, a cheap poll that notices a change) only has to call list() with its reason.
 */
export class SerfMembership extends EventEmitter<MembershipEvents> {
  private rpc: SerfSession | undefined;
  private running = false;
  private readonly reconnector: Reconnector;
  private readonly timers: Timers;
  private resyncTimer: unknown;
  private readonly decoder = new MemberDecoder();
  /** When the last list was read (wall clock), and whether the lists stopped coming since (see stale()). */
  private listedAt: number | undefined;
  private isStale = false;
  /** The list last emitted (its members, and how many): a list prompted by a change that brings nothing new is not. */
  private emitted: { members: ReadonlySet<Member>; length: number } | undefined;

  constructor(private readonly options: MembershipOptions) {
    super();
    this.timers = options.timers ?? systemClock;
    this.reconnector = new Reconnector({
      connect: () => this.connect(),
      strategy: options.reconnectStrategy,
      timers: this.timers,
      onFailure: (error, attempt) => this.options.log.warn('serf.connect-failed', { address: this.options.address.text, attempt, error }),
    });
  }

  get connected(): boolean {
    return this.rpc !== undefined && !this.rpc.closed;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.reconnector.start();
    this.resyncSoon();
  }

  close(): void {
    this.running = false;
    this.reconnector.stop();
    this.timers.clearTimeout(this.resyncTimer);
    this.rpc?.close();
    this.rpc = undefined;
  }

  private resyncSoon(): void {
    this.resyncTimer = this.timers.setTimeout(() => {
      this.list(RESYNC);
      if (this.running) this.resyncSoon();
    }, this.options.resyncMs);
  }

  private openSession(): Promise<SerfSession> {
    const { address, authKey, timeoutMs } = this.options;
    return this.options.connect?.() ?? SerfRpcClient.connect({ address, authKey, timeoutMs, timers: this.timers });
  }

  /** One connection: stream subscribed BEFORE the first list, so nothing falls in the gap. */
  private async connect(): Promise<void> {
    const { address, log } = this.options;
    const rpc = await this.openSession();
    const watch = new ChangeWatch({
      monitor: (level) => rpc.monitor(level),
      readStats: () => rpc.stats(),
      readLeaving: () => rpc.membersFiltered({ Status: 'leaving' }),
      onChange: (reason) => this.list(reason),
      onMonitorUnavailable: (error) => log.warn('serf.monitor-unavailable', { address: address.text, error }),
      onLeavingUnavailable: (error) => log.warn('serf.leaving-unavailable', { address: address.text, error }),
      intervalMs: this.options.pollMs,
      timers: this.timers,
    });
    rpc.on('record', (record) => watch.take(record) || this.onRecord(record));
    rpc.once('close', (error) => {
      if (this.rpc === rpc) this.rpc = undefined;
      log.warn('serf.disconnected', { address: address.text, error });
      this.stale('disconnected');
      this.emit('disconnected', error);
      if (this.running) this.reconnector.lost(error);
    });
    try {
      await rpc.stream(MEMBER_EVENTS);
    } catch (error) {
      rpc.close();
      throw error;
    }
    this.rpc = rpc;
    log.info('serf.connected', { address: address.text });
    this.emit('connected');
    this.list(CONNECTED);
    rpc.once('close', () => watch.stop());
    watch.start();
  }

  private onRecord(record: unknown): void {
    const { Event, Members } = (record ?? {}) as { Event?: unknown; Members?: unknown };
    const names = Array.isArray(Members) ? Members.map((m) => this.decoder.one(m)?.name ?? '(malformed)') : [];
    this.options.log.info('serf.event', { type: typeof Event === 'string' ? Event : '(unknown)', members: names });
    this.list(typeof Event === 'string' ? Event : 'event');
  }

  /** Lists now, or right after the list in flight (bursts of events coalesce into one more list, with the latest reason). */
  private readonly listing = new SerialPass(
    (reason) => this.listOnce(reason),
    (latest) => latest,
  );

  /**
   * The member list cannot be read: whoever listens keeps the last good list (an empty view would empty the
   * backends) and `membership.stale` says since when that list is, once, until a list is read again.
   */
  private stale(why: string): void {
    if (this.isStale || !this.running) return;
    this.isStale = true;
    const since = new Date(this.listedAt ?? (this.options.now ?? Date.now)()).toISOString();
    this.options.log.warn('membership.stale', {
      since,
      why,
      listed: this.listedAt !== undefined,
      action: 'keep the last good member list',
    });
  }

  private fresh(): void {
    const now = (this.options.now ?? Date.now)();
    if (this.isStale) this.options.log.info('membership.fresh', { staleMs: now - (this.listedAt ?? now) });
    this.isStale = false;
    this.listedAt = now;
  }

  private sameAsEmitted(members: readonly Member[]): boolean {
    const emitted = this.emitted;
    return emitted !== undefined && emitted.length === members.length && members.every((member) => emitted.members.has(member));
  }

  private list(reason: string): void {
    this.listing.trigger(reason);
  }

  private async listOnce(reason: string): Promise<void> {
    const rpc = this.rpc;
    if (!rpc) return;
    try {
      const raw = await rpc.members();
      const members: Member[] = [];
      const decoded = this.decoder.list(raw);
      for (const [i, member] of decoded.entries()) {
        if (member) members.push(member);
        else this.options.log.warn('member.malformed', { record: String(JSON.stringify(raw[i])).slice(0, 200) });
      }
      this.fresh();
      // A burst of 5,000 joins logs 5,000 lines, and its event batch repeats them: most lists they prompt are the
      // list already emitted, and each one emitted costs every service a pass (a read of HAProxy's table and a
      // decision) for nothing. The decoder gives an unchanged member back as the same object, so "the same list" is
      // the same objects in any order (Serf lists its members in no fixed order). The connection's first list and
      // the periodic resync are always emitted: their passes are what finds HAProxy changed under the agent.
      if (!ALWAYS_EMITTED.has(reason) && this.sameAsEmitted(members)) return;
      this.emitted = { members: new Set(members), length: members.length };
      this.emit('members', members, reason);
    } catch (error) {
      this.options.log.warn('serf.list-failed', { reason, error: error as SerfError });
      this.stale('list failed');
    }
  }
}
