import fc from 'fast-check';
import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ipFamily } from '../../../src/model/ip.js';

describe('ipFamily', () => {
  it.each([
    ['10.0.0.1', 4],
    ['255.255.255.255', 4],
    ['01.2.3.4', 0],
    ['256.0.0.1', 0],
    ['1.2.3.4 ', 0],
    ['::', 6],
    ['fd00::2', 6],
    ['::ffff:10.0.0.1', 6],
    ['fe80::1%eth0', 6],
    ['1::2:3:4:5:6:7:8', 0],
    ['1.2.3.4;show info', 0],
    ['', 0],
  ] as const)('%j is %d', (text, family) => {
    expect(ipFamily(text)).toBe(family);
  });

  it('agrees with node:net isIP on addresses and near-addresses', () => {
    const nearly = fc
      .tuple(
        fc.oneof(fc.ipV4(), fc.ipV4Extended(), fc.ipV6()),
        fc.nat(40),
        fc.constantFrom('', ':', '.', '%', '0', 'g', '::', ' ', '%eth0'),
      )
      .map(([ip, at, extra]) => ip.slice(0, at) + extra + ip.slice(at));
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV4Extended(), fc.ipV6(), nearly, fc.string()), (text) => {
        expect(ipFamily(text)).toBe(isIP(text));
      }),
      { numRuns: 5000 },
    );
  });
});
