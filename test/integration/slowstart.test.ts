/** `--slowstart` against real haproxy and serf: a joining server's effective weight ramps up instead of starting full. */
import { afterEach, describe, expect, it } from 'vitest';
import { RuntimeClient } from '../../src/runtime/client.js';
import * as cmd from '../../src/runtime/commands.js';
import { agentArgs, startAgent } from '../helpers/agent.js';
import { startWebMember, type WebMember } from '../helpers/cluster.js';
import { startHaproxy } from '../helpers/haproxy.js';
import { stopAll } from '../helpers/processes.js';
import { startSerf } from '../helpers/serf.js';
import { waitFor } from '../helpers/wait.js';

const members: WebMember[] = [];
let runtime: RuntimeClient | undefined;

afterEach(async () => {
  await runtime?.close();
  await Promise.all(members.map((m) => m.web.close()));
  members.length = 0;
  await stopAll();
});

describe('--slowstart (real haproxy 2.6, serf, ha-agent run)', () => {
  it('adds the server with slowstart: once ready its effective weight starts low and ramps to its own', async () => {
    const haproxy = await startHaproxy();
    const lb = await startSerf({ name: 'lb', address: '127.0.0.1', tags: { role: 'lb' } });
    const agent = startAgent(agentArgs(haproxy, lb.rpc, ['--slowstart', '6s']));
    runtime = new RuntimeClient({ url: haproxy.tcpUrl });
    runtime.start();
    members.push(await startWebMember('web-1', '127.0.0.91', lb.bind));
    const add = await agent.waitForLog('added', (l) => l.event === 'step.finished' && l.step === 'add');
    expect(String(add.command)).toMatch(/ weight 100 .* slowstart 6000$/);
    /** HAProxy's effective weight (show stat field 19), not the user weight. */
    const effective = async () => {
      const row = (await runtime!.run(cmd.raw(`show stat ${haproxy.backend} 4 -1`)))
        .split('\n')
        .find((l) => l.startsWith(`${haproxy.backend},web-1,`));
      return Number(row?.split(',')[18]);
    };
    const seen: number[] = [];
    await waitFor(
      'web-1 ready',
      async () => (await runtime!.stat(haproxy.backend)).some((s) => s.name === 'web-1' && s.status.startsWith('UP')),
      { timeoutMs: 20_000 },
    );
    await waitFor('full weight', async () => (seen.push(await effective()), seen.at(-1) === 100), { timeoutMs: 20_000, intervalMs: 250 });
    expect(seen[0]).toBeLessThan(60);
    expect(seen.some((w) => w > seen[0]! && w < 100)).toBe(true);
  }, 60_000);
});
