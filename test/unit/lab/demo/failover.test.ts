import { describe, expect, it } from 'vitest';
import { failoverLines, htmlReport, skippedLines } from '../../../../src/lab/demo/report.js';
import { skipReason } from '../../../../src/lab/demo/run-demo.js';
import { scenario, type PhaseResult } from '../../../../src/lab/demo/scenario.js';

const phase: PhaseResult = {
  name: 'SIGKILL the active balancer (lb1 → lb2, served again in 219 ms)',
  graceful: false,
  keepsSessions: true,
  newHaproxy: true,
  startedAt: 1_000,
  endedAt: 5_000,
  requests: 3_939,
  failed: 181,
  errors: ['connect ECONNREFUSED'],
  p50: 11.5,
  p99: 69.9,
  haproxyProcesses: 1,
  convergeMs: 4_090,
  sessions: { users: 37, kept: 37, renewed: 0, movedFrom: [] },
  failover: { from: 'lb1', to: 'lb2', vipMs: 216, servedMs: 219, vipStayed: true },
};

describe('the demo failover phase', () => {
  it('runs only with balancers behind a virtual IP: a one-balancer driver skips it, and only it', () => {
    const oneBalancer = {};
    const tier = { killActiveBalancer: () => Promise.reject(new Error('not called')) };
    expect(scenario.filter((p) => skipReason(oneBalancer, p) !== undefined).map((p) => p.name)).toEqual(['SIGKILL the active balancer']);
    expect(scenario.filter((p) => skipReason(tier, p) !== undefined)).toEqual([]);
  });

  it('prints the requests lost and the failover time in the summary and the HTML report', () => {
    const [line] = failoverLines([phase]);
    expect(line).toBe(
      'failover: SIGKILL of every process of lb1 (it held the VIP): the VIP on lb2 after 216 ms, the first request served through it ' +
        '219 ms after the kill; 181 of 3939 requests lost in the phase; lb1 came back, converged and passed its check, and the VIP stayed on lb2',
    );
    expect(failoverLines([{ ...phase, failover: undefined }])).toEqual([]);
    expect(failoverLines([{ ...phase, failover: { ...phase.failover!, servedMs: undefined, vipStayed: false } }])[0]).toMatch(
      /served through it \(none\) ms .* and the VIP moved again$/,
    );
    const html = htmlReport({
      title: 't',
      label: 'l',
      convergeClock: 'c',
      startedAt: 0,
      samples: [],
      outcomes: [],
      results: [phase],
      problems: [],
      skipped: [{ name: 'x', reason: 'y' }],
    });
    expect(html).toContain('<p>failover: SIGKILL of every process of lb1');
    expect(html).toContain('<p>skipped: x (y)</p>');
    expect(skippedLines([{ name: 'SIGKILL the active balancer', reason: 'one balancer' }])).toEqual([
      'skipped: SIGKILL the active balancer (one balancer)',
    ]);
  });
});
