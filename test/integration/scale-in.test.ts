/**
 * Apps that exit at once, two stopped together under sticky load (test/helpers/scale-in.ts): no request
 * fails and HAProxy never crashes. On the host's HAProxy 2.6.12, `del server` of a server that streams
 * still point to crashed it (haproxy/haproxy#2298); the agent waits until none does. The image's HAProxy
 * (3.0) runs the same scenario in test/e2e/compose.test.ts, where the image is built.
 * `npm run proof:scale-in` runs it 20 times per version and records the runs.
 */
import { afterAll, describe, it } from 'vitest';
import { stopAll } from '../helpers/processes.js';
import { runScaleIn, scaleInDefaults } from '../helpers/scale-in.js';
import { expectNoLoss } from '../helpers/scale-in-expect.js';

afterAll(stopAll);

describe('scale-in with apps that exit at once', () => {
  it("8 servers, two stopped together three times under sticky load, on the host's HAProxy: no request failed, HAProxy alive with the same Pid", async () => {
    expectNoLoss(await runScaleIn(scaleInDefaults));
  }, 180_000);
});
