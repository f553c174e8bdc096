/** One RPC connection to a local Serf agent: handshake, auth, members, stream. Moves bytes only. */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { systemClock, type Timers } from '../util/clock.js';
import { openSocket, type SocketOpenError } from '../util/socket.js';
import { SerfError } from './errors.js';
import { encodeRequest, RpcDecoder, type Expectation, type RpcOutput } from './rpc-codec.js';

export interface SerfAddress {
  host: string;
  port: number;
  text: string;
}

/** Where a Serf agent listens for RPC unless told otherwise (`serf agent -rpc-addr`, and `--serf`). */
export const DEFAULT_SERF_ADDRESS = '127.0.0.1:7373';

const isArray = (value: unknown): value is unknown[] => Array.isArray(value);

export function parseSerfAddress(text: string): SerfAddress {
  const match = /^\[?([^\]\s/]+?)\]?:(\d{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65535) {
    throw new SerfError('SERF_INVALID_ADDRESS', `invalid Serf RPC address '${text}': use HOST:PORT, e.g. 127.0.0.1:7373`, {
      address: text,
    });
  }
  return { host: match[1] as string, port, text };
}

/**
 * Opens the byte stream to a Serf agent's RPC, or throws SERF_CONNECT_FAILED / SERF_TIMEOUT: a TCP socket by
 * default (openSerfSocket); a test gives one end of an in-memory duplex.
 */
export type OpenSerfStream = (address: SerfAddress, timeoutMs: number) => Promise<Duplex>;

export interface SerfRpcOptions {
  address: SerfAddress;
  authKey?: string | undefined;
  timeoutMs?: number | undefined;
  /** Default openSerfSocket. */
  openStream?: OpenSerfStream | undefined;
  /** Request deadlines; default the process's timers. */
  timers?: Timers | undefined;
}

/** Regular expressions Serf matches whole against a member's status, name and tags (RPC `members-filtered`). */
export interface SerfMemberFilter {
  Status?: string;
  Name?: string;
  Tags?: Record<string, string>;
}

interface Waiting {
  command: string;
  resolve: (body: unknown) => void;
  reject: (error: SerfError) => void;
  timer: unknown;
}

/** One RPC connection to a Serf agent: `SerfRpcClient.connect()`, then `members()`, `membersFiltered()`, `stats()` and `stream()`. */
export class SerfRpcClient extends EventEmitter<{ record: [record: unknown]; close: [error: SerfError] }> {
  private readonly decoder = new RpcDecoder();
  private readonly waiting = new Map<number, Waiting>();
  private seq = 0;
  private closedWith: SerfError | undefined;

  private constructor(
    private readonly socket: Duplex,
    readonly address: SerfAddress,
    private readonly timeoutMs: number,
    private readonly timers: Timers,
  ) {
    super();
    socket.on('error', (cause) =>
      this.fail(new SerfError('SERF_DISCONNECTED', `Serf RPC ${address.text}: ${cause.message}`, { address: address.text, cause })),
    );
    socket.on('close', () =>
      this.fail(new SerfError('SERF_DISCONNECTED', `Serf RPC connection to ${address.text} closed`, { address: address.text })),
    );
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
  }

