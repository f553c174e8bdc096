/**
 * `npm run bench:swarm`: docker-stack.yml on a single-node Docker Swarm (made for the bench when the engine is
 * in none, left afterwards), BENCH_RUNS times (default 5), each from a fresh `docker stack deploy`, under
 * continuous HTTP load (4 keep-alive + 2 new-connection clients): `docker service scale` of webapp 3 → 6 →
 * 1 → 4, a rolling `docker service update --force` of webapp, a planned `ha-agent reload` in the ha task,
 * then the ha task itself replaced (`docker service update --force`, the way to change the balancer's image
 * or settings in a swarm). Per phase: the failed requests and the time from the command to HAProxy holding
 * exactly the running tasks, all UP. The reload is the baseline the ha update is compared with: both give
 * a new HAProxy with the same servers. Prints medians (min–max) over the runs; records every run
 * (bench/results/swarm/). Product defaults of docker-stack.yml; the web app's grace period 3 s.
 */
import path from 'node:path';
import { startLoad } from '../src/lab/demo/load.js';
import { SwarmDriver } from '../src/lab/demo/swarm-driver.js';
import { prepareEngine, publishedPorts } from '../test/helpers/docker.js';
import { machineLine, medianRange } from './figures.js';
import { addSamples, saveRecord, startRecord } from './record.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const root = path.resolve(import.meta.dirname, '..');
const env = async (): Promise<NodeJS.ProcessEnv> => ({
  ...process.env,
  HA_AGENT_TAG: process.env.HA_AGENT_TAG ?? 'latest',
  WEBAPP_GRACE_MS: '3000',
  ...(await publishedPorts()),
});

console.log(machineLine());
const record = startRecord('swarm', {
  runs: RUNS,
  stack: 'docker-stack.yml',
  webappGraceMs: 3000,
  load: '4 keep-alive + 2 new-connection clients',
});
const first = new SwarmDriver({ root, stack: `habench${process.pid}`, env: await env() });
const startedEngine = await prepareEngine(root, (command, args) => first.sh(command, args));
await first.build();
const phases = ['scale 3 → 6', 'scale 6 → 1', 'scale 1 → 4', 'rolling update', 'ha-agent reload', 'ha task replaced'] as const;
const requests: Record<string, number[]> = {};
const seconds = (from: number, to: number) => (to - from) / 1000;
try {
  for (let run = 1; run <= RUNS; run += 1) {
    const driver = run === 1 ? first : new SwarmDriver({ root, stack: `habench${process.pid}r${run}`, env: await env() });
    const deployed = Date.now();
    try {
      await driver.deploy(3, 1);
      addSamples(record, 'deploy → serving (s)', [seconds(deployed, Date.now())]);
      const load = startLoad(driver.frontendUrl);
      const measure = async (name: (typeof phases)[number], action: () => Promise<{ changedAt: number; convergedAt: number }>) => {
        const from = Date.now();
        const { changedAt, convergedAt } = await action();
        const window = load.window(from);
        addSamples(record, `${name}: converged (s)`, [seconds(changedAt, convergedAt)]);
        addSamples(record, `${name}: failed requests`, [window.failed]);
        (requests[name] ??= []).push(window.requests);
        console.log(
          `run ${run} ${name.padEnd(18)} ${seconds(changedAt, convergedAt).toFixed(1)} s, ${window.requests} requests, ${window.failed} failed`,
        );
      };
      try {
        await measure('scale 3 → 6', () => driver.scale(6));
        await measure('scale 6 → 1', () => driver.scale(1));
        await measure('scale 1 → 4', () => driver.scale(4));
        await measure('rolling update', () => driver.rollingUpdate());
        const timed = async (action: () => Promise<unknown>) => {
          const changedAt = Date.now();
          await action();
          await driver.waitConverged(120_000);
          return { changedAt, convergedAt: Date.now() };
        };
        await measure('ha-agent reload', () => timed(() => driver.reloadHaproxy()));
        await measure('ha task replaced', () =>
          timed(() => driver.docker('service', 'update', '--detach=false', '--force', driver.service('ha'))),
        );
      } finally {
        await load.stop();
      }
    } finally {
      await driver.down();
    }
  }
} finally {
  if (startedEngine) await first.sh('bash', ['scripts/docker-engine.sh', 'stop']);
}
record.facts.requestsPerPhase = requests;
const file = saveRecord(record);
console.log(`\n${RUNS} runs; median (min–max)`);
console.log(`deploy → serving           ${medianRange(record.samples['deploy → serving (s)'] ?? [], 1)} s`);
for (const name of phases) {
  const converged = medianRange(record.samples[`${name}: converged (s)`] ?? [], 1);
  const failed = medianRange(record.samples[`${name}: failed requests`] ?? []);
  console.log(`${name.padEnd(26)} converged ${converged} s, failed requests ${failed}, of ${medianRange(requests[name] ?? [])}`);
}
console.log(`recorded: ${path.relative(root, file)}`);
