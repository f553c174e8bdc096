/**
 * The live page's server: loopback only, its own script under a strict CSP, updates over server-sent
 * events; and `cluster up --live` following a real local cluster until SIGINT, which leaves the cluster up.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LivePage, loopbackBind } from '../../src/lab/demo/live.js';
import { htmlReport, type LiveInput } from '../../src/lab/demo/report.js';
import type { Outcome } from '../../src/lab/demo/load.js';
import type { Sample } from '../../src/lab/demo/monitor.js';
import { launchChromium } from '../helpers/browser.js';
import { phaseResult } from '../unit/lab/demo/fixtures.js';
import { binPath, haAgent } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}
function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
      })
      .on('error', reject);
  });
}

/** The first `count` server-sent events of /events, parsed. */
function events(url: string, count: number): Promise<Array<{ html: string; done: boolean }>> {
  return new Promise((resolve, reject) => {
    const received: Array<{ html: string; done: boolean }> = [];
    const request = http.get(`${url}events`, (response) => {
      let buffer = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          received.push(JSON.parse(buffer.slice(0, end).replace(/^data: /, '')) as { html: string; done: boolean });
          buffer = buffer.slice(end + 2);
          if (received.length === count) {
            request.destroy();
            resolve(received);
          }
        }
      });
    });
    request.on('error', (error) => (received.length === count ? undefined : reject(error)));
  });
}

const input = (phase: string): LiveInput => ({
  frame: {
    label: 'test',
    frontendUrl: 'http://127.0.0.1:1',
    elapsedMs: 0,
    phase,
    servers: [],
    totalRate: 0,
    requests: 0,
    failed: 0,
    process: undefined,
    commands: [],
  },
  startedAt: 0,
  samples: [],
  outcomes: [],
  phases: [],
});

let live: LivePage | undefined;
afterEach(async () => {
  await live?.close();
  live = undefined;
});

