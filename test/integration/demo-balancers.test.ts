/**
 * The demo's short scenario on the balancer tier (root only): two balancers behind a keepalived VIP,
 * every balancer and web server its own network namespace, the load to the VIP. Real HAProxy, Serf,
 * keepalived, ha-agent and web app. It asserts the demo's verdict (no graceful phase lost a request,
 * no session was lost where it should not be), runs the phase "SIGKILL the active balancer" and checks
 * that the VIP moved, that the losses and the failover time are reported, and that nothing is left.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { LabNetwork } from '../../src/lab/cluster/netns.js';
import { BalancerDriver } from '../../src/lab/demo/balancer-driver.js';
import { failoverLines, skippedLines, summaryTable } from '../../src/lab/demo/report.js';
import { runDemo, runReport } from '../../src/lab/demo/run-demo.js';
import { scenario, verdict } from '../../src/lab/demo/scenario.js';
import { describeIfCan, TIER_NEEDS } from '../helpers/needs.js';

const home = path.resolve(import.meta.dirname, '../..');
/** Its own prefix and /24: the balancers test ('hat', 10.232.0) and a lab the user started ('hal', 10.231.0) are left alone. */
const prefix = 'hdb';

describeIfCan(TIER_NEEDS, 'ha-agent demo --balancers 2', () => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'ha-agent-demo-balancers-'));
  const driver = new BalancerDriver({ home, stateDir, prefix, net: '10.233.0', balancers: 2 });

  afterAll(async () => {
    await driver.down();
    // Also after a failure half-way: no namespace, link or FORWARD rule with the test's prefix is left.
    expect(await LabNetwork.namespaces(prefix)).toEqual([]);
    expect(await LabNetwork.links(prefix)).toEqual([]);
    expect(await LabNetwork.forwardRules(prefix)).toEqual([]);
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('runs the short scenario through the VIP with a clean verdict; SIGKILL of the active balancer moves the VIP, and its losses and failover time are reported', async () => {
    const run = await runDemo({ driver, holdMs: 1000, write: () => undefined, tty: false });
    const problems = verdict(run.results);
    console.log(
      `demo-balancers.test figures (${new Date(run.startedAt).toISOString()}):\n${summaryTable(run.results, driver.convergeClock)}${[...failoverLines(run.results), ...skippedLines(run.skipped)].join('\n')}`,
    );
    // The demo's verdict: every graceful phase (the holder's planned reload and its agent's restart among them) lost nothing.
    expect(problems).toEqual([]);
    expect(run.results.map((r) => r.name.replace(/ \((web-\d+|worker \d+ → \d+ in \d+ ms|lb\d → lb\d, .*)\)$/, ''))).toEqual(
      scenario.map((phase) => phase.name), // every phase runs here
    );
    expect(run.skipped).toEqual([]);
    for (const phase of run.results) expect(phase.requests, phase.name).toBeGreaterThan(0);

    const killed = run.results.at(-1)!;
    const failover = killed.failover!;
    expect(failover.from).toMatch(/^lb[12]$/);
    expect(failover.to).toMatch(/^lb[12]$/);
    expect(failover.to).not.toBe(failover.from);
    expect(failover.vipMs).toBeGreaterThan(0);
    // Served again through the other balancer (the VIP poll may see the address after the first answer: not compared).
    expect(failover.servedMs).toBeGreaterThan(0);
    // The killed node came back, converged, passed its check, and did not take the VIP back.
    expect(failover.vipStayed).toBe(true);
    // The demo watched the balancer that took over: a new HAProxy process in its chart.
    expect(killed.haproxyProcesses).toBeGreaterThanOrEqual(1);
    // Users keep their server across balancers: every balancer derives the same cookies.
    expect(killed.sessions.renewed).toBe(0);

    const line = failoverLines(run.results)[0]!;
    expect(line).toContain(`${killed.failed} of ${killed.requests} requests lost`);
    const html = runReport('demo', driver, run, problems);
    expect(html).toContain(`the VIP on ${failover.to} after ${failover.vipMs} ms`);

    await driver.down();
    expect(await LabNetwork.namespaces(prefix)).toEqual([]);
  }, 300_000);
});
