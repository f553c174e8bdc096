/** A real `ha-agent run` process, with its JSON log lines parsed. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { binPath } from './cli.js';
import type { TestHaproxy } from './haproxy.js';
import { start, type Started } from './processes.js';
import { waitFor } from './wait.js';

export interface LogLine {
  event: string;
  level: string;
  [key: string]: unknown;
}

export interface TestAgent {
  process: Started;
  logs: () => LogLine[];
  waitForLog: (what: string, match: (line: LogLine) => boolean, timeoutMs?: number) => Promise<LogLine>;
  /**
   * Waits until `count` more passes with this reason have started planning from now (`pass` is a
   * debug line, logged after the pass has read the members and logged its rejections): the positive
   * signal that the agent has seen the input, where a test must show that nothing else happens.
   */
  waitForPasses: (count: number, reason?: string, timeoutMs?: number) => Promise<void>;
}

/**
 * The agent as the image runs it (ha/services/ha-agent/run): where HAProxy, Serf and the rendered
 * file are, and every other setting at its default.
 */
export function imageArgs(haproxy: TestHaproxy, serfRpc: string, extra: readonly string[] = []): string[] {
  return ['run', ...haproxyArgs(haproxy), '--serf', serfRpc, ...extra];
}

/** The settings that describe `haproxy` to any subcommand that renders or reaches it (run, reload). */
export function haproxyArgs(haproxy: TestHaproxy): string[] {
  return [
    '--runtime',
    haproxy.tcpUrl,
    '--runtime-socket',
    haproxy.model.runtime.unixSocket!,
    '--backend',
    haproxy.backend,
    '--frontend-bind',
    haproxy.model.frontend.bind,
    '--config-out',
    haproxy.configPath,
  ];
}

/** The Node.js options ha/services/ha-agent/run gives the agent, read from the script itself. */
export function imageNodeOptions(): string {
  const script = readFileSync(path.resolve(import.meta.dirname, '../../ha/services/ha-agent/run'), 'utf8');
  const options = /NODE_OPTIONS="([^"$]*)\$\{NODE_OPTIONS/.exec(script)?.[1]?.trim();
  if (!options) throw new Error('ha/services/ha-agent/run no longer sets NODE_OPTIONS="… ${NODE_OPTIONS:-}"');
  return options;
}

/** The run script's Node.js options, then BENCH_AGENT_NODE_OPTIONS (flags a benchmark tries beside them: later ones win). */
export function benchNodeOptions(): string {
  return `${imageNodeOptions()} ${process.env.BENCH_AGENT_NODE_OPTIONS ?? ''}`.trim();
}

/** Runs the agent against `haproxy`, rendering into the very file HAProxy boots from; a short resync, debug logs. */
export function agentArgs(haproxy: TestHaproxy, serfRpc: string, extra: readonly string[] = []): string[] {
  return imageArgs(haproxy, serfRpc, ['--resync', '2s', '--log-level', 'debug', ...extra]);
}

export function startAgent(args: readonly string[], env: NodeJS.ProcessEnv = {}): TestAgent {
  const process = start(globalThis.process.execPath, [binPath, ...args], { env: { ...globalThis.process.env, ...env } });
  // Complete lines only: a turn's log lines leave in one write, which a reader can get in several chunks.
  const logs = () =>
    process
      .output()
      .split('\n')
      .slice(0, -1)
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as LogLine);
  const passes = (reason: string) => logs().filter((l) => l.event === 'pass' && l.reason === reason).length;
  return {
    process,
    logs,
    waitForLog: (what, match, timeoutMs = 20_000) => waitFor(what, () => logs().find(match), { timeoutMs }),
    waitForPasses: async (count, reason = 'resync', timeoutMs = 20_000) => {
      const before = passes(reason);
      await waitFor(`${count} more '${reason}' passes`, () => passes(reason) >= before + count, { timeoutMs });
    },
  };
}
