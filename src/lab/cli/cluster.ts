/** `ha-agent cluster up|scale|down|status`: the local cluster (no Docker) the demo and benchmarks use. */
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalCluster } from '../cluster/local.js';
import type { CliIo } from '../../cli/io.js';
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

export const clusterSpec: CommandSpec = {
  name: 'cluster',
  summary: 'A local cluster without Docker: s6-svscan "containers" over the images\' service trees, web servers on 127.0.0.x.',
  usage: 'ha-agent cluster up [--webapps N] [--port P] | scale N | down | status',
  options: [
    { name: 'webapps', type: 'string', default: '3', valueName: 'N', description: 'web servers to start (cluster up)' },
    { name: 'port', type: 'string', env: 'HA_AGENT_DEMO_PORT', default: '8080', valueName: 'P', description: "HAProxy's HTTP front end on 127.0.0.1 (cluster up, demo)" },
    clusterDirOption,
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
      const started = Date.now();
      const local = await LocalCluster.up({ home: packageHome, stateDir, port, webapps: count(String(values.webapps), '--webapps') });
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      io.stdout(`cluster up in ${seconds} s: ${local.webs().length} web servers UP behind ${local.frontendUrl} (state in ${stateDir})\n`);
      io.stdout(`try: curl ${local.frontendUrl}/ ; npx ha-agent status ; npx ha-agent cluster scale 5 ; npx ha-agent cluster down\n`);
      return 0;
    }
    case 'scale': {
      const local = LocalCluster.load(stateDir);
      await local.scale(count(arg, 'cluster scale N'));
      io.stdout(`${local.webs().length} web servers UP: ${local.webs().map((c) => c.name).join(', ') || '(none)'}\n`);
      return 0;
    }
    case 'down': {
      await LocalCluster.load(stateDir).down();
      io.stdout('cluster down: every process it started is stopped\n');
      return 0;
    }
    case 'status': {
      for (const c of LocalCluster.load(stateDir).containers) io.stdout(`${c.name.padEnd(8)} ${c.address.padEnd(12)} s6-svscan pid ${c.pid}  ${c.dir}\n`);
      return 0;
    }
    default:
      throw new UsageError(`cluster needs up, scale N, down or status (got '${action ?? ''}')`);
  }
}
