/**
 * What the demo (and the end-to-end test) does to a cluster, for the local cluster and for the
 * docker compose stack alike.
 */
import { execFile } from 'node:child_process';
import { LocalCluster, RUNTIME_URL } from '../cluster/local.js';
import type { ClusterOptions } from '../cluster/layout.js';
import { waitUntilServing } from '../cluster/converge.js';

export interface DemoDriver {
  readonly label: string;
  readonly frontendUrl: string;
  /** A Runtime API address that answers `show` commands (read-only is enough). */
  readonly runtimeUrl: string;
  up(webapps: number): Promise<void>;
  /** Returns once HAProxy's backend holds exactly the running web servers, all UP. */
  scale(count: number): Promise<void>;
  waitConverged(): Promise<void>;
  /** SIGKILL to every process of one web server (`docker kill`); returns its name. */
  killWeb(): Promise<string>;
  restartAgent(): Promise<void>;
  restartHaproxy(): Promise<void>;
  /** The agent's recent log lines (JSON). */
  agentLog(): Promise<string[]>;
  down(): Promise<void>;
}

export class LocalDriver implements DemoDriver {
  readonly label = 'local cluster (s6 + haproxy + serf on loopback)';
  readonly runtimeUrl = RUNTIME_URL;
  private cluster: LocalCluster | undefined;

  constructor(private readonly options: ClusterOptions) {}

  get frontendUrl(): string {
    return `http://127.0.0.1:${this.options.port}`;
  }

  async up(webapps: number): Promise<void> {
    this.cluster = await LocalCluster.up({ ...this.options, webapps });
  }

  scale(count: number): Promise<void> {
    return this.local().scale(count);
  }

  waitConverged(): Promise<void> {
    return this.local().waitConverged();
  }

  async killWeb(): Promise<string> {
    const victim = this.local().webs()[0];
    if (!victim) throw new Error('no web server to kill');
    this.local().kill(victim.name);
    return victim.name;
  }

  async restartAgent(): Promise<void> {
    await this.local().killService('ha', 'ha-agent');
  }

  async restartHaproxy(): Promise<void> {
    await this.local().killService('ha', 'haproxy');
  }

  async agentLog(): Promise<string[]> {
    const { readFile } = await import('node:fs/promises');
    const text = await readFile(`${this.options.stateDir}/ha/output.log`, 'utf8').catch(() => '');
    return text.split('\n').slice(-400);
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
  private command: readonly string[] | undefined;

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
    return new Promise((resolve, reject) => {
      execFile(command, args, { cwd: this.options.root, env: this.options.env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stderr.slice(-3000)}${stdout.slice(-3000)}`));
        else resolve(stdout);
      });
    });
  }

  async compose(...args: string[]): Promise<string> {
    this.command ??= await this.sh('docker', ['compose', 'version']).then(
      () => ['docker', 'compose'],
      () => ['docker-compose'],
    );
    const [command = 'docker-compose', ...rest] = this.command;
    return this.sh(command, [...rest, '-p', this.options.project, ...args]);
  }

  async up(webapps: number): Promise<void> {
    await this.compose('build');
    await this.compose('up', '-d', '--scale', `webapp=${webapps}`);
    await this.waitConverged();
  }

  async scale(count: number): Promise<void> {
    await this.compose('up', '-d', '--no-recreate', '--scale', `webapp=${count}`);
    await this.waitConverged();
  }

  /** Hostnames (= Serf node names = server names) of the running web containers. */
  async webHosts(): Promise<string[]> {
    const ids = (await this.compose('ps', '-q', 'webapp')).split('\n').filter(Boolean);
    const running: string[] = [];
    for (const id of ids) {
      const [state, host] = (await this.sh('docker', ['inspect', '-f', '{{.State.Running}} {{.Config.Hostname}}', id])).trim().split(' ');
      if (state === 'true' && host) running.push(host);
    }
    return running.sort();
  }

  waitConverged(timeoutMs = 90_000): Promise<void> {
    return waitUntilServing(this.runtimeUrl, () => this.webHosts(), { timeoutMs, intervalMs: 300 });
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

  async agentLog(): Promise<string[]> {
    const text = await this.compose('logs', '--no-color', '--tail', '400', 'ha').catch(() => '');
    return text.split('\n').map((line) => line.replace(/^[^|]*\|\s?/, ''));
  }

  async down(): Promise<void> {
    await this.compose('down', '-v', '--remove-orphans', '-t', '10');
  }
}
