/**
 * What the demo (and the end-to-end test) does to a cluster, for the local cluster and for the
 * docker compose stack alike.
 */
import { execFile } from 'node:child_process';
import { open } from 'node:fs/promises';
import { LocalCluster, type ScaleTiming } from '../cluster/local.js';
import { API_BACKEND, frontendUrl, RUNTIME_URL, type ClusterOptions } from '../cluster/layout.js';
import { waitUntilServing } from '../cluster/converge.js';
import type { DemoService, Phase } from './scenario.js';

/** What a node phase did (for the phase's name in the summary), from its start to HAProxy matching the cluster again. */
export interface NodeStep {
  detail: string;
  changedAt: number;
  convergedAt: number;
}

export interface DemoDriver {
  readonly label: string;
  readonly frontendUrl: string;
  /** A Runtime API address that answers `show` commands (read-only is enough). */
  readonly runtimeUrl: string;
  /** Where the clock of "converged in" starts for a scale (the demo summary says it). */
  readonly convergeClock: string;
  /** Starts `webapps` web servers and `apis` api servers (0: no api service in the demo; the balancer tier has none). */
  up(webapps: number, apis: number): Promise<void>;
  /**
   * Scales one service's servers to `count`; returns once its HAProxy backend holds exactly them, all UP:
   * when the membership changed (see `convergeClock`) and when HAProxy matched it.
   */
  scale(count: number, service: DemoService): Promise<ScaleTiming>;
  /** Resolves once every service's backend holds exactly its running servers, all UP. */
  waitConverged(): Promise<void>;
  /** SIGKILL to every process of one web server (`docker kill`); returns its name. */
  killWeb(): Promise<string>;
  restartAgent(): Promise<void>;
  restartHaproxy(): Promise<void>;
  /** A planned reload (`ha-agent reload` in the ha container); returns what it printed. */
  reloadHaproxy(): Promise<string>;
  /**
   * The agent's log lines (JSON) written since the previous call; the first call gives recent ones.
   * Incremental because HAProxy's access log shares the output: a fixed tail would hold no command under load.
   */
  agentLog(): Promise<string[]>;
  down(): Promise<void>;
  /**
   * Balancers behind a virtual IP only (BalancerDriver; the others have one balancer and skip the phase):
   * SIGKILL to every process of the balancer holding the VIP; resolves once another holds it.
   */
  killActiveBalancer?(): Promise<{ from: string; to: string; killedAt: number; vipAt: number }>;
  /**
   * Swarm only (SwarmDriver): a rolling update of the web servers' service, one task at a time; returns once
   * every old task is gone and HAProxy holds exactly the new ones, all UP, with the update's start and end.
   */
  rollingUpdate?(): Promise<{ changedAt: number; convergedAt: number; replaced: number }>;
  /** Web servers at the start, when the driver's scenario starts with another number than the demo's. */
  readonly initialWebapps?: number;
  /** A driver with a scenario of its own (several Swarm nodes); otherwise the demo's, see scenarioFor. */
  readonly scenario?: readonly Phase[];
  /**
   * Several Swarm nodes only: a node drained (`docker node update --availability drain`) and made active again
   * once its tasks run elsewhere and HAProxy holds exactly them; what moved, and when.
   */
  drainNode?(): Promise<NodeStep>;
  /** Several Swarm nodes only: a web node lost (link down, every process killed); its figures, and when HAProxy matched Swarm again. */
  loseNode?(): Promise<NodeStep>;
  /** Starts the killed balancers again; once each has converged and passed its readiness check, resolves with the VIP's holder. */
  restoreBalancers?(): Promise<string | undefined>;
}

/**
 * The lines appended to a log file since the previous call, up to the last whole line; the first call
 * (or a burst) gives at most the last 1 MiB.
 */
export class LogTail {
  private offset: number | undefined;

  constructor(private readonly file: string) {}

