/** Real Serf agents on loopback addresses, each with its own config file. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';
import { start, type Started } from './processes.js';
import { waitFor } from './wait.js';
import net from 'node:net';

export interface TestSerf {
  name: string;
  address: string;
  bind: string;
  rpc: string;
  process: Started;
  /** SIGINT: a graceful leave, killed only if still running 20 s later (Serf's leave waits up to 5 s for each of its two broadcasts, then 1 s more). */
  leave: () => Promise<void>;
}

export interface SerfOptions {
  name: string;
  address: string;
  tags?: Record<string, string>;
  join?: string;
  /** Extra config-file keys (rpc_auth, encrypt_key, …). */
  config?: Record<string, unknown>;
  bindPort?: number;
  rpcPort?: number;
  /** Extra environment (GOMAXPROCS, …). */
  env?: Record<string, string>;
  /** Run at the idle scheduling class (chrt --idle), behind every normal process. */
  idle?: boolean;
  /** How long its RPC may take to answer after the start (default 10 s). */
  startTimeoutMs?: number;
}

export async function startSerf(options: SerfOptions): Promise<TestSerf> {
  const dir = mkdtempSync(path.join(tmpdir(), `ha-agent-serf-${options.name.replace(/[^A-Za-z0-9]/g, '_').slice(0, 20)}-`));
  const bindPort = options.bindPort ?? (await freePort(options.address));
  const rpcPort = options.rpcPort ?? (await freePort('127.0.0.1'));
  const bind = `${options.address}:${bindPort}`;
  const rpc = `127.0.0.1:${rpcPort}`;
  const configFile = path.join(dir, 'serf.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      node_name: options.name,
      bind,
      rpc_addr: rpc,
      tags: options.tags ?? {},
      profile: 'local',
      reconnect_timeout: '10s',
      tombstone_timeout: '10s',
      ...(options.join ? { retry_join: [options.join], retry_interval: '1s' } : {}),
      ...options.config,
    }),
  );
  const command = ['serf', 'agent', '-config-file', configFile];
  const [file, ...args] = options.idle ? ['chrt', '--idle', '0', ...command] : command;
  const process = start(file!, args, options.env ? { env: { ...globalThis.process.env, ...options.env } } : {});
  await waitFor(
    `serf ${options.name} RPC`,
    () =>
      new Promise<boolean>((resolve) => {
        const socket = net.connect({ host: '127.0.0.1', port: rpcPort });
        socket.once('connect', () => (socket.destroy(), resolve(true)));
        socket.once('error', () => resolve(false));
      }),
    { timeoutMs: options.startTimeoutMs ?? 10_000 },
  );
  return {
    name: options.name,
    address: options.address,
    bind,
    rpc,
    process,
    leave: () => process.stop('SIGINT', 20_000),
  };
}
