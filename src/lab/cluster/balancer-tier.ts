/**
 * The lab's balancer tier (root only): N balancers behind one virtual IP, and web servers, each its
 * own "host" (a network namespace on the lab's bridge, see netns.ts). A host is an s6-svscan over a
 * copy of its image's service tree, as in the local cluster. A balancer runs HAProxy, its own Serf
 * agent and its own `ha-agent run` (each reconciles on its own), plus keepalived holding the VIP
 * while its HAProxy is ready. Web servers join the balancers' Serf agents at their routable address.
 *
 * Addresses in the lab's /24: .1 the bridge (the root namespace, where a load generator can run),
 * .10 the virtual IP, .11… the balancers, .21… the web servers.
 */
import { execFile, spawn } from 'node:child_process';
import { chmodSync, closeSync, cpSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_BACKEND } from '../../model/values.js';
import { ClusterError, waitUntilServing } from './converge.js';
import { keepalivedConfig } from './keepalived.js';
import { haSpec, webSpec, type ClusterOptions } from './layout.js';
import { killAll, processTree, stopTree } from './local.js';
import { LabNetwork, sh, type Host } from './netns.js';

export interface TierOptions {
  /** The package's root (service trees, bin/ha-agent.js, ha/keepalived/check-balancer.sh). */
  home: string;
  stateDir?: string;
  /** Every namespace, link and rule the tier makes is named PREFIX-…; a start removes leftovers under it. */
  prefix?: string;
  /** The lab's /24, as three octets. */
  net?: string;
  balancers: number;
  webapps: number;
  vrid?: number;
  serfProfile?: string;
  graceMs?: number;
  timeoutMs?: number;
}

export type NodeKind = 'balancer' | 'webapp';

export interface TierNode {
  /** The host name (lb1, web2): also the Serf member's and HAProxy server's name for a web server. */
  name: string;
  kind: NodeKind;
  host: Host;
  dir: string;
  /** s6-svscan's PID, or undefined while the node is down. */
  pid: number | undefined;
}

const VIP_NUMBER = 10;
const FIRST_BALANCER = 11;
const FIRST_WEB = 21;
const HTTP_PORT = 80;
const RUNTIME_PORT = 9999;
/** Inside each balancer's namespace: the agent's /healthz and HAProxy's stats page, for the readiness check. */
const METRICS_BIND = '127.0.0.1:9100';
const STATS_BIND = '127.0.0.1:8404';
const SERF_RPC = '127.0.0.1:7373';

