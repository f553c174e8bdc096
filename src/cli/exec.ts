/** `ha-agent exec -- <command>`: one raw command line (several joined by `;`), answer printed verbatim. */
import { raw } from '../runtime/commands.js';
import type { CliIo } from './io.js';
import { helpOption, parseCommandLine, runtimeOption, traceOption, UsageError, type CommandSpec } from './options.js';
import { withRuntime } from './runtime-session.js';

export const execSpec: CommandSpec = {
  name: 'exec',
  summary: "Send one raw Runtime API command line (several joined by ';') and print HAProxy's answer verbatim. CR and LF are refused.",
  usage: 'ha-agent exec [--runtime URL] [--trace] -- <command>',
  options: [runtimeOption, traceOption, helpOption],
  positionals: true,
};

export async function exec(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(execSpec, argv, io.env);
  if (positionals.length === 0) throw new UsageError("exec needs a command, e.g. ha-agent exec -- show info");
  const command = raw(positionals.join(' '));
  const answers = await withRuntime(values, io, (client) => client.send(command));
  for (const answer of answers) io.stdout(answer.endsWith('\n') ? answer : `${answer}\n`);
  return 0;
}
