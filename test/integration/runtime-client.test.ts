import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultServerPolicy } from '../../src/model/server.js';
import { RuntimeClient, type TraceEvent } from '../../src/runtime/client.js';
import * as cmd from '../../src/runtime/commands.js';
import { startHaproxy, type TestHaproxy } from '../helpers/haproxy.js';
import { startHttpBackend, type HttpBackend } from '../helpers/http-backend.js';
import { start, stopAll } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';

let haproxy: TestHaproxy;
let web: HttpBackend;
const clients: RuntimeClient[] = [];

function client(url: string, options: Partial<ConstructorParameters<typeof RuntimeClient>[0]> = {}): RuntimeClient {
  const made = new RuntimeClient({ url, reconnectStrategy: () => 100, ...options });
  clients.push(made);
  return made;
}

beforeAll(async () => {
  haproxy = await startHaproxy();
  web = await startHttpBackend('w1', '127.0.0.2');
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await web.close();
  await stopAll();
});

describe.each(['tcp', 'unix'] as const)('RuntimeClient over %s against a real HAProxy', (transport) => {
  it('adds a server, serves a request through it, drains, maintains and deletes it', async () => {
    const runtime = client(transport === 'tcp' ? haproxy.tcpUrl : haproxy.unixUrl);
    await runtime.connect();
    const be = haproxy.backend;
    const name = `w1-${transport}`;
    const spec = { address: web.address, port: web.port, weight: 100, policy: defaultServerPolicy };

    expect(await runtime.run(cmd.addServer(be, name, spec))).toBe('New server registered.');
    await runtime.run(cmd.enableHealth(be, name));
    await waitFor('first passing check', async () => (await runtime.stat(be)).find((s) => s.name === name)?.checkStatus === 'L7OK');
    expect((await runtime.stat(be)).find((s) => s.name === name)?.status).toBe('MAINT');
    await runtime.run(cmd.setState(be, name, 'ready'));

    const before = web.requests();
    const response = await fetch(`${haproxy.frontendUrl}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-backend')).toBe('w1');
    expect(web.requests()).toBe(before + 1);

    await runtime.run(cmd.setState(be, name, 'drain'));
    expect((await runtime.stat(be)).find((s) => s.name === name)?.status).toMatch(/^DRAIN/);
    await runtime.run(cmd.setState(be, name, 'maint'));
    await runtime.run(cmd.shutdownSessions(be, name));
    // Idle pooled connections are purged asynchronously after maint: HAProxy may refuse once.
    const deleted = await waitFor('del server accepted', () =>
      runtime.run(cmd.delServer(be, name)).catch((error: { code?: string }) => {
        if (error.code !== 'RUNTIME_SERVER_HAS_CONNECTIONS') throw error;
        return undefined;
      }),
    );
    expect(deleted).toBe('Server deleted.');
    expect((await runtime.serversState(be)).map((s) => s.name)).not.toContain(name);
  });
});

describe('RuntimeClient failure handling', () => {
  it('refuses a hostile name before anything reaches the socket', async () => {
    const runtime = client(haproxy.tcpUrl);
    await runtime.connect();
    const sent: TraceEvent[] = [];
    runtime.on('trace', (event) => sent.push(event));
    expect(() => cmd.setState(haproxy.backend, 'x;shutdown sessions server nodes/s1', 'maint')).toThrow(
      expect.objectContaining({ code: 'RUNTIME_INVALID_ARGUMENT' }),
    );
    expect(() => cmd.raw('show info\nshow stat')).toThrow(expect.objectContaining({ code: 'RUNTIME_INVALID_ARGUMENT' }));
    await expect(runtime.send({ ...cmd.showInfo(), text: `show info ${'x'.repeat(20_000)}` })).rejects.toMatchObject({
      code: 'RUNTIME_COMMAND_TOO_LONG',
    });
    expect(sent).toEqual([]);
  });

  it('maps a refusal to a typed error carrying the command and the answer', async () => {
    const runtime = client(haproxy.tcpUrl);
    await runtime.connect();
    await expect(runtime.run(cmd.delServer(haproxy.backend, 'ghost'))).rejects.toMatchObject({
      code: 'RUNTIME_NO_SUCH_SERVER',
      command: `del server ${haproxy.backend}/ghost`,
      answer: 'No such server.',
      address: haproxy.tcpUrl,
    });
  });

  it('pipelines many commands and reports each outcome', async () => {
    const runtime = client(haproxy.tcpUrl);
    await runtime.connect();
    const spec = { address: '127.0.0.9', port: 9, weight: 1, policy: defaultServerPolicy };
    const names = Array.from({ length: 50 }, (_, i) => `p${i}`);
    const added = await runtime.runMany([
      ...names.map((n) => cmd.addServer(haproxy.backend, n, spec)),
      cmd.addServer(haproxy.backend, 'p0', spec),
    ]);
    expect(added.slice(0, 50).every((r) => r.status === 'fulfilled')).toBe(true);
    expect(added[50]).toMatchObject({ status: 'rejected', reason: { code: 'RUNTIME_SERVER_EXISTS' } });
    const deleted = await runtime.runMany(names.map((n) => cmd.delServer(haproxy.backend, n)));
    expect(deleted.every((r) => r.status === 'fulfilled')).toBe(true);
  });

  // The tests that kill or reload HAProxy get one of their own, so the others never see it down.
  it('reconnects by itself after HAProxy is killed and started again, failing fast meanwhile', async () => {
    const haproxy = await startHaproxy();
    const runtime = client(haproxy.tcpUrl);
    runtime.start();
    const first = await waitFor('first connection', () => runtime.connected && runtime.pid);
    const restarted = new Promise<{ previousPid: number; pid: number }>((resolve) => runtime.once('restarted', resolve));
    const disconnected = new Promise((resolve) => runtime.once('disconnected', resolve));

    await haproxy.process.stop('SIGKILL');
    await disconnected;
    const startedAt = performance.now();
    await expect(runtime.run(cmd.setState(haproxy.backend, 'any', 'ready'))).rejects.toMatchObject({ code: 'RUNTIME_DISCONNECTED' });
    expect(performance.now() - startedAt).toBeLessThan(1_000); // failed fast, not after a timeout

    await haproxy.restart();
    const event = await restarted;
    expect(event).toEqual({ previousPid: first, pid: haproxy.process.pid });
    expect((await runtime.info()).pid).toBe(haproxy.process.pid);
  });

  it('leaves a reloaded (stopping) process and reconnects to the new one', async () => {
    const haproxy = await startHaproxy();
    const runtime = client(haproxy.tcpUrl, { heartbeatMs: 200 });
    runtime.start();
    const oldPid = await waitFor('first connection', () => runtime.connected && runtime.pid);
    const restarted = new Promise<{ previousPid: number; pid: number }>((resolve) => runtime.once('restarted', resolve));
    const reloaded = start('haproxy', ['-db', '-f', haproxy.configPath, '-sf', String(oldPid)]);
    const event = await restarted;
    expect(event).toEqual({ previousPid: oldPid, pid: reloaded.pid });
    expect((await runtime.info()).stopping).toBe(false);
    // The old process exits once no connection holds it.
    await waitFor('old process exit', () => haproxy.process.child.exitCode !== null || haproxy.process.child.signalCode !== null);
    haproxy.process = reloaded;
  });

  it('times out a silent peer and drops the connection', async () => {
    const blackHole = net.createServer(() => undefined);
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    const { port } = blackHole.address() as net.AddressInfo;
    const runtime = client(`tcp://127.0.0.1:${port}`, { responseTimeoutMs: 300 });
    await expect(runtime.connect()).rejects.toMatchObject({ code: 'RUNTIME_RESPONSE_TIMEOUT', address: `tcp://127.0.0.1:${port}` });
    expect(runtime.connected).toBe(false);
    blackHole.close();
  });

  it('says which address it tried when nothing listens', async () => {
    const runtime = client('tcp://127.0.0.1:1');
    await expect(runtime.connect()).rejects.toMatchObject({
      code: 'RUNTIME_CONNECT_FAILED',
      message: expect.stringContaining('tcp://127.0.0.1:1'),
    });
  });
});
