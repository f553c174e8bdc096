/** Opens a Runtime API client for a CLI command, with `--trace` wired to stderr. */
import { RuntimeClient, type TraceEvent } from '../runtime/client.js';
import type { CliIo } from './io.js';
import type { OptionValues } from './options.js';

export function formatTraceLine(event: TraceEvent): string {
  const head = `> ${event.command}  (${event.latencyMs.toFixed(1)} ms)`;
  if (event.error) return `${head}\n! ${event.error.code}: ${event.error.message}\n`;
  const body = event.answers
    .join('\n')
    .replace(/\n+$/, '')
    .split('\n')
    .map((line) => `< ${line}`)
    .join('\n');
  return `${head}\n${body}\n`;
}

/** A client for `--runtime`, not yet connected; `--trace` prints every command it sends. */
export function runtimeClient(values: OptionValues, io: CliIo): RuntimeClient {
  const client = new RuntimeClient({ url: String(values.runtime) });
  if (values.trace === true) client.on('trace', (event) => io.stderr(formatTraceLine(event)));
  return client;
}

/** One-shot: connect, do `work`, close. */
export async function withRuntime<T>(values: OptionValues, io: CliIo, work: (client: RuntimeClient) => Promise<T>): Promise<T> {
  const client = runtimeClient(values, io);
  try {
    await client.connect();
    return await work(client);
  } finally {
    await client.close();
  }
}
