/**
 * `ha-agent exec -- <command>`: one raw command line (several joined by `;`), answer printed verbatim.
 * `ha-agent exec` alone: an interactive session over the same client (readline, history, tables aligned).
 */
import readline from 'node:readline';
import { raw } from '../runtime/commands.js';
import { RuntimeError } from '../runtime/errors.js';
import type { RuntimeClient } from '../runtime/client.js';
import { alignTable } from './align.js';
import type { CliIo } from './io.js';
import { helpOption, parseCommandLine, runtimeOption, traceOption, type CommandSpec, type OptionValues } from './options.js';
import { runtimeClient, withRuntime } from './runtime-session.js';

export const execSpec: CommandSpec = {
  name: 'exec',
  summary:
    "Send one raw Runtime API command line (several joined by ';') and print HAProxy's answer verbatim; with no command, " +
    "an interactive session (history, tables aligned, 'quit' or Ctrl-D leaves). CR and LF are refused.",
  usage: 'ha-agent exec [--runtime URL] [--trace] [-- <command>]',
  options: [runtimeOption, traceOption, helpOption],
  positionals: true,
};

export async function exec(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(execSpec, argv, io.env);
  if (positionals.length === 0) return session(values, io);
  const command = raw(positionals.join(' '));
  const answers = await withRuntime(values, io, (client) => client.send(command));
  for (const answer of answers) io.stdout(answer.endsWith('\n') ? answer : `${answer}\n`);
  return 0;
}

/** One typed line → its answers, tables aligned; a refusal or failure is one `! CODE: message` line. */
export async function sessionAnswer(client: RuntimeClient, line: string): Promise<string> {
  try {
    const command = raw(line);
    // `stats timeout` may have closed an idle session: reconnect rather than fail the line.
    if (!client.connected) await client.connect();
    const answers = await client.send(command);
    return answers.map((answer) => alignTable(answer.replace(/\n+$/, '') + '\n')).join('');
  } catch (error) {
    if (error instanceof RuntimeError) return `! ${error.code}: ${error.message}\n`;
    throw error;
  }
}

/** Reads lines until `quit`, `exit`, Ctrl-D or Ctrl-C; a prompt and line editing only on a terminal. */
async function session(values: OptionValues, io: CliIo): Promise<number> {
  const input = io.stdin ?? process.stdin;
  const terminal = input.isTTY === true;
  const client = runtimeClient(values, io);
  const info = await client.connect();
  const lines = readline.createInterface({ input, output: terminal ? process.stdout : undefined, terminal, historySize: 1000 });
  lines.setPrompt(`${client.address.url}> `);
  lines.on('SIGINT', () => lines.close());
  try {
    if (terminal) io.stdout(`HAProxy ${info.version} at ${client.address.url}. 'quit' or Ctrl-D leaves.\n`);
    if (terminal) lines.prompt();
    for await (const line of lines) {
      const text = line.trim();
      if (text === 'quit' || text === 'exit') break;
      if (text !== '') io.stdout(await sessionAnswer(client, text));
      if (terminal) lines.prompt();
    }
  } finally {
    lines.close();
    await client.close();
  }
  return 0;
}
