/**
 * The lab's network of "hosts" (root only): a Linux bridge, one network namespace per host joined to
 * it by a veth pair, addresses from a /24 the lab owns, and the iptables rule that lets the bridge
 * forward (once Docker has run, FORWARD's policy is DROP and bridged traffic passes through it).
 * Every name starts with the network's prefix: a start first removes what an earlier run left behind
 * under that prefix, and `destroy` removes everything it made, processes in the namespaces included.
 */
import { execFile } from 'node:child_process';
import { z } from 'zod';
import { ClusterError } from './converge.js';
import { killAll } from './local.js';

/** A prefix short enough that `PREFIX-NAME` fits an interface name (15 characters). */
const prefixSchema = z.string().regex(/^[a-z][a-z0-9]{1,5}$/, 'a prefix is 2-6 lowercase letters or digits, starting with a letter');
const hostNameSchema = z.string().regex(/^[a-z][a-z0-9]{0,7}$/, 'a host name is 1-8 lowercase letters or digits, starting with a letter');
/** The first three octets of the lab's /24, e.g. 10.231.0. */
const netSchema = z.string().regex(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/, 'a network is three octets, e.g. 10.231.0');

export interface NetworkOptions {
  prefix: string;
  net: string;
}

export interface Host {
  name: string;
  /** The namespace, also the host-side end of its veth pair. */
  ns: string;
  address: string;
  /** The interface inside the namespace. */
  device: string;
}

export function sh(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, (error, stdout, stderr) =>
      error ? reject(new ClusterError(`${command} ${args.join(' ')}: ${(stderr || error.message).trim()}`)) : resolve(stdout),
    );
  });
}

export class LabNetwork {
  readonly bridge: string;
  private readonly hosts = new Map<string, Host>();

  private constructor(
    readonly prefix: string,
    readonly net: string,
  ) {
    this.bridge = `${prefix}-br`;
  }

  /** Address number `n` (1-254) of the lab's /24; .1 is the bridge (the root namespace's address). */
  address(n: number): string {
    if (!Number.isInteger(n) || n < 1 || n > 254) throw new ClusterError(`no address number ${n} in ${this.net}.0/24`);
    return `${this.net}.${n}`;
  }

  get cidr(): string {
    return `${this.net}.0/24`;
  }

  /** The FORWARD rule's arguments after -I/-D: bridged traffic between the lab's hosts is accepted. */
  private get forwardRule(): string[] {
    return ['FORWARD', '-i', this.bridge, '-o', this.bridge, '-j', 'ACCEPT'];
  }

  /** Removes what an earlier run left under `prefix` (processes in its namespaces, namespaces, links, the rule). */
  static async sweep(prefix: string): Promise<string[]> {
    const p = prefixSchema.parse(prefix);
    const removed: string[] = [];
    for (const ns of await LabNetwork.namespaces(p)) {
      await LabNetwork.removeNamespace(ns);
      removed.push(`netns ${ns}`);
    }
    for (const link of await LabNetwork.links(p)) {
      await sh('ip', ['link', 'delete', link]).catch(() => undefined); // a veth goes with its peer
      removed.push(`link ${link}`);
    }
    for (const rule of await LabNetwork.forwardRules(p)) {
      await sh('iptables', ['-D', ...rule]);
      removed.push(`iptables ${rule.join(' ')}`);
    }
    return removed;
  }

  /** Namespaces whose name carries the prefix. */
  static async namespaces(prefix: string): Promise<string[]> {
    return (await sh('ip', ['netns', 'list']))
      .split('\n')
      .map((line) => line.split(' ')[0] ?? '')
      .filter((name) => name.startsWith(`${prefix}-`));
  }

  /** FORWARD rules naming the prefix's bridge, as `iptables -D` arguments. */
  static async forwardRules(prefix: string): Promise<string[][]> {
    return (await sh('iptables', ['-S', 'FORWARD']))
      .split('\n')
      .filter((line) => line.startsWith('-A FORWARD ') && line.includes(` ${prefix}-br `))
      .map((line) => line.split(' ').slice(1));
  }

