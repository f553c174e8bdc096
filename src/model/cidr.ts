/** IP ranges (pure): which backend addresses a member may claim (`--allow-cidr`). node:net's isIP and BlockList only compute. */
import { BlockList, isIP } from 'node:net';

export interface Cidr {
  text: string;
  family: 4 | 6;
  prefix: number;
  /** The range alone, as node:net matches it. */
  list: BlockList;
}

const type = (family: 4 | 6) => (family === 4 ? 'ipv4' : 'ipv6');

export function parseCidr(text: string): Cidr | undefined {
  const [address = '', prefixText] = text.trim().split('/');
  const family = isIP(address);
  if (family !== 4 && family !== 6) return undefined;
  const max = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
  if (!(prefix >= 0 && prefix <= max)) return undefined;
  const list = new BlockList();
  list.addSubnet(address.replace(/%.*$/, ''), prefix, type(family));
  return { text: text.trim(), family, prefix, list };
}

/** Only an address of the range's family: BlockList would also match an IPv4 range against `::ffff:` IPv6 addresses. */
export function contains(cidr: Cidr, address: string): boolean {
  return isIP(address) === cidr.family && cidr.list.check(address.replace(/%.*$/, ''), type(cidr.family));
}

const UNSPECIFIED = ['0.0.0.0/8', '::/128'].map((c) => parseCidr(c) as Cidr);
const MULTICAST = ['224.0.0.0/4', '255.255.255.255/32', 'ff00::/8'].map((c) => parseCidr(c) as Cidr);

/**
 * The address policy: a reason to refuse `address`, or undefined. Never 0.0.0.0 (which reaches
 * the balancer itself on Linux), a multicast or broadcast address, or one of the balancer's own
 * addresses; with ranges given, nothing outside them.
 */
export function addressPolicy(allowed: readonly Cidr[], own: readonly string[]): (address: string) => string | undefined {
  return (address) => {
    if (UNSPECIFIED.some((c) => contains(c, address))) return `${address} is an unspecified address`;
    if (MULTICAST.some((c) => contains(c, address))) return `${address} is a multicast or broadcast address`;
    if (own.includes(address)) return `${address} is the balancer's own address`;
    if (allowed.length > 0 && !allowed.some((c) => contains(c, address))) {
      return `${address} is outside the allowed ranges (${allowed.map((c) => c.text).join(', ')})`;
    }
    return undefined;
  };
}
