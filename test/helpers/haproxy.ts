/** A real haproxy on free loopback ports, booted from the project's own template. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultServerPolicy, type Server } from '../../src/model/server.js';
import { compileTemplate, type ConfigModel } from '../../src/render/template.js';
import { RuntimeClient } from '../../src/runtime/client.js';
import { freePort } from './ports.js';
import { start, type Started } from './processes.js';
import { waitFor } from './wait.js';

export const templatePath = path.resolve(import.meta.dirname, '../../ha/config/haproxy.cfg.hbs');

/**
 * An image to run haproxy from instead of the host's binary (e.g. `ha-agent/ha`, HAProxy 3.0), on the
 * host network; its PID is not the client's, so the Runtime API's PID is not compared then.
 */
const image = process.env.HA_AGENT_TEST_HAPROXY_IMAGE || undefined;

function startBinary(dir: string, configPath: string): Started {
  if (image === undefined) return start('haproxy', ['-db', '-f', configPath]);
  const name = `ha-agent-test-haproxy-${process.pid}-${Date.now()}`;
  const remove = () => {
    try {
      execFileSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
    } catch {
      // Already gone (or no Docker engine to ask): nothing left to remove.
    }
  };
  // Killing the docker client leaves its container running: remove it by name, also if the test dies.
  process.once('exit', remove);
  const args = ['run', '--rm', '--name', name, '--network', 'host', '-v', `${dir}:${dir}`, '--entrypoint', 'haproxy', image];
  args.push('-db', '-f', configPath);
  const started = start('docker', args);
  return {
    ...started,
    stop: async (signal) => {
      remove();
      await started.stop(signal);
    },
  };
}

export interface TestHaproxy {
  process: Started;
  dir: string;
  configPath: string;
  backend: string;
  frontendUrl: string;
  tcpUrl: string;
  unixUrl: string;
  model: ConfigModel;
  /** SIGKILL, then start again from `configPath` (which may have been re-rendered meanwhile). */
  restart: () => Promise<void>;
}

export async function startHaproxy(
  options: { servers?: Server[]; backend?: string; sticky?: ConfigModel['backend']['sticky'] } = {},
): Promise<TestHaproxy> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ha-agent-haproxy-'));
  const [tcpPort, frontendPort] = [await freePort(), await freePort()];
  const backend = options.backend ?? 'nodes';
  const model: ConfigModel = {
    runtime: { unixSocket: path.join(dir, 'admin.sock'), tcp: `127.0.0.1:${tcpPort}` },
    frontend: { bind: `127.0.0.1:${frontendPort}` },
    backend: { name: backend, balance: 'roundrobin', healthPath: '/health', sticky: options.sticky },
    policy: defaultServerPolicy,
    servers: options.servers ?? [],
  };
  const configPath = path.join(dir, 'haproxy.cfg');
  writeFileSync(configPath, compileTemplate(readFileSync(templatePath, 'utf8'))(model));
  const tcpUrl = `tcp://127.0.0.1:${tcpPort}`;
  const launch = async () => {
    const started = startBinary(dir, configPath);
    await waitFor('haproxy runtime API', async () => {
      const client = new RuntimeClient({ url: tcpUrl, connectTimeoutMs: 500 });
      try {
        const { pid } = await client.connect();
        return image !== undefined || pid === started.pid;
      } finally {
        await client.close();
      }
    });
    return started;
  };
  const handle: TestHaproxy = {
    process: await launch(),
    dir,
    configPath,
    backend,
    frontendUrl: `http://127.0.0.1:${frontendPort}`,
    tcpUrl,
    unixUrl: `unix://${model.runtime.unixSocket}`,
    model,
    restart: async () => {
      await handle.process.stop('SIGKILL');
      handle.process = await launch();
    },
  };
  return handle;
}
