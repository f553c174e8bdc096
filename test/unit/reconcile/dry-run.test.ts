/** What --dry-run logs: a backend's or a map's steps, again only when they change. */
import { describe, expect, it } from 'vitest';
import { DryRunSteps } from '../../../src/reconcile/dry-run.js';
import { recordLogs } from '../../helpers/log.js';

describe('DryRunSteps', () => {
  it('logs the steps for each backend or map when they change, not when a pass plans them again', () => {
    const { log, events } = recordLogs();
    const dryRun = new DryRunSteps(log);
    dryRun.report('nodes', ['join a: add server nodes/a', 'join a: enable server nodes/a']);
    dryRun.report('nodes', ['join a: add server nodes/a', 'join a: enable server nodes/a']);
    dryRun.report('hosts.map', ['add map hosts.map web nodes']);
    dryRun.report('nodes', ['remove b: set server nodes/b state drain']);
    expect(events('dry-run.step').map((l) => l.step)).toEqual([
      'join a: add server nodes/a',
      'join a: enable server nodes/a',
      'add map hosts.map web nodes',
      'remove b: set server nodes/b state drain',
    ]);
  });
});
