/** What the end-to-end tests on the Docker engine share: an engine and base image, ports to publish, a phase under load. */
import { copyFileSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startLoad, type Load, type Sessions, type Window } from '../../src/lab/demo/load.js';
import { waitFor } from './wait.js';

/**
 * Starts the engine when none answers (returns true: the test stops it at the end), makes the base image
 * when it is missing, and copies the host's extra CAs into the build context (a TLS-intercepting proxy in
 * front of the npm registry needs them in the build stage).
 */
export async function prepareEngine(root: string, sh: (command: string, args: readonly string[]) => Promise<string>): Promise<boolean> {
  const started = !(await sh('docker', ['info']).then(
    () => true,
    () => false,
  ));
  await sh('bash', ['scripts/docker-engine.sh', 'start']);
  await sh('bash', ['scripts/base-image.sh']);
  const cas = '/usr/local/share/ca-certificates';
  for (const file of readdirSync(cas).filter((f) => f.endsWith('.crt')))
    copyFileSync(path.join(cas, file), path.join(root, 'docker/ca', file));
  return started;
}

/**
 * A port to publish: free now, and below the kernel's ephemeral range, so that no outgoing connection on
 * this busy machine takes it as its local port before Docker binds it.
 */
export async function publishablePort(): Promise<number> {
  const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const port = 10_000 + Math.floor(Math.random() * (low - 10_000));
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer().once('error', () => resolve(false));
      server.listen(port, '0.0.0.0', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port between 10000 and ${low}`);
}

/** Published ports for a stack, each free now (docker-compose.yml and docker-stack.yml read these). */
export async function publishedPorts(): Promise<{ HA_HTTP_PORT: string; HA_STATS_PORT: string; HA_RUNTIME_PORT: string }> {
  return {
    HA_HTTP_PORT: String(await publishablePort()),
    HA_STATS_PORT: String(await publishablePort()),
    HA_RUNTIME_PORT: String(await publishablePort()),
  };
}

export interface PhaseFigures extends Window {
  /** When the phase started (ms since epoch). */
  from: number;
  seconds: number;
  users: Window;
  sessions: Sessions;
}

/** Runs a phase's action under load; its figures count every request sent meanwhile, answered up to 20 s later. */
export async function measurePhase(load: Load, users: Load, action: () => Promise<void>): Promise<PhaseFigures> {
  const from = Date.now();
  await action();
  const ended = Date.now();
  await waitFor('answers already in flight', () => load.answeredBefore(ended) && users.answeredBefore(ended), { timeoutMs: 20_000 });
  return { ...load.window(from), from, seconds: (Date.now() - from) / 1000, users: users.window(from), sessions: users.sessions(from) };
}

/**
 * The end-to-end tests' load on a stack: anonymous clients (the default mix), and sticky users apart, each with
 * its own cookie jar, so that the anonymous figures stay those of anonymous clients.
 */
export function startStackLoad(url: string, stickyUsers: number): { load: Load; users: Load } {
  return { load: startLoad(url), users: startLoad(url, { keepAlive: 0, newConnection: 0, stickyUsers, pauseMs: 20 }) };
}
