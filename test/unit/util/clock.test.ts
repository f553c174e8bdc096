/** The single wake-up (Alarm) over vitest's fake timers. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Alarm, systemClock } from '../../../src/util/clock.js';

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('Alarm', () => {
  it('rings once, at the time last set; undefined keeps it quiet', () => {
    let rang = 0;
    const alarm = new Alarm(systemClock, () => (rang += 1));
    alarm.set(100);
    alarm.set(300);
    vi.advanceTimersByTime(299);
    expect(rang).toBe(0);
    vi.advanceTimersByTime(1);
    expect(rang).toBe(1);
    vi.advanceTimersByTime(1_000);
    expect(rang).toBe(1);
    alarm.set(50);
    alarm.set(undefined);
    vi.advanceTimersByTime(1_000);
    expect(rang).toBe(1);
  });
});
