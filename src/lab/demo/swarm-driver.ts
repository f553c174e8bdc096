/**
 * The demo (and the end-to-end test) on Docker Swarm: docker-stack.yml deployed on the engine's swarm, a
 * single-node one made for the run when the engine is in none. It leaves the engine as it found it: the
 * stack, its secrets and network removed, and, when it made the swarm, the swarm left and the
 * `docker_gwbridge` network that `swarm init` created removed (unless another container uses it).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { API_BACKEND } from '../cluster/layout.js';
import { waitUntilServing } from '../cluster/converge.js';
import type { ScaleTiming } from '../cluster/local.js';
import { containerKind, ContainerLog, execText, type DemoDriver } from './driver.js';
import type { DemoService } from './scenario.js';

export interface SwarmOptions {
  root: string;
  /** The stack's name (`docker stack deploy … NAME`); also its secrets' prefix. */
  stack: string;
  /** HA_AGENT_TAG, HA_HTTP_PORT, HA_STATS_PORT, HA_RUNTIME_PORT… as docker-stack.yml reads them. */
  env: NodeJS.ProcessEnv;
  /** The stack's files, each a `-c` of `docker stack deploy` (default: docker-stack.yml alone). */
  stackFiles?: readonly string[];
}

/** What the engine was like before `up`: what `down` must give back. */
interface Found {
  /** The engine was in no swarm: `up` made one, `down` leaves it. */
  madeSwarm: boolean;
  /** `docker_gwbridge` existed before (another swarm, or one left behind): `down` keeps it. */
  hadGwbridge: boolean;
}

const GWBRIDGE = 'docker_gwbridge';
/** Swarm's own gossip (its service discovery among them) listens on this port of the swarm's listen address. */
const SWARM_GOSSIP_PORT = 7946;

/** Whether `address:port` can be bound for TCP and UDP now. */
async function bindable(address: string, port: number): Promise<boolean> {
  const tcp = await new Promise<boolean>((resolve) => {
    const server = net.createServer().once('error', () => resolve(false));
    server.listen(port, address, () => server.close(() => resolve(true)));
  });
  if (!tcp) return false;
  return new Promise<boolean>((resolve) => {
    const socket = dgram.createSocket('udp4').once('error', () => resolve(false));
    socket.bind(port, address, () => socket.close(() => resolve(true)));
  });
}

/**
 * A loopback address for a single-node swarm whose port 7946 is free. Swarm binds its gossip there; when that
 * port is taken (a Serf agent on the host, on any address of the listen address's), dockerd only logs `error in
 * agentInit: failed to create memberlist … 7946: bind: address already in use`, and no service name resolves
 * in any task: every Serf join by name fails.
 */
export async function swarmListenAddress(): Promise<string> {
  for (const address of ['127.0.0.1', '127.0.99.1', '127.0.99.2', '127.0.99.3'])
    if (await bindable(address, SWARM_GOSSIP_PORT)) return address;
  throw new Error(
    `port ${SWARM_GOSSIP_PORT} is taken on every loopback address tried (a Serf agent on host networking?): Swarm's gossip needs it`,
  );
}

export class SwarmDriver implements DemoDriver {
  readonly label: string = 'docker swarm stack (single node)';
  readonly convergeClock = '`docker service scale` called (new tasks: their start-up included)';
  private found: Found | undefined;
  protected readonly log = new ContainerLog((args) => this.docker(...args));

  constructor(protected readonly options: SwarmOptions) {}

  get stack(): string {
    return this.options.stack;
  }

  get frontendUrl(): string {
    return `http://127.0.0.1:${this.options.env.HA_HTTP_PORT ?? 80}`;
  }

  get runtimeUrl(): string {
    return `tcp://127.0.0.1:${this.options.env.HA_RUNTIME_PORT ?? 9999}`;
  }

  /** Whether `up` made the swarm (and `down` leaves it); undefined before `up`. */
  get madeSwarm(): boolean | undefined {
    return this.found?.madeSwarm;
  }

  sh(command: string, args: readonly string[], timeoutMs = 900_000): Promise<string> {
    return execText(command, args, { cwd: this.options.root, env: this.options.env, timeoutMs });
  }

  docker(...args: string[]): Promise<string> {
    return this.sh('docker', args);
  }

  /** The swarm service of a demo service, e.g. `ha_webapp`. */
  service(service: DemoService | 'ha'): string {
    return `${this.stack}_${service === 'ha' ? 'ha' : containerKind(service)}`;
  }

