/**
 * One prompt-mode connection to the stats socket. It only moves bytes: commands are written as
 * lines, answers are framed on the prompt and handed back in FIFO order.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { systemClock, type Clock } from '../util/clock.js';
import type { RuntimeAddress } from './address.js';
import { RuntimeError } from './errors.js';
import { PromptFramer } from './framing.js';
import { openSocket, type SocketOpenError } from '../util/socket.js';

interface Pending {
  text: string;
  remaining: number;
  answers: string[];
  resolve: (answers: string[]) => void;
  reject: (error: RuntimeError) => void;
  /** The clock's now() by which its answer must have come. */
  deadline: number;
}

/** At most this many lines wait for one write (a burst's lines leave in ~4 KB writes). */
const LINES_PER_WRITE = 32;

/**
 * Opens the byte stream to HAProxy's stats socket, or throws RUNTIME_CONNECT_*: a TCP or unix socket by
 * default (openRuntimeSocket); a test gives one end of an in-memory duplex.
 */
export type OpenStream = (address: RuntimeAddress, timeoutMs: number) => Promise<Duplex>;

export interface ConnectionOptions {
  connectTimeoutMs: number;
  responseTimeoutMs: number;
  /** Default openRuntimeSocket. */
  openStream?: OpenStream | undefined;
  /** Response deadlines; default the process's clock. */
  clock?: Clock | undefined;
}

export class PromptConnection extends EventEmitter<{ close: [error: RuntimeError] }> {
  private readonly pending: Pending[] = [];
  private readonly framer = new PromptFramer();
  private closedWith: RuntimeError | undefined;
  /**
   * One timer for the whole queue, not one per command: answers come in order, so the oldest command
   * unanswered has the earliest deadline. It is re-armed when it fires early, not on every answer.
   */
  private deadlineTimer: unknown;
  /** Lines not yet handed to the socket, and how many. */
  private unwritten = '';
  private unwrittenLines = 0;
  private writeQueued = false;

  private readonly clock: Clock;

