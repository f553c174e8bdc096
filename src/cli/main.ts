/**
 * argv → subcommand. Errors become one clear line on stderr and a non-zero exit code. Holds the agent's
 * own subcommands; src/main.ts adds the lab's (the agent's code imports nothing from src/lab).
 */
import { SerfError } from '../membership/errors.js';
import { ReloadError } from '../reload/reload.js';
import { RuntimeError } from '../runtime/errors.js';
import { exec, execSpec } from './exec.js';
import { processIo, type CliIo } from './io.js';
import { formatHelp, UsageError, type CommandSpec } from './options.js';
import { handle, handleSpec } from './handle.js';
import { holdCommand, holdSpec, releaseCommand, releaseSpec } from './hold.js';
import { planCommand, planSpec } from './plan.js';
import { reload, reloadSpec } from './reload.js';
import { render, renderSpec } from './render.js';
import { run, runSpec } from './run.js';
import { status, statusSpec } from './status.js';

export interface Subcommand {
  spec: CommandSpec;
  run: (argv: readonly string[], io: CliIo) => Promise<number>;
}

/** An error class whose code and message say everything: one line on stderr, exit code 1. */
export type CodedErrorClass = abstract new (...args: never[]) => Error & { readonly code: string };

export interface Cli {
  readonly subcommands: readonly Subcommand[];
  readonly codedErrors: readonly CodedErrorClass[];
}

export const agentCli: Cli = {
  subcommands: [
    { spec: runSpec, run: (argv, io) => run(argv, io) },
    { spec: planSpec, run: planCommand },
    { spec: handleSpec, run: (argv, io) => handle(argv, io) },
    { spec: renderSpec, run: render },
    { spec: reloadSpec, run: reload },
    { spec: statusSpec, run: status },
    { spec: holdSpec, run: holdCommand },
    { spec: releaseSpec, run: releaseCommand },
    { spec: execSpec, run: exec },
  ],
  codedErrors: [RuntimeError, SerfError, ReloadError],
};

function isCoded(error: unknown, kinds: readonly CodedErrorClass[]): error is Error & { readonly code: string } {
  return kinds.some((kind) => error instanceof kind);
}

function overview({ subcommands }: Cli): string {
  const width = Math.max(...subcommands.map(({ spec }) => spec.name.length));
  return [
    'Usage: ha-agent <command> [options]',
    '',
    'Keeps an HAProxy backend equal to the live members of a Serf cluster, through the Runtime API.',
    '',
    'Commands:',
    ...subcommands.map(({ spec }) => `  ${spec.name.padEnd(width)}  ${spec.summary}`),
    '',
    "Run 'ha-agent <command> --help' for a command's options.",
    '',
  ].join('\n');
}

export async function main(cli: Cli, argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(overview(cli));
    return name === undefined ? 2 : 0;
  }
  const subcommand = cli.subcommands.find(({ spec }) => spec.name === name);
  if (!subcommand) {
    io.stderr(`ha-agent: unknown command '${name}'\n${overview(cli)}`);
    return 2;
  }
  if (rest.includes('--help') && !rest.slice(0, rest.indexOf('--help')).includes('--')) {
    io.stdout(formatHelp(subcommand.spec));
    return 0;
  }
  try {
    return await subcommand.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`ha-agent ${name}: ${error.message}\n`);
      return 2;
    }
    if (isCoded(error, cli.codedErrors)) {
      io.stderr(`ha-agent ${name}: ${error.code}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
