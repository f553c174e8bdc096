/**
 * `ha-agent plan` names a new server's failing check even when its one read of `show stat` lands in the middle
 * of a check: HAProxy then shows `* L7STS` with code 0 (seen in ~1.6 % of reads with checks every 50 ms).
 */
import { describe, expect, it } from 'vitest';
import { resolveAgentConfig } from '../../../src/cli/agent-config.js';
import { printBackendPlan } from '../../../src/cli/plan.js';
import { LedgerStore } from '../../../src/reconcile/ledger.js';
import type { StatRow } from '../../../src/runtime/parse.js';
import { FakeHaproxy } from '../../helpers/fake-haproxy.js';

describe('ha-agent plan and a check read while it runs', () => {
  it('reads show stat again until the check has its code, then says DEGRADED with it', async () => {
    const haproxy = new FakeHaproxy();
    haproxy.failures.set('10.0.0.1:3000', { status: 'L7STS', code: '404', number: 13 });
    const stat = haproxy.stat.bind(haproxy);
    let reads = 0;
    // The first two reads find the check running, its code not yet known.
    haproxy.stat = async (backend: string): Promise<StatRow[]> => {
      reads += 1;
      const rows = await stat(backend);
      return reads > 2 ? rows : rows.map((row) => ({ ...row, checkRunning: true, checkCode: '0' }));
    };
    // Added by the agent, in MAINT while its first checks fail.
    haproxy.boot('web-1', '10.0.0.1', 3000, { mode: 'maint' });
    haproxy.healthy.delete('10.0.0.1:3000');
    const members = [{ name: 'web-1', address: '10.0.0.1', status: 'alive', tags: { role: 'backend' } }];
    let printed = '';
    const where = { backend: 'nodes', service: undefined, booted: undefined, ledger: new LedgerStore(undefined) };
    await printBackendPlan({ stdout: (text) => (printed += text) }, haproxy, resolveAgentConfig({}), members, where);
    expect(reads).toBe(3);
    expect(printed).toContain('DEGRADED: health checks fail on 1 new server(s), which get no traffic:\n  nodes/web-1 L7STS 404: 404 on');
  });
});
