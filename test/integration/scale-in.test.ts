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
  it('8 servers, two stopped together three times under sticky load: 0 failed requests, HAProxy alive with the same Pid', async () => {
    const result = await runScaleIn(scaleInDefaults);
    expect(result.crashed).toBe(false);
    expect(result.requests).toBeGreaterThan(1_000);
    expect(result.failures).toEqual([]);
    expect(result.removalMs).toHaveLength(scaleInDefaults.rounds);
  }, 180_000);
});
