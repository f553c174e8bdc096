/**
 * The reload-based ways the benchmark compares ha-agent with: the same Serf membership and the same
 * template, but every change renders haproxy.cfg and then
 *   restart   — stops HAProxy and starts it again (the seed lab's way);
 *   soft      — starts a new HAProxy with `-sf <old pids>` (consul-template's usual command), both
 *               processes bound at once through SO_REUSEPORT (HAProxy's default);
 *   soft-x    — the same with `-x <stats socket>`: the new process takes the old one's listening
 *               sockets over (`expose-fd listeners`), as HAProxy's docs advise for -sf;
 *   seamless  — reloads a master-worker HAProxy whose workers pass their listeners on
 *               (`expose-fd listeners`: HAProxy's best reload).
 * The rendered file is the product's template without `noreuseport`: ha-agent never starts a second
 * HAProxy on its addresses, but a reload way's users keep HAProxy's default so that old and new
 * processes can listen together.
 * Each way runs as its users run it, in a process of its own (`forkReloadBalancer`: this file forked
 * with IPC), so that its Serf watcher and clock share nothing with the benchmark's samplers.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { silentLogger } from '../src/log.js';
import { SerfMembership } from '../src/membership/source.js';
import { parseSerfAddress } from '../src/membership/rpc-client.js';
import { defaultServerPolicy } from '../src/model/server.js';
import { desiredServers } from '../src/reconcile/desired.js';
import { compileTemplate } from '../src/render/compile.js';
import type { ConfigModel } from '../src/render/template.js';

export const RELOAD_WAYS = ['restart', 'soft', 'soft-x', 'seamless'] as const;
export type ReloadWay = (typeof RELOAD_WAYS)[number];

/** When a config was applied (its reload or restart began, ms since the epoch) and the servers it holds. */
export interface Applied {
  at: number;
  servers: string[];
}

