/**
 * Health checks a user gets wrong, with real processes (the host's haproxy 2.6, Serf, `ha-agent run`, the lab's
 * web app, which answers 404 on a path it does not serve):
 * - a health path the app does not serve is named at once — which path answered what — in the log, /healthz,
 *   `status` and `plan`, before the check timeout runs out, not only at it;
 * - `ha-agent reload` into checks that every server UP now would fail is refused, and nothing changes: the same
 *   HAProxy Pid, the same servers UP, the same config file;
 * - the running agent says what HAProxy's next boot (a restart included) would do to the servers with such checks.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuntimeClient } from '../../src/runtime/client.js';
import { agentArgs, haproxyArgs, startAgent, type TestAgent } from '../helpers/agent.js';
import { haAgent } from '../helpers/cli.js';
import { startAppMember } from '../helpers/cluster.js';
import { askFresh, startHaproxy, type TestHaproxy } from '../helpers/haproxy.js';
import { freePort } from '../helpers/ports.js';
import { stopAll } from '../helpers/processes.js';
import { startSerf, type TestSerf } from '../helpers/serf.js';
import { waitFor } from '../helpers/wait.js';

const MISSING = '/ready'; // the lab's web app serves /health, and answers 404 here

const ask = <T>(haproxy: TestHaproxy, work: (client: RuntimeClient) => Promise<T>): Promise<T> => askFresh(haproxy.tcpUrl, work);

afterAll(async () => {
  await stopAll();
});

describe('a health path the app does not serve', () => {
  let haproxy: TestHaproxy;
  let lb: TestSerf;
  let agent: TestAgent;
  let metrics: string;
  const flags = () => [...haproxyArgs(haproxy), '--health-path', MISSING, '--serf', lb.rpc];

  beforeAll(async () => {
    // Forgotten everywhere: HAProxy booted with it, and the agent runs with it.
    haproxy = await startHaproxy({ healthPath: MISSING });
    lb = await startSerf({ name: 'lb', address: '127.0.0.1', tags: { role: 'lb' } });
    metrics = `127.0.0.1:${await freePort()}`;
    agent = startAgent(agentArgs(haproxy, lb.rpc, ['--health-path', MISSING, '--check-timeout', '10s', '--metrics', metrics]));
    await startAppMember('web-1', '127.0.0.71', lb.bind);
  }, 60_000);

  it('is named in the log — the path and what it answered — before the check timeout runs out', async () => {
    const failing = await agent.waitForLog('check.failing', (l) => l.event === 'check.failing' && l.server === 'web-1');
    expect(failing).toMatchObject({
      level: 'warn',
      backend: 'nodes',
      path: MISSING,
      check: 'L7STS 404',
      message: `404 on ${MISSING}: is --health-path right?`,
    });
    // Said at the first failed check, not at the end of --check-timeout (no timeout came before it).
    const lines = agent.logs();
    const at = lines.indexOf(lines.find((l) => l.event === 'check.failing')!);
    expect(lines.slice(0, at).filter((l) => l.event === 'check.timeout')).toEqual([]);
    expect(Number(failing.waitedMs)).toBeLessThan(10_000);
  }, 30_000);

  it('makes /healthz degraded (still 200: the agent works), with the reason; status and plan show it', async () => {
    const line = `nodes/web-1 L7STS 404: 404 on ${MISSING}: is --health-path right?`;
    const response = await fetch(`http://${metrics}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ ok: true, status: 'degraded', checks: [line] });
    const status = await haAgent(['status', '--runtime', haproxy.tcpUrl, '--metrics', metrics]);
    expect(status.stdout).toContain(`DEGRADED: health checks fail on 1 new server(s), which get no traffic:\n  ${line}\n`);
    const plan = await haAgent(['plan', ...flags()]);
    expect(plan.stdout).toContain(`DEGRADED: health checks fail on 1 new server(s), which get no traffic:\n  ${line}\n`);
    expect(await (await fetch(`http://${metrics}/metrics`)).text()).toMatch(/^ha_agent_checks_failing 1$/m);
  }, 30_000);

  it('repeats it when the check timeout runs out and the server is taken out', async () => {
    const timeout = await agent.waitForLog('check.timeout', (l) => l.event === 'check.timeout' && l.server === 'web-1', 30_000);
    expect(timeout).toMatchObject({ level: 'warn', check: 'L7STS 404', message: `404 on ${MISSING}: is --health-path right?` });
  }, 40_000);
});

describe('ha-agent reload into checks that every server UP now would fail', () => {
  const DEPLOYMENT = 'checks-reload-test';
  let haproxy: TestHaproxy;
  let lb: TestSerf;
  let agent: TestAgent;
  const servers = () => ask(haproxy, (c) => c.stat(haproxy.backend));
  const up = async () => (await servers()).filter((s) => s.status.startsWith('UP')).map((s) => s.name);

  beforeAll(async () => {
    haproxy = await startHaproxy({ masterWorker: true, deployment: DEPLOYMENT });
    lb = await startSerf({ name: 'lb', address: '127.0.0.1', tags: { role: 'lb' } });
    agent = startAgent(agentArgs(haproxy, lb.rpc, ['--deployment', DEPLOYMENT]));
    await startAppMember('web-1', '127.0.0.72', lb.bind);
    await startAppMember('web-2', '127.0.0.73', lb.bind);
    await waitFor('2 servers UP', async () => (await up()).length === 2, { timeoutMs: 30_000 });
    await waitFor('both in the rendered config', () => /server web-1 [^]*server web-2 /.test(readFileSync(haproxy.configPath, 'utf8')));
  }, 60_000);

  it('the running agent, on stale boot settings, tries the rendered checks: every server passes', async () => {
    const next = await agent.waitForLog('config.next-boot', (l) => l.event === 'config.next-boot');
    expect(next).toMatchObject({ level: 'info', checks: 'every server UP now passes the rendered checks' });
    const stale = agent.logs().find((l) => l.event === 'config.stale');
    expect(stale).toMatchObject({ level: 'warn', nextBoot: expect.stringContaining(`HAProxy's next boot reads ${haproxy.configPath}`) });
  }, 30_000);

  it('is refused with RELOAD_CHECKS_WOULD_FAIL, naming each server and what it answered; nothing changes', async () => {
    const config = readFileSync(haproxy.configPath, 'utf8');
    const pid = (await ask(haproxy, (c) => c.info())).pid;
    const result = await haAgent([
      'reload',
      ...haproxyArgs(haproxy),
      '--master-socket',
      haproxy.masterUrl,
      '--deployment',
      DEPLOYMENT,
      '--health-path',
      MISSING,
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('RELOAD_CHECKS_WOULD_FAIL');
    expect(result.stderr).toContain(`nodes: GET ${MISSING} expecting status 200 fails on 2 of 2 servers UP now`);
    expect(result.stderr).toMatch(/web-1 \(127\.0\.0\.72:\d+ answered 404\)/);
    expect(result.stderr).toMatch(/web-2 \(127\.0\.0\.73:\d+ answered 404\)/);
    expect(result.stdout).not.toContain('reloaded');
    expect((await ask(haproxy, (c) => c.info())).pid).toBe(pid);
    expect((await up()).sort()).toEqual(['web-1', 'web-2']);
    expect(readFileSync(haproxy.configPath, 'utf8')).toBe(config);
    expect(readFileSync(`${haproxy.configPath}.state`, 'utf8')).not.toContain('web-1'); // no state saved for a reload
  }, 60_000);

  it('the running agent given that path says a restart would put every server DOWN', async () => {
    await agent.process.stop('SIGTERM');
    agent = startAgent(agentArgs(haproxy, lb.rpc, ['--deployment', DEPLOYMENT, '--health-path', MISSING]));
    const next = await agent.waitForLog('config.next-boot', (l) => l.event === 'config.next-boot');
    expect(next).toMatchObject({
      level: 'warn',
      lost: ['nodes'],
      what: expect.stringContaining('would put every server of nodes DOWN'),
      failing: [expect.stringContaining(`nodes: GET ${MISSING} expecting status 200 fails on 2 of 2 servers UP now`)],
    });
    expect((await up()).sort()).toEqual(['web-1', 'web-2']); // the running HAProxy still checks /health
  }, 60_000);
});
