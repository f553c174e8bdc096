/**
 * The Runtime API client: one persistent prompt-mode connection, every command written at once in
 * call order (pipelined on the connection), fail-fast while disconnected, reconnect with capped
 * backoff, and detection of a restarted or reloaded HAProxy.
 */
import { EventEmitter } from 'node:events';
import { systemClock, type Clock } from '../util/clock.js';
import { Reconnector, type ReconnectStrategy } from '../util/reconnect.js';
import { parseRuntimeUrl, type RuntimeAddress } from './address.js';
import { checkAnswer } from './answers.js';
import * as commands from './commands.js';
import type { Command } from './commands.js';
import { PromptConnection, type OpenStream } from './connection.js';
import * as data from './data-commands.js';
import type { PatternRef, TableFilter } from './data-commands.js';
import {
  parseAclEntries,
  parseAclList,
  parseMapEntries,
  parseBackendList,
  parseMapList,
  parseTable,
  parseTableList,
  type AclEntry,
  type MapEntry,
  type PatternList,
  type ServerStateRow,
  type StatRow,
  type TableEntry,
  type TableInfo,
} from './parse.js';
import { RuntimeError } from './errors.js';
import { parseInfo, parseServersState, parseStat, type Info } from './parse.js';

export interface RuntimeClientOptions {
  /** `tcp://HOST:PORT` or `unix:///PATH` of a `stats socket … level admin` (operator level can only read). */
  url: string;
  /** Default 3000. */
  connectTimeoutMs?: number;
  /** Default 10000; a late answer drops the connection (answers are matched in order, so none may be skipped). */
  responseTimeoutMs?: number;
  /** How long to wait before reconnect attempt N (0-based), or false to stop; capped backoff by default. */
  reconnectStrategy?: ReconnectStrategy;
  /** How often a started client checks `show info` for a stopping (reloaded) process; 0 turns it off. */
  heartbeatMs?: number;
  /** Opens the byte stream to the socket; default a TCP or unix socket (a test gives an in-memory duplex). */
  openStream?: OpenStream;
  /** Deadlines, backoff, heartbeat and latencies; default the process's clock. */
  clock?: Clock;
}

/** One command sent (or refused for want of a connection): what a log of runtime commands needs. */
export interface TraceEvent {
  command: string;
  answers: string[];
  latencyMs: number;
  error?: RuntimeError;
}

export interface RuntimeClientEvents {
  /** Every command written, with its answers and latency, or the error that ended it. */
  trace: [event: TraceEvent];
  /** A connection opened; `info` is HAProxy's `show info` on it. */
  connected: [info: Info];
  /** The connection closed; a started client reconnects by itself. */
  disconnected: [error: RuntimeError];
  /** The process behind the socket changed (restart or reload). */
  restarted: [event: { previousPid: number; pid: number }];
}

/**
 * A client of HAProxy's Runtime API. Build commands with the builders (`addServer`, `setState`,
 * `addMap`…), send them with {@link RuntimeClient.run}; read typed tables with `stat`, `serversState`,
 * `info`, `mapEntries`, `table`… Every failure is a `RuntimeError` with a stable `code`.
 *
 * Nothing happens until `connect()` (one attempt) or `start()` (stay connected); `close()` ends both.
 */
export class RuntimeClient extends EventEmitter<RuntimeClientEvents> {
  readonly address: RuntimeAddress;
  private readonly connectTimeoutMs: number;
  private readonly responseTimeoutMs: number;
  private readonly reconnector: Reconnector;
  private readonly heartbeatMs: number;
  private readonly openStream: OpenStream | undefined;
  private readonly clock: Clock;
  private connection: PromptConnection | undefined;
  private lastPid: number | undefined;
  private lastVersion: string | undefined;
  private running = false;
  private heartbeatTimer: unknown;

  constructor(options: RuntimeClientOptions) {
    super();
    this.address = parseRuntimeUrl(options.url);
    this.connectTimeoutMs = options.connectTimeoutMs ?? 3_000;
    this.responseTimeoutMs = options.responseTimeoutMs ?? 10_000;
    this.openStream = options.openStream;
    this.clock = options.clock ?? systemClock;
    this.reconnector = new Reconnector({
      // An attempt that failed after its connection opened is retried from that connection's 'close'.
      connect: () =>
        this.connect().then(
          () => undefined,
          (error: unknown) => {
            if (!this.connected) throw error;
          },
        ),
      strategy: options.reconnectStrategy,
      timers: this.clock,
    });
    this.heartbeatMs = options.heartbeatMs ?? 2_000;
  }

  get connected(): boolean {
    return this.connection !== undefined && !this.connection.closed;
  }

  /** The Pid of the HAProxy process last connected to. */
  get pid(): number | undefined {
    return this.lastPid;
  }

  /** The version of the HAProxy process last connected to (e.g. `3.0.11-1+deb13u4`). */
  get version(): string | undefined {
    return this.lastVersion;
  }

  /** One connection attempt; throws RUNTIME_CONNECT_* when HAProxy cannot be reached. */
  async connect(): Promise<Info> {
    const connection = await PromptConnection.open(this.address, {
      connectTimeoutMs: this.connectTimeoutMs,
      responseTimeoutMs: this.responseTimeoutMs,
      openStream: this.openStream,
      clock: this.clock,
    });
    this.connection = connection;
    connection.once('close', (error) => {
      if (this.connection === connection) this.connection = undefined;
      this.emit('disconnected', error);
      if (this.running) this.reconnector.lost(error);
    });
    const info = await this.info();
    const previousPid = this.lastPid;
    this.lastPid = info.pid;
    this.lastVersion = info.version;
    this.emit('connected', info);
    if (previousPid !== undefined && previousPid !== info.pid) this.emit('restarted', { previousPid, pid: info.pid });
    return info;
  }

