/**
 * The demo on the lab's balancer tier (root only): two or more balancers behind a virtual IP, every
 * balancer and web server its own network namespace. The load goes to the VIP; the demo watches the
 * HAProxy of whichever balancer holds it, through a relay on loopback, so that its chart follows a failover.
 */
import net from 'node:net';
import path from 'node:path';
import { BalancerTier, serverName, type TierOptions } from '../cluster/balancer-tier.js';
import { ClusterError } from '../cluster/converge.js';
import type { ScaleTiming } from '../cluster/local.js';
import { LogTail, type DemoDriver } from './driver.js';
import type { DemoService } from './scenario.js';

/** How often a failover polls which balancer holds the VIP (`ip addr` in each namespace). */
const VIP_POLL_MS = 10;
/** How often the relay checks that its connections still go to the VIP's holder. */
const FOLLOW_MS = 250;
/** How long a failover, or a balancer's readiness check after its HAProxy started, may take. */
const READY_TIMEOUT_MS = 60_000;

export class BalancerDriver implements DemoDriver {
  private tier: BalancerTier | undefined;
  private relay: net.Server | undefined;
  private relayPort = 0;
  /** Each relayed connection and the balancer it goes to; closed when another balancer holds the VIP. */
  private readonly relayed = new Map<net.Socket, string>();
  private follow: NodeJS.Timeout | undefined;
  private readonly logs = new Map<string, LogTail>();
  private readonly killed: string[] = [];

  constructor(private readonly options: Omit<TierOptions, 'webapps'>) {}

  get label(): string {
    return `balancer tier (${this.options.balancers} balancers behind a keepalived virtual IP, network namespaces)`;
  }

  get frontendUrl(): string {
    return this.balancerTier().url;
  }

  /** The relay to the Runtime API of the balancer that holds the VIP when the connection opens. */
  get runtimeUrl(): string {
    return `tcp://127.0.0.1:${this.relayPort}`;
  }

  async up(webapps: number, apis: number): Promise<void> {
    if (apis > 0) throw new ClusterError('the balancer tier has no api service');
    this.tier = await BalancerTier.up({ ...this.options, webapps });
    this.relay = net.createServer((client) => void this.forward(client));
    await new Promise<void>((resolve, reject) => {
      this.relay?.once('error', reject);
      this.relay?.listen(0, '127.0.0.1', resolve);
    });
    this.relayPort = (this.relay.address() as net.AddressInfo).port;
    // keepalived may move the VIP while both balancers run (a failing readiness check): the monitor follows it.
    this.follow = setInterval(() => void this.dropStale(), FOLLOW_MS);
  }

  readonly convergeClock = 'the scale command (new web hosts: their start-up included)';

  /** Starts or stops web servers (newest first, gracefully, each on its own host) until `count` run, then waits for every balancer. */
  async scale(count: number, service: DemoService): Promise<ScaleTiming> {
    if (service !== 'web') throw new ClusterError('the balancer tier has no api service');
    const changedAt = Date.now();
    const tier = this.balancerTier();
    const webs = tier.webs();
    for (let i = webs.length; i < count; i += 1) await tier.addWeb({ wait: false });
    await Promise.all(webs.slice(count).map((w) => tier.removeWeb(w.name)));
    await tier.waitConverged();
    return { changedAt, convergedAt: Date.now(), joined: new Map() };
  }

