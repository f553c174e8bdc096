/**
 * `npm run bench:runtime`: add then delete 1,000 servers on a real HAProxy three ways, BENCH_ROUNDS
 * (default 5) rounds, and print each time as median (min–max) and the ratios of the medians against
 * the baseline (a new connection per command) measured in the same run. Then how soon a new server's
 * first health check passes after `enable health`, for the default `downinter` and others
 * (BENCH_CHECKS samples each), and what that `downinter` costs: HAProxy's CPU while BENCH_DOWN (default
 * 1,000) servers are down and checked every `downinter`. Prints figures; asserts nothing.
 */
import net from 'node:net';
import { defaultServerPolicy } from '../src/model/server.js';
import { RuntimeClient } from '../src/runtime/client.js';
import * as cmd from '../src/runtime/commands.js';
import type { Command } from '../src/runtime/commands.js';
import { checkAnswer } from '../src/runtime/answers.js';
import { CHECK_RESULT } from '../src/runtime/parse.js';
import { startHaproxy } from '../test/helpers/haproxy.js';
import { startHttpBackend } from '../test/helpers/http-backend.js';
import { stopAll } from '../test/helpers/processes.js';
import { waitFor } from '../test/helpers/wait.js';
import { cpuPercent, machineLine, medianRange, spread } from './figures.js';
import { addSamples, saveRecord, startRecord } from './record.js';

