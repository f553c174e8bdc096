/**
 * Runs a pass one at a time: a trigger while one runs asks for exactly one more after it, so a burst of
 * triggers costs at most two passes and the last one always sees the latest input. Closed: no new pass.
 * The pass after is given `rerunReason(latest trigger's reason)`.
 *
 * The order is a p-queue of concurrency 1; the coalescing is this wrapper's, since p-queue queues every task it
 * is given and has no "one more after this one, with the latest argument".
 */
import PQueue from 'p-queue';

export class SerialPass {
  private readonly queue = new PQueue({ concurrency: 1 });
  /** The reason for the pass queued behind the running one, if one is queued. */
  private next: string | undefined;
  private closed = false;

  constructor(
    private readonly pass: (reason: string) => Promise<void>,
    private readonly rerunReason: (latest: string) => string = () => 'changed during the last pass',
  ) {}

  trigger(reason: string): void {
    if (this.closed) return;
    const queued = this.next !== undefined;
    this.next = this.queue.pending > 0 ? this.rerunReason(reason) : reason;
    if (queued) return;
    void this.queue.add(() => {
      const next = this.next as string;
      this.next = undefined;
      return this.pass(next);
    });
  }

  /** Resolves once no pass runs or waits; undefined when none does. */
  get current(): Promise<void> | undefined {
    return this.queue.pending + this.queue.size > 0 ? this.queue.onIdle() : undefined;
  }

  close(): void {
    this.closed = true;
  }
}
