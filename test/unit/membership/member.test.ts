import { describe, expect, it } from 'vitest';
import { ipFromBytes, MemberDecoder, toMember } from '../../../src/membership/member.js';

describe('members from Serf RPC records', () => {
  it.each([
    [[127, 0, 0, 2], '127.0.0.2'],
    [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 7], '10.0.0.7'],
    [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], '::1'],
    [[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], 'fd00::2'],
    [[0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1], '2001:db8:1::1:0:1'],
    [[1, 2, 3], ''],
    [[], ''],
  ])('reads the binary address %j', (bytes, text) => {
    expect(ipFromBytes(Uint8Array.from(bytes))).toBe(text);
  });

  it('normalises a record and refuses a malformed one', () => {
    expect(toMember({ Name: 'a', Addr: Buffer.from([127, 0, 0, 1]), Port: 7946, Tags: null, Status: 'alive' })).toEqual({
      name: 'a',
      address: '127.0.0.1',
      tags: {},
      status: 'alive',
    });
    expect(toMember({ Name: 7, Addr: Buffer.from([1, 2, 3, 4]), Status: 'alive' })).toBeUndefined();
    expect(toMember({ Name: 'a', Addr: '127.0.0.1', Status: 'alive' })).toBeUndefined();
    expect(toMember({ Name: 'a', Addr: Buffer.from([1, 2, 3, 4]), Tags: { port: 3000 }, Status: 'alive' })).toBeUndefined();
    expect(toMember(null)).toBeUndefined();
  });
});

describe('MemberDecoder', () => {
  const record = (name: string, extra: Record<string, unknown> = {}) => ({
    Name: name,
    Addr: Buffer.from([10, 0, 0, 1]),
    Port: 7946,
    Tags: { role: 'backend', port: '3000' },
    Status: 'alive',
    ...extra,
  });

  it('hands an unchanged record of the previous list back as the same member, whatever the tag order', () => {
    const decoder = new MemberDecoder();
    const [a] = decoder.list([record('a')]);
    const [again] = decoder.list([record('a', { Tags: { port: '3000', role: 'backend' }, Port: 1 })]);
    expect(again).toBe(a);
    expect(decoder.one(record('a'))).toBe(a);
    expect(a).toEqual({ name: 'a', address: '10.0.0.1', tags: { role: 'backend', port: '3000' }, status: 'alive' });
  });

  it.each([
    ['status', { Status: 'leaving' }],
    ['address', { Addr: Buffer.from([10, 0, 0, 2]) }],
    ['a tag', { Tags: { role: 'backend', port: '3001' } }],
    ['tags gone', { Tags: null }],
  ])('decodes a record afresh when its %s changed', (_, change) => {
    const decoder = new MemberDecoder();
    const [a] = decoder.list([record('a')]);
    const [changed] = decoder.list([record('a', change)]);
    expect(changed).not.toBe(a);
    expect(changed).toEqual(toMember(record('a', change)));
  });

  it('tells apart records whose fields would run together as text', () => {
    const decoder = new MemberDecoder();
    const pairs = [
      [record('a', { Tags: { role: 'backend', port: '3000' } }), record('a', { Tags: { 'role"backend': 'port', '3000': '' } })],
      [record('a1', { Addr: Buffer.from([0, 0, 1]) }), record('a', { Addr: Buffer.from([10, 0, 0, 1]) })],
      [record('a', { Tags: { x: 'y' } }), record('a', { Tags: { xy: '' } })],
    ];
    for (const [one, other] of pairs) {
      const [first] = decoder.list([one]);
      const [second] = decoder.list([other]);
      expect(second).not.toBe(first);
      expect(second).toEqual(toMember(other));
    }
  });

  it('validates the status of a known member whose status alone changed', () => {
    const decoder = new MemberDecoder();
    const [a] = decoder.list([record('a')]);
    expect(decoder.list([record('a', { Status: 7 })])).toEqual([undefined]);
    expect(decoder.one(record('a', { Status: null }))).toBeUndefined();
    const [leaving] = decoder.list([record('a', { Status: 'leaving' })]);
    expect(leaving).toEqual({ ...a, status: 'leaving' });
  });

  it('refuses an invalid record on every list, as toMember does, and forgets members no longer listed', () => {
    const decoder = new MemberDecoder();
    const invalid = [record('n', { Name: 7 }), record('t', { Tags: { port: 3000 } }), record('s', { Tags: 'role=backend' }), null];
    for (let i = 0; i < 2; i += 1) expect(decoder.list(invalid)).toEqual([undefined, undefined, undefined, undefined]);
    const [a] = decoder.list([record('a')]);
    decoder.list([record('b')]);
    const [back] = decoder.list([record('a')]);
    expect(back).not.toBe(a);
    expect(back).toEqual(a);
  });
});
