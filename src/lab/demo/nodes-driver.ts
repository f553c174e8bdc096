/**
 * The demo (and its end-to-end test) on several Swarm nodes on one machine (root only): the swarm lab of
 * swarm-nodes.ts, docker-stack.yml deployed with docker-stack.nodes.yml (two `ha` tasks on the nodes
 * labelled lb=true, the web tasks spread across every node), and keepalived on those two nodes holding
 * a virtual IP in front of their host-mode ports (swarm-vip.ts). The load goes to the VIP from the host.
 * Node 1 has no balancer: it is the node drained, then the node lost; the last phase loses the node of
 * the balancer holding the VIP. Everything the lab made goes in `down`, whatever state it is in.
 */
import { DEFAULT_BACKEND } from '../../model/values.js';
import { RuntimeClient } from '../../runtime/client.js';
import { API_BACKEND } from '../cluster/layout.js';
import { waitUntilServing } from '../cluster/converge.js';
import { dockerAt, NODES_DEFAULTS, SwarmNodes, VIP_NUMBER, type SwarmNode } from '../cluster/swarm-nodes.js';
import { SwarmVip } from '../cluster/swarm-vip.js';
import { ContainerLog, type NodeStep } from './driver.js';
import { nodesScenario, type DemoService } from './scenario.js';
import { SwarmDriver } from './swarm-driver.js';

export interface NodesOptions {
  root: string;
  stack: string;
  env: NodeJS.ProcessEnv;
  nodes: number;
  prefix?: string;
  net?: string;
}

/** Inside each node's namespace the ports are the node's own: the stack's defaults. */
const HTTP_PORT = 80;
const RUNTIME_PORT = 9999;
const LB_LABEL = 'lb=true';
/** How often a node loss polls the balancers' HAProxy for the lost node's servers. */
const POLL_MS = 200;

/** A node lost: its servers, and from the loss to all of them DOWN, out of every balancer's HAProxy, and replaced. */
export interface NodeLoss extends NodeStep {
  node: string;
  servers: number;
  downMs: number;
  outMs: number;
  replacedMs: number;
}

