/** Runs the built `ha-agent` binary as a user would. */
import { execFile } from 'node:child_process';
import path from 'node:path';

export const binPath = path.resolve(import.meta.dirname, '../../bin/ha-agent.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function haAgent(args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [binPath, ...args],
      { env: { ...process.env, HA_AGENT_RUNTIME: '', HA_AGENT_TRACE: '', ...env }, timeout: timeoutMs },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}
