/**
 * A boot setting changed on a running setup (the health path, as a user whose app has no /health
 * would): HAProxy keeps what it read at boot, and the agent says so in its log, `status` and
 * `plan`, naming the setting old → new; HAProxy restarted from the re-rendered file clears it.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuntimeClient } from '../../src/runtime/client.js';
import { startAgent, type TestAgent } from '../helpers/agent.js';
import { haAgent } from '../helpers/cli.js';
import { startWebMember, type WebMember } from '../helpers/cluster.js';
import { freePort } from '../helpers/ports.js';
import { start, stopAll, type Started } from '../helpers/processes.js';
import { startSerf, type TestSerf } from '../helpers/serf.js';
import { waitFor } from '../helpers/wait.js';

const webs: WebMember[] = [];
let flags: string[];
let runtimeUrl: string;
let configOut: string;
let metrics: string;
let lb: TestSerf;
let haproxy: Started;

async function launchHaproxy(): Promise<Started> {
  const started = start('haproxy', ['-db', '-f', configOut]);
  await waitFor('haproxy', async () => {
    const client = new RuntimeClient({ url: runtimeUrl, connectTimeoutMs: 500 });
    try {
      return (await client.connect()).pid === started.pid;
    } catch {
      return false;
    } finally {
      await client.close();
    }
  });
  return started;
}

const runAgent = (healthPath: string): TestAgent =>
  startAgent(['run', ...flags, '--health-path', healthPath, '--serf', lb.rpc, '--resync', '1s', '--metrics', metrics]);
const status = async () => (await haAgent(['status', '--runtime', runtimeUrl, '--metrics', metrics])).stdout;
const plan = async (healthPath: string) => (await haAgent(['plan', ...flags, '--health-path', healthPath, '--serf', lb.rpc])).stdout;

afterAll(async () => {
  await Promise.all(webs.map((w) => w.web.close()));
  await stopAll();
});

describe('a boot setting changed on a running setup', () => {
  let agent: TestAgent;

  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ha-agent-stale-'));
    configOut = path.join(dir, 'haproxy.cfg');
    const runtimePort = await freePort();
    runtimeUrl = `tcp://127.0.0.1:${runtimePort}`;
    metrics = `127.0.0.1:${await freePort()}`;
    flags = ['--config-out', configOut, '--runtime', runtimeUrl, '--frontend-bind', `127.0.0.1:${await freePort()}`];
    expect((await haAgent(['render', ...flags])).code).toBe(0);
    haproxy = await launchHaproxy();
    lb = await startSerf({ name: 'lb', address: '127.0.0.1', tags: { role: 'lb' } });
    webs.push(await startWebMember('web-1', '127.0.0.61', lb.bind));
    agent = runAgent('/health');
    const verified = await agent.waitForLog('verified', (l) => l.event === 'runtime.verified');
    expect(verified).toMatchObject({ stale: false });
    await agent.waitForLog('web-1 joined', (l) => l.event === 'action.finished' && l.server === 'web-1');
    expect(await status()).not.toContain('STALE');
  });

  it('is named old → new in the log, status and plan, with the command that applies it', async () => {
    await agent.process.stop('SIGTERM');
    agent = runAgent('/');
    const stale = await agent.waitForLog('config.stale', (l) => l.event === 'config.stale');
    expect(stale).toMatchObject({ level: 'warn', address: runtimeUrl, pid: haproxy.pid, changes: ['backend.healthPath: /health → /'] });
    expect(String(stale.apply)).toContain(`restart HAProxy so that it boots from ${configOut}`);
    // The file is re-rendered for the next boot; the running HAProxy still checks /health.
    await waitFor('re-rendered', () => readFileSync(configOut, 'utf8').includes('option httpchk GET /\n'));
    await waitFor('status shows it', async () => (await status()).includes('STALE'));
    const warning =
      'STALE: HAProxy runs settings it read at boot that differ from the rendered ones:\n' + '  backend.healthPath: /health → /\n';
    expect(await status()).toContain(`${warning}  apply them: restart HAProxy`);
    expect(await plan('/')).toContain(`\n${warning}`);
    const text = await (await fetch(`http://${metrics}/metrics`)).text();
    expect(text).toContain('ha_agent_config_stale 1');
    expect(agent.logs().filter((l) => l.event === 'config.stale')).toHaveLength(1); // once, not every resync
  });

  it('goes once HAProxy restarts from the re-rendered config', async () => {
    await haproxy.stop('SIGTERM');
    haproxy = await launchHaproxy();
    const verified = await agent.waitForLog('verified again', (l) => l.event === 'runtime.verified' && l.pid === haproxy.pid);
    expect(verified).toMatchObject({ stale: false });
    await waitFor('status clear', async () => !(await status()).includes('STALE'));
    expect(await plan('/')).not.toContain('STALE');
    expect(await (await fetch(`http://${metrics}/metrics`)).text()).toContain('ha_agent_config_stale 0');
    expect(agent.logs().filter((l) => l.event === 'config.stale')).toHaveLength(1);
  });
});
