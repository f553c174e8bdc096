/** `ha-agent cluster up|scale|down|status`: the local cluster (no Docker) the demo and benchmarks use. */
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BalancerTier, type TierNode } from '../cluster/balancer-tier.js';
import { API_BACKEND } from '../cluster/layout.js';
import { LocalCluster } from '../cluster/local.js';
import { LocalDriver } from '../demo/driver.js';
import { LivePage, loopbackBind } from '../demo/live.js';
import { Monitor } from '../demo/monitor.js';
import { startView } from '../demo/run-demo.js';
import type { CliIo } from '../../cli/io.js';
import { DEFAULT_BACKEND } from '../../model/values.js';
import { helpOption, parseCommandLine, UsageError, type CommandSpec, type OptionSpec } from '../../cli/options.js';

export const packageHome = path.resolve(import.meta.dirname, '../../..');

export const clusterDirOption: OptionSpec = {
  name: 'dir',
  type: 'string',
  env: 'HA_AGENT_CLUSTER_DIR',
  default: path.join(tmpdir(), 'ha-agent-cluster'),
  valueName: 'PATH',
  description: "the local cluster's state: one folder per container (service tree, output.log), and the PIDs it started",
};

export const liveOption: OptionSpec = {
  name: 'live',
  type: 'string',
  env: 'HA_AGENT_LIVE',
  valueName: 'HOST:PORT',
  description:
    'serve a live page (requests/s per server, phases, failures, states, runtime commands) on this loopback address, e.g. 127.0.0.1:8090',
};

/** Opens the live page when --live is given; a bad address is a usage error before anything starts. */
export async function openLive(
  value: string | boolean | undefined,
  write: (text: string) => void,
  title?: string,
): Promise<LivePage | undefined> {
  if (typeof value !== 'string') return undefined;
  const bind = loopbackBind.safeParse(value);
  if (!bind.success) throw new UsageError(`--live: '${value}' ${bind.error.issues[0]?.message ?? 'is not HOST:PORT'}`);
  const live = await LivePage.listen(value, title);
  write(`live view: ${live.url}\n`);
  return live;
}

export const clusterSpec: CommandSpec = {
  name: 'cluster',
  summary: 'A local cluster without Docker: s6-svscan "containers" over the images\' service trees, web servers on 127.0.0.x.',
  usage: 'ha-agent cluster up [--webapps N] [--apis N] [--port P] [--balancers N] [--live HOST:PORT] | scale N [--apis N] | down | status',
  options: [
    { name: 'webapps', type: 'string', default: '3', valueName: 'N', description: 'web servers to start (cluster up)' },
    {
      name: 'apis',
      type: 'string',
      valueName: 'N',
      description:
        'servers of the second service, api (Host: api.localhost), to start (cluster up, demo; default 0) or to scale to (cluster scale); ' +
        'the demo sends it load too and scales it N → N+2 → N',
    },
    {
      name: 'balancers',
      type: 'string',
      default: '1',
      valueName: 'N',
      description:
        'balancers (cluster up, demo); 2 or more: behind a virtual IP, every balancer and web server a network namespace (root only)',
    },
    {
      name: 'port',
      type: 'string',
      env: 'HA_AGENT_DEMO_PORT',
      default: '8080',
      valueName: 'P',
      description: "HAProxy's HTTP front end on 127.0.0.1 (cluster up, demo)",
    },
    clusterDirOption,
    liveOption,
    helpOption,
  ],
  positionals: true,
};

export function count(text: string | undefined, what: string, max = 500): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new UsageError(`${what}: '${text}' must be a whole number 0-${max}`);
  return n;
}

