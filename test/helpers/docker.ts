/** What the end-to-end tests on the Docker engine share: an engine and base image, ports to publish. */
import { copyFileSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

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
