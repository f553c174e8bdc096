/**
 * Apps that exit at once, two stopped together under sticky load (test/helpers/scale-in.ts): no request
 * fails and HAProxy never crashes. On the host's HAProxy 2.6.12, `del server` of a server that streams
 * still point to crashed it (haproxy/haproxy#2298); the agent waits until none does. With
 * HAPROXY_BIN=$(bash scripts/haproxy-from-image.sh) it runs the image's HAProxy (3.0) as a host process.
 * `npm run proof:scale-in` runs it 20 times per version and records the runs.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { stopAll } from '../helpers/processes.js';
import { runScaleIn, scaleInDefaults } from '../helpers/scale-in.js';

afterAll(stopAll);

describe('scale-in with apps that exit at once', () => {
  it('8 servers, two stopped together three times under sticky load: HAProxy alive with the same Pid, at most 1 request in 1,000 failed', async () => {
    const result = await runScaleIn(scaleInDefaults);
    console.log(`scale-in: ${result.requests} requests, failures ${JSON.stringify(result.failures)}`);
    expect(result.crashed).toBe(false);
    expect(result.requests).toBeGreaterThan(1_000);
    // The target is 0 failed (issue #22, still open): 0–2 requests a run still fail when every retry
    // meets one of the two servers just stopped, or a keep-alive connection is closed under a sticky
    // client (docs/leaving.md). `npm run proof:scale-in` records how often; this bound fails on a regression.
    expect(result.failures.length).toBeLessThanOrEqual(Math.ceil(result.requests / 1_000));
    expect(result.removalMs).toHaveLength(scaleInDefaults.rounds);
  }, 180_000);
});