  /** Links whose name carries the prefix (the bridge and the hosts' veth ends). */
  static async links(prefix: string): Promise<string[]> {
    return (await sh('ip', ['-o', 'link', 'show']))
      .split('\n')
      .map((line) => /^\d+:\s+([^:@\s]+)/.exec(line)?.[1])
      .filter((name): name is string => name !== undefined && name.startsWith(`${prefix}-`));
  }

  private static async removeNamespace(ns: string): Promise<void> {
    // Every process in the namespace is the lab's: the namespace carries its prefix.
    const pids = (await sh('ip', ['netns', 'pids', ns]).catch(() => '')).split('\n').filter(Boolean).map(Number);
    killAll(pids);
    await sh('ip', ['netns', 'delete', ns]);
  }

  /** Sweeps leftovers under the prefix, then makes the bridge (address .1) and its FORWARD rule. */
  static async create(options: NetworkOptions): Promise<LabNetwork> {
    const network = new LabNetwork(prefixSchema.parse(options.prefix), netSchema.parse(options.net));
    await LabNetwork.sweep(network.prefix);
    try {
      await sh('ip', ['link', 'add', network.bridge, 'type', 'bridge']);
      await sh('ip', ['addr', 'add', `${network.address(1)}/24`, 'dev', network.bridge]);
      await sh('ip', ['link', 'set', network.bridge, 'up']);
      await sh('iptables', ['-I', ...network.forwardRule]);
    } catch (error) {
      await network.destroy();
      throw error;
    }
    return network;
  }

  /** A namespace `PREFIX-NAME` on the bridge with address number `n`, loopback up. */
  async addHost(name: string, n: number): Promise<Host> {
    const host: Host = { name: hostNameSchema.parse(name), ns: `${this.prefix}-${name}`, address: this.address(n), device: 'eth0' };
    this.hosts.set(name, host);
    await sh('ip', ['netns', 'add', host.ns]);
    await sh('ip', ['link', 'add', host.ns, 'type', 'veth', 'peer', 'name', host.device, 'netns', host.ns]);
    await sh('ip', ['link', 'set', host.ns, 'master', this.bridge, 'up']);
    await sh('ip', ['-n', host.ns, 'addr', 'add', `${host.address}/24`, 'dev', host.device]);
    await sh('ip', ['-n', host.ns, 'link', 'set', host.device, 'up']);
    await sh('ip', ['-n', host.ns, 'link', 'set', 'lo', 'up']);
    return host;
  }

  /** Removes a host: its namespace, and with it the veth pair (its processes must have ended). */
  async removeHost(name: string): Promise<void> {
    await LabNetwork.removeNamespace(this.host(name).ns);
    this.hosts.delete(name);
  }

  host(name: string): Host {
    const host = this.hosts.get(name);
    if (!host) throw new ClusterError(`no host ${name} in the lab network ${this.prefix}`);
    return host;
  }

  /** The IPv4 addresses a host's interface holds right now. */
  async addresses(name: string): Promise<string[]> {
    const host = this.host(name);
    const out = await sh('ip', ['-n', host.ns, '-4', '-o', 'addr', 'show', 'dev', host.device]);
    return [...out.matchAll(/inet (\S+)\//g)].map((m) => m[1] as string);
  }

  /** Removes an address from a host (a host that reboots comes back without the addresses it floated). */
  async dropAddress(name: string, cidr: string): Promise<void> {
    const host = this.host(name);
    await sh('ip', ['-n', host.ns, 'addr', 'del', cidr, 'dev', host.device]).catch(() => undefined);
  }

  /** Brings a host's link (the bridge's end of its veth pair) up or down: down, the host is cut off the network. */
  async setLink(name: string, up: boolean): Promise<void> {
    await sh('ip', ['link', 'set', this.host(name).ns, up ? 'up' : 'down']);
  }

  /** Removes every namespace (its processes and veth pairs), the bridge and the rule: all that has the prefix; safe to call twice. */
  async destroy(): Promise<void> {
    this.hosts.clear();
    await LabNetwork.sweep(this.prefix);
  }
}