export interface PlacedTask {
  id: string;
  host: string;
  /** The node (namespace name) the task runs on. */
  node: string;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export class NodesDriver extends SwarmDriver {
  readonly scenario = nodesScenario;
  readonly initialWebapps: number;
  override readonly label: string;
  private lab: SwarmNodes | undefined;
  private vip: SwarmVip | undefined;
  private readonly logs = new Map<string, ContainerLog>();
  private readonly net: string;
  private readonly prefix: string;

  constructor(private readonly nodesOptions: NodesOptions) {
    const env = { ...nodesOptions.env, HA_HTTP_PORT: String(HTTP_PORT), HA_RUNTIME_PORT: String(RUNTIME_PORT), HA_STATS_PORT: '1936' };
    super({ root: nodesOptions.root, stack: nodesOptions.stack, env, stackFiles: ['docker-stack.yml', 'docker-stack.nodes.yml'] });
    this.net = nodesOptions.net ?? NODES_DEFAULTS.net;
    this.prefix = nodesOptions.prefix ?? NODES_DEFAULTS.prefix;
    this.initialWebapps = nodesOptions.nodes;
    this.label = `docker swarm on ${nodesOptions.nodes} nodes (network namespaces, a dockerd each), 2 balancers behind a keepalived virtual IP`;
  }

  override get frontendUrl(): string {
    return `http://${this.net}.${VIP_NUMBER}:${HTTP_PORT}`;
  }

  override get runtimeUrl(): string {
    return `tcp://${this.net}.${VIP_NUMBER}:${RUNTIME_PORT}`;
  }

  get swarm(): SwarmNodes {
    if (!this.lab) throw new Error('the swarm nodes are not up');
    return this.lab;
  }

  /** The nodes that get a balancer: the last two (node 1 is the one drained and lost). */
  get balancerNodes(): string[] {
    return this.swarm.nodes.slice(-2).map((n) => n.name);
  }

  /** Builds the images on the host, makes the nodes and the swarm, deploys, then starts the VIP. */
  override async up(webapps: number, apis: number): Promise<void> {
    await this.build();
    const tag = this.options.env.HA_AGENT_TAG ?? 'latest';
    this.lab = await SwarmNodes.up({
      home: this.options.root,
      prefix: this.prefix,
      net: this.net,
      nodes: this.nodesOptions.nodes,
      images: [`ha-agent/ha:${tag}`, `ha-agent/webapp:${tag}`],
    });
    for (const name of this.balancerNodes) await this.swarm.label(name, LB_LABEL);
    await this.deploy(webapps, apis);
    this.vip = await SwarmVip.start(this.swarm, { balancers: this.balancerNodes, httpPort: HTTP_PORT });
  }

  /** Every docker command of the Swarm driver goes to a live manager (every node is one). */
  override docker(...args: string[]): Promise<string> {
    return dockerAt(this.swarm.manager().dockerHost, args);
  }

  protected override deployEnv(): NodeJS.ProcessEnv {
    return { ...this.options.env, DOCKER_HOST: this.swarm.manager().dockerHost };
  }

  /**
   * One service's tasks running on live nodes, with their node. Which tasks Swarm wants running comes from a
   * manager; without a leader (most nodes lost) every running container of the service counts.
   */
  async placed(service: DemoService | 'ha'): Promise<PlacedTask[]> {
    const name = this.service(service);
    const wanted = await this.docker(
      'service',
      'ps',
      '--no-trunc',
      '--filter',
      'desired-state=running',
      '--format',
      '{{.Name}}.{{.ID}}',
      name,
    ).then(
      (out) => new Set(out.split('\n').filter(Boolean)),
      () => undefined,
    );
    const perNode = await Promise.all(this.swarm.live().map((node) => this.containersOn(node, name, wanted)));
    return perNode.flat();
  }

  override async tasks(service: DemoService | 'ha'): Promise<Array<{ id: string; host: string }>> {
    return this.placed(service);
  }

  /** Every live balancer's HAProxy holds exactly the running tasks, all UP (with counts: that many running). */
  override async waitConverged(timeoutMs = 90_000, webapps?: number, apis?: number): Promise<void> {
    const hosts = async (service: DemoService, count: number | undefined) => {
      const running = await this.webHosts(service);
      if (count !== undefined && running.length !== count) throw new Error(`${running.length} ${service} tasks running, want ${count}`);
      return running;
    };
    for (const node of this.liveBalancers()) {
      const url = this.nodeRuntimeUrl(node);
      await waitUntilServing(url, () => hosts('web', webapps), { timeoutMs, intervalMs: 300 });
      await waitUntilServing(url, () => hosts('api', apis), { backend: API_BACKEND, timeoutMs, intervalMs: 300 });
    }
  }

  /** The node drained: its tasks stop (each leaves Serf first) and start elsewhere; then it is made active again. */
  async drainNode(): Promise<NodeStep> {
    const node = this.swarm.nodes[0]!.name;
    const [webs, apis] = [(await this.placed('web')).length, (await this.placed('api')).length];
    const moved = [...(await this.placed('web')), ...(await this.placed('api'))].filter((t) => t.node === node).length;
    const changedAt = Date.now();
    await this.docker('node', 'update', '--availability', 'drain', node);
    await this.waitConverged(120_000, webs, apis);
    const left = [...(await this.placed('web')), ...(await this.placed('api'))].filter((t) => t.node === node).length;
    if (left > 0) throw new Error(`${node} drained, but ${left} tasks still run on it`);
    const convergedAt = Date.now();
    await this.docker('node', 'update', '--availability', 'active', node);
    return {
      detail: `${node}: ${moved} task${moved === 1 ? '' : 's'} moved in ${seconds(convergedAt - changedAt)}`,
      changedAt,
      convergedAt,
    };
  }

  /**
   * Node 1 lost (link down, every process killed): when its servers were all DOWN in every live balancer's HAProxy,
   * when they were out of it, and when Swarm's replacements served (HAProxy holding exactly the running tasks).
   */
  async loseNode(): Promise<NodeLoss> {
    const node = this.swarm.nodes[0]!.name;
    const [web, api] = [await this.placed('web'), await this.placed('api')];
    const lost = [...web, ...api].filter((t) => t.node === node).map((t) => t.host);
    const changedAt = Date.now();
    await this.swarm.lose(node);
    const { downAt, outAt } = await this.watchServers(lost, 120_000);
    await this.waitConverged(180_000, web.length, api.length);
    const convergedAt = Date.now();
    const [downMs, outMs, replacedMs] = [downAt - changedAt, outAt - changedAt, convergedAt - changedAt];
    return {
      detail: `${node}: ${lost.length} servers, DOWN in ${seconds(downMs)}, out of HAProxy in ${seconds(outMs)}, replaced in ${seconds(replacedMs)}`,
      changedAt,
      convergedAt,
      node,
      servers: lost.length,
      downMs,
      outMs,
      replacedMs,
    };
  }

  /** The node of the balancer holding the VIP, lost (as `loseNode`); resolves once the other node holds the VIP. */
  async killActiveBalancer(): Promise<{ from: string; to: string; killedAt: number; vipAt: number }> {
    const vip = this.balancerVip();
    const from = await vip.waitHolder(5_000);
    const killedAt = Date.now();
    await this.swarm.lose(from);
    const to = await vip.waitHolder(60_000, 10);
    return { from, to, killedAt, vipAt: Date.now() };
  }

  /** The `ha` task on the node that holds the VIP (the one serving the load). */
  override async haContainer(): Promise<string> {
    return (await this.activeHa())?.id ?? '';
  }

  override async execInHa(...args: string[]): Promise<string> {
    const task = await this.activeHa();
    if (!task) throw new Error('no running ha task on the VIP holder');
    return dockerAt(this.swarm.node(task.node).dockerHost, ['exec', task.id, ...args]);
  }

  override async killWeb(): Promise<string> {
    const [victim] = await this.placed('web');
    if (!victim) throw new Error('no web task to kill');
    await dockerAt(this.swarm.node(victim.node).dockerHost, ['kill', victim.id]);
    return victim.host;
  }

  override async agentLog(): Promise<string[]> {
    const task = await this.activeHa().catch(() => undefined);
    if (!task) return [];
    let log = this.logs.get(task.node);
    if (!log) this.logs.set(task.node, (log = new ContainerLog((args) => dockerAt(this.swarm.node(task.node).dockerHost, args))));
    return log.read(task.id);
  }

  /** Stops everything the lab started and removes all it made (the stack goes with the nodes). */
  override async down(): Promise<void> {
    if (this.lab) await this.lab.down();
    else await SwarmNodes.sweep(this.prefix);
  }

  /** What the lab left behind (for the test: nothing). */
  leftovers(): Promise<string[]> {
    return SwarmNodes.leftovers(this.prefix);
  }

  nodeRuntimeUrl(node: SwarmNode): string {
    return `tcp://${node.host.address}:${RUNTIME_PORT}`;
  }

  liveBalancers(): SwarmNode[] {
    const names = new Set(this.balancerNodes);
    return this.swarm.live().filter((n) => names.has(n.name));
  }

  private balancerVip(): SwarmVip {
    if (!this.vip) throw new Error('the virtual IP is not up');
    return this.vip;
  }

  private async activeHa(): Promise<PlacedTask | undefined> {
    const [holder] = await this.balancerVip().holders();
    return (await this.placed('ha')).find((t) => t.node === holder);
  }

  /** Running containers of a swarm service on one node (those Swarm wants running, when known), with their host names. */
  private async containersOn(node: SwarmNode, service: string, wanted: Set<string> | undefined): Promise<PlacedTask[]> {
    const ids = (
      await dockerAt(node.dockerHost, [
        'ps',
        '--no-trunc',
        '--filter',
        `label=com.docker.swarm.service.name=${service}`,
        '--format',
        '{{.Names}} {{.ID}}',
      ])
    )
      .split('\n')
      .map((line) => line.split(' '))
      .filter(([task, id]) => task !== undefined && id !== undefined && (wanted === undefined || wanted.has(task)))
      .map(([, id]) => id!);
    if (ids.length === 0) return [];
    return (await dockerAt(node.dockerHost, ['inspect', '-f', '{{.Id}} {{.State.Running}} {{.Config.Hostname}}', ...ids]))
      .split('\n')
      .map((line) => line.split(' '))
      .filter(([, running, host]) => running === 'true' && host)
      .map(([id, , host]) => ({ id: id!, host: host!, node: node.name }));
  }

  /**
   * Polls every live balancer's HAProxy until none of `names` is UP (downAt) and none is listed at all (outAt),
   * in the web and api backends.
   */
  private async watchServers(names: readonly string[], timeoutMs: number): Promise<{ downAt: number; outAt: number }> {
    const wanted = new Set(names);
    const clients = this.liveBalancers().map((node) => new RuntimeClient({ url: this.nodeRuntimeUrl(node), connectTimeoutMs: 1000 }));
    const deadline = Date.now() + timeoutMs;
    let downAt: number | undefined;
    try {
      for (;;) {
        const rows = (
          await Promise.all(
            clients.map(async (client) => {
              if (!client.connected) await client.connect();
              return [...(await client.stat(DEFAULT_BACKEND)), ...(await client.stat(API_BACKEND))];
            }),
          ).catch(() => undefined)
        )?.flat();
        if (rows) {
          const mine = rows.filter((r) => wanted.has(r.name));
          if (downAt === undefined && mine.every((r) => !r.status.startsWith('UP'))) downAt = Date.now();
          if (mine.length === 0) return { downAt: downAt ?? Date.now(), outAt: Date.now() };
        }
        if (Date.now() > deadline) throw new Error(`the lost node's servers (${names.join(', ')}) still in HAProxy after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  }
}