const TIER_DEFAULTS = { prefix: 'hal', net: '10.231.0', vrid: 51 } as const;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new ClusterError(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

export class BalancerTier {
  private readonly nodes: TierNode[] = [];
  private nextWeb = 1;

  private constructor(
    readonly network: LabNetwork,
    private readonly options: Required<Omit<TierOptions, 'graceMs' | 'serfProfile'>> & Pick<TierOptions, 'graceMs' | 'serfProfile'>,
  ) {}

  /** Makes the network, starts the balancers and web servers, and waits until a balancer holds the VIP and all converged. */
  static async up(options: TierOptions): Promise<BalancerTier> {
    const resolved = {
      stateDir: path.join(tmpdir(), 'ha-agent-balancers'),
      timeoutMs: 60_000,
      ...TIER_DEFAULTS,
      ...options,
    };
    if (resolved.balancers < 2 || resolved.balancers > 9) throw new ClusterError('a balancer tier has 2-9 balancers');
    rmSync(resolved.stateDir, { recursive: true, force: true });
    mkdirSync(path.join(resolved.stateDir, 'bin'), { recursive: true });
    // What `BalancerTier.downAt` removes from another process: everything under the prefix.
    writeFileSync(markerPath(resolved.stateDir), `${JSON.stringify({ prefix: resolved.prefix })}\n`);
    // The run scripts call `ha-agent`, as they do in the image.
    symlinkSync(path.join(resolved.home, 'bin/ha-agent.js'), path.join(resolved.stateDir, 'bin/ha-agent'));
    const network = await LabNetwork.create({ prefix: resolved.prefix, net: resolved.net });
    const tier = new BalancerTier(network, resolved);
    try {
      for (let i = 1; i <= resolved.balancers; i += 1) {
        const host = await network.addHost(`lb${i}`, FIRST_BALANCER + i - 1);
        tier.nodes.push({ name: host.name, kind: 'balancer', host, dir: path.join(resolved.stateDir, host.name), pid: undefined });
      }
      for (const node of tier.balancers()) await tier.startBalancer(node.name);
      for (let n = 0; n < resolved.webapps; n += 1) await tier.addWeb({ wait: false });
      await tier.waitReady();
    } catch (error) {
      await tier.down();
      throw error;
    }
    return tier;
  }

  get vip(): string {
    return this.network.address(VIP_NUMBER);
  }

  /** The service's address: HAProxy's front end on whichever balancer holds the VIP. */
  get url(): string {
    return `http://${this.vip}:${HTTP_PORT}`;
  }

  /** One balancer's own front end, bypassing the VIP (a single balancer). */
  balancerUrl(name: string): string {
    return `http://${this.node(name).host.address}:${HTTP_PORT}`;
  }

  runtimeUrl(name: string): string {
    return `tcp://${this.node(name).host.address}:${RUNTIME_PORT}`;
  }

  balancers(): TierNode[] {
    return this.nodes.filter((n) => n.kind === 'balancer');
  }

  webs(): TierNode[] {
    return this.nodes.filter((n) => n.kind === 'webapp');
  }

  node(name: string): TierNode {
    const node = this.nodes.find((n) => n.name === name);
    if (!node) throw new ClusterError(`no node ${name} in the balancer tier`);
    return node;
  }

  /**
   * The running balancers whose interface holds the VIP right now (one, unless VRRP is split). A killed
   * node's interface may still carry it, as a crashed host's would until it is gone: it does not count.
   */
  async holders(): Promise<string[]> {
    const running = this.balancers().filter((b) => b.pid !== undefined);
    const held = await Promise.all(running.map(async (b) => (await this.network.addresses(b.name)).includes(this.vip)));
    return running.filter((_, i) => held[i]).map((b) => b.name);
  }

  /** Whether the balancer's readiness check has passed since its HAProxy last started (it may hold the VIP). */
  passedCheck(name: string): boolean {
    try {
      return readFileSync(downFile(this.node(name).dir), 'utf8').trim() === '0';
    } catch {
      return false;
    }
  }

  /** Resolves once every balancer that runs has HAProxy serving exactly the running web servers, all UP. */
  async waitConverged(timeoutMs = this.options.timeoutMs): Promise<void> {
    const expected = () => this.webs().map((w) => serverName(w));
    await Promise.all(
      this.balancers()
        .filter((b) => b.pid !== undefined)
        .map((b) => waitUntilServing(this.runtimeUrl(b.name), expected, { backend: DEFAULT_BACKEND, timeoutMs })),
    );
  }

  /** Converged, and exactly one balancer holds the VIP. */
  async waitReady(timeoutMs = this.options.timeoutMs): Promise<string> {
    await this.waitConverged(timeoutMs);
    let holder = '';
    await waitUntil(
      'one balancer to hold the virtual IP',
      async () => {
        const held = await this.holders();
        holder = held[0] ?? '';
        return held.length === 1;
      },
      timeoutMs,
    );
    return holder;
  }

  /** Starts a web server on a new host; by default waits until every running balancer serves it. */
  async addWeb({ wait = true } = {}): Promise<TierNode> {
    const n = this.nextWeb++;
    const host = await this.network.addHost(`web${n}`, FIRST_WEB + n - 1);
    const node: TierNode = { name: host.name, kind: 'webapp', host, dir: path.join(this.options.stateDir, host.name), pid: undefined };
    this.nodes.push(node);
    const spec = webSpec(this.clusterOptions(), n);
    this.startHost(node, spec.tree, {
      ...spec.env,
      HOST: host.address,
      SERF_BIND: `${host.address}:7946`,
      SERF_RPC_ADDR: SERF_RPC,
      SERF_STATE_DIR: path.join(node.dir, 'serf'),
      SERF_JOIN: this.balancers()
        .map((b) => `${b.host.address}:7946`)
        .join(' '),
    });
    if (wait) await this.waitConverged();
    return node;
  }

  /** `docker stop` of a host: SIGTERM to s6-svscan (each service its down-signal), SIGKILL after `graceMs`. */
  async stopNode(name: string, graceMs = 35_000): Promise<void> {
    const node = this.node(name);
    if (node.pid === undefined) return;
    await stopTree(node.pid, graceMs);
    node.pid = undefined;
  }

  /** Removes a stopped web server from the tier (its host too). */
  async removeWeb(name: string): Promise<void> {
    await this.stopNode(name);
    this.nodes.splice(this.nodes.indexOf(this.node(name)), 1);
    await this.network.removeHost(name);
  }

  /**
   * Every process of a host dies at once (SIGKILL). Its kernel stays: its interface keeps the VIP and
   * refuses connections until the peers take over. With `link`, its link goes down first, as a host
   * that lost power or its network: its packets are lost (no refusal) until the peers take over.
   */
  async killNode(name: string, { link = false } = {}): Promise<void> {
    const node = this.node(name);
    if (link) await this.network.setLink(name, false);
    if (node.pid !== undefined) {
      const tree = processTree(node.pid);
      // All at once: stopped first, no supervisor can see a child die and run its finish script.
      for (const pid of tree) signal(pid, 'SIGSTOP');
      killAll(tree);
    }
    node.pid = undefined;
  }

  /** SIGKILL to one supervised process (haproxy, ha-agent, serf, keepalived); s6 starts it again. */
  async killService(name: string, service: string): Promise<void> {
    await sh('s6-svc', ['-k', path.join(this.node(name).dir, 'services', service)]);
  }

  /**
   * Starts (or restarts after `killNode`) a balancer: like a host that boots, it has no VIP and its
   * HAProxy counts as down until the readiness check first passes.
   */
  async startBalancer(name: string): Promise<void> {
    const node = this.node(name);
    if (node.pid !== undefined) throw new ClusterError(`${name} is running`);
    const { host, dir } = node;
    const peers = this.balancers().filter((b) => b !== node);
    const down = downFile(dir);
    const spec = haSpec(this.clusterOptions());
    mkdirSync(dir, { recursive: true });
    writeFileSync(down, '1\n');
    const check = path.join(this.options.home, 'ha/keepalived/check-balancer.sh');
    writeFileSync(
      path.join(dir, 'keepalived.conf'),
      keepalivedConfig({
        routerId: name,
        device: host.device,
        address: host.address,
        peers: peers.map((p) => p.host.address),
        vip: `${this.vip}/24`,
        vrid: this.options.vrid,
        check: [
          check,
          `http://127.0.0.1:${HTTP_PORT}/health`,
          `http://${METRICS_BIND}/healthz`,
          `http://${STATS_BIND}/;csv`,
          SERF_RPC,
          DEFAULT_BACKEND,
          'backend',
          down,
        ],
        downFile: down,
      }),
    );
    await this.network.dropAddress(name, `${this.vip}/24`);
    await this.network.setLink(name, true);
    this.startHost(node, spec.tree, this.balancerEnv(node), (services) => {
      // HAProxy exited: keepalived gives up the VIP at once (track_file), not at the next check.
      writeScript(path.join(services, 'haproxy/finish'), `#!/bin/sh\necho 1 > ${down}\n`);
      mkdirSync(path.join(services, 'keepalived'));
      writeScript(
        path.join(services, 'keepalived/run'),
        '#!/bin/sh\nexec 2>&1\n' +
          `exec keepalived -n -l -D -P -f ${dir}/keepalived.conf -p ${dir}/keepalived.pid -r ${dir}/keepalived-vrrp.pid\n`,
      );
    });
  }

  /** A command inside a balancer's host with its services' environment (`docker exec`), e.g. `ha-agent reload`; resolves with its output. */
  exec(name: string, command: string, args: readonly string[]): Promise<string> {
    const node = this.node(name);
    return new Promise((resolve, reject) => {
      execFile(
        'ip',
        ['netns', 'exec', node.host.ns, command, ...args],
        { env: { ...process.env, ...this.balancerEnv(node) } },
        (error, stdout, stderr) =>
          error
            ? reject(new ClusterError(`${command} ${args.join(' ')} on ${name}: ${(stderr || error.message).trim()}`))
            : resolve(stdout),
      );
    });
  }

  /** Removes the tier recorded in `stateDir` (its processes live in its namespaces); false when there is none. */
  static async downAt(stateDir: string): Promise<boolean> {
    if (!existsSync(markerPath(stateDir))) return false;
    const { prefix } = JSON.parse(readFileSync(markerPath(stateDir), 'utf8')) as { prefix: string };
    await LabNetwork.sweep(prefix);
    rmSync(markerPath(stateDir));
    return true;
  }

  /** Stops every process the tier started and removes every namespace, link and rule it made. */
  async down(): Promise<void> {
    for (const node of this.nodes) if (node.pid !== undefined) killAll(processTree(node.pid));
    for (const node of this.nodes) node.pid = undefined;
    await this.network.destroy();
    rmSync(markerPath(this.options.stateDir), { force: true });
  }

  /** A balancer's services' environment: the ha image's, on its host's address. */
  private balancerEnv(node: TierNode): Record<string, string> {
    const { host, dir, name } = node;
    return {
      ...haSpec(this.clusterOptions()).env,
      HA_AGENT_RUNTIME: this.runtimeUrl(name),
      HA_AGENT_RUNTIME_SOCKET: path.join(dir, 'admin.sock'),
      HA_AGENT_MASTER_SOCKET: path.join(dir, 'master.sock'),
      HA_AGENT_FRONTEND_BIND: `*:${HTTP_PORT}`,
      HA_AGENT_CONFIG_OUT: path.join(dir, 'haproxy.cfg'),
      HA_AGENT_ALLOW_CIDR: this.network.cidr,
      HA_AGENT_METRICS: METRICS_BIND,
      HA_AGENT_STATS_BIND: STATS_BIND,
      SERF_NODE_NAME: name,
      SERF_BIND: `${host.address}:7946`,
      SERF_RPC_ADDR: SERF_RPC,
      SERF_STATE_DIR: path.join(dir, 'serf'),
      SERF_JOIN: this.balancers()
        .filter((b) => b !== node)
        .map((p) => `${p.host.address}:7946`)
        .join(' '),
    };
  }

  private clusterOptions(): ClusterOptions {
    const { home, stateDir, serfProfile, graceMs } = this.options;
    return { home, stateDir, port: HTTP_PORT, ...(serfProfile ? { serfProfile } : {}), ...(graceMs ? { graceMs } : {}) };
  }

  /** s6-svscan inside the host's namespace over a copy of `tree` (adjusted by `extend`), in its own process group. */
  private startHost(node: TierNode, tree: string, env: Record<string, string>, extend?: (services: string) => void): void {
    const services = path.join(node.dir, 'services');
    mkdirSync(node.dir, { recursive: true });
    rmSync(services, { recursive: true, force: true });
    cpSync(tree, services, { recursive: true });
    extend?.(services);
    const out = openSync(path.join(node.dir, 'output.log'), 'a');
    // `ip netns exec` execs the command: the PID is s6-svscan's.
    const child = spawn('ip', ['netns', 'exec', node.host.ns, 's6-svscan', services], {
      env: { ...process.env, ...env },
      detached: true,
      stdio: ['ignore', out, out],
    });
    closeSync(out);
    if (child.pid === undefined) throw new ClusterError(`could not start ${node.name}`);
    child.unref();
    node.pid = child.pid;
  }
}

/** The web server's Serf member name, which is its HAProxy server's name. */
export function serverName(web: TierNode): string {
  return `web-${web.name.slice('web'.length)}`;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

const markerPath = (stateDir: string) => path.join(stateDir, 'balancers.json');

/** keepalived's track_file: 1 from HAProxy's exit until the readiness check passes. */
const downFile = (dir: string) => path.join(dir, 'haproxy-down');

function writeScript(file: string, text: string): void {
  writeFileSync(file, text);
  chmodSync(file, 0o755);
}
