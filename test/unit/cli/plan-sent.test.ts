/**
 * `ha-agent plan` prints every command the agent sends: for the same input (one HAProxy, one member list), the
 * command lines `printBackendPlan` (src/cli/plan.ts) prints for each server are the commands a running agent's
 * reconciler then sends for it, over a fake HAProxy (test/helpers/fake-haproxy.ts) with fake time.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { resolveAgentConfig } from '../../../src/cli/agent-config.js';
import { printBackendPlan } from '../../../src/cli/plan.js';
import type { Member } from '../../../src/membership/member.js';
import { LedgerStore } from '../../../src/reconcile/ledger.js';
import { Reconciler } from '../../../src/reconcile/reconciler.js';
import type { RuntimeApi } from '../../../src/reconcile/runtime-api.js';
import { FakeHaproxy } from '../../helpers/fake-haproxy.js';
import { recordLogs } from '../../helpers/log.js';

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

const member = (name: string, n: number, status = 'alive', tags: Record<string, string> = {}): Member => ({
  name,
  address: `10.0.0.${n}`,
  status,
  tags: { role: 'backend', ...tags },
});

/** The printed plan's command lines by server: waits `(…)`, conditional lines `if …` and rollback lines (indented deeper) left out. */
function plannedCommands(text: string): Map<string, string[]> {
  const lines = text.slice(text.indexOf('Plan:\n') + 'Plan:\n'.length).split('\n');
  const byServer = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of lines) {
    if (/^(join|remove|update|resume) /.test(line)) byServer.set(line.split(' ')[1] as string, (current = []));
    else if (/^ {2}[^ (]/.test(line) && !line.startsWith('  if ')) current?.push(line.trim());
    else if (!line.startsWith('  ')) current = undefined;
  }
  return byServer;
}

describe('ha-agent plan and the agent', () => {
  it.each(['2.9.1', '2.6.12-1+deb12u1'])('print and send the same commands for each server (HAProxy %s)', async (version) => {
    const haproxy = new FakeHaproxy();
    haproxy.version = version;
    haproxy.boot('keep', '10.0.0.1', 3000);
    haproxy.boot('old', '10.0.0.2', 3000);
    haproxy.boot('heavy', '10.0.0.4', 3000);
    haproxy.healthy.add('10.0.0.3:3000');
    const members = [member('keep', 1), member('old', 2, 'left'), member('new', 3), member('heavy', 4, 'alive', { weight: '50' })];
    const config = resolveAgentConfig({ sticky: 'cookie' });

    let printed = '';
    const where = { backend: 'nodes', service: undefined, booted: undefined, ledger: new LedgerStore(undefined) };
    await printBackendPlan({ stdout: (text) => (printed += text) }, haproxy, config, members, where);
    const planned = plannedCommands(printed);
    expect([...planned.keys()].sort()).toEqual(['heavy', 'new', 'old']);

    /** Every command the agent sends through the Runtime API, in order. */
    const sent: string[] = [];
    const client: RuntimeApi = {
      connected: true,
      get version() {
        return haproxy.version;
      },
      run: (command) => {
        sent.push(command.text);
        return haproxy.run(command);
      },
      serversState: (backend) => haproxy.serversState(backend),
      stat: (backend) => haproxy.stat(backend),
    };
    const { log, events } = recordLogs();
    const reconciler = new Reconciler({
      client,
      backend: 'nodes',
      policy: config.policy,
      desired: config.desired,
      log,
      checkTimeoutMs: config.checkTimeoutMs,
      drainTimeoutMs: config.drainTimeoutMs,
      sticky: { drainIdleMs: config.drainIdleMs },
    });
    reconciler.setMembers(members, 'member-join');
    let idle = false;
    void reconciler.idle().then(() => (idle = true));
    for (let waited = 0; !idle && waited < 120_000; waited += 50) await vi.advanceTimersByTimeAsync(50);
    expect(idle, JSON.stringify(events('step.failed'))).toBe(true);

    // What each server was sent (the agent logs every command it sends with its server), against what plan printed.
    for (const [server, commands] of planned) {
      const logged = events('step.finished', server).map((l) => String(l.command));
      expect(logged, server).toEqual(
        commands.map((c): unknown => (c.includes('<rest of drain timeout>') ? expect.stringMatching(/^wait \d+ srv-removable/) : c)),
      );
    }
    // Nothing was sent but those (`show sess` polls aside: the wait plan prints in parentheses for HAProxy < 2.8).
    expect(sent.filter((text) => text !== 'show sess')).toEqual(events('step.finished').map((l) => String(l.command)));
    expect(
      events('action.finished')
        .map((l) => l.server)
        .sort(),
    ).toEqual(['heavy', 'new', 'old']);
  });
});
