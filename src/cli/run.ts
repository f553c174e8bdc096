/** `ha-agent run`: the long-running agent in the `ha` container. */
import { SerfMembership } from '../membership/source.js';
import { agentOptions, logOptions, resolveAgentConfig, traceOption } from './agent-config.js';
import { createAgent } from './agent.js';
import { batchLines } from '../log.js';
import { observe, type Health } from '../metrics/observe.js';
import { Registry } from '../metrics/registry.js';
import type { CliIo } from './io.js';
import { helpOption, parseCommandLine, UsageError, type CommandSpec, type OptionSpec } from './options.js';

/** Where `run` serves /metrics and /healthz; `status` reads the agent's health there. */
export const metricsOption: OptionSpec = {
  name: 'metrics',
  type: 'string',
  env: 'HA_AGENT_METRICS',
  valueName: 'ADDR:PORT',
  description:
    'serve Prometheus metrics on /metrics and a health check on /healthz ' +
    "(503 while HAProxy or Serf is unreachable or HAProxy is another deployment's)",
};

export const runSpec: CommandSpec = {
  name: 'run',
  summary: "Keep an HAProxy backend equal to Serf's live members, through the Runtime API (never a reload).",
  usage: 'ha-agent run [--runtime URL] [--serf HOST:PORT] [--backend NAME] [--template PATH] [--config-out PATH] [options]',
  options: [
    ...agentOptions,
    { name: 'dry-run', type: 'boolean', env: 'HA_AGENT_DRY_RUN', description: 'log the commands it would send and change nothing' },
    metricsOption,
    ...logOptions,
    traceOption,
    helpOption,
  ],
};

export async function run(argv: readonly string[], io: CliIo, signal?: AbortSignal): Promise<number> {
  const { values } = parseCommandLine(runSpec, argv, io.env);
  const lines = batchLines(io.stdout);
  const config = resolveAgentConfig(values, lines.write);
  const health: Health = { runtime: false, serf: false, configError: undefined, foreign: undefined, stale: undefined };
  const metrics = new Registry();
  // Metrics and health are read off the agent's own log events.
  config.log = observe(config.log, metrics, health);
  const { log } = config;
  // The HTTP server (and node:http) is loaded only when asked for.
  const metricsServer =
    typeof values.metrics === 'string'
      ? await (await import('../metrics/server.js')).serveMetrics(values.metrics, metrics, health).catch((error: Error) => {
          throw new UsageError(`--metrics: cannot listen on ${String(values.metrics)}: ${error.message}`);
        })
      : undefined;
  const agent = await createAgent(config);
  const membership = new SerfMembership({
    address: config.serf,
    authKey: config.serfAuth,
    resyncMs: config.resyncMs,
    pollMs: config.serfPollMs,
    log,
  });
  membership.on('members', (members, reason) => agent.services.setMembers(members, reason));

  log.info('agent.started', {
    runtime: config.runtime.url,
    serf: config.serf.text,
    backend: config.backend,
    services: config.services.map((s) => s.name),
    role: config.desired.role,
    mode: config.mode,
    configOut: config.configOut,
    dryRun: config.dryRun,
  });
  agent.client.start();
  membership.start();

  const stopped = new Promise<string>((resolve) => {
    const onSignal = (name: string) => () => resolve(name);
    process.once('SIGINT', onSignal('SIGINT'));
    process.once('SIGTERM', onSignal('SIGTERM'));
    signal?.addEventListener('abort', () => resolve('abort'));
  });
  const why = await stopped;
  log.info('agent.stopping', { signal: why });
  membership.close();
  await agent.services.close();
  await agent.client.close();
  metricsServer?.close();
  log.info('agent.stopped', {});
  lines.flush();
  return 0;
}
