/**
 * Hostile members, each a real Serf agent, against the real agent: every one is rejected with one
 * clear log line, nothing of it reaches HAProxy or the rendered config, the others keep being served.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
let good: WebMember;

const hostile: Array<{ name: string; tags?: Record<string, string>; address?: string; field: string }> = [
  { name: 'semi;shutdown sessions server nodes/web-ok', field: 'name' },
  { name: 'cr\rname', field: 'name' },
  { name: 'lf\nname', field: 'name' },
  { name: 'tab\tname', field: 'name' },
  { name: 'nul\u0000name', field: 'name' },
  { name: 'sp ace', field: 'name' },
  { name: 'back\\slash', field: 'name' },
  { name: '{{backend.name}}', field: 'name' },
  { name: 'x\n    server evil 1.2.3.4:80', field: 'name' },
  { name: 'x'.repeat(65), field: 'name' },
  { name: 'ünïcode', field: 'name' },
  { name: 'port-zero', tags: { port: '0' }, field: 'port' },
  { name: 'port-65536', tags: { port: '65536' }, field: 'port' },
  { name: 'port-inject', tags: { port: '3000;x' }, field: 'port' },
  { name: 'weight-negative', tags: { weight: '-1' }, field: 'weight' },
  { name: 'weight-1000', tags: { weight: '1000' }, field: 'weight' },
  // Serf's whole tag map may be at most 512 bytes: this one is just under.
  { name: 'weight-huge', tags: { weight: '9'.repeat(440) }, field: 'weight' },
  { name: 'outside-range', address: '127.0.1.9', field: 'address' },
];

beforeAll(async () => {
  haproxy = await startHaproxy();
  lb = await startSerf({ name: 'lb', address: '127.0.0.1', tags: { role: 'lb' } });
  agent = startAgent(agentArgs(haproxy, lb.rpc, ['--allow-cidr', '127.0.0.0/24']));
  runtime = new RuntimeClient({ url: haproxy.tcpUrl });
  runtime.start();
  await waitFor('runtime', () => runtime.connected);
  good = await startWebMember('web-ok', '127.0.0.80', lb.bind);
  await waitFor(
    'web-ok UP',
    async () => (await runtime.stat(haproxy.backend)).some((s) => s.name === 'web-ok' && s.status.startsWith('UP')),
    { timeoutMs: 20_000 },
  );
  for (const [i, member] of hostile.entries()) {
    await startSerf({
      name: member.name,
      address: member.address ?? `127.0.0.${100 + i}`,
      join: lb.bind,
      tags: { role: 'backend', port: '3000', ...member.tags },
    });
  }
}, 120_000);

afterAll(async () => {
  await runtime.close();
  await good.web.close();
  await stopAll();
});

const rejection = (member: (typeof hostile)[number]) =>
  agent.waitForLog(
    `rejection of ${JSON.stringify(member.name)}`,
    (l) => l.event === 'member.rejected' && l.member === JSON.stringify(member.name),
    30_000,
  );

describe('hostile members', () => {
  it.each(hostile.map((m) => [JSON.stringify(m.name).slice(0, 40), m] as const))(
    'rejects %s with one log line naming the field',
    async (_, member) => {
      const line = await rejection(member);
      expect(String(line.reason)).toMatch(new RegExp(`^${member.field}: `));
    },
  );

  it('lets nothing of them reach HAProxy or the rendered config, and keeps serving the others', async () => {
    for (const member of hostile) await rejection(member);
    await agent.waitForPasses(2); // two more full lists of every member: rejections are not repeated
    for (const member of hostile) {
      expect(agent.logs().filter((l) => l.event === 'member.rejected' && l.member === JSON.stringify(member.name))).toHaveLength(1);
    }
    expect((await runtime.serversState(haproxy.backend)).map((s) => s.name)).toEqual(['web-ok']);
    const config = readFileSync(haproxy.configPath, 'utf8');
    expect(config.match(/^\s+server /gm)).toHaveLength(1);
    expect(config).not.toMatch(/evil|shutdown|backend\.name|ünï/);
    const sent = agent
      .logs()
      .filter((l) => l.event === 'step.finished')
      .map((l) => String(l.command));
    expect(sent.every((command) => /^[\x20-\x7e]+$/.test(command) && command.includes('web-ok'))).toBe(true);
    for (let i = 0; i < 5; i += 1) expect((await fetch(`${haproxy.frontendUrl}/`)).headers.get('x-backend')).toBe('web-ok');
  });

  it('keeps the live member when another agent claims its name from another address', async () => {
    const tags = { role: 'backend', port: String(good.web.port) };
    const claimant = await startSerf({ name: 'web-ok', address: '127.0.0.90', join: lb.bind, tags });
    const conflict = () => /conflict/i.test(claimant.process.output() + lb.process.output());
    await waitFor('the claim reached the cluster', conflict, { timeoutMs: 20_000 });
    await agent.waitForPasses(2); // the agent listed the members twice since
    const state = await runtime.serversState(haproxy.backend);
    expect(state.map((s) => `${s.name} ${s.address}:${s.port}`)).toEqual([`web-ok 127.0.0.80:${good.web.port}`]);
    expect((await fetch(`${haproxy.frontendUrl}/`)).status).toBe(200);
  });
});
