/**
 * A real Serf agent (the balancer's) that lists many members, for the benches that measure what reading it
 * costs (bench/serf-idle.ts, bench/serf-poll.ts): the members are real Serf agents that join `batch` at a time
 * and then leave (1,000 running at once would not fit a 2-core machine). The balancer's Serf agent keeps them
 * listed as left for 1 h, and its RPC answers scan every listed member whatever its status, so the list's
 * length is what a reader pays for. On a 2-core machine 1,000 such members did not settle within the waits below
 * (docs/scale.md): the benches that use this have no recorded run.
 */
import { parseSerfAddress, SerfRpcClient } from '../src/membership/rpc-client.js';
import { startSerf, type TestSerf } from '../test/helpers/serf.js';
import { waitFor } from '../test/helpers/wait.js';

/** The Serf profile the images use. */
export const serfConfig = { profile: 'lan' };

/** Member number `i` (0-based): 127.0.7.1 … 127.0.7.250, then 127.0.8.1 …, clear of the other benches' addresses. */
const memberAddress = (i: number) => `127.0.${7 + Math.floor(i / 250)}.${(i % 250) + 1}`;

/** The balancer's Serf agent listing `members` members, all gone (joined, then left), kept listed for 1 h. */
export async function serfWithMembers(members: number, batch: number, name = 'lb'): Promise<{ lb: TestSerf; rpc: SerfRpcClient }> {
  const lb = await startSerf({
    name,
    address: '127.0.6.200',
    tags: { role: 'lb' },
    config: { ...serfConfig, tombstone_timeout: '1h', reconnect_timeout: '1h' },
  });
  const rpc = await SerfRpcClient.connect({ address: parseSerfAddress(lb.rpc) });
  const listed = async () => Number(((await rpc.stats()) as { serf: { members: string } }).serf.members);
  for (let from = 0; from < members; from += batch) {
    const count = Math.min(batch, members - from);
    const started = await Promise.all(
      Array.from({ length: count }, (_, k) =>
        startSerf({
          name: `m-${from + k}`,
          address: memberAddress(from + k),
          join: lb.bind,
          tags: { role: 'backend', port: '3000' },
          config: serfConfig,
        }),
      ),
    );
    await waitFor(`${from + count} members listed`, async () => (await listed()) >= 1 + from + count, { timeoutMs: 60_000 });
    // A graceful leave, not a kill: Serf applies a leave intent as it arrives, but finds killed members failed one at
    // a time (1,000 of them took longer than a bench can wait). A batch's intents are gossiped among members that
    // leave too, so a few are lost; those the balancer's agent still lists alive are found failed before the next
    // batch joins, while they are few (its probes go round the members it lists alive, one a second).
    await Promise.all(started.map((member) => member.leave()));
    await waitFor(
      `${from + count} members gone`,
      async () => (await rpc.membersFiltered({ Status: 'alive|suspect|leaving' })).length === 1,
      {
        timeoutMs: 180_000,
        intervalMs: 500,
      },
    );
  }
  return { lb, rpc };
}
