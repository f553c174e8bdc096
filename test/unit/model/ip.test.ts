import { describe, expect, it } from 'vitest';
import { ipAddress } from '../../../src/model/values.js';

describe('ipAddress (node:net isIP)', () => {
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
    expect(ipAddress.safeParse(text).success).toBe(family !== 0);
  });
});
