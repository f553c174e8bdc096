/**
 * The local cluster (no Docker): every "container" is an `s6-svscan` over a copy of the image's
 * service tree, in its own process group, with the environment its container would have. Stopping
 * one is what `docker stop` does (SIGTERM to PID 1, bounded, then SIGKILL); killing one is
 * `docker kill`. The state file records every PID it started, so `down` stops those and nothing else.
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { DEFAULT_BACKEND } from '../../model/values.js';
import { ClusterError, waitUntilServing } from './converge.js';
import { API_BACKEND, frontendUrl, haSpec, RUNTIME_URL, WEB_PORT, webSpec, type ClusterOptions, type ContainerSpec } from './layout.js';

export interface ContainerState extends Pick<ContainerSpec, 'name' | 'kind' | 'address' | 'dir'> {
  /** s6-svscan's PID, which is also its process group. */
  pid: number;
}

interface StateFile {
  options: ClusterOptions;
  next: number;
  /** The next api server's number (none in a state file written before the api service). */
  nextApi?: number;
  containers: ContainerState[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A process and all its descendants. s6-supervise makes each service a session leader, so a
 * container's processes do not share one process group: they are found through /proc.
 */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // exited meanwhile
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i += 1) tree.push(...(children.get(tree[i] as number) ?? []));
  return tree.filter(alive);
}

export function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * `docker stop` of a supervision tree: SIGTERM to its root (s6-svscan), SIGKILL to what is left after
 * `graceMs`. Returns when SIGTERM was sent (ms since the epoch).
 */
export async function stopTree(root: number, graceMs: number): Promise<number> {
  const tree = processTree(root);
  const signalledAt = Date.now();
  if (alive(root)) process.kill(root, 'SIGTERM');
  const deadline = signalledAt + graceMs;
  while (tree.some(alive) && Date.now() < deadline) await sleep(50);
  killAll(tree.filter(alive));
  return signalledAt;
}

async function assertFree(host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', () =>
      reject(new ClusterError(`${host}:${port} is already in use (a cluster already up? try 'ha-agent cluster down')`)),
    );
    server.listen(port, host, () => server.close(() => resolve()));
  });
}

/** When a scale's membership change was made and when HAProxy's backend matched it (ms since the epoch). */
export interface ScaleTiming {
  changedAt: number;
  convergedAt: number;
  /** When each new web server's Serf agent started (its app already listening). */
  joined: Map<string, number>;
  /** When each stopped web server's s6 got SIGTERM (the local cluster's scale in; each one's /proc walk comes first). */
  stopped?: Map<string, number>;
}

/** Resolves once something accepts TCP connections on host:port. */
async function waitListening(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host, port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new ClusterError(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await sleep(20);
  }
}

export class LocalCluster {
  private constructor(private state: StateFile) {}

  static statePath(stateDir: string): string {
    return path.join(stateDir, 'cluster.json');
  }

  /**
   * Starts `ha` and `webapps` web servers, and returns once every web server is UP in HAProxy.
   * With `ha: 'serf'` the ha container runs only its Serf agent (its HAProxy and ha-agent held down):
   * the caller runs the balancer, against the same Serf agent (benchmarks of other ways).
   */
  static async up(
    options: ClusterOptions & { webapps: number; apis?: number; timeoutMs?: number; ha?: 'agent' | 'serf' },
  ): Promise<LocalCluster> {
    if (existsSync(LocalCluster.statePath(options.stateDir))) {
      const previous = LocalCluster.load(options.stateDir);
      if (previous.containers.some((c) => alive(c.pid)))
        throw new ClusterError(`a cluster is already up (${options.stateDir}); run 'ha-agent cluster down' first`);
    }
    const ports = options.ha === 'serf' ? [7946, 7373] : [9999, 7946, 7373, options.port];
    for (const port of ports) await assertFree('127.0.0.1', port);
    rmSync(options.stateDir, { recursive: true, force: true });
    mkdirSync(path.join(options.stateDir, 'bin'), { recursive: true });
    // The run scripts call `ha-agent`, as they do in the image.
    symlinkSync(path.join(options.home, 'bin/ha-agent.js'), path.join(options.stateDir, 'bin/ha-agent'));
    const { webapps, apis = 0, timeoutMs, ha = 'agent', ...clusterOptions } = options;
    const cluster = new LocalCluster({ options: clusterOptions, next: 1, containers: [] });
    try {
      cluster.start(haSpec(clusterOptions), ha === 'serf' ? ['haproxy', 'ha-agent'] : []);
      await cluster.scale(webapps, timeoutMs);
      if (apis > 0) await cluster.scale(apis, timeoutMs, 'api');
    } catch (error) {
      await cluster.down();
      throw error;
    }
    return cluster;
  }

