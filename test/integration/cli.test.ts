import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHaproxy, type TestHaproxy } from '../helpers/haproxy.js';
import { startHttpBackend, type HttpBackend } from '../helpers/http-backend.js';
import { haAgent } from '../helpers/cli.js';
import { stopAll } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';

let haproxy: TestHaproxy;
let web: HttpBackend;

beforeAll(async () => {
  web = await startHttpBackend('w1', '127.0.0.3');
  haproxy = await startHaproxy({
    servers: [
      { name: 'web-1', address: web.address, port: web.port, weight: 100 },
      { name: 'web-2', address: '127.0.0.4', port: 1, weight: 7 },
    ],
  });
});

afterAll(async () => {
  await web.close();
  await stopAll();
});

describe('ha-agent status', () => {
  it('prints one JSON object per server with the documented keys', async () => {
    await waitFor('web-1 UP', async () => {
      const { stdout } = await haAgent(['status', '--json', '--runtime', haproxy.tcpUrl]);
      return (JSON.parse(stdout) as Array<{ name: string; state: string }>).find((row) => row.name === 'web-1')?.state.startsWith('UP');
    });
    const result = await haAgent(['status', '--json', '--runtime', haproxy.unixUrl, '--backend', haproxy.backend]);
    expect(result.code).toBe(0);
    const rows = JSON.parse(result.stdout) as unknown;
    expect(rows).toEqual([
      expect.objectContaining({
        backend: 'nodes',
        name: 'web-1',
        address: web.address,
        port: web.port,
        state: expect.stringMatching(/^UP/),
        sessions: 0,
        weight: 100,
      }),
      expect.objectContaining({ backend: 'nodes', name: 'web-2', address: '127.0.0.4', port: 1, weight: 7 }),
    ]);
  });

  it('prints a readable table, taking the address from HA_AGENT_RUNTIME', async () => {
    const result = await haAgent(['status'], { HA_AGENT_RUNTIME: haproxy.tcpUrl });
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^BACKEND\s+NAME\s+ADDRESS\s+STATE\s+CHECK\s+SESSIONS\s+WEIGHT$/);
    expect(lines.find((line) => line.includes('web-1'))).toMatch(new RegExp(`^nodes\\s+web-1\\s+127\\.0\\.0\\.3:${web.port}\\s+UP`));
  });

  it('traces each command, its answer and its latency to stderr', async () => {
    const result = await haAgent(['status', '--trace', '--runtime', haproxy.tcpUrl]);
    expect(result.stderr).toMatch(/^> show info {2}\(\d+\.\d ms\)$/m);
    expect(result.stderr).toMatch(/^> show stat -1 4 -1 {2}\(\d+\.\d ms\)$/m);
    expect(result.stderr).toMatch(/^< # pxname,svname/m);
  });

  it('says which address it tried when the socket is unreachable', async () => {
    const result = await haAgent(['status', '--runtime', 'tcp://127.0.0.1:1']);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      "ha-agent status: RUNTIME_CONNECT_FAILED: cannot connect to HAProxy's Runtime API at tcp://127.0.0.1:1: ECONNREFUSED",
    ]);
  });

  it('refuses an unknown flag with a usage error', async () => {
    const result = await haAgent(['status', '--bogus']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("Unknown option '--bogus'");
  });
});

describe('ha-agent exec', () => {
  it('prints the answers to several commands verbatim', async () => {
    const result = await haAgent(['exec', '--runtime', haproxy.tcpUrl, '--', `show servers state ${haproxy.backend};show info`]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^1\n# be_id be_name/);
    expect(result.stdout).toContain(`Pid: ${haproxy.process.pid}\n`);
  });

  it('prints a refusal verbatim too', async () => {
    const result = await haAgent(['exec', '--runtime', haproxy.tcpUrl, '--', 'del', 'server', 'nodes/ghost']);
    expect(result).toMatchObject({ code: 0, stdout: 'No such server.\n' });
  });

  it('refuses CR and LF', async () => {
    const result = await haAgent(['exec', '--runtime', haproxy.tcpUrl, '--', 'show info\nshutdown sessions server nodes/web-1']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('RUNTIME_INVALID_ARGUMENT');
  });
});

describe('--help', () => {
  it.each(['status', 'exec'])('is there for %s', async (name) => {
    const result = await haAgent([name, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^Usage: ha-agent ${name}`));
    expect(result.stdout).toContain('--runtime URL');
    expect(result.stdout).toContain('HA_AGENT_RUNTIME');
  });
});