  /** Connects, handshakes and authenticates (with `authKey`); throws SERF_CONNECT_FAILED, SERF_TIMEOUT or SERF_AUTH_FAILED. */
  static async connect(options: SerfRpcOptions): Promise<SerfRpcClient> {
    const { address } = options;
    const timeoutMs = options.timeoutMs ?? 5_000;
    const socket = await (options.openStream ?? openSerfSocket)(address, timeoutMs);
    const client = new SerfRpcClient(socket, address, timeoutMs, options.timers ?? systemClock);
    try {
      await client.request('handshake', 'none', { Version: 1 });
      // Nothing may be sent before auth succeeds: Serf answers 'Authentication required' without reading the body.
      if (options.authKey) await client.request('auth', 'none', { AuthKey: options.authKey });
    } catch (error) {
      client.close();
      throw error;
    }
    return client;
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  /** Serf's raw member records; `toMember` validates each one. */
  async members(): Promise<unknown[]> {
    return this.memberRecords('members');
  }

  /** The raw records of the members matching every filter given (Serf anchors each: `{ Status: 'leaving' }`). */
  async membersFiltered(filter: SerfMemberFilter): Promise<unknown[]> {
    return this.memberRecords('members-filtered', { ...filter });
  }

  /** The agent's counters; `serf` holds string values such as member_time, members, failed, left. */
  async stats(): Promise<unknown> {
    return this.request('stats', 'body');
  }

  /** Subscribes to events; records arrive as 'record' events until the connection closes. */
  async stream(type: string): Promise<void> {
    await this.request('stream', 'stream', { Type: type });
  }

  /** Subscribes to the agent's log lines at `level` and above: records `{ Log }` arrive as 'record' events, after its recent lines. */
  async monitor(level: string): Promise<void> {
    await this.request('monitor', 'stream', { LogLevel: level });
  }

  close(): void {
    this.fail(
      new SerfError('SERF_DISCONNECTED', `Serf RPC connection to ${this.address.text} closed by the client`, {
        address: this.address.text,
      }),
    );
  }

  private async memberRecords(command: string, body?: Record<string, unknown>): Promise<unknown[]> {
    const answer = (await this.request(command, 'body', body)) as { Members?: unknown };
    if (!isArray(answer?.Members)) throw new SerfError('SERF_PROTOCOL', `${command} answer has no Members list`, { command });
    return answer.Members;
  }

  private request(command: string, kind: Expectation, body?: Record<string, unknown>): Promise<unknown> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const seq = this.seq++;
    this.decoder.dispatcher.expect(seq, kind);
    return new Promise((resolve, reject) => {
      const timer = this.timers.setTimeout(
        () =>
          this.fail(
            new SerfError(
              'SERF_TIMEOUT',
              `the Serf agent at ${this.address.text} did not answer '${command}' within ${this.timeoutMs} ms`,
              { address: this.address.text, command },
            ),
          ),
        this.timeoutMs,
      );
      this.waiting.set(seq, { command, resolve, reject, timer });
      this.socket.write(encodeRequest(command, seq, body));
    });
  }

  private receive(chunk: Buffer): void {
    let outputs: RpcOutput[];
    try {
      outputs = this.decoder.push(chunk);
    } catch (error) {
      this.fail(error as SerfError);
      return;
    }
    for (const output of outputs) {
      if (output.type === 'record') {
        this.emit('record', output.record);
        continue;
      }
      const waiting = this.waiting.get(output.seq);
      if (!waiting) continue;
      this.waiting.delete(output.seq);
      this.decoder.dispatcher.forget(output.seq);
      this.timers.clearTimeout(waiting.timer);
      if (output.error === '') waiting.resolve(output.body);
      else
        waiting.reject(
          new SerfError(
            /auth/i.test(output.error) ? 'SERF_AUTH_FAILED' : 'SERF_COMMAND_FAILED',
            `Serf refused '${waiting.command}': ${output.error}`,
            {
              address: this.address.text,
              command: waiting.command,
            },
          ),
        );
    }
  }

  private fail(error: SerfError): void {
    if (this.closedWith) return;
    this.closedWith = error;
    this.socket.destroy();
    for (const waiting of this.waiting.values()) {
      this.timers.clearTimeout(waiting.timer);
      waiting.reject(error);
    }
    this.waiting.clear();
    this.emit('close', error);
  }
}

/** The default OpenSerfStream: a TCP connection to the agent's RPC address. */
export function openSerfSocket(address: SerfAddress, timeoutMs: number): Promise<Duplex> {
  return openSocket({ host: address.host, port: address.port }, timeoutMs).catch((failure: SocketOpenError) => {
    throw failure.timedOut
      ? new SerfError('SERF_TIMEOUT', `no RPC connection to the Serf agent at ${address.text} within ${timeoutMs} ms`, {
          address: address.text,
        })
      : new SerfError('SERF_CONNECT_FAILED', `cannot reach the Serf agent's RPC at ${address.text}: ${failure.reason}`, {
          address: address.text,
          cause: failure.cause,
        });
  });
}