export async function cluster(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(clusterSpec, argv, io.env);
  const [action, arg] = positionals;
  const stateDir = String(values.dir);
  switch (action) {
    case 'up': {
      const port = count(String(values.port), '--port', 65535);
      const webapps = count(String(values.webapps), '--webapps');
      const apis = values.apis === undefined ? 0 : count(String(values.apis), '--apis', 254);
      const balancers = count(String(values.balancers), '--balancers', 9);
      if (balancers >= 2 && apis > 0) throw new UsageError('--apis runs with one balancer only (the balancer tier has no api service yet)');
      if (balancers >= 2) return await balancerTierUp(stateDir, balancers, webapps, io);
      const live = await openLive(values.live, io.stdout, 'ha-agent local cluster, live');
      try {
        const started = Date.now();
        const local = await LocalCluster.up({ home: packageHome, stateDir, port, webapps, apis });
        const took = ((Date.now() - started) / 1000).toFixed(1);
        io.stdout(`cluster up in ${took} s: ${local.webs().length} web servers UP behind ${local.frontendUrl} (state in ${stateDir})\n`);
        if (apis > 0) io.stdout(`${apis} api servers UP: curl -H 'Host: api.localhost' ${local.frontendUrl}/\n`);
        io.stdout(`try: curl ${local.frontendUrl}/ ; npx ha-agent status ; npx ha-agent cluster scale 5 ; npx ha-agent cluster down\n`);
        if (live) await watchLive(live, new LocalDriver({ home: packageHome, stateDir, port }), io);
      } finally {
        await live?.close();
      }
      return 0;
    }
    case 'scale': {
      if (arg === undefined && values.apis === undefined) throw new UsageError('cluster scale needs N, --apis N, or both');
      const local = LocalCluster.load(stateDir);
      if (arg !== undefined) await local.scale(count(arg, 'cluster scale N'));
      if (values.apis !== undefined) {
        await local.scale(count(String(values.apis), '--apis', 254), undefined, 'api');
        io.stdout(upLine('api', local.apis()));
      }
      io.stdout(upLine('web', local.webs()));
      return 0;
    }
    case 'down': {
      if (await BalancerTier.downAt(stateDir)) {
        io.stdout('balancer tier down: its namespaces, their processes, the bridge and its iptables rule are removed\n');
        return 0;
      }
      await LocalCluster.load(stateDir).down();
      io.stdout('cluster down: every process it started is stopped\n');
      return 0;
    }
    case 'status': {
      for (const c of LocalCluster.load(stateDir).containers)
        io.stdout(`${c.name.padEnd(8)} ${c.address.padEnd(12)} s6-svscan pid ${c.pid}  ${c.dir}\n`);
      return 0;
    }
    default:
      throw new UsageError(`cluster needs up, scale N, down or status (got '${action ?? ''}')`);
  }
}

async function balancerTierUp(stateDir: string, balancers: number, webapps: number, io: CliIo): Promise<number> {
  const started = Date.now();
  const tier = await BalancerTier.up({ home: packageHome, stateDir, balancers, webapps });
  const took = ((Date.now() - started) / 1000).toFixed(1);
  const names = (nodes: readonly TierNode[]) => nodes.map((n) => `${n.name} ${n.host.address}`).join(', ');
  io.stdout(`balancer tier up in ${took} s: ${tier.url} (the VIP, on ${(await tier.holders()).join(', ')})\n`);
  io.stdout(`balancers: ${names(tier.balancers())}; web servers: ${names(tier.webs())} (state in ${stateDir})\n`);
  io.stdout(`try: curl ${tier.url}/ ; npx ha-agent status --runtime ${tier.runtimeUrl('lb1')} ; npx ha-agent cluster down\n`);
  return 0;
}

/** `cluster up --live`: the live page follows the cluster (its last 5 minutes) until SIGINT or SIGTERM; the cluster keeps running. */
async function watchLive(live: LivePage, driver: LocalDriver, io: CliIo): Promise<void> {
  io.stdout('Ctrl-C stops the live page (the cluster keeps running: ha-agent cluster down stops it)\n');
  // The local ha container always declares the api service: its backend is there, empty or not.
  const monitor = new Monitor(driver.runtimeUrl, [DEFAULT_BACKEND, API_BACKEND]);
  monitor.start();
  const startedAt = Date.now();
  const stopView = startView({ driver, monitor, startedAt, phases: [{ name: 'cluster up', startedAt }], live, windowMs: 5 * 60_000 });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  stopView();
  await monitor.stop();
}

/** `3 web servers UP: web-1, web-2, web-3` */
function upLine(kind: string, servers: readonly { name: string }[]): string {
  return `${servers.length} ${kind} servers UP: ${servers.map((c) => c.name).join(', ') || '(none)'}\n`;
}
