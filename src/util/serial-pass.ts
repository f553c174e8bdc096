/**
 * Runs a pass one at a time: a trigger while one runs asks for exactly one more after it, so a burst of
 * triggers costs at most two passes and the last one always sees the latest input. Closed: no new pass.
 */
export class SerialPass {
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;

  constructor(private readonly pass: (reason: string) => Promise<void>) {}

  trigger(reason: string): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pass(reason).finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.trigger('changed during the last pass');
      }
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
