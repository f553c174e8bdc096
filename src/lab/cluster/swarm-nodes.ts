/**
 * Several Docker Swarm nodes on one machine (root only): each node a network namespace on the lab's
 * bridge (netns.ts) running its own dockerd, with its own data root, exec root, socket and cgroup
 * (scripts/swarm-node.sh). Images come from the host's engine (`docker save`, then `docker load` into
 * each node): no registry is needed. The nodes form one swarm, every node a manager (Raft keeps a
 * quorum of 2 of 3 when one node is lost, so Swarm still reschedules its tasks).
 *
 * Everything the lab makes carries its prefix: the namespaces, veths and bridge (PREFIX-…), the FORWARD
 * rule, the data and exec roots (under DATA_PARENT and RUN_PARENT), and the cgroups (one per node, named
 * after its namespace). `sweep(prefix)` removes all of it, from this process or a later one, whatever
 * state it was left in; `leftovers(prefix)` lists what remains, for a test to assert nothing does.
 *
 * Addresses in the lab's /24: .1 the bridge (the host, where the load runs), .10 the virtual IP, .11… the nodes.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, rmdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { ClusterError } from './converge.js';
import { killAll } from './local.js';
import { LabNetwork, sh, type Host } from './netns.js';

export interface SwarmNodesOptions {
  /** The package's root (scripts/swarm-node.sh). */
  home: string;
  /** Names every namespace, link, rule, directory and cgroup the lab makes; a start removes leftovers under it. */
  prefix?: string;
  /** The lab's /24, as three octets. */
  net?: string;
  nodes: number;
  /** Images to copy from the host's engine into every node. */
  images: readonly string[];
  timeoutMs?: number;
}

export interface SwarmNode {
  /** The namespace's name, also the node's host name and Swarm node name (e.g. swn-n1). */
  name: string;
  host: Host;
  /** `unix://…` of its dockerd. */
  dockerHost: string;
  /** The dockerd's PID, or undefined once the node is lost. */
  pid: number | undefined;
}