  async read(): Promise<string[]> {
    const file = await open(this.file, 'r').catch(() => undefined);
    if (!file) return [];
    try {
      const { size } = await file.stat();
      const from = Math.max(this.offset ?? 0, size - 1024 * 1024);
      if (size <= from) return [];
      const { buffer, bytesRead } = await file.read(Buffer.alloc(size - from), 0, size - from, from);
      const text = buffer.subarray(0, bytesRead).toString('utf8');
      const end = text.lastIndexOf('\n') + 1;
      this.offset = from + Buffer.byteLength(text.slice(0, end));
      return text.slice(0, end).split('\n');
    } finally {
      await file.close();
    }
  }
}

/** Runs a command; resolves with its stdout, rejects with its command line, error and output's tail. */
export function execText(
  command: string,
  args: readonly string[],
  { cwd, env, timeoutMs = 900_000 }: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stderr.slice(-3000)}${stdout.slice(-3000)}`));
      else resolve(stdout);
    });
  });
}

/** A container's log lines since the previous call (the first call: the last 400), through `docker logs`. */
export class ContainerLog {
  private since: number | undefined;

  constructor(private readonly docker: (args: readonly string[]) => Promise<string>) {}

  async read(container: string): Promise<string[]> {
    if (!container) return [];
    const now = Date.now();
    // The engine's `logs --since` (Compose v1 has no such flag): a Unix time, the previous call's.
    const since = this.since === undefined ? ['--tail', '400'] : ['--since', (this.since / 1000).toFixed(3)];
    const text = await this.docker(['logs', ...since, container]).catch(() => '');
    this.since = now;
    return text.split('\n');
  }
}

export class LocalDriver implements DemoDriver {
  readonly label = 'local cluster (s6 + haproxy + serf on loopback)';
  readonly runtimeUrl = RUNTIME_URL;
  readonly convergeClock = "a new web server's Serf agent started (its app already listening), or SIGTERM to the web servers that stop";
  private cluster: LocalCluster | undefined;
  private readonly log: LogTail;

  constructor(private readonly options: ClusterOptions) {
    this.log = new LogTail(`${options.stateDir}/ha/output.log`);
  }

  get frontendUrl(): string {
    return frontendUrl(this.options.port);
  }

  async up(webapps: number, apis: number): Promise<void> {
    this.cluster = await LocalCluster.up({ ...this.options, webapps, apis });
  }

  scale(count: number, service: DemoService): Promise<ScaleTiming> {
    return this.local().scale(count, undefined, containerKind(service));
  }

  waitConverged(): Promise<void> {
    return this.local().waitConverged();
  }

  killWeb(): Promise<string> {
    const victim = this.local().webs()[0];
    if (!victim) return Promise.reject(new Error('no web server to kill'));
    this.local().kill(victim.name);
    return Promise.resolve(victim.name);
  }

  async restartAgent(): Promise<void> {
    await this.local().killService('ha', 'ha-agent');
  }

  async restartHaproxy(): Promise<void> {
    await this.local().killService('ha', 'haproxy');
  }

  reloadHaproxy(): Promise<string> {
    return this.local().execInHa('ha-agent', ['reload']);
  }

  agentLog(): Promise<string[]> {
    return this.log.read();
  }

  async down(): Promise<void> {
    await (this.cluster ?? LocalCluster.load(this.options.stateDir)).down();
  }

  private local(): LocalCluster {
    if (!this.cluster) throw new Error('the cluster is not up');
    return this.cluster;
  }
}

export interface ComposeOptions {
  root: string;
  project: string;
  env: NodeJS.ProcessEnv;
  /** The Compose command, e.g. `['docker', 'compose']` (v2) or `['docker-compose']` (v1); by default v2 when the CLI has it. */
  command?: readonly string[];
}

export class ComposeDriver implements DemoDriver {
  readonly label = 'docker compose stack';
  readonly convergeClock = '`docker compose up --scale` called (new containers: their start-up included)';
  private command: readonly string[] | undefined;
  private readonly log = new ContainerLog((args) => this.sh('docker', args));

  constructor(private readonly options: ComposeOptions) {
    this.command = options.command;
  }

  get project(): string {
    return this.options.project;
  }

  get frontendUrl(): string {
    return `http://127.0.0.1:${this.options.env.HA_HTTP_PORT ?? 80}`;
  }

  get runtimeUrl(): string {
    return `tcp://127.0.0.1:${this.options.env.HA_RUNTIME_PORT ?? 9999}`;
  }

  sh(command: string, args: readonly string[], timeoutMs = 900_000): Promise<string> {
    return execText(command, args, { cwd: this.options.root, env: this.options.env, timeoutMs });
  }

  async compose(...args: string[]): Promise<string> {
    this.command ??= await this.sh('docker', ['compose', 'version']).then(
      () => ['docker', 'compose'],
      () => ['docker-compose'],
    );
    const [command = 'docker-compose', ...rest] = this.command;
    return this.sh(command, [...rest, '-p', this.options.project, ...args]);
  }

  async up(webapps: number, apis: number): Promise<void> {
    await this.compose('build');
    await this.compose('up', '-d', '--scale', `webapp=${webapps}`, '--scale', `api=${apis}`);
    await this.waitConverged();
  }

  /** `up --scale` of that service only: an `up` of every service would also start a container stopped on purpose. */
  async scale(count: number, service: DemoService = 'web'): Promise<ScaleTiming> {
    const name = containerKind(service);
    const changedAt = Date.now();
    await this.compose('up', '-d', '--no-recreate', '--scale', `${name}=${count}`, name);
    await this.waitConverged();
    return { changedAt, convergedAt: Date.now(), joined: new Map() };
  }

  /** Hostnames (= Serf node names = server names) of the running web containers (`api`: of the api containers). */
  async webHosts(service: DemoService = 'web'): Promise<string[]> {
    const ids = (await this.compose('ps', '-q', containerKind(service))).split('\n').filter(Boolean);
    const running: string[] = [];
    for (const id of ids) {
      const [state, host] = (await this.sh('docker', ['inspect', '-f', '{{.State.Running}} {{.Config.Hostname}}', id])).trim().split(' ');
      if (state === 'true' && host) running.push(host);
    }
    return running.sort();
  }

  async waitConverged(timeoutMs = 90_000): Promise<void> {
    await waitUntilServing(this.runtimeUrl, () => this.webHosts(), { timeoutMs, intervalMs: 300 });
    await waitUntilServing(this.runtimeUrl, () => this.webHosts('api'), { backend: API_BACKEND, timeoutMs, intervalMs: 300 });
  }

  async killWeb(): Promise<string> {
    const [victim] = await this.webHosts();
    if (!victim) throw new Error('no web container to kill');
    await this.sh('docker', ['kill', victim]);
    return victim;
  }

  async restartAgent(): Promise<void> {
    await this.compose('exec', '-T', 'ha', 's6-svc', '-k', '/run/s6/services/ha-agent');
  }

  async restartHaproxy(): Promise<void> {
    await this.compose('exec', '-T', 'ha', 's6-svc', '-k', '/run/s6/services/haproxy');
  }

  reloadHaproxy(): Promise<string> {
    return this.compose('exec', '-T', 'ha', 'ha-agent', 'reload');
  }

  async agentLog(): Promise<string[]> {
    const id = (await this.compose('ps', '-q', 'ha').catch(() => '')).trim();
    return this.log.read(id);
  }

  async down(): Promise<void> {
    await this.compose('down', '-v', '--remove-orphans', '-t', '10');
  }
}

/** The compose service (and local container kind) that runs a demo service's servers. */
export const containerKind = (service: DemoService): 'webapp' | 'api' => (service === 'api' ? 'api' : 'webapp');
