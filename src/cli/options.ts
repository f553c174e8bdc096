/**
 * Subcommand options as data: parsing, `--help` and the reference docs all come from these
 * definitions, so they cannot drift apart. Every option falls back to its environment variable,
 * then to its default.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_RUNTIME_URL } from '../runtime/address.js';

export interface OptionSpec {
  name: string;
  type: 'string' | 'boolean';
  env?: string;
  default?: string;
  valueName?: string;
  description: string;
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  options: readonly OptionSpec[];
  /** Whether positional arguments (after `--`) are taken. */
  positionals?: boolean;
}

export const runtimeOption: OptionSpec = {
  name: 'runtime',
  type: 'string',
  env: 'HA_AGENT_RUNTIME',
  default: DEFAULT_RUNTIME_URL,
  valueName: 'URL',
  description: "HAProxy's Runtime API: tcp://HOST:PORT or unix:///PATH",
};

export const traceOption: OptionSpec = {
  name: 'trace',
  type: 'boolean',
  env: 'HA_AGENT_TRACE',
  description: 'show every runtime command sent, its answer and latency (on stderr; in run and handle as runtime.command log lines)',
};

export const helpOption: OptionSpec = { name: 'help', type: 'boolean', description: 'show this help' };

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type OptionValues = Record<string, string | boolean | undefined>;

const truthy = (value: string): boolean => !['', '0', 'false', 'no', 'off'].includes(value.toLowerCase());

export function parseCommandLine(
  spec: CommandSpec,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): { values: OptionValues; positionals: string[] } {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: Object.fromEntries(spec.options.map((option) => [option.name, { type: option.type }])),
      allowPositionals: spec.positionals === true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message.split('\n')[0]} (see 'ha-agent ${spec.name} --help')`);
  }
  const values: OptionValues = {};
  for (const option of spec.options) {
    const given = parsed.values[option.name];
    const fromEnv = option.env === undefined ? undefined : env[option.env];
    if (given !== undefined) values[option.name] = given;
    else if (fromEnv !== undefined && fromEnv !== '') values[option.name] = option.type === 'boolean' ? truthy(fromEnv) : fromEnv;
    else values[option.name] = option.type === 'boolean' ? option.default === 'true' : option.default;
  }
  return { values, positionals: parsed.positionals };
}

export function formatHelp(spec: CommandSpec): string {
  const rows = spec.options.map((option) => {
    const flag = `--${option.name}${option.type === 'string' ? ` ${option.valueName ?? 'VALUE'}` : ''}`;
    const extra = [option.env && `env ${option.env}`, option.default !== undefined && `default ${option.default}`]
      .filter(Boolean)
      .join(', ');
    return [flag, `${option.description}${extra ? ` (${extra})` : ''}`] as const;
  });
  const width = Math.max(...rows.map(([flag]) => flag.length));
  return [
    `Usage: ${spec.usage}`,
    '',
    spec.summary,
    '',
    'Options:',
    ...rows.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`),
    '',
  ].join('\n');
}
