/** `ha-agent plan`, `run --dry-run`, start-up validation, and `handle` as a real Serf event handler. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RuntimeClient } from '../../src/runtime/client.js';
import { agentArgs, startAgent } from '../helpers/agent.js';
import { binPath, haAgent } from '../helpers/cli.js';
import { startWebMember, type WebMember } from '../helpers/cluster.js';
import { startHaproxy, templatePath, type TestHaproxy } from '../helpers/haproxy.js';
import { startHttpBackend, type HttpBackend } from '../helpers/http-backend.js';
import { freePort } from '../helpers/ports.js';
import { stopAll } from '../helpers/processes.js';
import { startSerf, type TestSerf } from '../helpers/serf.js';
import { waitFor } from '../helpers/wait.js';

const webs: WebMember[] = [];
const backends: HttpBackend[] = [];
const clients: RuntimeClient[] = [];

async function connect(url: string): Promise<RuntimeClient> {
  const client = new RuntimeClient({ url });
  clients.push(client);
  await client.connect();
  return client;
}

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all([...webs.map((w) => w.web), ...backends].map((w) => w.close()));
  await stopAll();
});

describe('plan, dry run and start-up validation', () => {
  let haproxy: TestHaproxy;
  let lb: TestSerf;

  beforeAll(async () => {
    haproxy = await startHaproxy();
    lb = await startSerf({ name: 'lb-a', address: '127.0.0.1', tags: { role: 'lb' } });
    webs.push(await startWebMember('web-a1', '127.0.0.31', lb.bind));
    await startSerf({ name: 'evil;x', address: '127.0.0.33', join: lb.bind, tags: { role: 'backend' } });
    await waitFor(
      'members joined',
      async () => (await haAgent(['plan', '--runtime', haproxy.tcpUrl, '--serf', lb.rpc])).stdout.includes('evil'),
      { timeoutMs: 15_000 },
    );
  });

  it('prints desired, actual and the steps, and changes nothing', async () => {
    const result = await haAgent(['plan', '--runtime', haproxy.tcpUrl, '--serf', lb.rpc]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Desired \(alive members with role=backend\):\nNAME\s+ADDRESS\s+PORT\s+WEIGHT\nweb-a1\s+127\.0\.0\.31/);
    expect(result.stdout).toContain('  rejected "evil;x": name: must be 1-64 characters');
    expect(result.stdout).toContain('join web-a1 (member is alive)\n  add server nodes/web-a1 127.0.0.31:');
    const runtime = await connect(haproxy.tcpUrl);
    expect(await runtime.serversState(haproxy.backend)).toEqual([]);
  });

  it('logs the commands a dry run would send, and sends none', async () => {
    const before = readFileSync(haproxy.configPath, 'utf8');
    const agent = startAgent(agentArgs(haproxy, lb.rpc, ['--dry-run']));
    const line = await agent.waitForLog(
      'dry-run step',
      (l) => l.event === 'dry-run.step' && String(l.step).startsWith('join web-a1: add server nodes/web-a1'),
    );
    expect(line.level).toBe('info');
    await agent.process.stop('SIGTERM');
    expect(await agent.process.exited).toBe(0);
    const runtime = await connect(haproxy.tcpUrl);
    expect(await runtime.serversState(haproxy.backend)).toEqual([]);
    expect(readFileSync(haproxy.configPath, 'utf8')).toBe(before);
    expect(agent.logs().some((l) => l.event === 'step.finished')).toBe(false);
  });

  it.each([
    [['--drain-timeout', 'ten'], "--drain-timeout: 'ten' is not a duration like 500ms, 10s or 2m"],
    [['--serf', 'nowhere'], "--serf: invalid Serf RPC address 'nowhere'"],
    [['--backend', 'a;b'], '--backend: must be 1-64 characters'],
    [['--runtime', 'http://x'], '--runtime: invalid runtime address'],
    [['--default-port', '70000'], "--default-port: '70000' must be a whole number 1-65535"],
    [['--log-format', 'xml'], '--log-format:'],
    [['--frontend-bind', '*:80 ssl'], 'refused to render haproxy.cfg: frontend.bind'],
    [['--sticky', 'sometimes'], '--sticky: Invalid option'],
    [['--retry-stalled-after', '500ms'], "--retry-stalled-after: '500ms' must be from 1s to 30s"],
    [['--sticky', 'cookie', '--sticky-key', 'a key'], 'refused to render haproxy.cfg: backend.sticky.key'],
  ])('refuses %j at start with one clear line', async (args, message) => {
    const result = await haAgent(['run', ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(message);
  });

  it('takes every flag from the environment too', async () => {
    const result = await haAgent(['run'], { HA_AGENT_DRAIN_TIMEOUT: 'soon' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--drain-timeout: 'soon'");
  });
});

describe('ha-agent handle as a real Serf event handler', () => {
  let haproxy: TestHaproxy;
  let lb: TestSerf;
  let runtime: RuntimeClient;

  /** web-b1 joins, and the handler Serf runs adds it. */
  async function joinWebB1(): Promise<WebMember> {
    const web = await startWebMember('web-b1', '127.0.0.32', lb.bind);
    webs.push(web);
    const up = async () => (await runtime.stat(haproxy.backend)).find((s) => s.name === 'web-b1')?.status.startsWith('UP');
    await waitFor('web-b1 UP', up, { timeoutMs: 20_000 });
    return web;
  }

  afterEach(async () => {
    await Promise.all([...webs.splice(0).map((w) => w.web), ...backends.splice(0)].map((w) => w.close()));
    await stopAll();
  });

  // Each test gets its own haproxy and balancer Serf agent: none relies on what another left behind.
  beforeEach(async () => {
    haproxy = await startHaproxy();
    const rpcPort = await freePort();
    const handler = [
      process.execPath,
      binPath,
      'handle',
      '--runtime',
      haproxy.tcpUrl,
      '--serf',
      `127.0.0.1:${rpcPort}`,
      '--backend',
      haproxy.backend,
      '--config-out',
      haproxy.configPath,
      '--frontend-bind',
      haproxy.model.frontend.bind,
      '--runtime-socket',
      haproxy.model.runtime.unixSocket!,
    ].join(' ');
    lb = await startSerf({
      name: 'lb-b',
      address: '127.0.0.1',
      rpcPort,
      tags: { role: 'lb' },
      config: { event_handlers: [`member-join,member-leave,member-failed,member-update,member-reap=${handler}`] },
    });
    runtime = await connect(haproxy.tcpUrl);
  });

  it('adds a joining member and serves through it', async () => {
    await joinWebB1();
    const response = await fetch(`${haproxy.frontendUrl}/`);
    expect(response.headers.get('x-backend')).toBe('web-b1');
    await waitFor('config with web-b1', () => /server web-b1 127\.0\.0\.32:\d+ check/.test(readFileSync(haproxy.configPath, 'utf8')), {
      timeoutMs: 5_000,
    });
  });

  it('drains and deletes a member that leaves', async () => {
    await (await joinWebB1()).serf.leave();
    await waitFor('web-b1 deleted', async () => (await runtime.serversState(haproxy.backend)).length === 0, { timeoutMs: 20_000 });
    // The config is written while the drain runs; `haproxy -c` may finish just after the delete.
    await waitFor('config without web-b1', () => !readFileSync(haproxy.configPath, 'utf8').includes('server web-b1'), { timeoutMs: 5_000 });
  });

  it('without a reachable Serf RPC, applies the lines on stdin, rejecting a hostile one', async () => {
    const web = await startHttpBackend('web-a1', '127.0.0.31');
    backends.push(web);
    const lines = [
      `x;shutdown\t127.0.0.9\tbackend\trole=backend,port=3000`,
      `web-a1\t${web.address}\tbackend\trole=backend,port=${web.port}`,
    ].join('\n');
    const result = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [binPath, 'handle', '--runtime', haproxy.tcpUrl, '--serf', '127.0.0.1:1', '--check-inter', '200ms'],
        { env: { ...process.env, SERF_EVENT: 'member-join' } },
      );
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.on('exit', (code) => resolve({ code, stdout }));
      child.stdin.end(`${lines}\n`);
    });
    expect(result.code).toBe(0);
    const logs = result.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string });
    expect(logs.find((l) => l.event === 'handle.no-rpc')).toBeDefined();
    expect(logs.find((l) => l.event === 'member.rejected')).toMatchObject({ member: '"x;shutdown"' });
    expect((await runtime.serversState(haproxy.backend)).map((s) => s.name)).toEqual(['web-a1']);
  });
});

describe('render with the default template and with a user one', () => {
  it("renders a user's --template (compiled at start) as the default one (precompiled) plus the user's line", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ha-agent-template-'));
    try {
      const template = path.join(dir, 'mine.hbs');
      writeFileSync(template, `${readFileSync(templatePath, 'utf8')}# served by {{backends.0.name}}\n`);
      const precompiled = await haAgent(['render', '--slots', '2']);
      const compiled = await haAgent(['render', '--slots', '2', '--template', template]);
      expect([precompiled.code, compiled.code]).toEqual([0, 0]);
      expect(precompiled.stdout).toContain('server slot2 0.0.0.0:');
      expect(compiled.stdout).toBe(`${precompiled.stdout}# served by nodes\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
