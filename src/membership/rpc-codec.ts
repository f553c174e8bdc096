/**
 * Serf's RPC protocol (IPC version 1) without I/O: request encoding, and the dispatch of decoded
 * msgpack objects into responses and stream records. The wire has no framing besides msgpack
 * itself, and whether a body follows a header depends on the command behind its Seq
 * (`join` sends one even with an error; `Authentication required` sends none), so the dispatcher is told
 * what each Seq expects.
 */
import { Packr, Unpackr } from 'msgpackr';
import { SerfError } from './errors.js';

/** What follows a response header: nothing, a body when Error is empty, or a stream (ack, then header+record pairs). */
export type Expectation = 'none' | 'body' | 'stream';

export type RpcOutput = { type: 'response'; seq: number; error: string; body?: unknown } | { type: 'record'; seq: number; record: unknown };

interface Header {
  Seq: number;
  Error: string;
}

/** A response header is a map with exactly the keys Seq and Error; no body has that shape. */
export function isHeader(value: unknown): value is Header {
  if (typeof value !== 'object' || value === null || value instanceof Uint8Array || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 2 && typeof (value as Header).Seq === 'number' && typeof (value as Header).Error === 'string';
}

// Plain msgpack maps (no msgpackr records) are what Serf's Go codec reads.
const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

export function encodeRequest(command: string, seq: number, body?: Record<string, unknown>): Buffer {
  const header = packr.pack({ Command: command, Seq: seq });
  return body === undefined ? header : Buffer.concat([header, packr.pack(body)]);
}

/** Far above a members list of thousands: past this the peer is not speaking Serf's RPC. */
export const MAX_PENDING_BYTES = 16 * 1024 * 1024;

/**
 * Splits a byte stream into msgpack values. The wire has no length prefix, so a value cut
 * across chunks is kept until the rest arrives.
 */
export class MsgpackFramer {
  private rest: Buffer = Buffer.alloc(0);

  push(chunk: Uint8Array): unknown[] {
    const data = this.rest.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.rest, chunk]);
    this.rest = Buffer.alloc(0);
    if (data.length === 0) return [];
    try {
      return unpackr.unpackMultiple(data) as unknown[];
    } catch (error) {
      const partial = error as Error & { incomplete?: boolean; lastPosition?: number; values?: unknown[] };
      if (!partial.incomplete) throw protocol(`undecodable msgpack: ${partial.message}`);
      this.rest = Buffer.from(data.subarray(partial.lastPosition ?? 0));
      if (this.rest.length > MAX_PENDING_BYTES) throw protocol(`a value grew past ${MAX_PENDING_BYTES} bytes`);
      return partial.values ?? [];
    }
  }
}

export class RpcDispatcher {
  private readonly expectations = new Map<number, { kind: Expectation; acked: boolean }>();
  private awaiting: { seq: number; error: string; stream: boolean } | undefined;

  expect(seq: number, kind: Expectation): void {
    this.expectations.set(seq, { kind, acked: false });
  }

  /** A finished request's Seq; stream Seqs are kept, since records may still arrive after `stop`. */
  forget(seq: number): void {
    if (this.expectations.get(seq)?.kind !== 'stream') this.expectations.delete(seq);
  }

  push(value: unknown): RpcOutput[] {
    if (this.awaiting) {
      const { seq, error, stream } = this.awaiting;
      if (isHeader(value)) throw protocol(`a header for Seq ${value.Seq} came where the body for Seq ${seq} belongs`);
      this.awaiting = undefined;
      return [stream ? { type: 'record', seq, record: value } : { type: 'response', seq, error, body: value }];
    }
    if (!isHeader(value)) throw protocol('a body came with no header before it');
    const expectation = this.expectations.get(value.Seq);
    if (!expectation) throw protocol(`an answer came for Seq ${value.Seq}, which was never asked`);
    if (expectation.kind === 'stream') {
      if (expectation.acked) {
        this.awaiting = { seq: value.Seq, error: value.Error, stream: true };
        return [];
      }
      expectation.acked = true;
      return [{ type: 'response', seq: value.Seq, error: value.Error }];
    }
    if (expectation.kind === 'body' && value.Error === '') {
      this.awaiting = { seq: value.Seq, error: value.Error, stream: false };
      return [];
    }
    return [{ type: 'response', seq: value.Seq, error: value.Error }];
  }
}

function protocol(message: string): SerfError {
  return new SerfError('SERF_PROTOCOL', `Serf RPC desync: ${message}`);
}

/** Bytes → responses and stream records, for one connection. */
export class RpcDecoder {
  private readonly framer = new MsgpackFramer();
  readonly dispatcher = new RpcDispatcher();

  push(chunk: Uint8Array): RpcOutput[] {
    return this.framer.push(chunk).flatMap((value) => this.dispatcher.push(value));
  }
}