/** Parents of the nodes' data and exec roots: the lab owns whatever they hold under its prefix. */
export const DATA_PARENT = '/var/lib/ha-agent-nodes';
export const RUN_PARENT = '/run/ha-agent-nodes';
const CGROUP_ROOT = '/sys/fs/cgroup';
const FIRST_NODE = 11;
export const VIP_NUMBER = 10;
export const NODES_DEFAULTS = { prefix: 'swn', net: '10.234.0' } as const;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number, intervalMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new ClusterError(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** `docker -H HOST …`; resolves with stdout. */
export function dockerAt(dockerHost: string, args: readonly string[]): Promise<string> {
  return sh('docker', ['-H', dockerHost, ...args]);
}

export class SwarmNodes {
  readonly nodes: SwarmNode[] = [];

  private constructor(
    readonly network: LabNetwork,
    private readonly options: Required<SwarmNodesOptions>,
  ) {}

  /** Network, engines, images, swarm: resolves once every node is a Ready manager. Removes all it made if a step fails. */
  static async up(input: SwarmNodesOptions): Promise<SwarmNodes> {
    const options = { timeoutMs: 120_000, ...NODES_DEFAULTS, ...input };
    if (options.nodes < 2 || options.nodes > 9) throw new ClusterError('a multi-node swarm has 2-9 nodes');
    await SwarmNodes.sweep(options.prefix);
    const network = await LabNetwork.create({ prefix: options.prefix, net: options.net });
    const lab = new SwarmNodes(network, options);
    try {
      mkdirSync(DATA_PARENT, { recursive: true });
      mkdirSync(RUN_PARENT, { recursive: true });
      for (let i = 1; i <= options.nodes; i += 1) lab.startEngine(await network.addHost(`n${i}`, FIRST_NODE + i - 1), i);
      const images = lab.saveImages();
      await Promise.all(
        lab.nodes.map((node) => waitUntil(`${node.name}'s dockerd`, () => lab.docker(node, 'info').then(() => true), 30_000)),
      );
      await lab.loadImages(await images);
      await lab.formSwarm();
    } catch (error) {
      await lab.down();
      throw error;
    }
    return lab;
  }

  get vip(): string {
    return this.network.address(VIP_NUMBER);
  }

  node(name: string): SwarmNode {
    const node = this.nodes.find((n) => n.name === name);
    if (!node) throw new ClusterError(`no node ${name} in the swarm lab`);
    return node;
  }

  /** Nodes not lost. */
  live(): SwarmNode[] {
    return this.nodes.filter((n) => n.pid !== undefined);
  }

  docker(node: SwarmNode, ...args: string[]): Promise<string> {
    return dockerAt(node.dockerHost, args);
  }

  /** Adds a label to a node (`docker node update --label-add`), through a live manager. */
  async label(name: string, label: string): Promise<void> {
    await this.docker(this.manager(), 'node', 'update', '--label-add', label, name);
  }

  /** A live node (every node is a manager): the first one not lost. */
  manager(): SwarmNode {
    const [node] = this.live();
    if (!node) throw new ClusterError('every node of the swarm lab is lost');
    return node;
  }

  /**
   * A node lost as a host that loses power: its link goes down first (packets to it vanish, nothing refuses),
   * then every process of it — dockerd, containerd, shims, containers, keepalived — is stopped and killed at once.
   */
  async lose(name: string): Promise<void> {
    const node = this.node(name);
    await this.network.setLink(node.host.name, false);
    const pids = nodePids(node.host.ns, await namespacePids(node.host.ns));
    for (const pid of pids) signal(pid, 'SIGSTOP');
    killAll(pids);
    node.pid = undefined;
  }

  /** Stops every process and removes everything the lab made (safe to call twice, also after a failed start). */
  async down(): Promise<void> {
    for (const node of this.nodes) node.pid = undefined;
    await SwarmNodes.sweep(this.options.prefix);
  }

  /**
   * Removes all that carries the prefix: every process of its nodes (in their namespaces or their cgroups),
   * the cgroups, namespaces, links and FORWARD rule, the data and exec roots. Returns what it removed.
   */
  static async sweep(prefix: string): Promise<string[]> {
    const removed: string[] = [];
    const namespaces = await LabNetwork.namespaces(prefix);
    for (const ns of namespaces) {
      const pids = nodePids(ns, await namespacePids(ns));
      if (pids.length > 0) removed.push(`${pids.length} processes of ${ns}`);
      for (const pid of pids) signal(pid, 'SIGSTOP');
      killAll(pids);
    }
    // Containers run in their own namespaces: their cgroups hold them, also when the node's namespace is gone.
    for (const dir of cgroupDirs(prefix)) killAll(procsUnder(dir));
    await waitUntil(
      'the lab’s processes to exit',
      () => Promise.resolve(cgroupDirs(prefix).every((dir) => procsUnder(dir).length === 0)),
      10_000,
      100,
    );
    for (const dir of cgroupDirs(prefix)) {
      removeCgroup(dir);
      removed.push(`cgroup ${dir}`);
    }
    removed.push(...(await LabNetwork.sweep(prefix)));
    // The data roots hold every node's unpacked images: removed side by side, without blocking the event loop.
    const dirs = labDirs(prefix);
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
    removed.push(...dirs);
    for (const parent of [DATA_PARENT, RUN_PARENT]) if (existsSync(parent) && readdirSync(parent).length === 0) rmdirSync(parent);
    return removed;
  }

  /** What is left under the prefix: namespaces, links, FORWARD rules, cgroups, directories, engines. Empty after `sweep`. */
  static async leftovers(prefix: string): Promise<string[]> {
    const dirs = labDirs(prefix);
    const engines = readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`${RUN_PARENT}/${prefix}-`);
        } catch {
          return false;
        }
      })
      .map((pid) => `process ${pid}`);
    return [
      ...(await LabNetwork.namespaces(prefix)).map((ns) => `netns ${ns}`),
      ...(await LabNetwork.links(prefix)).map((link) => `link ${link}`),
      ...(await LabNetwork.forwardRules(prefix)).map((rule) => `iptables ${rule.join(' ')}`),
      ...cgroupDirs(prefix).map((dir) => `cgroup ${dir}`),
      ...dirs,
      ...engines,
    ];
  }

  /** dockerd in the node's namespace, through the wrapper (its own UTS namespace and cgroup mounts). */
  private startEngine(host: Host, i: number): void {
    const data = path.join(DATA_PARENT, host.ns);
    const execRoot = path.join(RUN_PARENT, host.ns);
    const socket = `${execRoot}.sock`;
    const log = openSync(path.join(RUN_PARENT, `${host.ns}.log`), 'a');
    // `ip netns exec` and `unshare` exec their command and the wrapper execs dockerd: the PID is the engine's.
    const child = spawn(
      'ip',
      [
        'netns',
        'exec',
        host.ns,
        'unshare',
        '--uts',
        'sh',
        path.join(this.options.home, 'scripts/swarm-node.sh'),
        host.ns,
        data,
        execRoot,
        socket,
        `172.31.${i}.1/24`,
      ],
      { detached: true, stdio: ['ignore', log, log] },
    );
    closeSync(log);
    if (child.pid === undefined) throw new ClusterError(`could not start ${host.ns}'s dockerd`);
    child.unref();
    this.nodes.push({ name: host.ns, host, dockerHost: `unix://${socket}`, pid: child.pid });
  }

  /** One tar of the images, from the host's engine. */
  private async saveImages(): Promise<string> {
    const tar = path.join(RUN_PARENT, `${this.options.prefix}-images.tar`);
    await sh('docker', ['save', '-o', tar, ...this.options.images]);
    return tar;
  }

  /** `docker load` into every node at once; the tar is removed afterwards. */
  private async loadImages(tar: string): Promise<void> {
    try {
      await Promise.all(this.nodes.map((node) => this.docker(node, 'load', '-q', '-i', tar)));
    } finally {
      rmSync(tar, { force: true });
    }
  }

  /** `swarm init` on the first node, every other node joins as a manager; resolves once all are Ready. */
  private async formSwarm(): Promise<void> {
    const [first, ...others] = this.nodes;
    if (!first) throw new ClusterError('no node');
    const address = first.host.address;
    await this.docker(first, 'swarm', 'init', '--advertise-addr', address, '--listen-addr', `${address}:2377`);
    const token = (await this.docker(first, 'swarm', 'join-token', '-q', 'manager')).trim();
    // One at a time: each join changes the Raft membership the next one joins.
    for (const node of others)
      await this.docker(
        node,
        'swarm',
        'join',
        '--advertise-addr',
        node.host.address,
        '--listen-addr',
        `${node.host.address}:2377`,
        '--token',
        token,
        `${address}:2377`,
      );
    await waitUntil(
      'every node Ready',
      async () => {
        const states = (await this.docker(first, 'node', 'ls', '--format', '{{.Status}}')).split('\n').filter(Boolean);
        return states.length === this.nodes.length && states.every((s) => s === 'Ready');
      },
      this.options.timeoutMs,
    );
  }
}

