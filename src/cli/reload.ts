/**
 * `ha-agent reload`: a planned reload of a master-worker HAProxy (`haproxy -W -S PATH`) that loses no
 * request and keeps every server's state — for what HAProxy reads only at boot (a new setting, an
 * upgrade). See src/reload/reload.ts; membership changes never need it.
 */
import { clearServerState, saveServerState } from '../render/server-state.js';
import { recordSettings } from '../render/settings-store.js';
import { ConfigWriter, writeRoutingMaps } from '../render/writer.js';
import { plannedReload } from '../reload/reload.js';
import { probeChecks, probeTimeoutMs } from '../reload/probe.js';
import { RuntimeClient } from '../runtime/client.js';
import { reloadMaster } from '../runtime/master.js';
import { systemClock } from '../util/clock.js';
import {
  backendOption,
  defaultPortOption,
  logOptions,
  masterSocketOption,
  renderOptions,
  resolveAgentConfig,
  runtimeOption,
} from './agent-config.js';
import type { CliIo } from './io.js';
import { helpOption, parseCommandLine, UsageError, type CommandSpec } from './options.js';
import { loadTemplate } from './stamped-template.js';

export const reloadSpec: CommandSpec = {
  name: 'reload',
  summary:
    'Planned reload of a master-worker HAProxy: re-render --config-out with every current server, save their states, reload ' +
    'through the master, and check that the new worker kept each weight, drain/maint state and health.',
  usage: 'ha-agent reload --config-out PATH --master-socket URL [--runtime URL] [...the settings ha-agent run uses]',
  options: [runtimeOption, masterSocketOption, backendOption, ...renderOptions, defaultPortOption, ...logOptions, helpOption],
};

export async function reload(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine(reloadSpec, argv, io.env);
  const config = resolveAgentConfig(values, io.stderr);
  const master = typeof values['master-socket'] === 'string' ? values['master-socket'] : undefined;
  if (master === undefined) throw new UsageError('--master-socket is required (HAProxy must run as haproxy -W -S PATH)');
  const { configOut } = config;
  const stateFile = config.base.serverStateFile;
  if (configOut === undefined || stateFile === undefined || config.deployment === undefined) {
    throw new UsageError('--config-out is required: the reload re-renders it and keeps the servers state beside it');
  }
  const { render, base, identity, settings } = await loadTemplate(config);
  if (identity === undefined) throw new UsageError('no deployment id');
  const writer = new ConfigWriter({ render, base, outPath: configOut, log: config.log });
  // `haproxy -c` of the config needs the routing maps it names.
  if (config.maps) await writeRoutingMaps(config.maps, config.services);
  const result = await plannedReload(
    {
      connect: async () => {
        const client = new RuntimeClient({ url: config.runtime.url, heartbeatMs: 0 });
        await client.connect();
        return {
          info: () => client.info(),
          read: async (command) => (await client.send(command)).join(''),
          close: () => client.close(),
        };
      },
      reloadMaster: () => reloadMaster(master),
      writeConfig: async (servers) => {
        for (const [backend, list] of servers) if (backend !== config.backend) writer.stage(list, backend);
        const outcome = await writer.write(servers.get(config.backend) ?? []);
        if (outcome === 'written' || outcome === 'unchanged') await recordSettings(configOut, identity.settings, settings);
        return outcome;
      },
      // What the new config's checks ask, from its own text (a --template may check otherwise), tried within one check interval.
      probeChecks: (rows) =>
        probeChecks(
          render({ ...base, servers: [] }),
          rows,
          [config.backend, ...config.services.map((s) => s.name)],
          probeTimeoutMs(config.policy.check.inter),
        ),
      saveState: (dump) => saveServerState(stateFile, dump),
      clearState: () => clearServerState(stateFile),
      clock: systemClock,
      log: config.log,
    },
    { backend: config.backend, services: config.services.map((s) => s.name), identity },
  );
  io.stdout(
    `reloaded: HAProxy worker ${result.oldPid} → ${result.newPid} in ${result.tookMs} ms; ` +
      `${result.servers} servers in ${[config.backend, ...config.services.map((s) => s.name)].join(', ')}` +
      (result.differences.length === 0
        ? ', each with its address, weight, state and health\n'
        : `; not carried over:\n${result.differences.map((d) => `  ${d}\n`).join('')}`),
  );
  return result.differences.length === 0 ? 0 : 1;
}
