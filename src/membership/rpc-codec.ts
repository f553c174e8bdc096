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

/** Bytes after the type byte that hold a length (str, bin, ext, array, map): 0 for every other type. */
function lengthBytes(type: number): number {
  if (type < 0xc4 || (type >= 0xca && type <= 0xd8) || type >= 0xe0) return 0;
  switch (type) {
    case 0xc4:
    case 0xc7:
    case 0xd9:
      return 1;
    case 0xc5:
    case 0xc8:
    case 0xda:
    case 0xdc:
    case 0xde:
      return 2;
    default:
      return 4; // 0xc6, 0xc9, 0xdb, 0xdd, 0xdf
  }
}

/** Size of a fixed-size value (nil, bool, numbers, fixext) by its type byte, the type byte included. */
function fixedSize(type: number): number {
  if (type >= 0xca && type <= 0xd3) return 1 + [4, 8, 1, 2, 4, 8, 1, 2, 4, 8][type - 0xca]!;
  if (type >= 0xd4 && type <= 0xd8) return 2 + (1 << (type - 0xd4));
  return 1;
}

/**
 * Splits a byte stream into msgpack values. The wire has no length prefix, so a value cut across chunks is kept
 * until the rest arrives. Whether it has arrived is found by reading only the values' headers and lengths
 * (resumed where the last chunk ended): decoding the whole buffer on every chunk decoded a 1,000-member list
 * (~150 KB, 3–4 socket reads) 2–3 times over, the largest share of a list's cost.
 */
export class MsgpackFramer {
  private rest: Buffer = Buffer.alloc(0);
  /** How far `rest` was read, and how many values (array items, map keys and values) the value cut short still lacks. */
  private scanned = 0;
  private lacking = 0;
  private readonly head: ValueHead = { end: 0, items: 0 };

  push(chunk: Uint8Array): unknown[] {
    const data = this.rest.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.rest, chunk]);
    let at = this.scanned;
    let lacking = this.lacking;
    let whole = 0; // the end of the last whole value
    for (;;) {
      if (lacking === 0) {
        whole = at;
        if (at >= data.length) break;
        lacking = 1;
      }
      if (!valueHeader(data, at, this.head)) break;
      at = this.head.end;
      lacking += this.head.items - 1;
    }
    // `data` is always this framer's own (a copy or a concat), so it may be kept whole; a tail is copied so the
    // values before it can be freed.
    this.rest = whole === 0 ? data : Buffer.from(data.subarray(whole));
    this.scanned = at - whole;
    this.lacking = lacking;
    if (this.rest.length > MAX_PENDING_BYTES) throw protocol(`a value grew past ${MAX_PENDING_BYTES} bytes`);
    if (whole === 0) return [];
    try {
      return unpackr.unpackMultiple(data.subarray(0, whole)) as unknown[];
    } catch (error) {
      throw protocol(`undecodable msgpack: ${(error as Error).message}`);
    }
  }
}

/** What valueHeader read; one object, reused: a 1,000-member list has ~30,000 values. */
interface ValueHead {
  /** Where the value's own bytes end (for an array or a map, its header). */
  end: number;
  /** How many values it holds. */
  items: number;
}

/** Reads the value starting at `at` into `out`; false when `data` ends before its own bytes do. */
function valueHeader(data: Buffer, at: number, out: ValueHead): boolean {
  if (at >= data.length) return false;
  const type = data[at] as number;
  out.items = 0;
  if (type <= 0x7f || type >= 0xe0) out.end = at + 1;
  else if (type <= 0x8f) {
    out.end = at + 1;
    out.items = 2 * (type & 0x0f);
  } else if (type <= 0x9f) {
    out.end = at + 1;
    out.items = type & 0x0f;
  } else if (type <= 0xbf) out.end = at + 1 + (type & 0x1f);
  else {
    const size = lengthBytes(type);
    if (size === 0) out.end = at + fixedSize(type);
    else {
      if (at + 1 + size > data.length) return false;
      const length = size === 1 ? data.readUInt8(at + 1) : size === 2 ? data.readUInt16BE(at + 1) : data.readUInt32BE(at + 1);
      out.end = at + 1 + size;
      if (type === 0xdc || type === 0xdd) out.items = length;
      else if (type === 0xde || type === 0xdf) out.items = 2 * length;
      // ext 8/16/32 have a type byte after the length.
      else out.end += length + (type >= 0xc7 && type <= 0xc9 ? 1 : 0);
    }
  }
  return out.end <= data.length;
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
