/**
 * The demo's scenario, short, on the local cluster (real s6, haproxy, serf, web app): it fails when a
 * graceful phase loses a request or HAProxy reloads, and leaves nothing running.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PhaseResult } from '../../src/lab/demo/scenario.js';
import { haAgent } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';

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

  it('runs the short scenario with 0 failed requests in every graceful phase and no reload', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ha-agent-demo-test-'));
    const report = path.join(dir, 'report.html');
    const result = await haAgent(['demo', '--short', '--json', '--port', String(await freePort()), '--dir', dir, '--report', report], {}, 170_000);
    const output = JSON.parse(result.stdout) as { results: PhaseResult[]; problems: string[]; report: string };
    console.log(output.results.map((r) => `${r.name}: ${r.requests} requests, ${r.failed} failed, converged in ${r.convergeMs} ms`).join('\n'));
    expect(output.problems).toEqual([]);
    expect(result.code).toBe(0);
    expect(output.results.map((r) => r.name.replace(/ \(web-\d+\)$/, ''))).toEqual([
      'steady, 1 web server',
      'scale 1 → 5',
      'scale 5 → 2',
      'scale 2 → 4',
      'SIGKILL one web server',
      'restart ha-agent (SIGKILL)',
      'restart HAProxy (SIGKILL)',
    ]);
    for (const phase of output.results) expect(phase.requests).toBeGreaterThan(0);
    expect(output.results.at(-1)?.haproxyProcesses).toBe(1); // the deliberate HAProxy restart was seen
    expect(existsSync(report)).toBe(true);
    expect(running(new RegExp(dir))).toEqual([]);
  }, 180_000);
});
