/** Wires the agent's parts together for `run` and `handle`: client, reconciler, config writer. */
import { readFileSync } from 'node:fs';
import { Reconciler } from '../reconcile/reconciler.js';
import { compileTemplate, type ConfigServer } from '../render/template.js';
import { ConfigWriter } from '../render/writer.js';
import { RuntimeClient } from '../runtime/client.js';
import { UsageError } from './options.js';
import type { AgentConfig } from './agent-config.js';

export interface Agent {
  client: RuntimeClient;
  reconciler: Reconciler;
  writer: ConfigWriter | undefined;
}

export function createAgent(config: AgentConfig): Agent {
  const { log } = config;
  const client = new RuntimeClient({ url: config.runtime.url });
  // Steps log the mutations they send; --trace adds every command, polls included, at info level.
  client.on('trace', (event) => {
    if (config.trace || event.error) {
      log[event.error ? 'warn' : 'info']('runtime.command', { command: event.command, answer: event.answers.join('\n'), latencyMs: Math.round(event.latencyMs * 10) / 10, error: event.error });
    }
  });
  let template: string;
  try {
    template = readFileSync(config.templatePath, 'utf8');
  } catch (error) {
    throw new UsageError(`--template: cannot read ${config.templatePath}: ${(error as Error).message}`);
  }
  const render = compileTemplate(template);
  // Refuse bad template settings at start, not at the first membership change.
  try {
    render({ ...config.base, servers: [] });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const writer =
    config.configOut === undefined || config.dryRun ? undefined : new ConfigWriter({ render, base: config.base, outPath: config.configOut, log });
  const reconciler = new Reconciler({
    client,
    backend: config.backend,
    policy: config.policy,
    desired: config.desired,
    log,
    checkTimeoutMs: config.checkTimeoutMs,
    drainTimeoutMs: config.drainTimeoutMs,
    sticky: config.base.backend.sticky !== undefined,
    dryRun: config.dryRun,
    mode: config.mode,
    ...(writer ? { persist: (servers: ConfigServer[]) => writer.write(servers) } : {}),
  });
  client.on('connected', (info) => {
    log.info('runtime.connected', { address: config.runtime.url, pid: info.pid, version: info.version });
    reconciler.trigger('runtime connected');
  });
  client.on('disconnected', (error) => log.warn('runtime.disconnected', { address: config.runtime.url, error }));
  client.on('restarted', (event) => log.warn('runtime.restarted', event));
  return { client, reconciler, writer };
}