  static load(stateDir: string): LocalCluster {
    const file = LocalCluster.statePath(stateDir);
    if (!existsSync(file)) throw new ClusterError(`no local cluster in ${stateDir} (start one with 'ha-agent cluster up')`);
    return new LocalCluster(JSON.parse(readFileSync(file, 'utf8')) as StateFile);
  }

  get frontendUrl(): string {
    return frontendUrl(this.state.options.port);
  }

  /** Where HAProxy's backend is read to tell convergence. */
  get runtimeUrl(): string {
    return this.state.options.runtimeUrl ?? RUNTIME_URL;
  }

  get containers(): readonly ContainerState[] {
    return this.state.containers;
  }

  webs(): ContainerState[] {
    return this.ofKind('webapp');
  }

  /** The servers of the second service (`api`). */
  apis(): ContainerState[] {
    return this.ofKind('api');
  }

  private ofKind(kind: 'webapp' | 'api'): ContainerState[] {
    return this.state.containers.filter((c) => c.kind === kind);
  }

  /**
   * Starts or stops web servers (newest first, gracefully) until `count` run, then waits for HAProxy
   * to match; `kind: 'api'` does the same with the api servers and HAProxy's backend `api`. A new
   * server's Serf agent starts once its app listens, so the member joins ready; the returned
   * `changedAt` is the first such start (or the stop signal), the start of "converged in".
   */
  async scale(count: number, timeoutMs = 60_000, kind: 'webapp' | 'api' = 'webapp'): Promise<ScaleTiming> {
    const current = this.ofKind(kind);
    const backend = backendOf(kind);
    if (count > current.length) {
      const specs: ContainerSpec[] = [];
      for (let i = current.length; i < count; i += 1) {
        const n = kind === 'api' ? (this.state.nextApi ?? 1) : this.state.next;
        if (kind === 'api') this.state.nextApi = n + 1;
        else this.state.next = n + 1;
        const spec = webSpec(this.state.options, n, kind);
        // A server left over from another run would hold the address: say so instead of hanging.
        await assertFree(spec.address, 7946);
        await assertFree(spec.address, WEB_PORT);
        this.start(spec, ['serf']);
        specs.push(spec);
      }
      this.save();
      await Promise.all(specs.map((spec) => waitListening(spec.address, WEB_PORT, timeoutMs)));
      const started = await Promise.all(specs.map((spec) => startHeld(path.join(spec.dir, 'services/serf'), 'serf', timeoutMs)));
      await this.waitServing(kind, timeoutMs);
      return {
        changedAt: Math.min(...started),
        convergedAt: Date.now(),
        joined: new Map(specs.map((spec, i) => [spec.name, started[i] as number])),
      };
    }
    const leaving = current.slice(count);
    const staying = current.slice(0, count).map((c) => c.name);
    const changedAt = Date.now();
    const stopped = new Map<string, number>();
    // HAProxy may match before the stopped servers have finished their grace period.
    const [convergedAt] = await Promise.all([
      waitUntilServing(this.runtimeUrl, () => staying, { backend, timeoutMs }).then(() => Date.now()),
      ...leaving.map(async (c) => stopped.set(c.name, await this.stop(c.name))),
    ]);
    this.save();
    return { changedAt, convergedAt, joined: new Map(), stopped };
  }

  /** `docker kill`: SIGKILL to every process of the container at once. */
  kill(name: string): void {
    killAll(processTree(this.find(name).pid));
    this.forget(name);
  }

  /** `docker stop`: SIGTERM to s6-svscan (each service gets its down-signal), SIGKILL after `graceMs`; returns when SIGTERM was sent. */
  async stop(name: string, graceMs = 35_000): Promise<number> {
    const signalledAt = await stopTree(this.find(name).pid, graceMs);
    this.forget(name);
    return signalledAt;
  }

  /** Kills one supervised process for real (SIGKILL); s6 starts it again, as in the container. */
  async killService(container: string, service: string): Promise<number> {
    const dir = path.join(this.find(container).dir, 'services', service);
    const before = await servicePid(dir);
    await run('s6-svc', ['-k', dir]);
    for (let i = 0; i < 200; i += 1) {
      const pid = await servicePid(dir);
      if (pid !== undefined && pid !== before) return pid;
      await sleep(50);
    }
    throw new ClusterError(`s6 did not restart ${container}/${service}`);
  }

