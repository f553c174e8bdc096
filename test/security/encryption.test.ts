/** Gossip encryption and the RPC token, with real Serf agents and the real agent. */
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { agentArgs, startAgent } from '../helpers/agent.js';
import { startHaproxy } from '../helpers/haproxy.js';
import { stopAll } from '../helpers/processes.js';
import { startSerf } from '../helpers/serf.js';
import { waitFor } from '../helpers/wait.js';

afterAll(stopAll);

const key = () => execFileSync('serf', ['keygen']).toString().trim();
const members = (rpc: string, auth?: string) =>
  execFileSync('serf', ['members', '-rpc-addr', rpc, ...(auth ? ['-rpc-auth', auth] : [])]).toString();

describe('gossip encryption', () => {
  it('lets an agent with the key join, and keeps out one without it or with another key', async () => {
    const secret = key();
    const lb = await startSerf({ name: 'lb', address: '127.0.0.1', config: { encrypt_key: secret } });
    await startSerf({ name: 'friend', address: '127.0.0.71', join: lb.bind, config: { encrypt_key: secret } });
    const plain = await startSerf({ name: 'no-key', address: '127.0.0.72', join: lb.bind });
    const wrong = await startSerf({ name: 'wrong-key', address: '127.0.0.73', join: lb.bind, config: { encrypt_key: key() } });
    await waitFor('friend joined', () => members(lb.rpc).includes('friend'), { timeoutMs: 15_000 });
    await waitFor(
      'both refused',
      () => /encryption is not configured/.test(plain.process.output()) && /No installed keys could decrypt/.test(wrong.process.output()),
      { timeoutMs: 15_000 },
    );
    const list = members(lb.rpc);
    expect(list).not.toContain('no-key');
    expect(list).not.toContain('wrong-key');
  }, 60_000);
});

describe('Serf RPC token', () => {
  it('connects with the right token, and names the problem with a wrong one', async () => {
    const haproxy = await startHaproxy();
    const lb = await startSerf({ name: 'lb-auth', address: '127.0.0.1', config: { rpc_auth: 'right-token' } });
    expect(members(lb.rpc, 'right-token')).toContain('lb-auth');
    const wrong = startAgent(agentArgs(haproxy, lb.rpc, ['--serf-auth', 'wrong-token']));
    const refused = await wrong.waitForLog('auth refused', (l) => l.event === 'serf.connect-failed');
    expect(refused.error).toMatchObject({ code: 'SERF_AUTH_FAILED' });
    await wrong.process.stop();
    const right = startAgent(agentArgs(haproxy, lb.rpc), { HA_AGENT_SERF_AUTH: 'right-token' });
    await right.waitForLog('connected', (l) => l.event === 'serf.connected');
  }, 60_000);
});