  private constructor(
    private readonly socket: Duplex,
    readonly address: RuntimeAddress,
    private readonly options: ConnectionOptions,
  ) {
    super();
    this.clock = options.clock ?? systemClock;
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (cause) =>
      this.fail(
        new RuntimeError('RUNTIME_DISCONNECTED', `connection to ${address.url} failed: ${cause.message}`, { address: address.url, cause }),
      ),
    );
    socket.on('close', () =>
      this.fail(new RuntimeError('RUNTIME_DISCONNECTED', `connection to ${address.url} closed`, { address: address.url })),
    );
  }

  /** Connects, switches to prompt mode and waits for the first prompt. */
  static async open(address: RuntimeAddress, options: ConnectionOptions): Promise<PromptConnection> {
    const socket = await (options.openStream ?? openRuntimeSocket)(address, options.connectTimeoutMs);
    const connection = new PromptConnection(socket, address, options);
    await connection.send('prompt', 1);
    return connection;
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  /** Writes one line and resolves with its `responses` answers. Lines may be pipelined. */
  send(text: string, responses: number): Promise<string[]> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise((resolve, reject) => {
      const entry: Pending = {
        text,
        remaining: responses,
        answers: [],
        resolve,
        reject,
        deadline: this.clock.now() + this.options.responseTimeoutMs,
      };
      this.deadlineTimer ??= this.clock.setTimeout(() => this.checkDeadline(), this.options.responseTimeoutMs);
      this.pending.push(entry);
      // Lines sent in the same tick (1,000 concurrent joins' commands) leave in writes of up to LINES_PER_WRITE lines,
      // not one each; and not all at the end of the tick, so HAProxy works on the first while the rest are made. Joined
      // here rather than corked: a stream write per line cost more than the line.
      this.unwritten += `${text}\n`;
      if (++this.unwrittenLines >= LINES_PER_WRITE) this.write();
      else if (!this.writeQueued) {
        this.writeQueued = true;
        process.nextTick(() => {
          this.writeQueued = false;
          this.write();
        });
      }
    });
  }

  private write(): void {
    if (this.unwrittenLines === 0 || this.closedWith) return;
    const text = this.unwritten;
    this.unwritten = '';
    this.unwrittenLines = 0;
    this.socket.write(text);
  }

  close(): void {
    this.fail(
      new RuntimeError('RUNTIME_DISCONNECTED', `connection to ${this.address.url} closed by the client`, { address: this.address.url }),
    );
  }

  private receive(chunk: Buffer): void {
    let answers: string[];
    try {
      answers = this.framer.push(chunk);
    } catch (error) {
      this.fail(error as RuntimeError);
      return;
    }
    for (const answer of answers) {
      const head = this.pending[0];
      if (!head) {
        this.fail(
          new RuntimeError('RUNTIME_PROTOCOL', `unexpected answer from ${this.address.url}`, { address: this.address.url, answer }),
        );
        return;
      }
      head.answers.push(answer);
      if (--head.remaining === 0) {
        this.pending.shift();
        head.resolve(head.answers);
      }
    }
    if (this.pending.length === 0) this.stopDeadline();
  }

  /** Fails the connection when its oldest unanswered command is overdue; otherwise waits until that one's deadline. */
  private checkDeadline(): void {
    this.deadlineTimer = undefined;
    const head = this.pending[0];
    if (!head) return;
    const left = head.deadline - this.clock.now();
    if (left > 0) {
      this.deadlineTimer = this.clock.setTimeout(() => this.checkDeadline(), left);
      return;
    }
    const { url } = this.address;
    const error = new RuntimeError(
      'RUNTIME_RESPONSE_TIMEOUT',
      `no answer from ${url} within ${this.options.responseTimeoutMs} ms to '${head.text}'`,
      { address: url, command: head.text },
    );
    this.fail(error, head);
  }

  private stopDeadline(): void {
    this.clock.clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
  }

  /**
   * The first failure closes the connection and rejects everything in flight: nothing is replayed. With
   * `culprit` (the command that timed out), only it gets the error; the others were dropped with the connection.
   */
  private fail(error: RuntimeError, culprit?: Pending): void {
    if (this.closedWith) return;
    this.closedWith = error;
    this.socket.destroy();
    this.stopDeadline();
    // Lines not yet written are never sent now; their commands are rejected below.
    this.unwritten = '';
    this.unwrittenLines = 0;
    for (const entry of this.pending.splice(0)) {
      entry.reject(
        culprit === undefined || culprit === entry
          ? new RuntimeError(error.code, error.message, { address: error.address, command: entry.text, cause: error.cause })
          : new RuntimeError('RUNTIME_DISCONNECTED', `connection to ${this.address.url} dropped before '${entry.text}' was answered`, {
              address: this.address.url,
              command: entry.text,
              cause: error,
            }),
      );
    }
    this.emit('close', error);
  }
}

/** The default OpenStream: a TCP or unix socket, without Nagle's delay (a command's line leaves at once). */
export async function openRuntimeSocket(address: RuntimeAddress, timeoutMs: number): Promise<Duplex> {
  try {
    const socket = await openSocket(
      address.kind === 'tcp' ? { host: address.host, port: address.port } : { path: address.path },
      timeoutMs,
    );
    return socket.setNoDelay(true);
  } catch (error) {
    const failure = error as SocketOpenError;
    if (failure.timedOut) {
      throw new RuntimeError('RUNTIME_CONNECT_TIMEOUT', `no connection to ${address.url} within ${timeoutMs} ms`, { address: address.url });
    }
    throw new RuntimeError('RUNTIME_CONNECT_FAILED', `cannot connect to HAProxy's Runtime API at ${address.url}: ${failure.reason}`, {
      address: address.url,
      cause: failure.cause,
    });
  }
}
