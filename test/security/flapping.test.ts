/**
 * 1,000 members flapping (all join, all leave, again) for a minute, through a Serf RPC stand-in
 * (1,000 real Serf agents do not fit a 2-core machine): the agent keeps serving the stable member,
 * ends with HAProxy holding exactly the live members, and its memory stays flat.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { RuntimeClient } from '../../src/runtime/client.js';
import { agentArgs, startAgent } from '../helpers/agent.js';
import { FakeSerf, type FakeMember } from '../helpers/fake-serf.js';
import { startHaproxy } from '../helpers/haproxy.js';
import { startHttpBackend, type HttpBackend } from '../helpers/http-backend.js';
import { stopAll } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';

const FLAPPERS = 1000;
const DURATION_MS = Number(process.env.FLAP_MS ?? 60_000);
const webs: HttpBackend[] = [];

afterAll(async () => {
  await Promise.all(webs.map((w) => w.close()));
  await stopAll();
});

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

describe('1,000 members flapping for a minute', () => {
  it('keeps serving, converges, and does not grow', async () => {
    const haproxy = await startHaproxy();
    const serf = new FakeSerf();
    await serf.listen();
    const agent = startAgent(agentArgs(haproxy, serf.address, ['--log-level', 'warn', '--check-timeout', '3s', '--drain-timeout', '2s']));
    const runtime = new RuntimeClient({ url: haproxy.tcpUrl });
    runtime.start();
    await waitFor('agent streaming', () => serf.streaming, { timeoutMs: 20_000 });
    const stable = await startHttpBackend('stable', '127.0.0.2');
    webs.push(stable);
    serf.event('member-join', [{ name: 'stable', address: '127.0.0.2', tags: { role: 'backend', port: String(stable.port) }, status: 'alive' }]);
    await waitFor('stable UP', async () => (await runtime.stat(haproxy.backend)).some((s) => s.name === 'stable' && s.status.startsWith('UP')), { timeoutMs: 20_000 });
    for (let i = 0; i < FLAPPERS; i += 1) webs.push(await startHttpBackend(`f${i}`, `127.0.${10 + Math.floor(i / 250)}.${1 + (i % 250)}`));
    const flappers: FakeMember[] = webs.slice(1).map((w) => ({ name: w.id, address: w.address, tags: { role: 'backend', port: String(w.port) }, status: 'alive' }));

    let failed = 0;
    let served = 0;
    let running = true;
    const failures = new Map<string, number>();
    const probe = (async () => {
      while (running) {
        const response = await fetch(`${haproxy.frontendUrl}/`).catch((error: Error) => error);
        if (!(response instanceof Error) && response.status === 200) served += 1;
        else {
          failed += 1;
          const why = response instanceof Error ? response.message : `HTTP ${response.status} ${response.headers.get('x-backend') ?? ''}`;
          failures.set(why, (failures.get(why) ?? 0) + 1);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();

    const started = Date.now();
    let warm = 0;
    let cycles = 0;
    while (Date.now() - started < DURATION_MS) {
      serf.event('member-join', flappers.map((m) => ({ ...m, status: 'alive' })));
      await new Promise((resolve) => setTimeout(resolve, 1500));
      serf.event('member-leave', flappers.map((m) => ({ ...m, status: 'left' })));
      await new Promise((resolve) => setTimeout(resolve, 1500));
      cycles += 1;
      if (cycles === 3) warm = rssMb(agent.process.pid);
    }
    await waitFor('only the stable member left', async () => (await runtime.serversState(haproxy.backend)).map((s) => s.name).join() === 'stable', { timeoutMs: 60_000, intervalMs: 250 });
    const end = rssMb(agent.process.pid);
    running = false;
    await probe;
    await runtime.close();
    console.log(`flapping: ${cycles} cycles of ${FLAPPERS} joins and leaves; agent RSS ${warm.toFixed(1)} MB after 3 cycles, ${end.toFixed(1)} MB at the end; stable member: ${served} served, ${failed} failed ${JSON.stringify([...failures])}`);
    expect(cycles).toBeGreaterThanOrEqual(5);
    expect(failed).toBe(0);
    expect(served).toBeGreaterThan(100);
    // Flat: no growth with the number of cycles (a leak of even 1 KB per member per cycle would add ~20 MB).
    expect(end).toBeLessThan(warm + 15);
  }, 240_000);
});
