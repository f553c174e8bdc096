/**
 * The passes' config writes, in pass order. The file only serves a restarted HAProxy: the next pass never waits for
 * its write (`haproxy -c` and two fsyncs, 0.1–0.3 s on a busy machine), so a change seen meanwhile (a second leave) is
 * acted on at once. Nor do a pass's first answers wait for it: its render and the spawn of `haproxy -c` hold the event
 * loop (3–20 ms on a busy 2-core machine), which left a `state drain` answer unread meanwhile. So a pass's write
 * starts once its actions' first commands are answered, after the previous pass's (the writer renders the latest
 * servers asked).
 */
import type { Logger } from '../log.js';
import type { ConfigServer } from '../render/template.js';

export class ConfigWrites {
  /** Resolves once the last pass has asked for its write. */
  private asked: Promise<void> = Promise.resolve();
  private all: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly persist: ((servers: ConfigServer[]) => Promise<unknown>) | undefined,
    private readonly log: Logger,
  ) {}

  /**
   * Asks for a pass's write of `persisted` once each of `servers` (its actions') has had its first commands answered;
   * returns what an action calls then (or when it ends before that: it must not hold the write back).
   */
  after(servers: Iterable<string>, persisted: ConfigServer[]): (server: string) => void {
    const unanswered = new Set(servers);
    let allAnswered = () => {};
    const answered = unanswered.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => (allAnswered = resolve));
    // The writer logs its own failures and does not reject; anything else must not go unhandled.
    let write: Promise<unknown> | undefined;
    this.asked = Promise.all([this.asked, answered]).then(() => {
      write = this.persist?.(persisted).catch((error: unknown) => this.log.error('config.write-failed', { error }));
    });
    this.all = Promise.all([this.all, this.asked.then(() => write)]);
    return (server) => {
      if (unanswered.delete(server) && unanswered.size === 0) allAnswered();
    };
  }

  /** Resolves once every write asked so far is done; a pass that starts meanwhile may ask for another. */
  get settled(): Promise<unknown> {
    return this.all;
  }
}
