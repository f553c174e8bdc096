/** Every default lives in one place, the option's spec: the CLI, the flag table and the agent's config all read it there. */
import { describe, expect, it } from 'vitest';
import { resolveAgentConfig, type AgentConfig } from '../../../src/cli/agent-config.js';
import { agentCli } from '../../../src/cli/main.js';
import { parseCommandLine } from '../../../src/cli/options.js';
import { DEFAULT_SERF_ADDRESS } from '../../../src/membership/rpc-client.js';
import { DEFAULT_BACKEND } from '../../../src/model/values.js';
import { haAgentCli } from '../../../src/main.js';
import { DEFAULT_RUNTIME_URL } from '../../../src/runtime/address.js';

/** The config's data, without the functions (logger, address policy). */
const data = (config: AgentConfig) => JSON.parse(JSON.stringify({ ...config, log: undefined })) as unknown;
const configCommands = ['run', 'plan', 'handle', 'render'];

describe('defaults', () => {
  it('are the named constants the rest of the code uses', () => {
    const config = resolveAgentConfig({});
    expect(config.runtime.url).toBe(DEFAULT_RUNTIME_URL);
    expect(config.serf.text).toBe(DEFAULT_SERF_ADDRESS);
    expect(config.backend).toBe(DEFAULT_BACKEND);
    expect(config.base.backend.name).toBe(DEFAULT_BACKEND);
  });

  it.each(configCommands)("are the same for '%s' as for a subcommand without the options", (name) => {
    const command = agentCli.subcommands.find(({ spec }) => spec.name === name)!;
    const { values } = parseCommandLine(command.spec, [], {});
    expect(data(resolveAgentConfig(values))).toEqual(data(resolveAgentConfig({})));
  });

  it('are the same wherever an option of the same name is taken', async () => {
    const { subcommands } = await haAgentCli();
    const defaults = new Map<string, Set<string | undefined>>();
    for (const { spec } of subcommands) {
      for (const option of spec.options) defaults.set(option.name, (defaults.get(option.name) ?? new Set()).add(option.default));
    }
    // status's --backend narrows a listing (all backends by default); everywhere else it names the backend ha-agent owns.
    expect(defaults.get('backend')).toEqual(new Set([DEFAULT_BACKEND, undefined]));
    expect([...defaults].filter(([name, values]) => values.size > 1 && name !== 'backend').map(([name]) => name)).toEqual([]);
  });
});
