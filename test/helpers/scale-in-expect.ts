/** The assertions of a scale-in run (test/helpers/scale-in.ts), apart so that bench/scale-in.ts loads no test runner. */
import { expect } from 'vitest';
import { scaleInDefaults, type ScaleInOptions, type ScaleInResult } from './scale-in.js';

/** What a scale-in run must show: no crash, no failed request, enough requests to mean it, every round removed. */
export function expectNoLoss(result: ScaleInResult, options: ScaleInOptions = scaleInDefaults): void {
  console.log(`scale-in on HAProxy ${result.haproxyVersion}: ${result.requests} requests, failures ${JSON.stringify(result.failures)}`);
  expect(result.crashed).toBe(false);
  expect(result.requests).toBeGreaterThan(1_000);
  expect(result.failures, result.haproxyLog.join('\n')).toEqual([]);
  expect(result.removalMs).toHaveLength(options.rounds);
}