  /** Builds the images (tag HA_AGENT_TAG) with the engine's own builder, as `docker compose build` would. */
  async build(): Promise<void> {
    const tag = this.options.env.HA_AGENT_TAG ?? 'latest';
    // The host's engine, whichever engine `docker()` talks to.
    for (const target of ['ha', 'webapp'])
      await this.sh('docker', ['build', '-q', '--target', target, '-t', `ha-agent/${target}:${tag}`, '.']);
  }

  /** Joins the swarm the engine is in, or makes a single-node one (remembered for `down`). */
  async ensureSwarm(): Promise<void> {
    const state = (await this.docker('info', '--format', '{{.Swarm.LocalNodeState}}')).trim();
    if (this.found === undefined) {
      const hadGwbridge = await this.networkExists(GWBRIDGE);
      this.found = { madeSwarm: state === 'inactive', hadGwbridge };
    }
    if (state === 'inactive') {
      const address = await swarmListenAddress();
      await this.docker('swarm', 'init', '--advertise-addr', address, '--listen-addr', `${address}:2377`);
    } else if (state !== 'active') throw new Error(`the engine's swarm is ${state}: neither in one nor in none`);
  }

  /** Swarm, secrets, then `docker stack deploy` of docker-stack.yml with that many replicas, and HAProxy serving them all. */
  async deploy(webapps: number, apis: number): Promise<void> {
    await this.ensureSwarm();
    const env = { ...this.deployEnv(), HA_AGENT_SECRETS: this.stack, WEBAPP_REPLICAS: String(webapps), API_REPLICAS: String(apis) };
    await execText('sh', ['scripts/swarm-secrets.sh'], { cwd: this.options.root, env });
    const files = (this.options.stackFiles ?? ['docker-stack.yml']).flatMap((file) => ['-c', file]);
    await execText('docker', ['stack', 'deploy', '--resolve-image', 'never', ...files, this.stack], {
      cwd: this.options.root,
      env,
    });
    await this.waitConverged(180_000, webapps, apis);
  }

  /** The environment of the commands `deploy` runs (scripts/swarm-secrets.sh, `docker stack deploy`): which engine they talk to. */
  protected deployEnv(): NodeJS.ProcessEnv {
    return this.options.env;
  }

  async up(webapps: number, apis: number): Promise<void> {
    await this.build();
    await this.deploy(webapps, apis);
  }

  /** `docker service scale --detach=false`: returns once Swarm has the tasks running and HAProxy holds exactly them. */
  async scale(count: number, service: DemoService = 'web'): Promise<ScaleTiming> {
    const changedAt = Date.now();
    await this.docker('service', 'scale', '--detach=false', `${this.service(service)}=${count}`);
    await this.waitConverged(90_000);
    return { changedAt, convergedAt: Date.now(), joined: new Map() };
  }

  async rollingUpdate(): Promise<{ changedAt: number; convergedAt: number; replaced: number }> {
    const before = await this.webHosts();
    const changedAt = Date.now();
    await this.docker('service', 'update', '--detach=false', '--force', this.service('web'));
    // Every old task stopped (it drained first: the update waits for no stop), and HAProxy holds exactly the new ones.
    await this.waitConverged(120_000);
    const after = await this.webHosts();
    const stayed = after.filter((host) => before.includes(host));
    if (stayed.length > 0) throw new Error(`rolling update: ${stayed.join(', ')} not replaced`);
    return { changedAt, convergedAt: Date.now(), replaced: before.length };
  }

  /**
   * One service's tasks that Swarm wants running and whose container runs (a task shutting down, draining, is
   * not one of them, a task still starting neither): their container IDs and hostnames.
   */
  async tasks(service: DemoService | 'ha'): Promise<Array<{ id: string; host: string }>> {
    const name = this.service(service);
    const wanted = new Set(
      (await this.docker('service', 'ps', '--no-trunc', '--filter', 'desired-state=running', '--format', '{{.Name}}.{{.ID}}', name))
        .split('\n')
        .filter(Boolean),
    );
    const ids = (
      await this.docker('ps', '--no-trunc', '--filter', `label=com.docker.swarm.service.name=${name}`, '--format', '{{.Names}} {{.ID}}')
    )
      .split('\n')
      .map((line) => line.split(' '))
      .filter(([task]) => task !== undefined && wanted.has(task))
      .map(([, id]) => id!);
    if (ids.length === 0) return [];
    return (await this.docker('inspect', '-f', '{{.Id}} {{.State.Running}} {{.Config.Hostname}}', ...ids))
      .split('\n')
      .map((line) => line.split(' '))
      .filter(([, running, host]) => running === 'true' && host)
      .map(([id, , host]) => ({ id: id!, host: host! }));
  }

  /** Hostnames (= Serf node names = server names) of one service's running tasks, sorted. */
  async webHosts(service: DemoService = 'web'): Promise<string[]> {
    return (await this.tasks(service)).map((task) => task.host).sort();
  }

