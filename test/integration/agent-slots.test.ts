/** `ha-agent run --mode slots` against a backend of fixed server slots, with real haproxy and serf. */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminMode } from '../../src/reconcile/actual.js';
import { RuntimeClient } from '../../src/runtime/client.js';
import { agentArgs, startAgent, type TestAgent } from '../helpers/agent.js';
import { startWebMember, type WebMember } from '../helpers/cluster.js';
import { startHaproxy, type TestHaproxy } from '../helpers/haproxy.js';
import { stopAll } from '../helpers/processes.js';
import { startSerf, type TestSerf } from '../helpers/serf.js';
import { waitFor } from '../helpers/wait.js';

let haproxy: TestHaproxy;
let lb: TestSerf;
let agent: TestAgent;
let runtime: RuntimeClient;
const webs: WebMember[] = [];
const slots = ['slot1', 'slot2', 'slot3'].map((name) => ({ name, address: '0.0.0.0', port: 3000, weight: 100, disabled: true }));

async function twoMembersUp(): Promise<void> {
  webs.push(await startWebMember('web-1', '127.0.0.41', lb.bind), await startWebMember('web-2', '127.0.0.42', lb.bind));
  const up = async () => (await runtime.stat(haproxy.backend)).filter((s) => s.status.startsWith('UP')).length;
  await waitFor('two slots UP', async () => (await up()) === 2, { timeoutMs: 20_000 });
}

// Every test gets its own haproxy, Serf and agent, so one failure cannot cascade.
beforeEach(async () => {
  haproxy = await startHaproxy({ servers: slots });
  lb = await startSerf({ name: 'lb', address: '127.0.0.1', tags: { role: 'lb' } });
  agent = startAgent(agentArgs(haproxy, lb.rpc, ['--mode', 'slots']));
  runtime = new RuntimeClient({ url: haproxy.tcpUrl });
  runtime.start();
  await waitFor('runtime', () => runtime.connected);
});

afterEach(async () => {
  await runtime.close();
  await Promise.all(webs.map((w) => w.web.close()));
  webs.length = 0;
  await stopAll();
});

describe('slot mode', () => {
  it('fills free slots with joining members and serves through them', async () => {
    const pid = (await runtime.info()).pid;
    await twoMembersUp();
    const state = await runtime.serversState(haproxy.backend);
    expect(state.map((s) => s.name)).toEqual(['slot1', 'slot2', 'slot3']);
    expect(new Set(state.filter((s) => s.address !== '0.0.0.0').map((s) => s.address))).toEqual(new Set(['127.0.0.41', '127.0.0.42']));
    const seen = new Set<string>();
    for (let i = 0; i < 6; i += 1) seen.add((await fetch(`${haproxy.frontendUrl}/`)).headers.get('x-backend') ?? '?');
    expect(seen).toEqual(new Set(['web-1', 'web-2']));
    expect(agent.logs().some((l) => l.event === 'step.finished' && String(l.command).startsWith('add server'))).toBe(false);
    expect((await runtime.info()).pid).toBe(pid);
  });

  it('frees the slot of a leaving member after its in-flight request completes, never deleting it', async () => {
    await twoMembersUp();
    const web1 = webs.find((w) => w.name === 'web-1')!;
    const slow = Array.from({ length: 4 }, () =>
      fetch(`${haproxy.frontendUrl}/slow?ms=3000`).then((r) => ({ status: r.status, by: r.headers.get('x-backend') })),
    );
    const web1Slot = async () => (await runtime.stat(haproxy.backend)).find((s) => s.address.startsWith('127.0.0.41:'));
    await waitFor('web-1 busy', async () => ((await web1Slot())?.sessions ?? 0) > 0);
    await web1.serf.leave();
    const results = await Promise.all(slow);
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(results.some((r) => r.by === 'web-1')).toBe(true);
    await waitFor('one slot UP', async () => (await runtime.stat(haproxy.backend)).filter((s) => s.status.startsWith('UP')).length === 1, {
      timeoutMs: 20_000,
    });
    await waitFor('web-1 slot free again (MAINT)', async () => {
      const freed = (await runtime.serversState(haproxy.backend)).find((s) => s.address === '127.0.0.41');
      return freed !== undefined && adminMode(freed.adminState) === 'maint';
    });
    expect((await runtime.serversState(haproxy.backend)).length).toBe(3);
    await waitFor(
      'config lists the free slot disabled',
      () => (readFileSync(haproxy.configPath, 'utf8').match(/ disabled$/gm) ?? []).length === 2,
    );
  });
});
