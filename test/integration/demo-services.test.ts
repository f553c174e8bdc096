/**
 * The demo's short scenario with a second service on the local cluster (real s6, haproxy, serf, web app):
 * `web` (the default backend) and `api` (`Host: api.localhost`), both under load, each scaled on its own.
 * Every phase's requests are split per service; a request answered by the other service's server fails
 * the demo, and here every answer's server is also checked by its name (web-N or api-N).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalDriver } from '../../src/lab/demo/driver.js';
import { summaryTable } from '../../src/lab/demo/report.js';
import { runDemo, runReport } from '../../src/lab/demo/run-demo.js';
import { scenarioFor, verdict } from '../../src/lab/demo/scenario.js';
import { haAgent } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';

const home = path.resolve(import.meta.dirname, '../..');

describe('ha-agent demo --apis 2', () => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'ha-agent-demo-services-'));
  let driver: LocalDriver;

  afterAll(async () => {
    await driver?.down();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('refuses --apis with the balancer tier, which has no api service', async () => {
    const result = await haAgent(['demo', '--balancers', '2', '--apis', '1']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--apis runs with one balancer only');
  });

  it('runs the short scenario with web and api under load: both services in the report, 0 failed in graceful phases, 0 misrouted', async () => {
    driver = new LocalDriver({ home, stateDir, port: await freePort() });
    const run = await runDemo({ driver, holdMs: 1000, write: () => undefined, tty: false, apis: 2 });
    const problems = verdict(run.results);
    console.log(
      `demo-services.test figures (${new Date(run.startedAt).toISOString()}):\n${summaryTable(run.results, driver.convergeClock)}`,
    );
    expect(problems).toEqual([]);
    const names = scenarioFor(2)
      .filter((phase) => phase.step.kind !== 'kill-balancer')
      .map((phase) => phase.name);
    expect(run.results.map((r) => r.name.replace(/ \((web-\d+|worker \d+ → \d+ in \d+ ms)\)$/, ''))).toEqual(names);
    expect(names).toContain('scale api 2 → 4');
    expect(names).toContain('scale api 4 → 2');

    for (const phase of run.results) {
      expect(
        phase.services?.map((s) => [s.service, s.backend]),
        phase.name,
      ).toEqual([
        ['web', 'nodes'],
        ['api', 'api'],
      ]);
      for (const s of phase.services ?? []) {
        expect(s.requests, `${phase.name}: ${s.service}`).toBeGreaterThan(0);
        expect(s.misrouted, `${phase.name}: ${s.service}`).toBe(0);
        if (phase.graceful) expect(s.failed, `${phase.name}: ${s.service} (${s.errors.join('; ')})`).toBe(0);
      }
    }
    // Each service's scale phases leave the other's servers as they were.
    const servers = (name: string) => run.results.find((r) => r.name === name)?.services?.map((s) => s.servers);
    expect(servers('scale 2 → 4')).toEqual([4, 2]);
    expect(servers('scale api 2 → 4')).toEqual([4, 4]);
    expect(servers('scale api 4 → 2')).toEqual([4, 2]);
    // The ground truth, apart from HAProxy's lists: every answer came from a server of the service it was for.
    const answered = run.outcomes.filter((o) => o.ok);
    expect(answered.filter((o) => o.service === 'api').length).toBeGreaterThan(0);
    expect(answered.filter((o) => !/^(api-\d+)$/.test(o.by) && o.service === 'api').map((o) => o.by)).toEqual([]);
    expect(answered.filter((o) => !/^(web-\d+)$/.test(o.by) && o.service !== 'api').map((o) => o.by)).toEqual([]);

    const html = runReport('demo', driver, run, problems);
    expect(html).toContain('<h2>Services</h2>');
    expect(html).toMatch(/<tr class=""><td>web<\/td><td>nodes<\/td><td>[\d–]+<\/td><td>\d+<\/td><td>\d+<\/td><td>0<\/td>/);
    expect(html).toMatch(/<tr class=""><td>api<\/td><td>api<\/td><td>2–4<\/td><td>\d+<\/td><td>\d+<\/td><td>0<\/td>/);
  }, 240_000);
});
