/**
 * Real Serf agents as members for the benches that need many of them (bench/serf-scale.ts, bench/serf-idle.ts,
 * bench/serf-poll.ts), and a balancer's Serf agent that lists many members for those that measure what reading it
 * costs.
 *
 * The members would each have a machine of their own; here they share two cores with the balancer. So they run in
 * the idle scheduling class (`chrt --idle`) with GOMAXPROCS=1: the balancer's Serf agent, HAProxy and ha-agent are
 * served first, as on their own machine, and the members get what is left.
 */
import { parseSerfAddress, SerfRpcClient } from '../src/membership/rpc-client.js';
import { startSerf, type SerfOptions, type TestSerf } from '../test/helpers/serf.js';
import { startFleet, type Fleet, type Web } from './http-fleet.js';
import { waitFor } from '../test/helpers/wait.js';

/** The Serf profile the images use. */
export const serfConfig = { profile: 'lan' };

/** How a member agent is started: behind the balancer's processes (above); started by the hundred on a busy machine, one can take over 10 s to answer. */
export const MEMBER_PLACEMENT = { idle: true, env: { GOMAXPROCS: '1' }, startTimeoutMs: 120_000 } satisfies Partial<SerfOptions>;

/** The same, as a record's setting. */
export const MEMBER_PLACEMENT_SETTING = `chrt --idle 0, ${Object.entries(MEMBER_PLACEMENT.env)
  .map(([k, v]) => `${k}=${v}`)
  .join(' ')}`;

/** Member number `i` (0-based): 127.0.7.1 … 127.0.7.250, then 127.0.8.1 …, clear of the other benches' addresses. */
const memberAddress = (i: number) => `127.0.${7 + Math.floor(i / 250)}.${(i % 250) + 1}`;

/** Members `from` … `from + count - 1`, with no server behind them (they only join and leave). */
const startMembers = (from: number, count: number, join: string) =>
  startWebMembers(
    Array.from({ length: count }, (_, k) => ({ id: `m-${from + k}`, address: memberAddress(from + k), port: 3000 })),
    join,
  );

/** A member for each web server (bench/http-fleet.ts), named by its id and tagged with its port, all started at once. */
export const startWebMembers = (webs: readonly Web[], join: string): Promise<TestSerf[]> =>
  Promise.all(
    webs.map((web) =>
      startSerf({
        name: web.id,
        address: web.address,
        join,
        tags: { role: 'backend', port: String(web.port) },
        config: serfConfig,
        ...MEMBER_PLACEMENT,
      }),
    ),
  );

/**
 * The balancer's Serf agent listing `members` members: `core` of them stay alive, each a server that answers (one
 * haproxy with a bind per member, bench/http-fleet.ts), the rest joined `batch` at a time and left, kept listed as
 * left for 1 h. Its RPC answers scan every listed member whatever its status, so the list's length is what a reader
 * pays for. The core carries each batch's leave intents to the balancer's Serf agent: members that leave together
 * gossip their intents among themselves, and with no member staying many intents die with them (Serf then finds
 * those members failed by probing them, one a second at best).
 */
export async function serfWithMembers(
  members: number,
  batch: number,
  core: number,
  name = 'lb',
): Promise<{ lb: TestSerf; rpc: SerfRpcClient; fleet: Fleet }> {
  const lb = await startSerf({
    name,
    address: '127.0.6.200',
    tags: { role: 'lb' },
    config: { ...serfConfig, tombstone_timeout: '1h', reconnect_timeout: '1h' },
  });
  const rpc = await SerfRpcClient.connect({ address: parseSerfAddress(lb.rpc) });
  const names = async (Status: string) => new Set((await rpc.membersFiltered({ Status })).map((m) => (m as { Name: string }).Name));
  const listed = async () => Number(((await rpc.stats()) as { serf: { members: string } }).serf.members);
  const fleet = await startFleet('haproxy', core);
  await startWebMembers(fleet.webs, lb.bind);
  const coreAlive = async () => {
    const alive = await names('alive');
    return fleet.webs.every((web) => alive.has(web.id));
  };
  await waitFor(`${core} members alive`, coreAlive, { timeoutMs: 60_000 });
  for (let from = core; from < members; from += batch) {
    const count = Math.min(batch, members - from);
    const started = await startMembers(from, count, lb.bind);
    await waitFor(`${from + count} members listed`, async () => (await listed()) >= 1 + from + count, { timeoutMs: 60_000 });
    // A graceful leave, not a kill: Serf applies a leave intent as it arrives, but finds killed members failed one at
    // a time (1,000 of them took longer than a bench can wait).
    await Promise.all(started.map((member) => member.leave()));
    await waitFor(
      `the ${count} members up to ${from + count} gone`,
      async () => {
        const notGone = await names('alive|suspect|leaving');
        return started.every((member) => !notGone.has(member.name));
      },
      { timeoutMs: 180_000, intervalMs: 500 },
    );
  }
  if (!(await coreAlive())) throw new Error(`a member of the ${core} that stay is no longer alive`);
  return { lb, rpc, fleet };
}
