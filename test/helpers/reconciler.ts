/** A reconciler's settings for unit tests over a fake HAProxy: backend `nodes`, the default policy, members tagged role=backend. */
import type { Logger } from '../../src/log.js';
import { defaultServerPolicy } from '../../src/model/server.js';
import type { ReconcilerOptions } from '../../src/reconcile/reconciler.js';
import type { RuntimeApi } from '../../src/reconcile/runtime-api.js';

export const reconcilerOptions = (client: RuntimeApi, log: Logger): ReconcilerOptions => ({
  client,
  backend: 'nodes',
  policy: defaultServerPolicy,
  desired: { role: 'backend', defaultPort: 3000, defaultWeight: 100 },
  log,
  checkTimeoutMs: 10_000,
  drainTimeoutMs: 30_000,
});