export class ReloadBalancer {
  readonly processes: ChildProcess[] = [];
  /** Each config applied: when its reload or restart began, and the servers it holds. */
  readonly applied: Applied[] = [];
  private readonly render = compileTemplate(readFileSync(path.resolve(import.meta.dirname, '../ha/config/haproxy.cfg.hbs'), 'utf8'));
  private readonly configPath: string;
  private readonly masterSocket: string;
  private membership: SerfMembership | undefined;
  private last = '';
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly way: ReloadWay,
    private readonly dir: string,
    private readonly port: number,
    /** The Runtime API's TCP port: a free one, not the local cluster's 9999 (other runs on the machine may hold it). */
    private readonly runtimePort: number,
    private readonly serfRpc: string,
    private readonly notify: (applied: Applied) => void = () => {},
  ) {
    mkdirSync(dir, { recursive: true });
    this.configPath = path.join(dir, 'haproxy.cfg');
    this.masterSocket = path.join(dir, 'master.sock');
  }

  start(): void {
    this.write([]);
    this.launch([]);
    this.membership = new SerfMembership({ address: parseSerfAddress(this.serfRpc), resyncMs: 10_000, log: silentLogger });
    this.membership.on('members', (members) => {
      const servers = [...desiredServers(members, { role: 'backend', defaultPort: 3000, defaultWeight: 100 }).servers.values()].sort(
        (a, b) => a.name.localeCompare(b.name),
      );
      this.chain = this.chain.then(() => this.apply(servers));
    });
    this.membership.start();
  }

  /** HAProxy processes still alive (old ones linger while their connections last). */
  alive(): number[] {
    return this.processes.filter((p) => p.exitCode === null && p.signalCode === null).map((p) => p.pid as number);
  }

  async stop(): Promise<void> {
    this.membership?.close();
    await this.chain;
    for (const child of this.alive().length > 0 ? this.processes : []) child.kill('SIGKILL');
  }

  private model(servers: ConfigModel['servers']): ConfigModel {
    return {
      runtime: { tcp: `127.0.0.1:${this.runtimePort}`, unixSocket: path.join(this.dir, 'admin.sock') },
      frontend: { bind: `127.0.0.1:${this.port}` },
      backend: { name: 'nodes', balance: 'roundrobin', healthPath: '/health' },
      policy: defaultServerPolicy,
      servers,
    };
  }

  private write(servers: ConfigModel['servers']): boolean {
    const text = withReusePort(this.render(this.model(servers)));
    if (text === this.last) return false;
    this.last = text;
    writeFileSync(this.configPath, text);
    return true;
  }

  private launch(extra: string[]): ChildProcess {
    const args =
      this.way === 'seamless' ? ['-W', '-db', '-S', this.masterSocket, '-f', this.configPath] : ['-db', '-f', this.configPath, ...extra];
    const log = openSync(path.join(this.dir, 'haproxy.log'), 'a');
    const child = spawn('haproxy', args, { stdio: ['ignore', log, log] });
    closeSync(log);
    this.processes.push(child);
    return child;
  }

  /** The master's reload count, from `show proc` on its CLI; undefined while it re-executes itself. */
  private masterReloads(): Promise<number | undefined> {
    return new Promise((resolve) => {
      let out = '';
      const socket = net.connect(this.masterSocket, () => socket.end('show proc\n'));
      socket.on('data', (chunk: Buffer) => (out += chunk.toString()));
      socket.on('close', () => {
        const match = /^\d+\s+master\s+(\d+)/m.exec(out);
        resolve(match ? Number(match[1]) : undefined);
      });
      socket.on('error', () => resolve(undefined));
    });
  }

  /**
   * SIGUSR2 once the master answers, then wait until it has re-executed itself: a signal while it
   * starts or re-executes is lost or, before its handler is set, kills it.
   */
  private async reloadMaster(): Promise<void> {
    const deadline = Date.now() + 10_000;
    const until = async (done: (reloads: number) => boolean) => {
      for (;;) {
        const reloads = await this.masterReloads();
        if ((reloads !== undefined && done(reloads)) || Date.now() > deadline) return reloads;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const before = await until(() => true);
    if (before === undefined) return;
    this.processes[0]?.kill('SIGUSR2');
    await until((reloads) => reloads > before);
  }

  private async apply(servers: ConfigModel['servers']): Promise<void> {
    if (!this.write(servers)) return;
    const applied = { at: Date.now(), servers: servers.map((s) => s.name) };
    this.applied.push(applied);
    this.notify(applied);
    const current = this.alive();
    if (this.way === 'restart') {
      for (const child of this.processes) if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.all(
        this.processes.map((child) =>
          child.exitCode === null && child.signalCode === null ? new Promise((r) => child.once('exit', r)) : Promise.resolve(),
        ),
      );
      this.launch([]);
    } else if (this.way === 'soft') {
      this.launch(['-sf', ...current.map(String)]);
    } else if (this.way === 'soft-x') {
      this.launch(['-x', path.join(this.dir, 'admin.sock'), '-sf', ...current.map(String)]);
    } else {
      await this.reloadMaster(); // the master re-executes itself and starts a new worker
    }
  }
}

/** The rendered file without the product's `noreuseport` (and its comment): HAProxy's default, as a reload way's users run it. */
export function withReusePort(config: string): string {
  const out = config.replace(/^(?:[ \t]*#.*\n)*[ \t]*noreuseport\n/m, '');
  if (/noreuseport/.test(out)) throw new Error("noreuseport left in the reload ways' config");
  return out;
}

/** A reload way in a process of its own; `applied` fills as the child reports each config it applied. */
export function forkReloadBalancer(way: ReloadWay, dir: string, port: number, runtimePort: number, serfRpc: string) {
  const child = fork(import.meta.filename, [way, dir, String(port), String(runtimePort), serfRpc], { execArgv: ['--import', 'tsx'] });
  const applied: Applied[] = [];
  child.on('message', (message) => applied.push(message as Applied));
  return {
    pid: child.pid,
    applied,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.send('stop');
      }),
  };
}

if (process.argv[1] === import.meta.filename && process.send) {
  const [way, dir, port, runtimePort, serfRpc] = process.argv.slice(2) as [ReloadWay, string, string, string, string];
  const send = process.send.bind(process);
  const balancer = new ReloadBalancer(way, dir, Number(port), Number(runtimePort), serfRpc, (applied) => send(applied));
  balancer.start();
  process.on('message', (message) => {
    if (message === 'stop') void balancer.stop().finally(() => process.exit(0));
  });
  // The benchmark gone (crashed, killed): no HAProxy of this way is left behind.
  process.on('disconnect', () => void balancer.stop().finally(() => process.exit(0)));
}