/** The nodes' data and exec roots, sockets, logs and files under the two parents. */
function labDirs(prefix: string): string[] {
  return [DATA_PARENT, RUN_PARENT].flatMap((parent) =>
    existsSync(parent)
      ? readdirSync(parent)
          .filter((e) => e.startsWith(`${prefix}-`))
          .map((e) => path.join(parent, e))
      : [],
  );
}

/** PIDs in a named network namespace (dockerd, containerd, shims, keepalived…). */
async function namespacePids(ns: string): Promise<number[]> {
  return (await sh('ip', ['netns', 'pids', ns]).catch(() => '')).split('\n').filter(Boolean).map(Number);
}

/** A node's processes: those in its namespace and those in its cgroup (its containers, in namespaces of their own). */
function nodePids(ns: string, inNamespace: readonly number[]): number[] {
  const inCgroups = cgroupDirs(ns).flatMap((dir) => procsUnder(dir));
  return [...new Set([...inNamespace, ...inCgroups])];
}

/** The nodes' cgroup directories (one per controller hierarchy) whose name starts with `prefix`. */
function cgroupDirs(prefix: string): string[] {
  if (!existsSync(CGROUP_ROOT)) return [];
  return readdirSync(CGROUP_ROOT).flatMap((controller) => {
    const dir = path.join(CGROUP_ROOT, controller);
    try {
      return readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory() && (e.name === prefix || e.name.startsWith(`${prefix}-`)))
        .map((e) => path.join(dir, e.name));
    } catch {
      return [];
    }
  });
}

/** PIDs in a cgroup and its descendants. */
function procsUnder(dir: string): number[] {
  const pids: number[] = [];
  const walk = (d: string) => {
    try {
      pids.push(...readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number));
      for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
    } catch {
      // removed meanwhile
    }
  };
  walk(dir);
  return pids;
}

/** rmdir, deepest first (runc leaves empty container cgroups behind). */
function removeCgroup(dir: string): void {
  try {
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeCgroup(path.join(dir, e.name));
    rmdirSync(dir);
  } catch {
    // gone already, or still busy: `leftovers` reports it
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}
