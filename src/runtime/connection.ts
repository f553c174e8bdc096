/**
 * One prompt-mode connection to the stats socket. It only moves bytes: commands are written as
 * lines, answers are framed on the prompt and handed back in FIFO order.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
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
  timer: NodeJS.Timeout | undefined;
}

export interface ConnectionOptions {
  connectTimeoutMs: number;
  responseTimeoutMs: number;
}

export class PromptConnection extends EventEmitter<{ close: [error: RuntimeError] }> {
  private readonly pending: Pending[] = [];
  private readonly framer = new PromptFramer();
  private closedWith: RuntimeError | undefined;

  private constructor(
    private readonly socket: net.Socket,
    readonly address: RuntimeAddress,
    private readonly options: ConnectionOptions,
  ) {
    super();
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.receive(chunk));
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
    const socket = await connectSocket(address, options.connectTimeoutMs);
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
      const entry: Pending = { text, remaining: responses, answers: [], resolve, reject, timer: undefined };
      entry.timer = setTimeout(() => {
        this.fail(
          new RuntimeError(
            'RUNTIME_RESPONSE_TIMEOUT',
            `no answer from ${this.address.url} within ${this.options.responseTimeoutMs} ms to '${text}'`,
            {
              address: this.address.url,
              command: text,
            },
          ),
          entry,
        );
      }, this.options.responseTimeoutMs);
      this.pending.push(entry);
      // Lines written in the same tick (1,000 concurrent joins' commands) leave in one write, not one each.
      if (this.socket.writableCorked === 0) {
        this.socket.cork();
        process.nextTick(() => this.socket.uncork());
      }
      this.socket.write(`${text}\n`);
    });
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
        clearTimeout(head.timer);
        head.resolve(head.answers);
      }
    }
  }

  /**
   * The first failure closes the connection and rejects everything in flight: nothing is replayed. With
   * `culprit` (the command that timed out), only it gets the error; the others were dropped with the connection.
   */
  private fail(error: RuntimeError, culprit?: Pending): void {
    if (this.closedWith) return;
    this.closedWith = error;
    this.socket.destroy();
    for (const entry of this.pending.splice(0)) {
      clearTimeout(entry.timer);
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

async function connectSocket(address: RuntimeAddress, timeoutMs: number): Promise<net.Socket> {
  try {
    return await openSocket(address.kind === 'tcp' ? { host: address.host, port: address.port } : { path: address.path }, timeoutMs);
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
