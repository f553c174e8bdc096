import { describe, expect, it } from 'vitest';
import { ipFromBytes, toMember } from '../../../src/membership/member.js';

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
