/**
 * `npm run bench:serf-poll`: what ha-agent's Serf poll costs the balancer's Serf agent, with real Serf.
 * BENCH_MEMBERS (default 1,000) members: BENCH_CORE (default 50) alive throughout, the rest joining
 * BENCH_BATCH (default 50) at a time and then leaving (bench/serf-members.ts: listed as left for 1 h;
 * Serf's RPC scans every listed member whatever its status, so the list's length is what counts). The Serf
 * agent's CPU over BENCH_IDLE_MS (default 10 s) each: with no client; with one client reading what
 * the poll reads every 50 ms (the product's --serf-poll): `stats` alone (the poll before the leaving
 * members were read), `stats` + `members-filtered` (Status leaving, an empty answer: the poll, now the fallback);
 * and, for scale, the full `members` list every 50 ms. Prints % of a core and the answers' sizes, and records
 * them (bench/record.ts, `serf-poll`); asserts nothing.
 */
import { DEFAULT_POLL_MS } from '../src/membership/change-poller.js';
import { stopAll } from '../test/helpers/processes.js';
import { cpuPercent, machineLine } from './figures.js';
import { addSamples, saveRecord, startRecord } from './record.js';
import { MEMBER_PLACEMENT_SETTING, serfConfig, serfWithMembers } from './serf-members.js';

const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 1000);
const BATCH = Number(process.env.BENCH_BATCH ?? 50);
const CORE = Number(process.env.BENCH_CORE ?? 50);
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 10_000);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const record = startRecord('serf-poll', {
  members: MEMBERS,
  alive: CORE,
  batch: BATCH,
  idleMs: IDLE_MS,
  pollMs: DEFAULT_POLL_MS,
  serf: serfConfig,
  memberPlacement: MEMBER_PLACEMENT_SETTING,
});
console.log(machineLine());
// Stopped by PID also when the set-up fails.
const { lb, rpc } = await serfWithMembers(MEMBERS, BATCH, CORE).catch(async (error: unknown) => {
  await stopAll();
  throw error;
});
try {
  const count = async (status: string) => (await rpc.membersFiltered({ Status: status })).length;
  const statuses = await Promise.all(['alive', 'leaving', 'left', 'failed'].map(async (s) => `${await count(s)} ${s}`));
  record.facts.statuses = statuses;
  const listed = ((await rpc.stats()) as { serf: { members: string } }).serf.members;
  console.log(`${listed} members listed by the Serf agent (${statuses.join(', ')}; kept for 1 h)`);

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
  await measure('stats + members-filtered Status leaving (the poll, now the fallback)', () =>
    Promise.all([rpc.stats(), rpc.membersFiltered({ Status: 'leaving' })]),
  );
  await measure('members (the full list, for scale)', () => rpc.members());
} finally {
  rpc.close();
  await stopAll();
}
console.log(`recorded: ${saveRecord(record)}`);
console.log(machineLine());
