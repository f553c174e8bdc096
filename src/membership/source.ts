/**
 * List-then-watch over Serf's RPC: subscribe to member events first, then list members; list
 * again after every event batch, every resync period, every reconnect, and as soon as Serf's
 * counters show a change (change-poller.ts: well before the event batch). Serf coalesces events
 * and can hide a leave-then-rejoin or an address change entirely, and drops stream events when
 * its buffer fills, so events are only a prompt to re-list: the list is the truth.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../log.js';
import { cappedBackoff, type Backoff } from '../util/backoff.js';
import { ChangePoller } from './change-poller.js';
import { SerfError } from './errors.js';
import { toMember, type Member } from './member.js';
import { SerfRpcClient, type SerfAddress } from './rpc-client.js';

export const MEMBER_EVENTS = 'member-join,member-leave,member-failed,member-update,member-reap';

export interface MembershipOptions {
  address: SerfAddress;
  authKey?: string | undefined;
  resyncMs: number;
  log: Logger;
  backoff?: Backoff;
  timeoutMs?: number;
  /** How often Serf's counters are read to list at once on a change, ahead of its event batch. */
  pollMs?: number;
}

export interface MembershipEvents {
  members: [members: Member[], reason: string];
  connected: [];
  disconnected: [error: SerfError];
}

export class SerfMembership extends EventEmitter<MembershipEvents> {
  private rpc: SerfRpcClient | undefined;
  private running = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private listing: Promise<void> | undefined;
  private listAgain: string | undefined;

  constructor(private readonly options: MembershipOptions) {
    super();
  }

  get connected(): boolean {
    return this.rpc !== undefined && !this.rpc.closed;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.connectSoon(0);
    this.resyncTimer = setInterval(() => this.list('resync'), this.options.resyncMs);
  }

  close(): void {
    this.running = false;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.resyncTimer);
    this.rpc?.close();
    this.rpc = undefined;
  }

  /** One connection: stream subscribed BEFORE the first list, so nothing falls in the gap. */
  private async connect(): Promise<void> {
    const { address, authKey, log, timeoutMs } = this.options;
    const rpc = await SerfRpcClient.connect({ address, authKey, timeoutMs });
    rpc.on('record', (record) => this.onRecord(record));
    rpc.once('close', (error) => {
      if (this.rpc === rpc) this.rpc = undefined;
      log.warn('serf.disconnected', { address: address.text, error });
      this.emit('disconnected', error);
      if (this.running) this.connectSoon();
    });
    try {
      await rpc.stream(MEMBER_EVENTS);
    } catch (error) {
      rpc.close();
      throw error;
    }
    this.rpc = rpc;
    this.attempt = 0;
    log.info('serf.connected', { address: address.text });
    this.emit('connected');
    this.list('connected');
    const poller = new ChangePoller({ readStats: () => rpc.stats(), onChange: (reason) => this.list(reason), intervalMs: this.options.pollMs });
    rpc.once('close', () => poller.stop());
    poller.start();
  }

  private connectSoon(delayMs = (this.options.backoff ?? cappedBackoff())(this.attempt)): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.attempt += 1;
      this.connect().catch((error: SerfError) => {
        this.options.log.warn('serf.connect-failed', { address: this.options.address.text, attempt: this.attempt, error });
        if (this.running && !this.connected) this.connectSoon();
      });
    }, delayMs);
  }

  private onRecord(record: unknown): void {
    const { Event, Members } = (record ?? {}) as { Event?: unknown; Members?: unknown };
    const names = Array.isArray(Members) ? Members.map((m) => toMember(m)?.name ?? '(malformed)') : [];
    this.options.log.info('serf.event', { type: typeof Event === 'string' ? Event : '(unknown)', members: names });
    this.list(typeof Event === 'string' ? Event : 'event');
  }

  /** Lists now, or right after the list in flight (bursts of events coalesce into one more list). */
  private list(reason: string): void {
    if (this.listing) {
      this.listAgain = reason;
      return;
    }
    const rpc = this.rpc;
    if (!rpc) return;
    this.listing = rpc
      .members()
      .then((raw) => {
        const members: Member[] = [];
        for (const value of raw) {
          const member = toMember(value);
          if (member) members.push(member);
          else this.options.log.warn('member.malformed', { record: String(JSON.stringify(value)).slice(0, 200) });
        }
        this.emit('members', members, reason);
      })
      .catch((error: SerfError) => this.options.log.warn('serf.list-failed', { reason, error }))
      .finally(() => {
        this.listing = undefined;
        const again = this.listAgain;
        this.listAgain = undefined;
        if (again !== undefined) this.list(again);
      });
  }
}
