/** SerialPass (util/serial-pass.ts): one pass at a time, a burst of triggers coalesced into one more pass with the latest reason. */
import { describe, expect, it } from 'vitest';
import { SerialPass } from '../../../src/util/serial-pass.js';

describe('SerialPass', () => {
  it('runs at once when idle, then once more after the running pass, with the latest reason', async () => {
    const reasons: string[] = [];
    const ends: Array<() => void> = [];
    const passes = new SerialPass(
      (reason) => {
        reasons.push(reason);
        return new Promise<void>((resolve) => ends.push(resolve));
      },
      (latest) => `again: ${latest}`,
    );
    passes.trigger('first');
    expect(reasons).toEqual(['first']);
    passes.trigger('second');
    passes.trigger('third');
    expect(reasons).toEqual(['first']);
    const idle = passes.current;
    ends.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
    expect(reasons).toEqual(['first', 'again: third']);
    ends.shift()?.();
    await idle;
    expect(passes.current).toBeUndefined();
    passes.close();
    passes.trigger('closed');
    expect(reasons).toEqual(['first', 'again: third']);
  });
});
