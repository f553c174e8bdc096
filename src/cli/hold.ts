/**
 * `ha-agent hold SERVER [--drain]` and `ha-agent release SERVER`: a person's MAINT or DRAIN, and its end, through
 * the Runtime API, as socat or the stats page would set them. The running agent tells a person's state from its
 * own (docs/holds.md) and keeps it until it is released.
 */
import { setState } from '../runtime/commands.js';
import { serverName } from '../model/values.js';
import { backendOption } from './agent-config.js';
import type { CliIo } from './io.js';
import { helpOption, parseCommandLine, runtimeOption, traceOption, UsageError, type CommandSpec } from './options.js';
import { withRuntime } from './runtime-session.js';

const backendFlag = { ...backendOption, description: "the server's backend" };

export const holdSpec: CommandSpec = {
  name: 'hold',
  summary: 'Put a server in maintenance (or drain) by hand: the agent keeps it so until `release` (its member leaving still removes it).',
  usage: 'ha-agent hold SERVER [--drain] [--backend NAME] [--runtime URL]',
  positionals: true,
  options: [
    { name: 'drain', type: 'boolean', description: 'drain (takes no new users, finishes what it has) instead of maintenance' },
    backendFlag,
    runtimeOption,
    traceOption,
    helpOption,
  ],
};

export const releaseSpec: CommandSpec = {
  name: 'release',
  summary: 'End a hold: set the server ready again (the agent takes it back).',
  usage: 'ha-agent release SERVER [--backend NAME] [--runtime URL]',
  positionals: true,
  options: [backendFlag, runtimeOption, traceOption, helpOption],
};

function oneServer(name: string, positionals: readonly string[]): string {
  if (positionals.length !== 1) throw new UsageError(`ha-agent ${name} takes one SERVER (see 'ha-agent ${name} --help')`);
  const parsed = serverName.safeParse(positionals[0]);
  if (!parsed.success) throw new UsageError(`SERVER: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

async function setBy(spec: CommandSpec, argv: readonly string[], io: CliIo, hold: boolean): Promise<number> {
  const { values, positionals } = parseCommandLine(spec, argv, io.env);
  const server = oneServer(spec.name, positionals);
  const backend = String(values.backend);
  const state = !hold ? 'ready' : values.drain === true ? 'drain' : 'maint';
  await withRuntime(values, io, (client) => client.run(setState(backend, server, state)));
  io.stdout(
    hold
      ? `${backend}/${server} is held in ${state}: ha-agent keeps it so until 'ha-agent release ${server}'\n`
      : `${backend}/${server} is ready: the hold is over\n`,
  );
  return 0;
}

export const holdCommand = (argv: readonly string[], io: CliIo) => setBy(holdSpec, argv, io, true);
export const releaseCommand = (argv: readonly string[], io: CliIo) => setBy(releaseSpec, argv, io, false);
