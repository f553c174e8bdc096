/**
 * Runs a pass one at a time: a trigger while one runs asks for exactly one more after it, so a burst of
 * triggers costs at most two passes and the last one always sees the latest input. Closed: no new pass.
 * The pass after is given `rerunReason(latest trigger's reason)`.
 */
export class SerialPass {
  private running: Promise<void> | undefined;
  private again: string | undefined;
  private closed = false;

  constructor(
    private readonly pass: (reason: string) => Promise<void>,
    private readonly rerunReason: (latest: string) => string = () => 'changed during the last pass',
  ) {}

  trigger(reason: string): void {
    if (this.closed) return;
    if (this.running) {
      this.again = reason;
      return;
    }
    this.running = this.pass(reason).finally(() => {
      this.running = undefined;
      const again = this.again;
      this.again = undefined;
      if (again !== undefined) this.trigger(this.rerunReason(again));
    });
  }

  /** The pass running now, if any. */
  get current(): Promise<void> | undefined {
    return this.running;
  }

  close(): void {
    this.closed = true;
  }
}
