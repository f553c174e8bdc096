import { describe, expect, it } from 'vitest';
import { addressPolicy, contains, parseCidr, type Cidr } from '../../../src/model/cidr.js';

const cidr = (text: string) => parseCidr(text) as Cidr;

describe('CIDR ranges', () => {
  it.each([
    ['172.18.0.0/16', '172.18.3.4', true],
    ['172.18.0.0/16', '172.19.0.1', false],
    ['127.0.0.0/8', '127.0.0.11', true],
    ['10.1.2.3', '10.1.2.3', true],
    ['10.1.2.3', '10.1.2.4', false],
    ['0.0.0.0/0', '8.8.8.8', true],
    ['fd00::/8', 'fd00::2', true],
    ['fd00::/8', 'fe80::1', false],
    ['::ffff:0:0/96', '::ffff:10.0.0.1', true],
    ['172.18.0.0/16', 'fd00::2', false],
    ['172.18.0.0/16', 'not-an-ip', false],
  ])('%s contains %s: %s', (range, address, inside) => {
    expect(contains(cidr(range), address)).toBe(inside);
  });

  it.each(['10.0.0.0/33', '10.0.0.0/x', 'nonsense', '', 'fd00::/129', '300.0.0.0/8'])('refuses %j', (text) => {
    expect(parseCidr(text)).toBeUndefined();
  });

  it('refuses unspecified, multicast, own and out-of-range addresses', () => {
    const refuse = addressPolicy([cidr('172.18.0.0/16')], ['172.18.0.2']);
    expect(refuse('172.18.0.5')).toBeUndefined();
    expect(refuse('0.0.0.0')).toBe('0.0.0.0 is an unspecified address');
    expect(refuse('::')).toBe(':: is an unspecified address');
    expect(refuse('224.0.0.1')).toBe('224.0.0.1 is a multicast or broadcast address');
    expect(refuse('172.18.0.2')).toBe("172.18.0.2 is the balancer's own address");
    expect(refuse('8.8.8.8')).toBe('8.8.8.8 is outside the allowed ranges (172.18.0.0/16)');
    expect(addressPolicy([], [])('8.8.8.8')).toBeUndefined();
  });
});
