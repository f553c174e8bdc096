/**
 * The reload-based ways the benchmark compares ha-agent with: the same Serf membership and the same
 * template, but every change renders haproxy.cfg and then
 *   restart   — stops HAProxy and starts it again (the seed lab's way);
 *   soft      — starts a new HAProxy with `-sf <old pids>` (consul-template's usual command);
 *   seamless  — reloads a master-worker HAProxy whose workers pass their listeners on
 *               (`expose-fd listeners`: HAProxy's best reload).
 */
import { spawn, type ChildProcess } from 'node:child_process';
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

export type ReloadWay = 'restart' | 'soft' | 'seamless';

export class ReloadBalancer {
  readonly processes: ChildProcess[] = [];
  /** Each config applied: when its reload or restart began, and the servers it holds. */
  readonly applied: Array<{ at: number; servers: string[] }> = [];
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
    let text = this.render(this.model(servers));
    // Seamless reloads: the old worker hands its listening sockets to the new one.
    if (this.way === 'seamless') text = text.replace('mode 600 level admin', 'mode 600 level admin expose-fd listeners');
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
    this.applied.push({ at: Date.now(), servers: servers.map((s) => s.name) });
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
    } else {
      await this.reloadMaster(); // the master re-executes itself and starts a new worker
    }
  }
}
