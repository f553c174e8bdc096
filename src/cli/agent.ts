/** Wires the agent's parts together for `run` and `handle`: client, reconciler, config writer. */
import { readFileSync } from 'node:fs';
import { applyHint, OwnershipCheck } from '../reconcile/ownership.js';
import { Reconciler } from '../reconcile/reconciler.js';
import { stamp } from '../render/identity.js';
import { recordedSettings, recordSettings } from '../render/settings-store.js';
import { compileTemplate, type ConfigServer } from '../render/template.js';
import { ConfigWriter } from '../render/writer.js';
import { RuntimeClient } from '../runtime/client.js';
import { UsageError } from './options.js';
import type { AgentConfig } from './agent-config.js';

export interface Agent {
  client: RuntimeClient;
  reconciler: Reconciler;
}

export async function createAgent(config: AgentConfig): Promise<Agent> {
  const { log } = config;
  const client = new RuntimeClient({ url: config.runtime.url });
  // Steps log the mutations they send; --trace adds every command, polls included, at info level.
  client.on('trace', (event) => {
    if (config.trace || event.error) {
      log[event.error ? 'warn' : 'info']('runtime.command', {
        command: event.command,
        answer: event.answers.join('\n'),
        latencyMs: Math.round(event.latencyMs * 10) / 10,
        error: event.error,
      });
    }
  });
  let template: string;
  try {
    template = readFileSync(config.templatePath, 'utf8');
  } catch (error) {
    throw new UsageError(`--template: cannot read ${config.templatePath}: ${(error as Error).message}`);
  }
  const render = compileTemplate(template);
  const { base, identity, settings } = stamp(config.base, config.deployment, template);
  // Refuse bad template settings at start, not at the first membership change.
  try {
    render({ ...base, servers: [] });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { configOut } = config;
  const writer = configOut === undefined || config.dryRun ? undefined : new ConfigWriter({ render, base, outPath: configOut, log });
  // Recorded before the first write, so that a HAProxy booted from this file can be told old → new later.
  if (writer && identity && configOut !== undefined) {
    // Without the record a stale HAProxy's old values cannot be named, only its fingerprint.
    await recordSettings(configOut, identity.settings, settings).catch((error: Error) =>
      log.warn('config.record-failed', { path: configOut, error }),
    );
  }
  const ownership =
    identity === undefined
      ? undefined
      : new OwnershipCheck({
          client,
          identity,
          settings,
          recorded: (fingerprint) => (configOut === undefined ? Promise.resolve(undefined) : recordedSettings(configOut, fingerprint)),
          apply: applyHint(configOut),
          log,
        });
  const reconciler = new Reconciler({
    client,
    backend: config.backend,
    policy: config.policy,
    desired: config.desired,
    log,
    checkTimeoutMs: config.checkTimeoutMs,
    drainTimeoutMs: config.drainTimeoutMs,
    absentGraceMs: config.absentGraceMs,
    sticky: config.base.backend.sticky === undefined ? undefined : { drainIdleMs: config.drainIdleMs },
    dryRun: config.dryRun,
    mode: config.mode,
    ...(writer ? { persist: (servers: ConfigServer[]) => writer.write(servers) } : {}),
    ...(ownership ? { ownership } : {}),
  });
  client.on('connected', (info) => {
    log.info('runtime.connected', { address: config.runtime.url, pid: info.pid, version: info.version });
    reconciler.trigger('runtime connected');
  });
  client.on('disconnected', (error) => log.warn('runtime.disconnected', { address: config.runtime.url, error }));
  client.on('restarted', (event) => log.warn('runtime.restarted', event));
  return { client, reconciler };
}