  /**
   * Every running balancer serves exactly the running web servers, and has passed its readiness check since its HAProxy
   * last started: it may take the VIP (a phase that follows a restart fails over to a ready balancer).
   */
  async waitConverged(): Promise<void> {
    const tier = this.balancerTier();
    await tier.waitConverged();
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (const b of tier.balancers().filter((n) => n.pid !== undefined)) {
      while (!tier.passedCheck(b.name)) {
        if (Date.now() > deadline) throw new ClusterError(`${b.name} did not pass its readiness check within ${READY_TIMEOUT_MS} ms`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /** `docker kill` of one web server's host: every process at once; then its host is removed, as the container's network goes. */
  async killWeb(): Promise<string> {
    const tier = this.balancerTier();
    const victim = tier.webs()[0];
    if (!victim) throw new ClusterError('no web server to kill');
    await tier.killNode(victim.name);
    await tier.removeWeb(victim.name);
    return serverName(victim);
  }

  /** The agent of the balancer that holds the VIP (s6 starts it again). */
  async restartAgent(): Promise<void> {
    await this.balancerTier().killService(await this.active(), 'ha-agent');
  }

  /** SIGKILL to the HAProxy of the balancer that holds the VIP: keepalived gives the VIP up at once, s6 restarts HAProxy. */
  async restartHaproxy(): Promise<void> {
    const tier = this.balancerTier();
    const active = await this.active();
    await tier.killService(active, 'haproxy');
    // Until HAProxy's finish script has run, the convergence that follows could still see the killed process.
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (tier.passedCheck(active)) {
      if (Date.now() > deadline) throw new ClusterError(`${active}'s HAProxy did not exit within ${READY_TIMEOUT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** `ha-agent reload` on the balancer that holds the VIP (the one serving the load). */
  async reloadHaproxy(): Promise<string> {
    return this.balancerTier().exec(await this.active(), 'ha-agent', ['reload']);
  }

  async killActiveBalancer(): Promise<{ from: string; to: string; killedAt: number; vipAt: number }> {
    const tier = this.balancerTier();
    const from = await this.active();
    const killedAt = Date.now();
    await tier.killNode(from);
    this.killed.push(from);
    const deadline = killedAt + READY_TIMEOUT_MS;
    for (;;) {
      const [to, ...more] = await tier.holders();
      if (to !== undefined && more.length === 0) return { from, to, killedAt, vipAt: Date.now() };
      if (Date.now() > deadline) throw new ClusterError(`no balancer took the virtual IP within ${READY_TIMEOUT_MS} ms of killing ${from}`);
      await new Promise((resolve) => setTimeout(resolve, VIP_POLL_MS));
    }
  }

  /** A killed balancer comes back like a rebooted host: without the VIP, counted down until its readiness check passes. */
  async restoreBalancers(): Promise<string | undefined> {
    const tier = this.balancerTier();
    for (const name of this.killed.splice(0)) await tier.startBalancer(name);
    await this.waitConverged();
    const held = await tier.holders();
    return held.length === 1 ? held[0] : undefined;
  }

  /** The log of the balancer that holds the VIP (the agents all send the same commands, each to its own HAProxy). */
  async agentLog(): Promise<string[]> {
    const tier = this.tier;
    const [holder] = tier ? await tier.holders() : [];
    if (!tier || holder === undefined) return [];
    let log = this.logs.get(holder);
    if (!log) this.logs.set(holder, (log = new LogTail(path.join(tier.node(holder).dir, 'output.log'))));
    return log.read();
  }

  async down(): Promise<void> {
    clearInterval(this.follow);
    for (const socket of this.relayed.keys()) socket.destroy();
    await new Promise<void>((resolve) => (this.relay ? this.relay.close(() => resolve()) : resolve()));
    if (this.tier) await this.tier.down();
    else if (this.options.stateDir) await BalancerTier.downAt(this.options.stateDir);
  }

  private balancerTier(): BalancerTier {
    if (!this.tier) throw new ClusterError('the balancer tier is not up');
    return this.tier;
  }

  private async active(): Promise<string> {
    const [holder] = await this.balancerTier().holders();
    if (holder === undefined) throw new ClusterError('no balancer holds the virtual IP');
    return holder;
  }

  /** Closes relayed connections to a balancer that no longer holds the VIP (their client connects again, to the holder). */
  private async dropStale(): Promise<void> {
    if (!this.tier || this.relayed.size === 0) return;
    const [holder] = await this.tier.holders().catch(() => [undefined]);
    for (const [socket, target] of this.relayed) if (target !== holder) socket.destroy();
  }

  /** One connection to the relay: piped to the VIP holder's Runtime API, or closed when none holds it (the client retries). */
  private async forward(client: net.Socket): Promise<void> {
    client.on('error', () => client.destroy());
    client.on('close', () => this.relayed.delete(client));
    const [holder] = this.tier ? await this.tier.holders().catch(() => []) : [];
    if (holder === undefined || client.destroyed) {
      client.destroy();
      return;
    }
    this.relayed.set(client, holder);
    const url = new URL(this.balancerTier().runtimeUrl(holder));
    const upstream = net.connect(Number(url.port), url.hostname);
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  }
}
