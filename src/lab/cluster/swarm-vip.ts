/**
 * One address for the balancers of the multi-node swarm lab: keepalived in each load-balancer node's
 * network namespace (started from the host, beside that node's dockerd, and lost with it), holding a
 * virtual IP on the node's interface on the lab's bridge. The `ha` task of that node publishes its
 * ports in host mode, so traffic to the VIP reaches the HAProxy of whichever node holds it.
 * The VRRP settings are the balancer tier's (keepalived.ts: unicast, equal priorities, fast adverts);
 * the readiness check is HAProxy answering /health on the node's own published port.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ClusterError } from './converge.js';
import { keepalivedConfig } from './keepalived.js';
import { RUN_PARENT, type SwarmNodes } from './swarm-nodes.js';

export interface VipOptions {
  /** The load-balancer nodes (namespace names). */
  balancers: readonly string[];
  /** The `ha` task's published HTTP port. */
  httpPort: number;
  vrid?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class SwarmVip {
  private constructor(
    private readonly lab: SwarmNodes,
    readonly balancers: readonly string[],
  ) {}

  /** Starts keepalived on every balancer node; resolves once exactly one holds the VIP. */
  static async start(lab: SwarmNodes, { balancers, httpPort, vrid = 52 }: VipOptions, timeoutMs = 60_000): Promise<SwarmVip> {
    for (const name of balancers) {
      const node = lab.node(name);
      const base = path.join(RUN_PARENT, `${name}-keepalived`);
      // The track file stays 0: a lost node loses keepalived with it; the check covers HAProxy.
      writeFileSync(`${base}.down`, '0\n');
      writeFileSync(
        `${base}.conf`,
        keepalivedConfig({
          routerId: name,
          device: node.host.device,
          address: node.host.address,
          peers: balancers.filter((b) => b !== name).map((b) => lab.node(b).host.address),
          vip: `${lab.vip}/24`,
          vrid,
          check: ['/usr/bin/curl', '-fsS', '-m', '1', '-o', '/dev/null', `http://${node.host.address}:${httpPort}/health`],
          downFile: `${base}.down`,
        }),
      );
      const log = openSync(`${base}.log`, 'a');
      const child = spawn(
        'ip',
        [
          'netns',
          'exec',
          node.host.ns,
          'keepalived',
          '-n',
          '-l',
          '-D',
          '-P',
          '-f',
          `${base}.conf`,
          '-p',
          `${base}.pid`,
          '-r',
          `${base}-vrrp.pid`,
        ],
        { detached: true, stdio: ['ignore', log, log] },
      );
      closeSync(log);
      child.unref();
    }
    const vip = new SwarmVip(lab, balancers);
    await vip.waitHolder(timeoutMs);
    return vip;
  }

  /** The live balancer nodes whose interface holds the VIP now (one, unless VRRP is split); a lost node's does not count. */
  async holders(): Promise<string[]> {
    const live = this.balancers.filter((b) => this.lab.node(b).pid !== undefined);
    const held = await Promise.all(
      live.map(async (b) => (await this.lab.network.addresses(this.lab.node(b).host.name)).includes(this.lab.vip)),
    );
    return live.filter((_, i) => held[i]);
  }

  /** Resolves with the one holder, once there is exactly one. */
  async waitHolder(timeoutMs = 60_000, intervalMs = 100): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const held = await this.holders();
      if (held.length === 1) return held[0]!;
      if (Date.now() > deadline) throw new ClusterError(`${held.length} balancer nodes hold the virtual IP after ${timeoutMs} ms`);
      await sleep(intervalMs);
    }
  }
}
