/** The web application, started for real as its container runs it. */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { start, stopAll, type Started } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';

const serverPath = path.resolve(import.meta.dirname, '../../webapp/dist/server.js');
/** The webapp shared by the tests that leave it running; a test that stops one starts its own. */
let url: string;

async function startWebapp(env: Record<string, string> = {}): Promise<{ web: Started; url: string }> {
  const port = await freePort('127.0.0.51');
  const web = start(process.execPath, [serverPath], {
    env: { ...process.env, HOST: '127.0.0.51', PORT: String(port), SERVER_NAME: 'web-x', ...env },
  });
  await waitFor('webapp listening', () => web.output().includes('webapp.listening'));
  return { web, url: `http://127.0.0.51:${port}` };
}

afterAll(stopAll);

describe('webapp', () => {
  beforeAll(async () => {
    ({ url } = await startWebapp());
  });

  it('answers the lab JSON and counts session views with NODESESSID', async () => {
    const first = await fetch(`${url}/`);
    const body = (await first.json()) as { id: string };
    expect(body).toMatchObject({ hello: 'world!', ip: '127.0.0.51', sessionViews: 1, tag: expect.any(String), host: expect.any(String) });
    expect(first.headers.get('x-backend-ip')).toBe('127.0.0.51');
    expect(first.headers.get('x-backend')).toBe('web-x');
    const cookie = first.headers.get('set-cookie')!.split(';')[0]!;
    expect(cookie).toBe(`NODESESSID=${body.id}`);
    const second = await (await fetch(`${url}/`, { headers: { cookie } })).json();
    expect(second).toMatchObject({ id: body.id, sessionViews: 2 });
  });

  it('delays later answers after POST /delay, and refuses a bad delay', async () => {
    expect((await fetch(`${url}/delay`, { method: 'POST', body: JSON.stringify({ delay: 'x' }) })).status).toBe(400);
    await fetch(`${url}/delay`, { method: 'POST', body: JSON.stringify({ delay: 300 }) });
    const started = performance.now();
    await (await fetch(`${url}/`)).text();
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    await fetch(`${url}/delay`, { method: 'POST', body: JSON.stringify({ delay: 0 }) });
  });

  it('streams a long-lived response: a line every 250 ms, then done', async () => {
    const response = await fetch(`${url}/stream?ms=600`);
    expect(response.headers.get('x-backend')).toBe('web-x');
    expect(await response.text()).toMatch(/^(\.\n){2,3}done\n$/);
  });

  it('on SIGTERM: /health 503 during the grace period, the request in flight completes, then it exits 0', async () => {
    const { web: stopping, url } = await startWebapp({ GRACE_MS: '500' });
    expect((await fetch(`${url}/health`)).status).toBe(200);
    // The slow request carries a session, so the server's view count shows when it has arrived.
    const cookie = `NODESESSID=${'s'.repeat(24)}`;
    const slow = fetch(`${url}/?delay=1500`, { headers: { cookie } }).then(async (r) => ({ status: r.status, body: await r.json() }));
    let probes = 0;
    await waitFor('the slow request in flight', async () => {
      probes += 1;
      const { sessionViews } = (await (await fetch(`${url}/`, { headers: { cookie } })).json()) as { sessionViews: number };
      return sessionViews > probes;
    });
    process.kill(stopping.pid, 'SIGTERM');
    await waitFor('stopping', () => stopping.output().includes('webapp.stopping'));
    expect((await fetch(`${url}/health`)).status).toBe(503);
    expect((await fetch(`${url}/`)).status).toBe(200); // still serving during the grace period
    expect(await slow).toMatchObject({ status: 200, body: { hello: 'world!' } });
    expect(await stopping.exited).toBe(0);
    expect(stopping.output()).toMatch(/webapp\.closing[\s\S]*webapp\.stopped/);
  });

  it("MODE=plain, like most users' apps: no /health route, and on SIGTERM it exits at once, dropping the request in flight", async () => {
    const { web: plain, url } = await startWebapp({ MODE: 'plain' });
    expect((await fetch(`${url}/health`)).status).toBe(404);
    const first = await fetch(`${url}/`);
    const cookie = first.headers.get('set-cookie')!.split(';')[0]!;
    expect(await (await fetch(`${url}/`, { headers: { cookie } })).json()).toMatchObject({ sessionViews: 2 });
    const slow = fetch(`${url}/?delay=5000`, { headers: { cookie } }).then(
      (r) => r.status,
      (error: Error) => error.message,
    );
    // The slow request counts a view of the session when it arrives: probes see one more than their own.
    let views = 2;
    await waitFor('the slow request in flight', async () => {
      views += 1;
      const body = (await (await fetch(`${url}/`, { headers: { cookie } })).json()) as { sessionViews: number };
      return body.sessionViews > views;
    });
    process.kill(plain.pid, 'SIGTERM');
    expect(await plain.exited).toBe(0);
    expect(await slow).toBe('fetch failed');
    expect(plain.output()).toContain('webapp.exiting');
  });
});
