/**
 * `ha-agent demo`: the zero-downtime scaling demo. Starts the local cluster (or, with --docker, the
 * compose stack; with --swarm, docker-stack.yml on a single-node swarm, plus a rolling update), runs the scripted scenario under continuous HTTP load with a live view, stops
 * everything it started, prints a summary per phase and writes a self-contained HTML report.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BalancerDriver } from '../demo/balancer-driver.js';
import { NodesDriver } from '../demo/nodes-driver.js';
import { ComposeDriver, LocalDriver, type DemoDriver } from '../demo/driver.js';
import { failoverLines, skippedLines, summaryTable } from '../demo/report.js';
import { runDemo, runReport } from '../demo/run-demo.js';
import { SwarmDriver } from '../demo/swarm-driver.js';
import { verdict } from '../demo/scenario.js';
import { clusterDirOption, clusterSpec, count, liveOption, openLive, packageHome } from './cluster.js';
import type { CliIo } from '../../cli/io.js';
import { helpOption, parseCommandLine, UsageError, type CommandSpec } from '../../cli/options.js';

const portOption = clusterSpec.options.find((o) => o.name === 'port')!;
const balancersOption = clusterSpec.options.find((o) => o.name === 'balancers')!;
const apisOption = clusterSpec.options.find((o) => o.name === 'apis')!;

export const demoSpec: CommandSpec = {
  name: 'demo',
  summary:
    'Scale a cluster 1 → 5 → 2 → 4, SIGKILL a web server, restart ha-agent and HAProxy, under load: live view, summary, HTML report.',
  usage:
    'ha-agent demo [--docker | --swarm [--nodes N] | --balancers N] [--apis N] [--short] [--port P] [--live HOST:PORT] [--report PATH] [--json]',
  options: [
    { name: 'docker', type: 'boolean', description: 'run the scenario against the docker compose stack instead of the local cluster' },
    {
      name: 'swarm',
      type: 'boolean',
      description:
        'run it on Docker Swarm (docker-stack.yml; a single-node swarm made for the run when the engine is in none), with a rolling update',
    },
    {
      name: 'nodes',
      type: 'string',
      valueName: 'N',
      description:
        'with --swarm: N Swarm nodes (3-9) on this machine, each a network namespace with its own dockerd (root), two balancers behind a keepalived virtual IP; a node drained, a node lost, the active balancer node lost',
    },
    apisOption,
    { name: 'short', type: 'boolean', description: 'hold each phase 1 s instead of 4 s (CI runs this)' },
    portOption,
    balancersOption,
    clusterDirOption,
    liveOption,
    {
      name: 'report',
      type: 'string',
      env: 'HA_AGENT_DEMO_REPORT',
      valueName: 'PATH',
      description: 'where the HTML report goes (default reports/demo-TIME.html)',
    },
    { name: 'json', type: 'boolean', description: 'print the results as JSON (the live view goes to stderr)' },
    helpOption,
  ],
};

export async function demo(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine(demoSpec, argv, io.env);
  const port = count(String(values.port), '--port', 65535);
  const balancers = count(String(values.balancers), '--balancers', 9);
  if (values.docker === true && values.swarm === true) throw new UsageError('--docker and --swarm: one or the other');
  if (balancers >= 2 && (values.docker === true || values.swarm === true))
    throw new UsageError('--balancers 2 or more runs on network namespaces, not with --docker or --swarm');
  const apis = values.apis === undefined ? 0 : count(String(values.apis), '--apis', 252);
  const nodes = values.nodes === undefined ? 1 : count(String(values.nodes), '--nodes', 9);
  if (nodes > 1 && values.swarm !== true) throw new UsageError('--nodes runs with --swarm');
  // Node 1 is drained and lost, two more hold the balancers.
  if (nodes === 2) throw new UsageError('--nodes: 3 or more (a node to lose besides the two balancer nodes)');
  if (balancers >= 2 && apis > 0) throw new UsageError('--apis runs with one balancer only (the balancer tier has no api service yet)');
  const driver: DemoDriver =
    values.docker === true
      ? new ComposeDriver({ root: packageHome, project: 'ha-agent-demo', env: { ...io.env, HA_HTTP_PORT: String(port) } })
      : values.swarm === true && nodes > 1
        ? new NodesDriver({ root: packageHome, stack: 'ha-agent-demo', env: io.env, nodes })
        : values.swarm === true
          ? new SwarmDriver({ root: packageHome, stack: 'ha-agent-demo', env: { ...io.env, HA_HTTP_PORT: String(port) } })
          : balancers >= 2
            ? new BalancerDriver({ home: packageHome, stateDir: String(values.dir), balancers })
            : new LocalDriver({ home: packageHome, stateDir: String(values.dir), port });
  const json = values.json === true;
  const write = json ? io.stderr : io.stdout;
  const tty = !json && process.stdout.isTTY === true;
  const live = await openLive(values.live, write);
  write(`starting the ${driver.label}…\n`);
  // Swarm nodes are engines and containers outside this process: Ctrl-C must not leave them running.
  // (Only then: a listener replaces the default exit on that signal.)
  const interrupted = () => void onInterrupt(driver, write);
  if (driver instanceof NodesDriver) process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  let run;
  try {
    run = await runDemo({ driver, holdMs: values.short === true ? 1000 : 4000, write, tty, apis, ...(live ? { live } : {}) });
  } finally {
    process.off('SIGINT', interrupted).off('SIGTERM', interrupted);
    write('stopping everything the demo started…\n');
    await driver.down();
    if (!run) await live?.close();
  }
  const problems = verdict(run.results);
  live?.finish({ results: run.results, problems });
  await live?.close();
  const reportPath = path.resolve(
    String(values.report ?? path.join('reports', `demo-${new Date(run.startedAt).toISOString().replace(/[:.]/g, '-')}.html`)),
  );
  mkdirSync(path.dirname(reportPath), { recursive: true });
  writeFileSync(reportPath, runReport('ha-agent zero-downtime scaling demo', driver, run, problems));
  if (json) {
    io.stdout(`${JSON.stringify({ results: run.results, problems, skipped: run.skipped, report: reportPath }, null, 2)}\n`);
  } else {
    io.stdout(`\n${summaryTable(run.results, driver.convergeClock)}`);
    for (const line of [...failoverLines(run.results), ...skippedLines(run.skipped)]) io.stdout(`${line}\n`);
    io.stdout(
      problems.length === 0
        ? `Every graceful phase: 0 failed requests; no HAProxy reload but the planned one; no session lost where no server left${apis > 0 ? '; no request misrouted' : ''}.\n`
        : `PROBLEMS:\n${problems.map((p) => `  ${p}`).join('\n')}\n`,
    );
    io.stdout(`HTML report: ${reportPath}\n`);
  }
  return problems.length === 0 ? 0 : 1;
}

/** Interrupted: removes what the driver made, then exits as a process killed by SIGINT would (130). */
async function onInterrupt(driver: DemoDriver, write: (text: string) => void): Promise<never> {
  write('interrupted: stopping everything the demo started…\n');
  await driver.down().catch((error: Error) => write(`${error.message}\n`));
  process.exit(130);
}
