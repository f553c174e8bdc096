/**
 * The `ha-agent` command (bin/ha-agent.js): the agent's subcommands and, where present, the lab's. The only
 * place where the two meet: the agent's modules import nothing from src/lab (test/unit/layering.test.ts).
 * The lab is in the repository only — not in the npm package nor the ha image (it needs the repository's
 * scripts/ and webapp/) — so it is loaded when asked for and left out when absent.
 */
import { existsSync } from 'node:fs';
import { agentCli, main as runCli, type Cli } from './cli/main.js';
import type { CliIo } from './cli/io.js';

export async function haAgentCli(): Promise<Cli> {
  const present = ['js', 'ts'].some((ext) => existsSync(new URL(`./lab/cli/commands.${ext}`, import.meta.url)));
  if (!present) return agentCli;
  const { labCli } = await import('./lab/cli/commands.js');
  return {
    subcommands: [...agentCli.subcommands, ...labCli.subcommands],
    codedErrors: [...agentCli.codedErrors, ...labCli.codedErrors],
  };
}

export async function main(argv: readonly string[], io?: CliIo): Promise<number> {
  const agentCommand = agentCli.subcommands.some(({ spec }) => spec.name === argv[0]);
  return runCli(agentCommand ? agentCli : await haAgentCli(), argv, io);
}
