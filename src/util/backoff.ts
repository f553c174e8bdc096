/** Capped exponential backoff: 100 ms, 200 ms, 400 ms … up to `maxMs`. Pure, so tests never sleep. */
export type Backoff = (attempt: number) => number;

export function cappedBackoff(baseMs = 100, maxMs = 5_000): Backoff {
  return (attempt) => Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
}
