/**
 * `ha-agent reload` with real processes: a master-worker haproxy (`-W -S`, as the images run it), Serf,
 * `ha-agent run` and the lab's web app. Under continuous load, with a long response in flight, a server
 * with its own weight, one whose checks found it DOWN and one in MAINT (joining, its first check not yet
 * passed), a planned reload loses no request, the new worker starts with every server's weight, state and health, the old worker finishes the long response,
 * and the running agent follows the new worker without changing anything. HAProxy is the host's (2.6).
 * HAProxy 3.0 is reloaded for real in the e2e (test/e2e/compose.test.ts, in its container): the binary
 * scripts/haproxy-from-image.sh extracts runs through the image's loader, and a 3.0 master re-executes
 * itself through /proc/self/exe, which is that loader without its library path.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStream, startLoad, type Load } from '../../src/lab/demo/load.js';
import { RuntimeClient } from '../../src/runtime/client.js';
import { agentArgs, haproxyArgs, startAgent, type TestAgent } from '../helpers/agent.js';
import { haAgent } from '../helpers/cli.js';
import { startAppMember, type AppMember } from '../helpers/cluster.js';
import { askFresh, startHaproxy, type TestHaproxy } from '../helpers/haproxy.js';
import { stopAll } from '../helpers/processes.js';
import { startSerf, type TestSerf } from '../helpers/serf.js';
import { waitFor } from '../helpers/wait.js';

const DEPLOYMENT = 'reload-test';
let haproxy: TestHaproxy;
let lb: TestSerf;
let agent: TestAgent;
let members: AppMember[] = [];
let load: Load | undefined;
let joining: TestSerf;

/** A fresh connection each time: after a reload it reaches the new worker. */
const ask = <T>(work: (client: RuntimeClient) => Promise<T>): Promise<T> => askFresh(haproxy.tcpUrl, work);
const servers = () => ask((c) => c.stat(haproxy.backend));
const reloadArgs = (deployment: string) => [
  'reload',
  ...haproxyArgs(haproxy),
  '--master-socket',
  haproxy.masterUrl,
  '--deployment',
  deployment,
];

beforeAll(async () => {
  haproxy = await startHaproxy({ masterWorker: true, deployment: DEPLOYMENT });
  lb = await startSerf({ name: 'lb', address: '127.0.0.1', tags: { role: 'lb' } });
  // A long --check-timeout keeps web-4 (nothing listens on its port) in MAINT, waiting for its first check.
  agent = startAgent(agentArgs(haproxy, lb.rpc, ['--deployment', DEPLOYMENT, '--check-timeout', '120s']));
  members = [
    await startAppMember('web-1', '127.0.0.51', lb.bind),
    await startAppMember('web-2', '127.0.0.52', lb.bind, { weight: '30' }),
    await startAppMember('web-3', '127.0.0.53', lb.bind),
  ];
  await waitFor('3 servers UP', async () => (await servers()).filter((s) => s.status.startsWith('UP')).length === 3, { timeoutMs: 30_000 });
  // web-3's app dies while its Serf agent stays: its server stays in the backend, and checks mark it DOWN.
  await members[2]!.app.stop('SIGKILL');
  await waitFor('web-3 DOWN', async () => (await servers()).find((s) => s.name === 'web-3')?.status === 'DOWN', { timeoutMs: 20_000 });
  joining = await startSerf({ name: 'web-4', address: '127.0.0.54', join: lb.bind, tags: { role: 'backend', port: '9' } });
  await waitFor('web-4 in MAINT', async () => (await servers()).find((s) => s.name === 'web-4')?.status === 'MAINT', { timeoutMs: 20_000 });
}, 120_000);

afterAll(async () => {
  await load?.stop();
  await stopAll();
});

describe('ha-agent reload (master-worker HAProxy)', () => {
  it('under load: loses no request, and the new worker keeps every weight, state and health', async () => {
    const before = await ask((c) => c.info());
    expect(agent.logs().some((l) => l.event === 'config.stale')).toBe(true); // the boot config's settings are not the agent's
    load = startLoad(haproxy.frontendUrl);
    await waitFor('load running', () => load!.outcomes.length > 50);
    const stream = await openStream(haproxy.frontendUrl, 3_000);
    const from = Date.now();
    const result = await haAgent(reloadArgs(DEPLOYMENT));
    expect(result.stderr).not.toMatch(/"level":"(warn|error)"/);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^reloaded: HAProxy worker \d+ → \d+ in \d+ ms; 4 servers in nodes, each with its address, weight/);
    // At once (before any check of the new worker could have run): the states came from the state file.
    const after = await servers();
    expect(after.map((s) => [s.name, s.weight, s.status.replace(/ .*/, '')])).toEqual([
      ['web-1', 100, 'UP'],
      ['web-2', 30, 'UP'],
      ['web-3', 100, 'DOWN'],
      ['web-4', 100, 'MAINT'],
    ]);
    const info = await ask((c) => c.info());
    expect(info.pid).not.toBe(before.pid);
    expect(readFileSync(`${haproxy.configPath}.state`, 'utf8')).toBe('1\n'); // used, then emptied
    expect(await stream.done).toBe(true); // the old worker finished it
    await waitFor('a second of load after the reload', () => load!.outcomes.some((o) => o.at > Date.now() - 100 && o.at > from + 1000));
    const window = load.window(from);
    expect(window.failed, window.errors.join('; ')).toBe(0);
    expect(window.requests).toBeGreaterThan(100);
  }, 60_000);

  it('the running agent follows the new worker, finds its own settings there, and changes nothing', async () => {
    const pid = (await ask((c) => c.info())).pid;
    await agent.waitForLog('agent on the new worker', (l) => l.event === 'runtime.connected' && l.pid === pid);
    const since = agent.logs().length;
    await agent.waitForPasses(2);
    const later = agent.logs().slice(since);
    expect(later.filter((l) => l.event === 'plan.action')).toEqual([]);
    expect(later.filter((l) => l.event === 'config.stale')).toEqual([]); // the reload booted the agent's settings
    expect((await servers()).map((s) => s.name)).toEqual(['web-1', 'web-2', 'web-3', 'web-4']);
    expect(joining.process.child.exitCode).toBe(null);
  }, 60_000);

  it('refuses an HAProxy of another deployment, writing and reloading nothing', async () => {
    const config = readFileSync(haproxy.configPath, 'utf8');
    const pid = (await ask((c) => c.info())).pid;
    const result = await haAgent(reloadArgs('someone-else'));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('RELOAD_NOT_OURS');
    expect(readFileSync(haproxy.configPath, 'utf8')).toBe(config);
    expect((await ask((c) => c.info())).pid).toBe(pid);
  });
});
