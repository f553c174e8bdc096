/**
 * `npm run bench:serf-poll`: what ha-agent's Serf poll costs the balancer's Serf agent, with real Serf.
 * BENCH_MEMBERS (default 1,000) members, made by real Serf agents that join and are then killed,
 * BENCH_BATCH (default 50) at a time (1,000 agents at once would not fit the machine): Serf lists a
 * member it cannot reach as alive until its probes find it, then as failed (here for 1 h), and its
 * RPC scans every listed member whatever its status, so the list's length is what counts. The Serf
 * agent's CPU over BENCH_IDLE_MS (default 10 s) each: with no client; with one client reading what
 * the poll reads every 50 ms (the product's --serf-poll): `stats` alone (the poll before the leaving
 * members were read), `stats` + `members-filtered` (Status leaving, an empty answer: the poll now);
 * and, for scale, the full `members` list every 50 ms. The agent also probes the unreachable members
 * meanwhile (the same in every window). Prints % of a core and the answers' sizes; asserts nothing.
 */
import { DEFAULT_POLL_MS } from '../src/membership/change-poller.js';
import { parseSerfAddress, SerfRpcClient } from '../src/membership/rpc-client.js';
import { stopAll } from '../test/helpers/processes.js';
import { startSerf, type TestSerf } from '../test/helpers/serf.js';
import { waitFor } from '../test/helpers/wait.js';
import { cpuPercent, machineLine } from './figures.js';
import { addSamples, saveRecord, startRecord } from './record.js';

const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 1000);
const BATCH = Number(process.env.BENCH_BATCH ?? 50);
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 10_000);
const config = { profile: 'lan' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Member number `i` (0-based): 127.0.7.1 … 127.0.7.250, then 127.0.8.1 …, clear of the other benches' addresses. */
const address = (i: number) => `127.0.${7 + Math.floor(i / 250)}.${(i % 250) + 1}`;

const record = startRecord('serf-poll', { members: MEMBERS, batch: BATCH, idleMs: IDLE_MS, pollMs: DEFAULT_POLL_MS, serf: config });
console.log(machineLine());
const lb = await startSerf({
  name: 'lb',
  address: '127.0.6.200',
  tags: { role: 'lb' },
  config: { ...config, tombstone_timeout: '1h', reconnect_timeout: '1h' },
});
const rpc = await SerfRpcClient.connect({ address: parseSerfAddress(lb.rpc) });
const listed = async () => Number(((await rpc.stats()) as { serf: { members: string } }).serf.members);
try {
  for (let from = 0; from < MEMBERS; from += BATCH) {
    const count = Math.min(BATCH, MEMBERS - from);
    const batch: TestSerf[] = await Promise.all(
      Array.from({ length: count }, (_, k) =>
        startSerf({ name: `m-${from + k}`, address: address(from + k), join: lb.bind, tags: { role: 'backend', port: '3000' }, config }),
      ),
    );
    await waitFor(`${from + count} members listed`, async () => (await listed()) >= 1 + from + count, { timeoutMs: 60_000 });
    // Killed, not stopped: no leave intent, so none of them is ever `leaving` (the poll's answer stays empty, as when idle).
    await Promise.all(batch.map((member) => member.process.stop('SIGKILL')));
  }
  const count = async (status: string) => (await rpc.membersFiltered({ Status: status })).length;
  const statuses = await Promise.all(['alive', 'leaving', 'left', 'failed'].map(async (s) => `${await count(s)} ${s}`));
  record.facts.statuses = statuses;
  console.log(`${await listed()} members listed by the Serf agent (${statuses.join(', ')}; kept for 1 h)`);

  const bytes = async (read: () => Promise<unknown>) => JSON.stringify(await read()).length;
  console.log(
    `answer sizes (JSON of the decoded answer): stats ${await bytes(() => rpc.stats())} B, ` +
      `members-filtered Status leaving ${await bytes(() => rpc.membersFiltered({ Status: 'leaving' }))} B, ` +
      `members ${await bytes(() => rpc.members())} B`,
  );
  const measure = async (what: string, read?: () => Promise<unknown>) => {
    let running = read !== undefined;
    let reads = 0;
    const loop = (async () => {
      while (running && read) {
        await read();
        reads += 1;
        await sleep(DEFAULT_POLL_MS);
      }
    })();
    const [cpu = Number.NaN] = await cpuPercent([lb.process.pid], IDLE_MS);
    running = false;
    await loop;
    addSamples(record, `${what} CPU %`, [cpu]);
    addSamples(record, `${what} reads/s`, [(reads * 1000) / IDLE_MS]);
    console.log(`  ${what.padEnd(58)} ${cpu.toFixed(2).padStart(6)} % of a core (${((reads * 1000) / IDLE_MS).toFixed(1)} reads/s)`);
  };
  console.log(`The Serf agent's CPU over ${IDLE_MS / 1000} s, ${MEMBERS + 1} members listed, one read every ${DEFAULT_POLL_MS} ms:`);
  await measure('no client');
  await measure('stats (the poll before)', () => rpc.stats());
  await measure('stats + members-filtered Status leaving (the poll now)', () =>
    Promise.all([rpc.stats(), rpc.membersFiltered({ Status: 'leaving' })]),
  );
  await measure('members (the full list, for scale)', () => rpc.members());
} finally {
  rpc.close();
  await stopAll();
}
console.log(`recorded: ${saveRecord(record)}`);
console.log(machineLine());
