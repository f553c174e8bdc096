/** Wires the agent's parts together for `run` and `handle`: client, reconciler, config writer. */
import { applyHint, OwnershipCheck } from '../reconcile/ownership.js';
import { withFields } from '../log.js';
import type { Service } from '../model/service.js';
import { LedgerStore, ledgerPath } from '../reconcile/ledger.js';
import { Reconciler } from '../reconcile/reconciler.js';
import { Services } from '../reconcile/services.js';
import { recordedSettings, recordSettings } from '../render/settings-store.js';
import type { ConfigServer } from '../render/template.js';
import { ConfigWriter, writeRoutingMaps } from '../render/writer.js';
import { RuntimeClient } from '../runtime/client.js';
import { loadTemplate } from './stamped-template.js';
import { backendsLost, describeProbe, probeChecks, probeTimeoutMs } from '../reload/probe.js';
import { desiredFor, healthSetting, isSticky, type AgentConfig } from './agent-config.js';

export interface Agent {
  client: RuntimeClient;
  /** The default backend's reconciler. */
  reconciler: Reconciler;
  /** Every backend's reconciler, and what is shared between them (members, routing): give it the member lists. */
  services: Services;
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
  // Bad template settings are refused at start, not at the first membership change.
  const { render, base, identity, settings } = await loadTemplate(config);
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
          configOut,
          probeNextBoot: async () => {
            const probes = await probeChecks(
              render({ ...base, servers: [] }),
              await client.serversState(),
              [config.backend, ...config.services.map((s) => s.name)],
              probeTimeoutMs(config.policy.check.inter),
            );
            return {
              failing: probes.filter((p) => p.servers.some((s) => s.verdict === 'fail')).map(describeProbe),
              lost: backendsLost(probes).map((p) => p.backend),
            };
          },
          log,
        });
  if (writer && config.maps) await writeRoutingMaps(config.maps, config.services);
  // What the agent set itself and the holds seen, beside the rendered config (see reconcile/ledger.ts).
  const ledger = new LedgerStore(writer && configOut !== undefined ? ledgerPath(configOut) : undefined);
  const damaged = await ledger.load();
  if (damaged !== undefined) log.warn('ledger.unreadable', { path: ledgerPath(String(configOut)), error: damaged });
  /** One reconciler per backend, each with its own members (by service tag), settings and log lines naming it. */
  const reconcilerFor = (backend: string, service: Service | undefined) =>
    new Reconciler({
      client,
      backend,
      policy: config.policy,
      desired: desiredFor(config.desired, service),
      log: withFields(log, { backend }),
      checkTimeoutMs: config.checkTimeoutMs,
      health: () => healthSetting(config, service, ownership?.booted),
      drainTimeoutMs: config.drainTimeoutMs,
      absentGraceMs: config.absentGraceMs,
      ledger,
      sticky: isSticky(config, service) ? { drainIdleMs: config.drainIdleMs } : undefined,
      dryRun: config.dryRun,
      mode: config.mode,
      ...(writer ? { persist: (servers: ConfigServer[]) => writer.write(servers, backend) } : {}),
      ...(ownership ? { ownership } : {}),
    });
  const reconciler = reconcilerFor(config.backend, undefined);
  const services = new Services({
    client,
    role: config.desired.role,
    main: reconciler,
    services: config.services.map((service) => ({
      service,
      reconciler: reconcilerFor(service.name, service),
    })),
    maps: config.maps,
    dryRun: config.dryRun,
    ...(ownership ? { ownership } : {}),
    apply: applyHint(configOut),
    log,
  });
  client.on('connected', (info) => {
    log.info('runtime.connected', { address: config.runtime.url, pid: info.pid, version: info.version });
    services.connected();
  });
  client.on('disconnected', (error) => log.warn('runtime.disconnected', { address: config.runtime.url, error }));
  client.on('restarted', (event) => log.warn('runtime.restarted', event));
  return { client, reconciler, services };
}
