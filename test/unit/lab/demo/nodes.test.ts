import { describe, expect, it } from 'vitest';
import type { CliIo } from '../../../../src/cli/io.js';
import { demo } from '../../../../src/lab/cli/demo.js';
import { failoverLines } from '../../../../src/lab/demo/report.js';
import { NODE_LOSS_MAX_FAILED, nodesScenario, verdict } from '../../../../src/lab/demo/scenario.js';
import { phaseResult } from './fixtures.js';

describe('the demo on several Swarm nodes', () => {
  it('scales, drains and rolls gracefully, then loses a node and the balancer node, each with a bound', () => {
    expect(nodesScenario.map((p) => p.step.kind)).toEqual([
      'steady',
      'scale',
      'scale',
      'drain-node',
      'rolling-update',
      'lose-node',
      'kill-balancer',
    ]);
    expect(nodesScenario.filter((p) => p.graceful).map((p) => p.step.kind)).toEqual([
      'steady',
      'scale',
      'scale',
      'drain-node',
      'rolling-update',
    ]);
    for (const p of nodesScenario.filter((p) => !p.graceful)) expect(p.maxFailed).toBeGreaterThan(0);
  });

  it('fails a bounded phase that lost more than its bound, and only then', () => {
    const loss = (failed: number) =>
      phaseResult('a node lost', { graceful: false, keepsSessions: false, maxFailed: NODE_LOSS_MAX_FAILED, failed, errors: ['timeout'] });
    expect(verdict([loss(NODE_LOSS_MAX_FAILED)])).toEqual([]);
    expect(verdict([loss(NODE_LOSS_MAX_FAILED + 1)])).toEqual([
      `a node lost: ${NODE_LOSS_MAX_FAILED + 1} failed requests, more than ${NODE_LOSS_MAX_FAILED} (timeout)`,
    ]);
  });

  it('says a lost balancer node stays lost, rather than that it came back', () => {
    const failover = { from: 'swn-n2', to: 'swn-n3', vipMs: 120, servedMs: 250, vipStayed: false, stayedLost: true };
    const [line] = failoverLines([phaseResult('the active balancer’s node lost', { graceful: false, failover, failed: 5, requests: 900 })]);
    expect(line).toMatch(/5 of 900 requests lost in the phase; swn-n2 stays lost, and swn-n3 serves the tasks of the nodes left$/);
  });

  it('takes --nodes with --swarm only, and 3 or more', async () => {
    const io: CliIo = { env: {}, stdout: () => undefined, stderr: () => undefined };
    await expect(demo(['--nodes', '3'], io)).rejects.toThrow('--nodes runs with --swarm');
    await expect(demo(['--swarm', '--nodes', '2'], io)).rejects.toThrow('--nodes: 3 or more');
  });
});