  /** Keeps a connection up until close(): reconnects with capped backoff and watches for reloads. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.reconnector.start();
    if (this.heartbeatMs > 0) this.heartbeatSoon();
  }

  /** Every heartbeatMs from start() on, whether the last heartbeat was answered or not. */
  private heartbeatSoon(): void {
    this.heartbeatTimer = this.clock.setTimeout(() => {
      this.heartbeatSoon();
      void this.heartbeat();
    }, this.heartbeatMs);
  }

  /** Closes the connection (commands still unanswered fail with RUNTIME_DISCONNECTED) and stops reconnecting. */
  close(): Promise<void> {
    this.running = false;
    this.reconnector.stop();
    this.clock.clearTimeout(this.heartbeatTimer);
    this.connection?.close();
    this.connection = undefined;
    return Promise.resolve();
  }

  /** Sends one command and returns HAProxy's checked answer (throws RuntimeError on refusal). */
  run(command: Command): Promise<string> {
    // Chained, not async functions awaiting each other: a burst of 1,000 joins sends ~3,000 commands through here.
    return this.send(command).then(([answer]) => checkAnswer(command, answer ?? '', this.address.url));
  }

  /**
   * Pipelines several commands (all written before the first answer arrives) and returns each one's
   * outcome; one refusal does not stop the others.
   */
  async runMany(list: readonly Command[]): Promise<PromiseSettledResult<string>[]> {
    return Promise.allSettled(list.map(async (command) => checkAnswer(command, (await this.send(command))[0] ?? '', this.address.url)));
  }

  /**
   * Sends a command and returns every raw answer (one per `;`-separated command). A command is
   * written when it is called, not when the previous one is answered (HAProxy answers in order):
   * concurrent callers pipeline on the connection, while each one's own steps stay ordered.
   */
  send(command: Command): Promise<string[]> {
    try {
      commands.assertSendable(command);
    } catch (error) {
      // Through a typed local: lint wants an Error rejected, yet calls an inline cast unneeded (reject takes any).
      const refused = error as RuntimeError;
      return Promise.reject(refused);
    }
    return this.transmit(command);
  }

  /**
   * `show info`: the process's Pid, version, uptime and whether it is stopping. A started client drops
   * a connection to a stopping process (the old worker of a reload keeps the connections it had), so it
   * reconnects to the new one at once rather than at the next heartbeat.
   */
  async info(): Promise<Info> {
    const info = parseInfo(await this.run(commands.showInfo()));
    if (info.stopping && this.running) this.connection?.close();
    return info;
  }

  /** `show backend`: the backends HAProxy booted with (none can be added at runtime). */
  async backends(): Promise<string[]> {
    return parseBackendList(await this.run(commands.showBackend()));
  }

  /** `show map`: every map HAProxy loaded. */
  async maps(): Promise<PatternList[]> {
    return parseMapList(await this.run(data.showMap()));
  }

  /** `show map MAP`: the map's entries. */
  async mapEntries(map: PatternRef): Promise<MapEntry[]> {
    return parseMapEntries(await this.run(data.showMap(map)));
  }

  /** `show acl`: every ACL pattern list. */
  async acls(): Promise<PatternList[]> {
    return parseAclList(await this.run(data.showAcl()));
  }

  /** `show acl ACL`: the list's patterns. */
  async aclEntries(acl: PatternRef): Promise<AclEntry[]> {
    return parseAclEntries(await this.run(data.showAcl(acl)));
  }

  /** `show table`: every stick table's name, type, size and use. */
  async tables(): Promise<TableInfo[]> {
    return parseTableList(await this.run(data.showTable()));
  }

  /** `show table NAME [filter]`: the table's header and its entries (all, by key, or by data); see `parseTable`. */
  async table(name: string, filter?: TableFilter): Promise<{ table: TableInfo | undefined; entries: TableEntry[] }> {
    return parseTable(await this.run(data.showTable(name, filter)));
  }

  /** `show servers state`: address, port, admin/operational state bits and check result of each server. */
  async serversState(backend?: string, only?: ReadonlySet<string>): Promise<ServerStateRow[]> {
    return parseServersState(await this.run(commands.showServersState(backend)), only);
  }

  /** `show stat` for servers: status (UP, DRAIN, MAINT…), sessions, queue, check status and weight. */
  async stat(backend?: string, only?: ReadonlySet<string>): Promise<StatRow[]> {
    return parseStat(await this.run(commands.showStat(backend)), only);
  }

  private transmit(command: Command): Promise<string[]> {
    const connection = this.connection;
    const started = this.clock.now();
    if (!connection || connection.closed) {
      const error = new RuntimeError(
        'RUNTIME_DISCONNECTED',
        `not connected to HAProxy at ${this.address.url}; '${command.text}' was not sent`,
        {
          address: this.address.url,
          command: command.text,
        },
      );
      this.emit('trace', { command: command.text, answers: [], latencyMs: 0, error });
      return Promise.reject(error);
    }
    return connection.send(command.text, command.responses).then(
      (answers) => {
        this.emit('trace', { command: command.text, answers, latencyMs: this.clock.now() - started });
        return answers;
      },
      (error: RuntimeError) => {
        this.emit('trace', { command: command.text, answers: [], latencyMs: this.clock.now() - started, error });
        throw error;
      },
    );
  }

  /** A reloaded HAProxy keeps old connections on the dying process (`Stopping: 1`): drop them. */
  private async heartbeat(): Promise<void> {
    if (!this.connected) return;
    try {
      const info = await this.info();
      if (info.stopping || (this.lastPid !== undefined && info.pid !== this.lastPid)) this.connection?.close();
    } catch {
      // A failed heartbeat already closed the connection, which schedules the reconnect.
    }
  }
}
