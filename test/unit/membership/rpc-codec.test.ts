import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { addExtension, Packr, Unpackr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { SerfError } from '../../../src/membership/errors.js';
import { toMember } from '../../../src/membership/member.js';
import {
  encodeRequest,
  isHeader,
  MsgpackFramer,
  RpcDecoder,
  RpcDispatcher,
  type Expectation,
  type RpcOutput,
} from '../../../src/membership/rpc-codec.js';

const session = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../fixtures/serf/session.json'), 'utf8')) as {
  requests: Record<string, Expectation>;
  base64: string;
};
const bytes = Buffer.from(session.base64, 'base64');

function decoder(): RpcDecoder {
  const d = new RpcDecoder();
  for (const [seq, kind] of Object.entries(session.requests)) d.dispatcher.expect(Number(seq), kind);
  return d;
}

function chunks(data: Uint8Array, sizes: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0, i = 0; at < data.length; i += 1) {
    const size = Math.max(1, sizes[i % sizes.length] ?? data.length);
    out.push(data.subarray(at, at + size));
    at += size;
  }
  return out;
}

/** Feeds the chunks to one decoder. */
function collect(parts: readonly Uint8Array[]): RpcOutput[] {
  const d = decoder();
  return parts.flatMap((part) => d.push(part));
}

describe('Serf RPC over a recorded session with Serf 0.9.4', () => {
  it('decodes handshake, stream ack, members and the join and leave records', () => {
    const outputs = collect([bytes]);
    expect(outputs.slice(0, 3)).toEqual([
      { type: 'response', seq: 0, error: '' },
      { type: 'response', seq: 1, error: '' },
      { type: 'response', seq: 2, error: '', body: { Members: [expect.objectContaining({ Name: 'lb', Status: 'alive' })] } },
    ]);
    const records = outputs.filter((o): o is Extract<RpcOutput, { type: 'record' }> => o.type === 'record');
    const events = records.map((r) => (r.record as { Event: string }).Event);
    expect(events).toContain('member-join');
    expect(events).toContain('member-leave');
    const join = records.find((r) => (r.record as { Event: string }).Event === 'member-join')!.record as { Members: unknown[] };
    expect(join.Members.map(toMember)).toContainEqual({
      name: 'web-1',
      address: '127.0.0.2',
      status: 'alive',
      tags: { role: 'backend', port: '3000', weight: '50' },
    });
  });

  it('gives the same outputs byte by byte and under any chunking', () => {
    const whole = collect([bytes]);
    expect(collect(chunks(bytes, [1]))).toEqual(whole);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }), (sizes) => {
        expect(collect(chunks(bytes, sizes))).toEqual(whole);
      }),
      { numRuns: 200 },
    );
  });

  it('holds back a value cut short: a truncated stream gives only the whole outputs before the cut', () => {
    const whole = collect([bytes]);
    for (const cut of [1, 7, 20, bytes.length - 3]) {
      const out = collect(chunks(bytes.subarray(0, cut), [5]));
      expect(out.length).toBeLessThan(whole.length);
      expect(out).toEqual(whole.slice(0, out.length));
    }
  });

  it('throws only typed errors on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.integer({ min: 1, max: 16 }), { minLength: 1 }), (noise, sizes) => {
        try {
          collect(chunks(noise, sizes));
        } catch (error) {
          expect(error).toBeInstanceOf(SerfError);
          expect((error as SerfError).code).toBe('SERF_PROTOCOL');
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('MsgpackFramer', () => {
  // Every msgpack type's header: fix and sized strings, binaries, extensions, numbers, arrays and maps (16-bit counts).
  const packr = new Packr({ useRecords: false, variableMapSize: true });
  const values: unknown[] = [
    { Seq: 1, Error: '' },
    {
      Members: Array.from({ length: 20 }, (_, i) => ({ Name: `m${i}`, Addr: Buffer.from([127, 0, 0, i]), Tags: { role: 'backend' } })),
    },
    'x'.repeat(40),
    'y'.repeat(300),
    'z'.repeat(70_000),
    Buffer.alloc(10, 1),
    Buffer.alloc(300, 2),
    Buffer.alloc(70_000, 3),
    [null, true, false, 1, -1, 200, -200, 70_000, -70_000, 2 ** 40, -(2 ** 40), 1.5, 2 ** 70],
    Array.from({ length: 20 }, (_, i) => i),
    Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i])),
    new Date(0),
  ];
  const wire = Buffer.concat(values.map((v) => packr.pack(v)));
  // As text: comparing 70,000-byte buffers element by element took the test seconds a run.
  const text = (decoded: unknown[]) => JSON.stringify(decoded);
  const whole = new Unpackr({ useRecords: false, mapsAsObjects: true }).unpackMultiple(wire) as unknown[];

  it('gives each value once it is whole, under any chunking', () => {
    expect(text(new MsgpackFramer().push(wire))).toBe(text(whole));
    expect(whole).toHaveLength(values.length);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 200, max: 40_000 }), { minLength: 1, maxLength: 10 }), (sizes) => {
        const framer = new MsgpackFramer();
        expect(text(chunks(wire, sizes).flatMap((part) => framer.push(part)))).toBe(text(whole));
      }),
      { numRuns: 100 },
    );
  });

  it('gives nothing of a value until its last byte, however it is cut', () => {
    const list = packr.pack(values[1]);
    for (const cut of [1, 2, 3, 10, list.length - 1]) {
      const framer = new MsgpackFramer();
      expect(framer.push(list.subarray(0, cut))).toEqual([]);
      expect(framer.push(list.subarray(cut))).toEqual([whole[1]]);
    }
  });
});

