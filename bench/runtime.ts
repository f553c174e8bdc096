/**
 * `npm run bench:runtime`: add then delete 1,000 servers on a real HAProxy three ways, and print
 * each time and the ratios against the baseline (a new connection per command) measured in the
 * same run. Prints figures; asserts nothing.
 */
import net from 'node:net';
import { defaultServerPolicy } from '../src/model/server.js';
import { RuntimeClient } from '../src/runtime/client.js';
import * as cmd from '../src/runtime/commands.js';
import type { Command } from '../src/runtime/commands.js';
import { checkAnswer } from '../src/runtime/answers.js';
import { startHaproxy } from '../test/helpers/haproxy.js';
import { stopAll } from '../test/helpers/processes.js';

const COUNT = Number(process.env.BENCH_SERVERS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

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

const best = new Map<string, { add: number; del: number }>();
for (let round = 0; round < ROUNDS; round += 1) {
  for (const way of ways) {
    let started = performance.now();
    await way.run(adds);
    const add = performance.now() - started;
    started = performance.now();
    await way.run(dels);
    const del = performance.now() - started;
    const previous = best.get(way.name);
    best.set(way.name, { add: Math.min(add, previous?.add ?? Infinity), del: Math.min(del, previous?.del ?? Infinity) });
  }
}
await client.close();
await stopAll();

const baseline = best.get(ways[0]!.name)!;
const baseTotal = baseline.add + baseline.del;
const info = `${COUNT} servers, best of ${ROUNDS} rounds, HAProxy over ${haproxy.tcpUrl}`;
console.log(`Runtime API: add then delete ${info}`);
console.log(['way'.padEnd(32), 'add ms'.padStart(9), 'del ms'.padStart(9), 'total ms'.padStart(9), 'speed-up'.padStart(9)].join(' '));
for (const way of ways) {
  const { add, del } = best.get(way.name)!;
  console.log(
    [way.name.padEnd(32), add.toFixed(1).padStart(9), del.toFixed(1).padStart(9), (add + del).toFixed(1).padStart(9), `${(baseTotal / (add + del)).toFixed(1)}x`.padStart(9)].join(' '),
  );
}
const pipelined = best.get('client, pipelined')!;
console.log(`pipelined vs a connection per command: ${(baseTotal / (pipelined.add + pipelined.del)).toFixed(1)}x (target >= 5x)`);
