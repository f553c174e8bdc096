/** Web members for integration tests: a real HTTP server plus its own Serf agent on one 127.0.0.x address. */
import path from 'node:path';
import { startHttpBackend, type HttpBackend } from './http-backend.js';
import { freePort } from './ports.js';
import { start, type Started } from './processes.js';
import { startSerf, type TestSerf } from './serf.js';
import { waitFor } from './wait.js';

export interface WebMember {
  name: string;
  web: HttpBackend;
  serf: TestSerf;
}

export async function startWebMember(name: string, address: string, join: string, tags: Record<string, string> = {}): Promise<WebMember> {
  const web = await startHttpBackend(name, address);
  const serf = await startSerf({ name, address, join, tags: { role: 'backend', port: String(web.port), ...tags } });
  return { name, web, serf };
}

export interface AppMember {
  name: string;
  /** The lab's web app (webapp/), which keeps sessions in memory under the cookie NODESESSID. */
  app: Started;
  serf: TestSerf;
}

const webappPath = path.resolve(import.meta.dirname, '../../webapp/dist/server.js');

/** `env`: the app's own settings, e.g. MODE=plain (no /health, exits at once on SIGTERM). */
export async function startAppMember(
  name: string,
  address: string,
  join: string,
  tags: Record<string, string> = {},
  env: Record<string, string> = {},
): Promise<AppMember> {
  const port = await freePort(address);
  const app = start(process.execPath, [webappPath], {
    env: { ...process.env, HOST: address, PORT: String(port), SERVER_NAME: name, ...env },
  });
  // A node process can take more than the default 10 s to start on a loaded machine.
  await waitFor(`${name} listening`, () => app.output().includes('webapp.listening'), { timeoutMs: 30_000 });
  const serf = await startSerf({ name, address, join, tags: { role: 'backend', port: String(port), ...tags } });
  return { name, app, serf };
}
