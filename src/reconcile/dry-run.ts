/** What `--dry-run` logs: every pass plans the same steps again (nothing is sent), so they are logged only when they change. */
import type { Logger } from '../log.js';

export class DryRunSteps {
  /** The steps last logged, joined, by what they are for (a backend, a routing map). */
  private readonly logged = new Map<string, string>();

  constructor(private readonly log: Logger) {}

  /** Logs each step (`dry-run.step`) unless they are the ones last logged for `what`. */
  report(what: string, steps: readonly string[]): void {
    const text = steps.join('\n');
    if (text === this.logged.get(what)) return;
    this.logged.set(what, text);
    for (const step of steps) this.log.info('dry-run.step', { step });
  }
}
