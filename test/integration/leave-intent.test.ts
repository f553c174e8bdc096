/**
 * Two members leaving at once, with real Serf agents: the second's leave intent usually moves none of
 * Serf's counters until its `left`, so the membership source must see it among the `leaving` members
 * to list it at its intent: its watch of Serf's log sees each intent's line. Each leaver must be listed
 * as `leaving` before it is listed as `left`. This also checks real Serf's filter that the fallback poll
 * reads; in a cluster this small Serf's re-broadcast queue also shows the second intent, so the case a
 * counters-only poll misses is test/unit/membership/source.test.ts's.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import type { Member } from '../../src/membership/member.js';
import { parseSerfAddress, SerfRpcClient } from '../../src/membership/rpc-client.js';
import { SerfMembership } from '../../src/membership/source.js';
import { stopAll } from '../helpers/processes.js';
import { startSerf } from '../helpers/serf.js';
import { waitFor } from '../helpers/wait.js';

afterAll(stopAll);

/** The product's profile (the images' and the local cluster's Serf agents). */
const config = { profile: 'lan' };

describe('leave intents', () => {
  it('each of two members leaving together is listed as leaving before it is listed as left, ahead of Serf events', async () => {
    const lb = await startSerf({ name: 'lb', address: '127.0.6.1', tags: { role: 'lb' }, config });
    // A member that stays, so the leavers' gossip has somewhere else to go too.
    await startSerf({ name: 'stays', address: '127.0.6.2', join: lb.bind, tags: { role: 'backend' }, config });
    const membership = new SerfMembership({ address: parseSerfAddress(lb.rpc), resyncMs: 60_000, log: silentLogger });
    const lists: Array<{ members: Member[]; reason: string }> = [];
    membership.on('members', (members, reason) => lists.push({ members, reason }));
    const statusOf = (name: string, list: { members: Member[] }) => list.members.find((m) => m.name === name)?.status;
    membership.start();
    // What the poll reads, read here too: Serf's own filter must name the leavers while they are leaving.
    const rpc = await SerfRpcClient.connect({ address: parseSerfAddress(lb.rpc) });
    const filtered = new Set<string>();
    let reading = true;
    // A failed read is kept and thrown once the test is done with the connection, not left unhandled meanwhile.
    let readFailed: Error | undefined;
    const reads = (async () => {
      try {
        while (reading) {
          for (const m of await rpc.membersFiltered({ Status: 'leaving' }))
            filtered.add(`${(m as { Name: string }).Name}:${(m as { Status: string }).Status}`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      } catch (error) {
        readFailed = error as Error;
      }
    })();
    try {
      for (const round of [1, 2, 3]) {
        const names = [`a-${round}`, `b-${round}`];
        const leavers = await Promise.all(
          names.map((name, i) =>
            startSerf({ name, address: `127.0.6.${10 * round + i}`, join: lb.bind, tags: { role: 'backend' }, config }),
          ),
        );
        await waitFor(`${names.join(', ')} listed alive`, () =>
          names.every((n) => statusOf(n, lists.at(-1) ?? { members: [] }) === 'alive'),
        );
        const from = lists.length;
        await Promise.all(leavers.map((leaver) => leaver.leave()));
        await waitFor(`${names.join(', ')} listed left`, () => names.every((n) => statusOf(n, lists.at(-1) ?? { members: [] }) === 'left'));
        const since = lists.slice(from);
        for (const name of names) {
          const leaving = since.findIndex((list) => statusOf(name, list) === 'leaving');
          const left = since.findIndex((list) => statusOf(name, list) === 'left');
          expect({ name, leaving: leaving >= 0 && leaving < left }).toEqual({ name, leaving: true });
          // Listed on the prompt of Serf's log (its leave-intent line), not on its member-leave batch (≥ 1 s of quiet).
          expect(since[leaving]?.reason).toMatch(/^serf log/);
          expect(filtered.has(`${name}:leaving`)).toBe(true);
        }
      }
      expect([...filtered].every((m) => m.endsWith(':leaving'))).toBe(true);
    } finally {
      reading = false;
      await reads;
      rpc.close();
      membership.close();
    }
    if (readFailed) throw readFailed;
  }, 60_000);
});
