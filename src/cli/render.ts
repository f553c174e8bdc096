/**
 * `ha-agent render`: writes haproxy.cfg from the template with no servers, so that HAProxy can boot
 * before the agent's first pass (the agent then adds the members at runtime and re-renders).
 */
import { existsSync } from 'node:fs';
import { ensureServerStateFile } from '../render/server-state.js';
import { recordSettings } from '../render/settings-store.js';
import { ConfigWriter, writeRoutingMaps } from '../render/writer.js';
import { backendOption, defaultPortOption, logOptions, renderOptions, resolveAgentConfig, runtimeOption } from './agent-config.js';
import type { CliIo } from './io.js';
import { helpOption, parseCommandLine, UsageError, type CommandSpec } from './options.js';
import { loadTemplate } from './stamped-template.js';

export const renderSpec: CommandSpec = {
  name: 'render',
  summary: 'Render haproxy.cfg from the template with an empty backend (to stdout, or validated and written to --config-out).',
  usage: 'ha-agent render [--config-out PATH] [--if-missing] [--frontend-bind ADDR:PORT] [...]',
  options: [
    runtimeOption,
    backendOption,
    ...renderOptions,
    { name: 'if-missing', type: 'boolean', description: 'leave an existing --config-out alone (it holds the servers of the last run)' },
    {
      name: 'slots',
      type: 'string',
      env: 'HA_AGENT_SLOTS',
      valueName: 'N',
      description: 'render N empty server slots (slot1…slotN) for --mode slots',
    },
    defaultPortOption,
    ...logOptions,
    helpOption,
  ],
};

export async function render(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine(renderSpec, argv, io.env);
  const config = resolveAgentConfig(values, io.stderr);
  const slotCount = values.slots === undefined ? 0 : Number(values.slots);
  if (!Number.isInteger(slotCount) || slotCount < 0 || slotCount > 10_000)
    throw new UsageError(`--slots: '${String(values.slots)}' must be a whole number 0-10000`);
  const servers = Array.from({ length: slotCount }, (_, i) => ({
    name: `slot${i + 1}`,
    address: '0.0.0.0',
    port: config.desired.defaultPort,
    weight: config.desired.defaultWeight,
    disabled: true,
  }));
  const { render: renderConfig, base, identity, settings } = await loadTemplate(config);
  let text: string;
  try {
    text = renderConfig({ ...base, servers });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (config.configOut === undefined) {
    io.stdout(text);
    return 0;
  }
  if (values['if-missing'] === true && existsSync(config.configOut)) {
    if (config.base.serverStateFile !== undefined) await ensureServerStateFile(config.base.serverStateFile);
    return 0;
  }
  // First: `haproxy -c` of the config needs the map files it names.
  if (config.maps) await writeRoutingMaps(config.maps, config.services);
  const writer = new ConfigWriter({ render: () => text, base, outPath: config.configOut, log: config.log });
  const outcome = await writer.write(servers);
  if (outcome !== 'written' && outcome !== 'unchanged') return 1;
  if (identity) await recordSettings(config.configOut, identity.settings, settings);
  return 0;
}
