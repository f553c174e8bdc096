import { expect } from 'vitest';

/** No request failed, and there were requests: a zero-failure check that passes on no traffic proves nothing. */
export function expectNoneFailed(window: { requests: number; failed: number; errors?: readonly string[] }, what = 'load'): void {
  expect(window.requests, `${what}: requests sent`).toBeGreaterThan(0);
  expect(window.failed, `${what}: ${window.errors?.join('; ') ?? ''}`).toBe(0);
}