  /** The container ID of the running `ha` task (empty when there is none). */
  async haContainer(): Promise<string> {
    const [task] = await this.tasks('ha');
    return task?.id ?? '';
  }

  /**
   * Resolves once every service's backend holds exactly its running tasks, all UP; with counts, once the
   * services also have that many (a fresh deploy lists tasks before their containers run).
   */
  async waitConverged(timeoutMs = 90_000, webapps?: number, apis?: number): Promise<void> {
    const hosts = async (service: DemoService, count: number | undefined) => {
      const running = await this.webHosts(service);
      if (count !== undefined && running.length !== count) throw new Error(`${running.length} ${service} tasks running, want ${count}`);
      return running;
    };
    await waitUntilServing(this.runtimeUrl, () => hosts('web', webapps), { timeoutMs, intervalMs: 300 });
    await waitUntilServing(this.runtimeUrl, () => hosts('api', apis), { backend: API_BACKEND, timeoutMs, intervalMs: 300 });
  }

  async killWeb(): Promise<string> {
    const [victim] = await this.tasks('web');
    if (!victim) throw new Error('no web task to kill');
    await this.docker('kill', victim.id);
    return victim.host;
  }

  /** A command in the `ha` task's container. */
  async execInHa(...args: string[]): Promise<string> {
    const container = await this.haContainer();
    if (!container) throw new Error('no running ha task');
    return this.docker('exec', container, ...args);
  }

  async restartAgent(): Promise<void> {
    await this.execInHa('s6-svc', '-k', '/run/s6/services/ha-agent');
  }

  async restartHaproxy(): Promise<void> {
    await this.execInHa('s6-svc', '-k', '/run/s6/services/haproxy');
  }

  reloadHaproxy(): Promise<string> {
    return this.execInHa('ha-agent', 'reload');
  }

  async agentLog(): Promise<string[]> {
    return this.log.read(await this.haContainer().catch(() => ''));
  }

  /** Removes the stack, waits until its containers and network are gone, removes its secrets, then gives the engine back. */
  async down(): Promise<void> {
    if (this.found === undefined) return; // the engine's swarm never touched
    const problems: string[] = [];
    const attempt = async (what: string, action: () => Promise<unknown>) => {
      await action().catch((error: Error) => problems.push(`${what}: ${error.message.split('\n')[0]}`));
    };
    await attempt('stack rm', () => this.docker('stack', 'rm', this.stack));
    await attempt('stack containers gone', () => this.until('containers', async () => (await this.stackContainers()).length === 0));
    await attempt('stack network gone', () => this.until('network', async () => !(await this.networkExists(`${this.stack}_mesh`))));
    for (const secret of [`${this.stack}-serf-key`, `${this.stack}-rpc-token`])
      if (
        await this.docker('secret', 'inspect', secret).then(
          () => true,
          () => false,
        )
      )
        await attempt(`secret rm ${secret}`, () => this.docker('secret', 'rm', secret));
    if (this.found?.madeSwarm) {
      await attempt('swarm leave', () => this.docker('swarm', 'leave', '--force'));
      if (!this.found.hadGwbridge) await attempt(`network rm ${GWBRIDGE}`, () => this.removeGwbridge());
    }
    if (problems.length > 0) throw new Error(`swarm teardown: ${problems.join('; ')}`);
  }

  /** Containers of this stack, running or not. */
  async stackContainers(): Promise<string[]> {
    const ids = await this.docker('ps', '-aq', '--filter', `label=com.docker.stack.namespace=${this.stack}`);
    return ids.split('\n').filter(Boolean);
  }

  async networkExists(name: string): Promise<boolean> {
    return (await this.docker('network', 'ls', '-q', '--filter', `name=^${name}$`)).trim() !== '';
  }

  /** `swarm leave` keeps docker_gwbridge: removed when no container is attached to it any more. */
  private async removeGwbridge(): Promise<void> {
    if (!(await this.networkExists(GWBRIDGE))) return;
    const users = (await this.docker('network', 'inspect', '-f', '{{len .Containers}}', GWBRIDGE)).trim();
    // Swarm's own ingress sandbox (a `gateway_ingress-sbox` endpoint) goes with the swarm; any other user keeps it.
    if (users !== '0') {
      await this.until(
        'docker_gwbridge unused',
        async () => (await this.docker('network', 'inspect', '-f', '{{len .Containers}}', GWBRIDGE)).trim() === '0',
        15_000,
      );
    }
    await this.docker('network', 'rm', GWBRIDGE);
  }

  private async until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check().catch(() => false))) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
}