const COUNT = Number(process.env.BENCH_SERVERS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CHECKS = Number(process.env.BENCH_CHECKS ?? 10);
const DOWN = Number(process.env.BENCH_DOWN ?? 1000);
/** The product's default first, then others; 1000 = `inter` (HAProxy uses `inter` when `downinter` is not set). */
const DOWNINTERS = [...new Set([defaultServerPolicy.check.downinter, 25, 50, 100, 200, defaultServerPolicy.check.inter])];
const downinterLabel = (downinter: number) =>
  downinter === defaultServerPolicy.check.inter
    ? `downinter ${downinter} (= inter)`
    : `downinter ${downinter}${downinter === defaultServerPolicy.check.downinter ? ' (default)' : ''}`;

const record = startRecord('runtime', {
  servers: COUNT,
  rounds: ROUNDS,
  checks: CHECKS,
  down: DOWN,
  downinters: DOWNINTERS,
  policy: defaultServerPolicy,
});
console.log(machineLine());
const haproxy = await startHaproxy();
const [host, port] = [haproxy.model.runtime.tcp!.split(':')[0]!, Number(haproxy.model.runtime.tcp!.split(':')[1])];
const names = Array.from({ length: COUNT }, (_, i) => `bench-${i}`);
const spec = { address: '127.0.0.9', port: 9, weight: 10, policy: defaultServerPolicy };
const adds = names.map((name) => cmd.addServer(haproxy.backend, name, spec));
const dels = names.map((name) => cmd.delServer(haproxy.backend, name));

/** The non-interactive way: one connection per command, read until HAProxy closes it. */
function oneShot(command: Command): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('error', reject);
    socket.on('close', () => {
      try {
        checkAnswer(command, answer);
        resolve();
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
    socket.write(`${command.text}\n`);
  });
}

type Way = { name: string; run: (list: Command[]) => Promise<void> };
const client = new RuntimeClient({ url: haproxy.tcpUrl });
await client.connect();
const ways: Way[] = [
  {
    name: 'new connection per command',
    run: async (list) => {
      for (const command of list) await oneShot(command);
    },
  },
  {
    name: 'client, one command at a time',
    run: async (list) => {
      for (const command of list) await client.run(command);
    },
  },
  {
    name: 'client, pipelined',
    run: async (list) => {
      const results = await client.runMany(list);
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
  },
];

const times = new Map<string, { add: number[]; del: number[] }>(ways.map((w) => [w.name, { add: [], del: [] }]));
for (let round = 0; round < ROUNDS; round += 1) {
  for (const way of ways) {
    let started = performance.now();
    await way.run(adds);
    const add = performance.now() - started;
    started = performance.now();
    await way.run(dels);
    times.get(way.name)!.add.push(add);
    times.get(way.name)!.del.push(performance.now() - started);
  }
}

/**
 * The agent's join up to the wait: `add server` (in maintenance), `enable health`; then `show servers
 * state` every 2 ms until the first check has passed. The clock starts before `enable health` is sent.
 */
const web = await startHttpBackend('check', '127.0.0.1');
const firstCheck = new Map<number, number[]>(DOWNINTERS.map((d) => [d, []]));
for (let i = 0; i < CHECKS; i += 1) {
  for (const downinter of DOWNINTERS) {
    const name = `check-${downinter}-${i}`;
    const policy = { ...defaultServerPolicy, check: { ...defaultServerPolicy.check, downinter } };
    await client.run(cmd.addServer(haproxy.backend, name, { address: web.address, port: web.port, weight: 10, policy }));
    const started = performance.now();
    await client.run(cmd.enableHealth(haproxy.backend, name));
    const passed = async () =>
      (await client.serversState(haproxy.backend)).find((s) => s.name === name)?.checkResult === CHECK_RESULT.PASSED;
    await waitFor(`${name}'s first check to pass`, passed, { timeoutMs: 10_000, intervalMs: 2 });
    firstCheck.get(downinter)!.push(performance.now() - started);
    await client.run(cmd.shutdownSessions(haproxy.backend, name));
    await client.run(cmd.delServer(haproxy.backend, name));
  }
}
await web.close();

/**
 * The price of a short `downinter`: a server that is down (its app crashed, its member still alive) is
 * checked every `downinter`. DOWN servers on an address where nothing listens (each check refused at once),
 * health enabled, every one's first check failed; then HAProxy's CPU over 5 s.
 */
const downCpu = new Map<number, number>();
for (const downinter of DOWNINTERS) {
  const policy = { ...defaultServerPolicy, check: { ...defaultServerPolicy.check, downinter } };
  const down = Array.from({ length: DOWN }, (_, i) => `down-${downinter}-${i}`);
  const run = async (list: Command[]) => {
    const failed = (await client.runMany(list)).find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  };
  try {
    await run(down.map((name) => cmd.addServer(haproxy.backend, name, { ...spec, policy })));
    await run(down.map((name) => cmd.enableHealth(haproxy.backend, name)));
    const allFailed = async () =>
      (await client.serversState(haproxy.backend)).filter((s) => s.checkResult === CHECK_RESULT.FAILED).length === DOWN;
    await waitFor(`the first checks of ${DOWN} down servers to fail`, allFailed, { timeoutMs: 30_000, intervalMs: 50 });
    downCpu.set(downinter, (await cpuPercent([haproxy.process.pid], 5000))[0] ?? Number.NaN);
    await run(down.map((name) => cmd.delServer(haproxy.backend, name)));
  } catch (error) {
    // HAProxy's servers are then unknown: this and the later windows are missing (counted), the figures above kept.
    console.log(`FAILED with downinter ${downinter}: ${(error as Error).message.split('\n')[0]}`);
    for (const left of DOWNINTERS.slice(DOWNINTERS.indexOf(downinter))) downCpu.set(left, Number.NaN);
    break;
  }
}
await client.close().catch(() => undefined);
await stopAll();

for (const [name, t] of times) {
  addSamples(record, `${name} add ms`, t.add);
  addSamples(record, `${name} del ms`, t.del);
}
for (const [downinter, ms] of firstCheck) addSamples(record, `downinter ${downinter} first check ms`, ms);
for (const [downinter, cpu] of downCpu) addSamples(record, `downinter ${downinter} HAProxy CPU %`, [cpu]);
const total = (name: string) => {
  const t = times.get(name)!;
  return t.add.map((add, i) => add + (t.del[i] ?? Number.NaN));
};
const baseTotal = spread(total(ways[0]!.name)).median;
console.log(`Runtime API: add then delete ${COUNT} servers, ${ROUNDS} rounds, median (min–max) ms, HAProxy over ${haproxy.tcpUrl}`);
console.log(['way'.padEnd(32), 'add ms'.padStart(22), 'del ms'.padStart(22), 'total ms'.padStart(22), 'speed-up'.padStart(9)].join(' '));
for (const way of ways) {
  const t = times.get(way.name)!;
  const speedUp = baseTotal / spread(total(way.name)).median;
  console.log(
    [
      way.name.padEnd(32),
      medianRange(t.add, 1).padStart(22),
      medianRange(t.del, 1).padStart(22),
      medianRange(total(way.name), 1).padStart(22),
      `${speedUp.toFixed(1)}x`.padStart(9),
    ].join(' '),
  );
}
const pipelined = baseTotal / spread(total('client, pipelined')).median;
console.log(
  `pipelined vs a connection per command (medians): ${pipelined.toFixed(1)}x (target >= 5x: ${pipelined >= 5 ? 'met' : 'NOT met'})`,
);
console.log(
  `\n\`enable health\` → first check passed, median (min–max) ms of ${CHECKS}, checks \`inter ${defaultServerPolicy.check.inter}\`, /health answering 200:`,
);
for (const [downinter, times] of firstCheck) console.log(`  ${downinterLabel(downinter).padEnd(30)} ${medianRange(times, 1)}`);
console.log(`HAProxy's CPU with ${DOWN} servers down (nothing listening: each check refused), over 5 s, % of a core:`);
for (const [downinter, cpu] of downCpu) {
  const checks = Math.round((DOWN * 1000) / downinter);
  console.log(`  ${downinterLabel(downinter).padEnd(30)} ${cpu.toFixed(1)} % (${checks} checks/s)`);
}
console.log(`recorded: ${saveRecord(record)}`);
console.log(machineLine());
