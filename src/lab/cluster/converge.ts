/**
 * Waits until an HAProxy backend holds exactly the expected servers, all UP (the cluster, the demo
 * and the benchmark's reload-based ways use it).
 */
import { DEFAULT_BACKEND } from '../../model/values.js';
import { RuntimeClient } from '../../runtime/client.js';

/** The local cluster or the compose stack did not start, converge or stop as asked. */
export class ClusterError extends Error {
  readonly code = 'CLUSTER_FAILED';
}

export async function waitUntilServing(
  runtimeUrl: string,
  expected: () => string[] | Promise<string[]>,
  { backend = DEFAULT_BACKEND, timeoutMs = 60_000, intervalMs = 100 } = {},
): Promise<void> {
  const client = new RuntimeClient({ url: runtimeUrl, connectTimeoutMs: 1000 });
  const deadline = Date.now() + timeoutMs;
  let last = 'HAProxy not reachable';
  try {
    while (Date.now() < deadline) {
      try {
        if (!client.connected) await client.connect();
        const [info, stat, want] = await Promise.all([client.info(), client.stat(backend), expected()]);
        // A reloaded HAProxy (`-sf`, master-worker) keeps this connection on its old process, which
        // still answers with the old servers until it exits: only a new connection reaches the new one.
        const up = stat
          .filter((s) => s.status.startsWith('UP'))
          .map((s) => s.name)
          .sort()
          .join();
        if (info.stopping) {
          last = `process ${info.pid} is stopping (reloaded)`;
          await client.close();
        } else if (up === [...want].sort().join() && stat.length === want.length) return;
        else last = `UP [${up}], want [${[...want].sort().join()}]`;
      } catch (error) {
        last = (error as Error).message;
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  } finally {
    await client.close();
  }
  throw new ClusterError(`HAProxy did not converge in ${timeoutMs} ms (${last})`);
}
