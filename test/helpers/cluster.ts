/** Web members for integration tests: a real HTTP server plus its own Serf agent on one 127.0.0.x address. */
import { startHttpBackend, type HttpBackend } from './http-backend.js';
import { startSerf, type TestSerf } from './serf.js';

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