describe('the live page', () => {
  it('takes only loopback addresses', () => {
    expect(loopbackBind.parse('127.0.0.1:8090')).toEqual({ host: '127.0.0.1', port: 8090 });
    expect(loopbackBind.parse('[::1]:0')).toEqual({ host: '::1', port: 0 });
    for (const bad of ['0.0.0.0:8090', '10.0.0.1:80', '127.0.0.1', 'localhost:70000', '127.0.0.1:80;x']) {
      expect(loopbackBind.safeParse(bad).success).toBe(false);
    }
  });

  it('serves the page with its script under a strict CSP, and refuses other hosts and methods', async () => {
    live = await LivePage.listen('127.0.0.1:0');
    const page = await get(live.url);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<script src="live.js"></script>');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect((await get(`${live.url}live.js`)).body).toContain("new EventSource('events')");
    expect((await get(live.url, { host: 'evil.example:80' })).status).toBe(421);
    expect((await get(`${live.url}nothing`)).status).toBe(404);
  });

  it('pushes the latest state to a new browser, then every update, then the end', async () => {
    live = await LivePage.listen('127.0.0.1:0');
    live.update(input('before anyone watched'));
    const received = events(live.url, 3);
    await waitFor('the browser to connect', () => live?.watchers === 1);
    live.update(input('scale 1 → 5'));
    live.finish({ results: [], problems: ['scale 1 → 5: 1 failed requests (ECONNRESET)'] });
    const [first, second, last] = await received;
    expect(first?.html).toContain('before anyone watched');
    expect(second?.html).toContain('scale 1 → 5');
    expect(second?.done).toBe(false);
    expect(last?.done).toBe(true);
    expect(last?.html).toContain('scale 1 → 5: 1 failed requests (ECONNRESET)');
  });

  it('draws what the users got in a real browser, as the report does: no dip at a planned reload, labels clear of each other and of other phases’ lines', async () => {
    // 12 s of load answered by web-1 and web-2; a planned reload at 6 s starts HAProxy's counters again at 0.
    const outcomes: Outcome[] = [];
    for (let at = 0; at < 12_000; at += 10)
      outcomes.push({ at, latencyMs: 1, ok: true, status: 200, by: `web-${(at / 10) % 2 ? 2 : 1}`, keepAlive: true });
    const samples: Sample[] = [];
    for (let at = 0; at <= 12_000; at += 500) {
      const total = (at < 6_000 ? at : at - 6_000) / 20;
      const servers = ['web-1', 'web-2'].map((name) => ({ backend: 'nodes', name, status: 'UP', total }));
      samples.push({ at, process: at < 6_000 ? '1@1' : '2@7', servers });
    }
    const names = [
      'scale 1 → 5',
      'scale 5 → 2',
      'SIGKILL a web server',
      'restart ha-agent',
      'planned HAProxy reload',
      'restart HAProxy (SIGKILL)',
    ];
    const starts = [0, 1_000, 2_500, 5_500, 6_000, 11_000];
    const phases = names.map((name, i) => ({ name, startedAt: starts[i]! }));
    live = await LivePage.listen('127.0.0.1:0');
    live.update({ ...input('planned HAProxy reload'), samples, outcomes, phases });
    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      await page.goto(live.url);
      await page.locator('#live svg #users polygon').first().waitFor({ timeout: 10_000 });
      /** As laid out in the browser: the label boxes, the phase lines' x (page coordinates), the users' stacked top. */
      const box = async (locator: ReturnType<typeof page.locator>) => (await locator.boundingBox())!;
      const labels = await Promise.all(
        (await page.locator('#live svg text.phase-label').all()).map(async (t) => {
          const b = await box(t);
          return { phase: Number(await t.getAttribute('data-phase')), x0: b.x, x1: b.x + b.width, y0: b.y, y1: b.y + b.height };
        }),
      );
      const lineBoxes = await Promise.all((await page.locator('#live svg #phase-lines line.phase').all()).map(box));
      const points = (await page.locator('#live svg #users polygon').last().getAttribute('points'))!.split(' ');
      const ys = points.slice(0, points.length / 2).map((p) => Number(p.split(',')[1]));
      const measured = { labels, lines: lineBoxes.map((b) => b.x + b.width / 2), ys, svg: await page.locator('#live svg').innerHTML() };
      expect(measured.labels).toHaveLength(names.length);
      for (const label of measured.labels) {
        measured.lines.forEach((x, i) => i !== label.phase && expect(x < label.x0 - 1 || x > label.x1 + 1).toBe(true));
        for (const other of measured.labels) {
          if (other === label) continue;
          const apart = label.x1 <= other.x0 || other.x1 <= label.x0 || label.y1 <= other.y0 || other.y1 <= label.y0;
          expect(apart).toBe(true);
        }
      }
      // The stacked top is flat: the users never saw the reload (HAProxy's counters, in the panel below, fall to 0).
      expect(Math.max(...measured.ys) - Math.min(...measured.ys)).toBeLessThan(1);
      // The report draws the same chart from the same run: the very SVG the page was sent.
      const [pushed] = await events(live.url, 1);
      const svg = /<svg[\s\S]*<\/svg>/.exec(pushed!.html)![0];
      const results = phases.map((p) => phaseResult(p.name, { startedAt: p.startedAt }));
      const report = htmlReport({
        title: 't',
        label: 'l',
        convergeClock: 'the change',
        problems: [],
        startedAt: 0,
        samples,
        outcomes,
        results,
      });
      expect(report).toContain(svg);
      expect(measured.svg).toContain('id="counters"');
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('follows a local cluster with `cluster up --live` until SIGINT, leaving the cluster up', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ha-agent-live-test-'));
    const url = `http://127.0.0.1:${await freePort()}/`;
    const args = ['cluster', 'up', '--webapps', '1', '--port', String(await freePort()), '--dir', dir, '--live', url.slice(7, -1)];
    const child = spawn(process.execPath, [binPath, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      await waitFor('the live page to be served', () => output.includes(`live view: ${url}`), { timeoutMs: 60_000 });
      const webUp = async () => (await events(url, 1))[0]?.html.includes('<tr class="state-up"><td>web-1</td>');
      const found = await waitFor('web-1 UP on the live page', webUp, { timeoutMs: 20_000, intervalMs: 200 });
      expect(found).toBe(true);
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect((await haAgent(['cluster', 'status', '--dir', dir])).stdout).toMatch(/^web-1 /m);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      expect((await haAgent(['cluster', 'down', '--dir', dir])).code).toBe(0);
    }
  }, 120_000);
});
