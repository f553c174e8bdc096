/** A real haproxy on free loopback ports, booted from the project's own template. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultServerPolicy, type Server } from '../../src/model/server.js';
import { routingMaps } from '../../src/render/routes.js';
import { ensureServerStateFile } from '../../src/render/server-state.js';
import { compileTemplate } from '../../src/render/compile.js';
import type { ConfigModel } from '../../src/render/template.js';
import { RuntimeClient } from '../../src/runtime/client.js';
import { freePort } from './ports.js';
import { start, type Started } from './processes.js';
import { waitFor } from './wait.js';

export const templatePath = path.resolve(import.meta.dirname, '../../ha/config/haproxy.cfg.hbs');

export interface TestHaproxy {
  process: Started;
  dir: string;
  configPath: string;
  backend: string;
  frontendUrl: string;
  tcpUrl: string;
  unixUrl: string;
  /** With `masterWorker`: the master CLI (`-S`), which `ha-agent reload` talks to. */
  masterUrl: string;
  model: ConfigModel;
  /** SIGKILL, then start again from `configPath` (which may have been re-rendered meanwhile). */
  restart: () => Promise<void>;
}

/** The binary under test: `haproxy` (the host's 2.6), or HAPROXY_BIN to run a file against another version. */
export const haproxyBin = process.env.HAPROXY_BIN || 'haproxy';

/**
 * `extraConfig` is appended to the rendered file, for sections a test needs beyond the template's.
 * `masterWorker`: `haproxy -W -S` as the images run it, with a server-state file beside the config.
 * `deployment`: the config carries this id (with a settings fingerprint no agent computes: stale).
 */
export async function startHaproxy(
  options: {
    servers?: Server[];
    backend?: string;
    extraConfig?: string;
    sticky?: ConfigModel['backend']['sticky'];
    /** Backends of services (their routes start empty: the agent adds them at runtime). */
    services?: string[];
    masterWorker?: boolean;
    deployment?: string;
    /** The path the backend's checks ask (default /health): the agent's `--health-path` must match it. */
    healthPath?: string;
    /** Another binary than `haproxyBin` (the image's 3.0 in the same run as the host's 2.6). */
    bin?: string;
    /** The agent's `--retry-stalled-after`, in ms (default: none, the template's 30 s). */
    retryStalledAfterMs?: number;
  } = {},
): Promise<TestHaproxy> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ha-agent-haproxy-'));
  const [tcpPort, frontendPort] = [await freePort(), await freePort()];
  const backend = options.backend ?? 'nodes';
  const model: ConfigModel = {
    runtime: { unixSocket: path.join(dir, 'admin.sock'), tcp: `127.0.0.1:${tcpPort}` },
    frontend: { bind: `127.0.0.1:${frontendPort}` },
    backend: { name: backend, balance: 'roundrobin', healthPath: options.healthPath ?? '/health', sticky: options.sticky },
    policy: defaultServerPolicy,
    servers: options.servers ?? [],
    ...(options.retryStalledAfterMs === undefined ? {} : { retryStalledAfterMs: options.retryStalledAfterMs }),
    ...(options.deployment ? { identity: { deployment: options.deployment, settings: '000000000000' } } : {}),
  };
  const configPath = path.join(dir, 'haproxy.cfg');
  if (options.services) {
    const routing = routingMaps(configPath);
    for (const file of [routing.hosts, routing.paths]) writeFileSync(file, '');
    model.routing = routing;
    model.services = options.services.map((name) => ({ name, balance: 'roundrobin', healthPath: '/health' }));
  }
  const masterSocket = path.join(dir, 'master.sock');
  if (options.masterWorker) {
    model.serverStateFile = `${configPath}.state`;
    await ensureServerStateFile(model.serverStateFile);
  }
  writeFileSync(configPath, compileTemplate(readFileSync(templatePath, 'utf8'))(model) + (options.extraConfig ?? ''));
  const tcpUrl = `tcp://127.0.0.1:${tcpPort}`;
  const launch = async () => {
    const args = options.masterWorker ? ['-W', '-db', '-S', masterSocket, '-f', configPath] : ['-db', '-f', configPath];
    const started = start(options.bin ?? haproxyBin, args);
    await waitFor('haproxy runtime API', async () => {
      const client = new RuntimeClient({ url: tcpUrl, connectTimeoutMs: 500 });
      try {
        const { pid } = await client.connect();
        // A master-worker's Runtime API is its worker's, a child of the process started here.
        return options.masterWorker ? started.child.exitCode === null : pid === started.pid;
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
    masterUrl: `unix://${masterSocket}`,
    model,
    restart: async () => {
      await handle.process.stop('SIGKILL');
      handle.process = await launch();
    },
  };
  return handle;
}

/** One question to HAProxy on a fresh connection: after a reload it reaches the new worker. */
export async function askFresh<T>(url: string, work: (client: RuntimeClient) => Promise<T>): Promise<T> {
  const client = new RuntimeClient({ url, heartbeatMs: 0 });
  try {
    await client.connect();
    return await work(client);
  } finally {
    await client.close();
  }
}
