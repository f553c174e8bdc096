/**
 * The benchmark's load, in a process of its own so that the figures are not the benchmark's own
 * event loop: `tsx bench/load-worker.ts URL`. Runs until the parent sends 'stop', then sends back
 * every outcome as [at, latencyMs, ok, server].
 */
import { startLoad } from '../src/lab/demo/load.js';

const url = process.argv[2];
if (!url || !process.send) throw new Error('usage: forked with IPC, argument URL');
const load = startLoad(url, { keepAlive: 4, newConnection: 2, pauseMs: 2 });
process.send({ ready: true });
process.on('message', (message) => {
  if (message !== 'stop') return;
  void load.stop().then(() =>
    process.send!(
      {
        outcomes: load.outcomes.map((o) => [
          o.at,
          Math.round(o.latencyMs * 100) / 100,
          o.ok ? 1 : 0,
          o.by,
          o.error ?? (o.ok ? '' : `HTTP ${o.status}`),
        ]),
      },
      () => process.exit(0),
    ),
  );
});
