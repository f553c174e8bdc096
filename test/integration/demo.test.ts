/**
 * The demo's scenario, short, on the local cluster (real s6, haproxy, serf, web app): it fails when a
 * graceful phase loses a request or HAProxy reloads, and leaves nothing running. Its live page is
 * watched meanwhile in a real headless browser (Debian's chromium), which takes a screenshot of it: into the
 * test's directory, or where DEMO_SCREENSHOT says (`DEMO_SCREENSHOT=docs/demo-live.png` renews the README's picture).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { scenario, type PhaseResult } from '../../src/lab/demo/scenario.js';
import { launchChromium } from '../helpers/browser.js';
import { haAgent } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

/** Follows the live page from before the cluster is up to the end of the run, checking what it shows on the way. */
async function watchLivePage(url: string, screenshot: string): Promise<void> {
  const browser = await launchChromium();
  try {
    const page = await browser.context.newPage();
    const load = () =>
      page.goto(url).then(
        (response) => response?.ok(),
        () => false,
      );
    await waitFor('the live page', load, { timeoutMs: 60_000, intervalMs: 200 });
    const rows = () => page.locator('#servers tr.state-up').count();
    // Updates while the demo scales out: the servers table grows to 5 web servers UP, the chart gets their areas.
    // A demo that stops early (its cluster could not start) closes the page's stream: fail then, not at the timeout.
    const scaling = page.locator('#status', { hasText: 'scale 1 → 5' });
    await scaling.or(page.locator('#conn', { hasText: 'disconnected' })).waitFor({ timeout: 120_000 });
    expect(await scaling.count(), 'the demo stopped before scaling').toBe(1);
    await waitFor('5 servers UP on the live page', async () => (await rows()) === 5, { timeoutMs: 60_000, intervalMs: 100 });
    expect(await page.locator('svg polygon').count()).toBeGreaterThanOrEqual(5);
    await page
      .locator('#commands li code', { hasText: /^(add|set|del) server nodes\/web-/ })
      .first()
      .waitFor({ timeout: 30_000 });
    // The deliberate faults (SIGKILL of a web server, of HAProxy) make failed requests: a red mark on the chart.
    await page.locator('svg circle.failed').first().waitFor({ timeout: 120_000 });
    expect(Number(await page.locator('#failed').textContent())).toBeGreaterThan(0);
    await page.locator('#conn', { hasText: 'finished' }).waitFor({ timeout: 120_000 });
    expect(await page.locator('table', { hasText: 'restart HAProxy (SIGKILL)' }).count()).toBe(1);
    await page.screenshot({ path: screenshot, fullPage: true });
  } finally {
    await browser.close();
  }
}

function running(pattern: RegExp): string[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      } catch {
        return '';
      }
    })
    .filter((cmd) => pattern.test(cmd));
}

describe('ha-agent cluster and ha-agent demo', () => {
  it('brings a local cluster up, scales it and takes it down, leaving nothing behind', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ha-agent-cluster-test-'));
    const port = String(await freePort());
    try {
      const up = await haAgent(['cluster', 'up', '--webapps', '2', '--port', port, '--dir', dir]);
      expect(up.stderr).toBe('');
      expect(up.stdout).toMatch(/^cluster up in [\d.]+ s: 2 web servers UP/);
      // The local cluster's Runtime API is where the container's is: no flag needed.
      const status = JSON.parse((await haAgent(['status', '--json'])).stdout) as Array<{ name: string; state: string }>;
      expect(status.map((s) => s.name).sort()).toEqual(['web-1', 'web-2']);
      expect((await haAgent(['cluster', 'scale', '1', '--dir', dir])).stdout).toBe('1 web servers UP: web-1\n');
    } finally {
      expect((await haAgent(['cluster', 'down', '--dir', dir])).code).toBe(0);
    }
    expect(running(new RegExp(dir))).toEqual([]);
  }, 120_000);

  it('runs the short scenario with 0 failed requests in every graceful phase and no reload, live in a browser', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ha-agent-demo-test-'));
    const report = path.join(dir, 'report.html');
    const live = `127.0.0.1:${await freePort()}`;
    const screenshot = path.resolve(process.env.DEMO_SCREENSHOT ?? path.join(dir, 'live.png'));
    const args = ['demo', '--short', '--json', '--port', String(await freePort()), '--dir', dir, '--report', report, '--live', live];
    const demo = haAgent(args, {}, 170_000);
    // The demo goes on whatever the browser sees, and must finish (and clean up) before the test does.
    const [watched, result] = await Promise.all([
      watchLivePage(`http://${live}/`, screenshot).then(
        () => undefined,
        (error: Error) => error,
      ),
      demo,
    ]);
    if (watched) throw watched;
    const output = JSON.parse(result.stdout) as { results: PhaseResult[]; problems: string[]; report: string };
    const sessions = (r: PhaseResult) =>
      `sessions kept ${r.sessions.kept}/${r.sessions.users}, new ${r.sessions.renewed} (from ${r.sessions.movedFrom.join(' ') || '-'})`;
    console.log(
      output.results
        .map((r) => `${r.name}: ${r.requests} requests, ${r.failed} failed, converged in ${r.convergeMs} ms, ${sessions(r)}`)
        .join('\n'),
    );
    expect(output.problems).toEqual([]);
    expect(result.code).toBe(0);
    // Every phase but the failover, which needs two balancers (and says so).
    const names = scenario.filter((phase) => phase.step.kind !== 'kill-balancer').map((phase) => phase.name);
    expect(output.results.map((r) => r.name.replace(/ \((web-\d+|worker \d+ → \d+ in \d+ ms)\)$/, ''))).toEqual(names);
    expect(names).toHaveLength(8);
    for (const phase of output.results) expect(phase.requests).toBeGreaterThan(0);
    // Stickiness is on: users are seen in every phase, and a session starts again only where its server left
    // (scale 5 → 2 stops web-3, web-4 and web-5).
    for (const phase of output.results) expect(phase.sessions.users).toBeGreaterThanOrEqual(12);
    for (const phase of output.results.filter((r) => r.keepsSessions)) expect(phase.sessions.renewed, phase.name).toBe(0);
    const scaleIn = output.results.find((r) => r.name === 'scale 5 → 2');
    expect(scaleIn?.sessions.movedFrom.filter((server) => ['web-1', 'web-2'].includes(server))).toEqual([]);
    // The planned reload and the deliberate restart were each seen as one new HAProxy worker.
    expect(output.results.slice(-2).map((r) => r.haproxyProcesses)).toEqual([1, 1]);
    expect(existsSync(report)).toBe(true);
    expect(statSync(screenshot).size).toBeGreaterThan(0);
    expect(running(new RegExp(dir))).toEqual([]);
  }, 180_000);
});
