/** What reconciling needs of HAProxy's Runtime API: RuntimeClient in production, a fake in unit tests. */
import type { Command } from '../runtime/commands.js';
import type { ServerStateRow, StatRow } from '../runtime/parse.js';

export interface RuntimeApi {
  readonly connected: boolean;
  /** The connected HAProxy's version: decides which commands it knows. */
  readonly version: string | undefined;
  /** Sends one command; throws RuntimeError (with its code) when HAProxy refuses it. */
  run(command: Command): Promise<string>;
  /** `only`: the rows of these servers alone (HAProxy still sends every row; the others are not parsed). */
  serversState(backend: string, only?: ReadonlySet<string>): Promise<ServerStateRow[]>;
  stat(backend: string, only?: ReadonlySet<string>): Promise<StatRow[]>;
}
