/** How long to wait before reconnect attempt N (0-based), in milliseconds. */
export type Backoff = (attempt: number) => number;

/** Capped exponential backoff: 100 ms, 200 ms, 400 ms … up to `maxMs`. Pure, so tests never sleep. */
export function cappedBackoff(baseMs = 100, maxMs = 5_000): Backoff {
  return (attempt) => Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
}
