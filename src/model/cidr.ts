/** IP ranges (pure): which backend addresses a member may claim (`--allow-cidr`). */
import { ipFamily } from './ip.js';

export interface Cidr {
  text: string;
  family: 4 | 6;
  bits: bigint;
  prefix: number;
}

function toBits(address: string): { family: 4 | 6; bits: bigint } | undefined {
  const family = ipFamily(address);
  if (family === 4) return { family: 4, bits: address.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n) };
  if (family !== 6) return undefined;
  // Expand '::' and an embedded IPv4 tail into eight 16-bit groups.
  let text = address;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = toBits(v4[1] as string)!.bits;
    text = text.replace(v4[1] as string, `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`);
  }
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return { family: 6, bits: groups.reduce((acc, group) => (acc << 16n) | BigInt(parseInt(group, 16)), 0n) };
}

export function parseCidr(text: string): Cidr | undefined {
  const [address = '', prefixText] = text.trim().split('/');
  const parsed = toBits(address);
  if (!parsed) return undefined;
  const max = parsed.family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
  if (!(prefix >= 0 && prefix <= max)) return undefined;
  return { text: text.trim(), family: parsed.family, bits: parsed.bits, prefix };
}

export function contains(cidr: Cidr, address: string): boolean {
  const parsed = toBits(address);
  if (!parsed || parsed.family !== cidr.family) return false;
  const width = BigInt(cidr.family === 4 ? 32 : 128);
  const shift = width - BigInt(cidr.prefix);
  return parsed.bits >> shift === cidr.bits >> shift;
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
