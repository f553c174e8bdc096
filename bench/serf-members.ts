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
import { waitFor } from '../test/helpers/wait.js';

/** The Serf profile the images use. */
export const serfConfig = { profile: 'lan' };

/** How a member agent is started: behind the balancer's processes (above); 500 starting at once need more than 10 s. */
export const MEMBER_PLACEMENT = { idle: true, env: { GOMAXPROCS: '1' }, startTimeoutMs: 120_000 } satisfies Partial<SerfOptions>;

/** The same, as a record's setting. */
export const MEMBER_PLACEMENT_SETTING = 'chrt --idle 0, GOMAXPROCS=1';

/** Member number `i` (0-based): 127.0.7.1 … 127.0.7.250, then 127.0.8.1 …, clear of the other benches' addresses. */
const memberAddress = (i: number) => `127.0.${7 + Math.floor(i / 250)}.${(i % 250) + 1}`;

const startMembers = (from: number, count: number, join: string) =>
  Promise.all(
    Array.from({ length: count }, (_, k) =>
      startSerf({
        name: `m-${from + k}`,
        address: memberAddress(from + k),
        join,
        tags: { role: 'backend', port: '3000' },
        config: serfConfig,
        ...MEMBER_PLACEMENT,
      }),
    ),
  );

/**
 * The balancer's Serf agent listing `members` members: `core` of them stay alive, the rest joined `batch` at a time
 * and left, kept listed as left for 1 h. Its RPC answers scan every listed member whatever its status, so the list's
 * length is what a reader pays for. The core carries each batch's leave intents to the balancer's Serf agent: members
 * that leave together gossip their intents among themselves, and with no member staying most intents die with them
 * (Serf then finds those members failed one probe at a time, a second or more each).
 */
export async function serfWithMembers(
  members: number,
  batch: number,
  core: number,
  name = 'lb',
): Promise<{ lb: TestSerf; rpc: SerfRpcClient; core: TestSerf[] }> {
  const lb = await startSerf({
    name,
    address: '127.0.6.200',
    tags: { role: 'lb' },
    config: { ...serfConfig, tombstone_timeout: '1h', reconnect_timeout: '1h' },
  });
  const rpc = await SerfRpcClient.connect({ address: parseSerfAddress(lb.rpc) });
  const listed = async () => Number(((await rpc.stats()) as { serf: { members: string } }).serf.members);
  const notGone = async () => (await rpc.membersFiltered({ Status: 'alive|suspect|leaving' })).length;
  const staying = await startMembers(0, core, lb.bind);
  await waitFor(`${core} members alive`, async () => (await notGone()) === 1 + core, { timeoutMs: 60_000 });
  for (let from = core; from < members; from += batch) {
    const count = Math.min(batch, members - from);
    const started = await startMembers(from, count, lb.bind);
    await waitFor(`${from + count} members listed`, async () => (await listed()) >= 1 + from + count, { timeoutMs: 60_000 });
    // A graceful leave, not a kill: Serf applies a leave intent as it arrives, but finds killed members failed one at
    // a time (1,000 of them took longer than a bench can wait).
    await Promise.all(started.map((member) => member.leave()));
    await waitFor(`${from + count} members listed, ${core} alive`, async () => (await notGone()) === 1 + core, {
      timeoutMs: 180_000,
      intervalMs: 500,
    });
  }
  return { lb, rpc, core: staying };
}