describe('MsgpackFramer over the rarer headers', () => {
  // Serf sends none of these; the framer must still size them. Extensions 1, 5, 7 decode to their bytes (this file only).
  for (const type of [1, 5, 7]) {
    addExtension({ type, Class: class {}, pack: () => Buffer.alloc(0), unpack: (bytes: Buffer) => ({ ext: type, bytes: [...bytes] }) });
  }
  const wire = Buffer.concat([
    Buffer.from([0xc7, 3, 5, 1, 2, 3]), // ext 8
    Buffer.from([0xc8, 0, 2, 7, 9, 9]), // ext 16
    Buffer.from([0xc9, 0, 0, 0, 1, 7, 9]), // ext 32
    Buffer.from([0xd4, 1, 2]), // fixext 1, 2, 4, 8, 16
    Buffer.from([0xd5, 1, 2, 3]),
    Buffer.from([0xd6, 1, 1, 2, 3, 4]),
    Buffer.concat([Buffer.from([0xd7, 1]), Buffer.alloc(8)]),
    Buffer.concat([Buffer.from([0xd8, 1]), Buffer.alloc(16)]),
    Buffer.from([0xdf, 0, 0, 0, 1, 0xa1, 0x61, 0xdd, 0, 0, 0, 2, 0xc0, 0xdb, 0, 0, 0, 1, 0x62]), // map 32 { a: array 32 [nil, str 32] }
    Buffer.from([0xc6, 0, 0, 0, 2, 1, 2]), // bin 32
    Buffer.from([0xc4, 0]), // empty bin 8, str 8, array, map
    Buffer.from([0xd9, 0]),
    Buffer.from([0x90]),
    Buffer.from([0x80]),
    Buffer.from([0x92, 0x90, 0x91, 0x80]),
    new Packr({ useRecords: false, variableMapSize: true }).pack({
      Members: [{ Name: 'x', Addr: Buffer.from([1, 2, 3, 4]) }],
      n: 1.5,
      big: 2 ** 40,
    }),
  ]);
  const whole = JSON.stringify(new Unpackr({ useRecords: false, mapsAsObjects: true }).unpackMultiple(wire));

  it('gives the same values byte by byte and cut anywhere into three', () => {
    expect(JSON.parse(whole)).toHaveLength(16);
    const byByte = new MsgpackFramer();
    expect(JSON.stringify([...wire].flatMap((byte) => byByte.push(Buffer.from([byte]))))).toBe(whole);
    for (let a = 0; a <= wire.length; a++) {
      for (let b = a; b <= wire.length; b++) {
        const framer = new MsgpackFramer();
        const got = [wire.subarray(0, a), wire.subarray(a, b), wire.subarray(b)].flatMap((part) => framer.push(part));
        if (JSON.stringify(got) !== whole) expect.fail(`cut at ${a} and ${b}: ${JSON.stringify(got)}`);
      }
    }
  });
});

describe('RpcDispatcher', () => {
  it('expects no body after an error such as Authentication required', () => {
    const d = new RpcDispatcher();
    d.expect(1, 'body');
    expect(d.push({ Seq: 1, Error: 'Authentication required' })).toEqual([{ type: 'response', seq: 1, error: 'Authentication required' }]);
  });

  it('keeps delivering records for a stream after it was forgotten (stop)', () => {
    const d = new RpcDispatcher();
    d.expect(4, 'stream');
    d.push({ Seq: 4, Error: '' });
    d.forget(4);
    expect(d.push({ Seq: 4, Error: '' })).toEqual([]);
    expect(d.push({ Event: 'member-join', Members: [] })).toEqual([
      { type: 'record', seq: 4, record: { Event: 'member-join', Members: [] } },
    ]);
  });

  it.each([
    ['an answer for an unknown Seq', [{ Seq: 9, Error: '' }]],
    ['a body with no header', [{ Members: [] }]],
    [
      'a header where a body belongs',
      [
        { Seq: 2, Error: '' },
        { Seq: 2, Error: '' },
      ],
    ],
  ])('refuses %s', (_, values) => {
    const d = new RpcDispatcher();
    d.expect(2, 'body');
    expect(() => values.forEach((v) => d.push(v))).toThrow(expect.objectContaining({ code: 'SERF_PROTOCOL' }));
  });

  it('encodes requests as header then body, with case-sensitive keys', () => {
    expect(new MsgpackFramer().push(encodeRequest('handshake', 0, { Version: 1 }))).toEqual([
      { Command: 'handshake', Seq: 0 },
      { Version: 1 },
    ]);
    expect(isHeader({ Seq: 1, Error: '' })).toBe(true);
    expect(isHeader({ Seq: 1, Error: '', Extra: 1 })).toBe(false);
    expect(isHeader({ seq: 1, error: '' })).toBe(false);
  });
});
