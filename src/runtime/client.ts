/**
 * The Runtime API client: one persistent prompt-mode connection, mutations in one ordered queue,
 * reads sent at once (pipelined on the same connection), fail-fast while disconnected, reconnect
 * with capped backoff, and detection of a restarted or reloaded HAProxy.
 */
import { EventEmitter } from 'node:events';
import PQueue from 'p-queue';
import { cappedBackoff, type Backoff } from '../util/backoff.js';
import { parseRuntimeUrl, type RuntimeAddress } from './address.js';
import { checkAnswer } from './answers.js';
import * as commands from './commands.js';
import type { Command } from './commands.js';
import { PromptConnection } from './connection.js';
import { RuntimeError } from './errors.js';
import { parseInfo, parseServersState, parseStat, type Info } from './parse.js';

export interface RuntimeClientOptions {
  url: string;
  connectTimeoutMs?: number;
  responseTimeoutMs?: number;
  /** How long to wait before reconnect attempt N (0-based). */
  backoff?: Backoff;
  /** How often a started client checks `show info` for a stopping (reloaded) process; 0 turns it off. */
  heartbeatMs?: number;
}

export interface TraceEvent {
  command: string;
  answers: string[];
  latencyMs: number;
  error?: RuntimeError;
}

export interface RuntimeClientEvents {
  trace: [event: TraceEvent];
  connected: [info: Info];
  disconnected: [error: RuntimeError];
  /** The process behind the socket changed (restart or reload). */
  restarted: [event: { previousPid: number; pid: number }];
}

export class RuntimeClient extends EventEmitter<RuntimeClientEvents> {
  readonly address: RuntimeAddress;
  private readonly connectTimeoutMs: number;
  private readonly responseTimeoutMs: number;
  private readonly backoff: Backoff;
  private readonly heartbeatMs: number;
  private readonly mutations = new PQueue({ concurrency: 1 });
  private connection: PromptConnection | undefined;
  private lastPid: number | undefined;
  private lastVersion: string | undefined;
  private running = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private attempt = 0;

  constructor(options: RuntimeClientOptions) {
    super();
    this.address = parseRuntimeUrl(options.url);
    this.connectTimeoutMs = options.connectTimeoutMs ?? 3_000;
    this.responseTimeoutMs = options.responseTimeoutMs ?? 10_000;
    this.backoff = options.backoff ?? cappedBackoff();
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
    });
    this.connection = connection;
    connection.once('close', (error) => {
      if (this.connection === connection) this.connection = undefined;
      this.emit('disconnected', error);
      if (this.running) this.scheduleReconnect();
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
    this.scheduleReconnect(0);
    if (this.heartbeatMs > 0) this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.heartbeatMs);
  }

  async close(): Promise<void> {
    this.running = false;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.heartbeatTimer);
    this.connection?.close();
    this.connection = undefined;
    this.mutations.clear();
    await this.mutations.onIdle();
  }

  /** Sends one command and returns HAProxy's checked answer (throws RuntimeError on refusal). */
  async run(command: Command): Promise<string> {
    const [answer] = await this.send(command);
    return checkAnswer(command, answer ?? '', this.address.url);
  }

  /**
   * Pipelines several commands in one queue turn (all written before the first answer arrives)
   * and returns each one's outcome; one refusal does not stop the others.
   */
  async runMany(list: readonly Command[]): Promise<PromiseSettledResult<string>[]> {
    const task = () =>
      Promise.allSettled(list.map(async (command) => checkAnswer(command, (await this.transmit(command))[0] ?? '', this.address.url)));
    return list.some((command) => command.mutation) ? this.mutations.add(task) : task();
  }

  /**
   * Sends a command and returns every raw answer (one per `;`-separated command). Mutations are
   * written in queue order; the queue moves on once a command is written, not answered, so
   * concurrent callers pipeline on the connection while each one's own steps stay ordered.
   */
  async send(command: Command): Promise<string[]> {
    commands.assertSendable(command);
    if (!command.mutation) return this.transmit(command);
    const { answers } = await this.mutations.add(() => ({ answers: this.transmit(command) }));
    return answers;
  }

  async info(): Promise<Info> {
    return parseInfo(await this.run(commands.showInfo()));
  }

  async serversState(backend?: string) {
    return parseServersState(await this.run(commands.showServersState(backend)));
  }

  async stat(backend?: string) {
    return parseStat(await this.run(commands.showStat(backend)));
  }

  private async transmit(command: Command): Promise<string[]> {
    const connection = this.connection;
    const started = performance.now();
    if (!connection || connection.closed) {
      const error = new RuntimeError('RUNTIME_DISCONNECTED', `not connected to HAProxy at ${this.address.url}; '${command.text}' was not sent`, {
        address: this.address.url,
        command: command.text,
      });
      this.emit('trace', { command: command.text, answers: [], latencyMs: 0, error });
      throw error;
    }
    try {
      const answers = await connection.send(command.text, command.responses);
      this.emit('trace', { command: command.text, answers, latencyMs: performance.now() - started });
      return answers;
    } catch (error) {
      this.emit('trace', { command: command.text, answers: [], latencyMs: performance.now() - started, error: error as RuntimeError });
      throw error;
    }
  }

  private scheduleReconnect(delayMs = this.backoff(this.attempt)): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.attempt += 1;
      this.connect().then(
        () => {
          this.attempt = 0;
        },
        () => {
          // A connection that opened and then failed reports through its own 'close'.
          if (this.running && !this.connected) this.scheduleReconnect();
        },
      );
    }, delayMs);
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