  /** `docker compose exec ha …`: a command with the ha container's environment (e.g. `ha-agent reload`). */
  execInHa(command: string, args: readonly string[]): Promise<string> {
    return run(command, args, { ...process.env, ...haSpec(this.state.options).env });
  }

  /** Stops every container this cluster started (web servers first, gracefully), and nothing else. */
  async down(): Promise<void> {
    await Promise.all([...this.webs(), ...this.apis()].map((c) => this.stop(c.name)));
    for (const c of [...this.state.containers]) await this.stop(c.name);
    this.save();
  }

  /**
   * Resolves once HAProxy's backend holds exactly the running web servers, all UP, and, in a cluster that
   * ever ran api servers, its backend `api` exactly those.
   */
  async waitConverged(timeoutMs = 60_000): Promise<void> {
    await this.waitServing('webapp', timeoutMs);
    if (this.state.nextApi !== undefined) await this.waitServing('api', timeoutMs);
  }

  private waitServing(kind: 'webapp' | 'api', timeoutMs: number): Promise<void> {
    const names = () => this.ofKind(kind).map((c) => c.name);
    return waitUntilServing(this.runtimeUrl, names, { backend: backendOf(kind), timeoutMs });
  }

  /** Starts a container; the services named in `held` stay down until `s6-svc -u`. */
  private start(spec: ContainerSpec, held: readonly string[] = []): void {
    rmSync(spec.dir, { recursive: true, force: true });
    mkdirSync(spec.dir, { recursive: true });
    cpSync(spec.tree, path.join(spec.dir, 'services'), { recursive: true });
    for (const service of held) writeFileSync(path.join(spec.dir, 'services', service, 'down'), '');
    const out = openSync(path.join(spec.dir, 'output.log'), 'a');
    const child = spawn('s6-svscan', [path.join(spec.dir, 'services')], {
      env: { ...process.env, ...spec.env },
      detached: true,
      stdio: ['ignore', out, out],
    });
    closeSync(out);
    if (child.pid === undefined) throw new ClusterError(`could not start s6-svscan for ${spec.name}`);
    child.unref();
    this.state.containers.push({ name: spec.name, kind: spec.kind, address: spec.address, dir: spec.dir, pid: child.pid });
    this.save();
  }

  private find(name: string): ContainerState {
    const container = this.state.containers.find((c) => c.name === name);
    if (!container) throw new ClusterError(`no container ${name} in this cluster`);
    return container;
  }

  private forget(name: string): void {
    this.state.containers = this.state.containers.filter((c) => c.name !== name);
    this.save();
  }

  private save(): void {
    writeFileSync(LocalCluster.statePath(this.state.options.stateDir), `${JSON.stringify(this.state, null, 2)}\n`);
  }
}

function run(command: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { env }, (error, stdout, stderr) =>
      error ? reject(new ClusterError(`${command} ${args.join(' ')}: ${stderr || error.message}`)) : resolve(stdout),
    );
  });
}

/**
 * Lets s6 start a held service, and returns when its run script has exec'd `program` (the Serf
 * agent, after the script wrote its config): the moment the member starts, to within ~10 ms.
 */
async function startHeld(dir: string, program: string, timeoutMs: number): Promise<number> {
  await run('s6-svc', ['-u', dir]);
  const deadline = Date.now() + timeoutMs;
  let pid: number | undefined;
  while (Date.now() < deadline) {
    // The run script's PID stays the program's after exec: ask s6 once, then read /proc (cheap) often.
    pid ??= await servicePid(dir);
    if (pid !== undefined && path.basename(readCmdline(pid)[0] ?? '') === program) return Date.now();
    await sleep(pid === undefined ? 10 : 2);
  }
  throw new ClusterError(`${dir} did not start ${program} in ${timeoutMs} ms`);
}

function readCmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/** The PID of a supervised service, from `s6-svstat`. */
async function servicePid(dir: string): Promise<number | undefined> {
  const out = await run('s6-svstat', [dir]).catch(() => '');
  const match = /\(pid (\d+)/.exec(out);
  return match ? Number(match[1]) : undefined;
}

/** The HAProxy backend a kind of container serves in. */
const backendOf = (kind: 'webapp' | 'api') => (kind === 'api' ? API_BACKEND : DEFAULT_BACKEND);
