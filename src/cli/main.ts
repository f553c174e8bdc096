/** argv → subcommand. Errors become one clear line on stderr and a non-zero exit code. */
import { ClusterError } from '../cluster/converge.js';
import { SerfError } from '../membership/errors.js';
import { RuntimeError } from '../runtime/errors.js';
import { cluster, clusterSpec } from './cluster.js';
import { demo, demoSpec } from './demo.js';
import { exec, execSpec } from './exec.js';
import { processIo, type CliIo } from './io.js';
import { formatHelp, UsageError, type CommandSpec } from './options.js';
import { handle, handleSpec } from './handle.js';
import { planCommand, planSpec } from './plan.js';
import { render, renderSpec } from './render.js';
import { run, runSpec } from './run.js';
import { status, statusSpec } from './status.js';

interface Subcommand {
  spec: CommandSpec;
  run: (argv: readonly string[], io: CliIo) => Promise<number>;
}

export const subcommands: readonly Subcommand[] = [
  { spec: runSpec, run: (argv, io) => run(argv, io) },
  { spec: planSpec, run: planCommand },
  { spec: handleSpec, run: (argv, io) => handle(argv, io) },
  { spec: renderSpec, run: render },
  { spec: clusterSpec, run: cluster },
  { spec: demoSpec, run: demo },
  { spec: statusSpec, run: status },
  { spec: execSpec, run: exec },
];

function overview(): string {
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

export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(overview());
    return name === undefined ? 2 : 0;
  }
  const subcommand = subcommands.find(({ spec }) => spec.name === name);
  if (!subcommand) {
    io.stderr(`ha-agent: unknown command '${name}'\n${overview()}`);
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
    if (error instanceof RuntimeError || error instanceof SerfError || error instanceof ClusterError) {
      io.stderr(`ha-agent ${name}: ${error.code}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
