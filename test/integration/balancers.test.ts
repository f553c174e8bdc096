/**
 * Two balancers behind a virtual IP, each its own "host" (network namespace) with real HAProxy, Serf,
 * ha-agent and keepalived; web servers (the lab's web app + Serf) on hosts of their own. Load runs
 * from the root namespace (the bridge's address) to the VIP. Needs root (namespaces, iptables).
 * Figures are printed, not asserted as timings: docs/balancers.md quotes them.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BalancerTier, serverName } from '../../src/lab/cluster/balancer-tier.js';
import { LabNetwork, sh } from '../../src/lab/cluster/netns.js';
import { startLoad, type Load } from '../../src/lab/demo/load.js';
import { describeIfCan, TIER_NEEDS } from '../helpers/needs.js';
import { waitFor } from '../helpers/wait.js';

const home = path.resolve(import.meta.dirname, '../..');
const prefix = 'hat';

/** Load like the demo's: 4 keep-alive clients and 2 opening a connection per request. */
const startDemoLoad = (url: string) => startLoad(url, { keepAlive: 4, newConnection: 2 });

/** Until `count` requests that started after `since` have succeeded in a row (the service is back for good). */
async function waitHealthy(load: Load, since: number, count = 200, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    `${count} successful requests in a row after ${new Date(since).toISOString()}`,
    () => {
      const after = load.outcomes.filter((o) => o.at - o.latencyMs >= since);
      return after.length >= count && after.slice(-count).every((o) => o.ok);
    },
    { timeoutMs },
  );
}

interface Fault {
  requests: number;
  failed: number;
  errors: string[];
  /** From the SIGKILL to the end of the last failed request. */
  lastFailedMs: number | undefined;
  p99: number;
}

/** Runs `fault` under load on `url` and returns what the load saw from the fault until it recovered. */
async function underLoad(url: string, fault: () => Promise<void> | void, after?: (killedAt: number) => Promise<void>): Promise<Fault> {
  const load = startDemoLoad(url);
  try {
    await waitHealthy(load, Date.now(), 300);
    const killedAt = Date.now();
    await fault();
    await after?.(killedAt);
    await waitHealthy(load, killedAt);
    const end = Date.now();
    await waitFor('requests in flight at the end to be answered', () => load.answeredBefore(end), { timeoutMs: 20_000 });
    const outcomes = load.outcomes.filter((o) => o.at >= killedAt && o.at <= end);
    const failed = outcomes.filter((o) => !o.ok);
    const window = load.window(killedAt, end);
    return {
      requests: outcomes.length,
      failed: failed.length,
      errors: window.errors,
      lastFailedMs: failed.length > 0 ? Math.max(...failed.map((o) => o.at)) - killedAt : undefined,
      p99: Math.round(window.p99),
    };
  } finally {
    await load.stop();
  }
}

describeIfCan(TIER_NEEDS, 'two balancers behind a virtual IP (network namespaces, keepalived)', () => {
  let tier: BalancerTier | undefined;
  let stateDir = '';
  const figures: string[] = [];
  /** The single balancer's loss, the baseline for every failover in this run. */
  let singleFailed = 0;

  beforeAll(async () => {
    stateDir = mkdtempSync(path.join(tmpdir(), 'ha-agent-balancers-'));
    // A leftover of an earlier run that died: the start sweeps it away (it carries the prefix).
    await sh('ip', ['netns', 'add', `${prefix}-stale`]);
    tier = await BalancerTier.up({ home, stateDir, prefix, net: '10.232.0', balancers: 2, webapps: 3, timeoutMs: 60_000 });
    expect(await LabNetwork.namespaces(prefix)).not.toContain(`${prefix}-stale`);
  });

  afterAll(async () => {
    await tier?.down();
    // Whatever happened above, nothing the test made is left: no namespace, link or rule with its prefix.
    expect(await LabNetwork.namespaces(prefix)).toEqual([]);
    expect(await LabNetwork.links(prefix)).toEqual([]);
    expect(await LabNetwork.forwardRules(prefix)).toEqual([]);
    rmSync(stateDir, { recursive: true, force: true });
    if (figures.length > 0) console.log(`balancers.test figures:\n  ${figures.join('\n  ')}`);
  });

  /** Polls which balancer holds the VIP until `name` alone does; returns ms since `since`. */
  async function vipOn(name: string, since: number): Promise<number> {
    await waitFor(`the VIP on ${name}`, async () => (await tier!.holders()).join() === name, { timeoutMs: 20_000, intervalMs: 10 });
    return Date.now() - since;
  }

  const other = (name: string) => tier!.balancers().find((b) => b.name !== name)!.name;

  it('SIGKILL of the active HAProxy: the VIP moves, and fewer requests fail than with a single balancer', async () => {
    const t = tier!;
    const [active] = await t.holders();
    expect(active).toBeDefined();
    const standby = other(active!);

    // The same fault on one balancer addressed directly (no VIP): what a single balancer loses today.
    const single = await underLoad(t.balancerUrl(standby), () => t.killService(standby, 'haproxy'));
    singleFailed = single.failed;
    await waitFor(`${standby} ready again`, () => t.passedCheck(standby), { timeoutMs: 30_000 });
    await t.waitConverged();

    let vipMovedMs = 0;
    const pair = await underLoad(
      t.url,
      () => t.killService(active!, 'haproxy'),
      async (killedAt) => {
        vipMovedMs = await vipOn(standby, killedAt);
      },
    );
    figures.push(
      `single balancer, SIGKILL HAProxy (s6 restarts it): ${single.failed} of ${single.requests} requests failed ` +
        `(last failure ${single.lastFailedMs ?? '-'} ms after the kill; ${single.errors.join('; ')})`,
      `two balancers, SIGKILL the active HAProxy: ${pair.failed} of ${pair.requests} requests failed ` +
        `(last failure ${pair.lastFailedMs ?? '-'} ms after the kill; ${pair.errors.join('; ')}); VIP moved after ${vipMovedMs} ms; ` +
        `ratio ${single.failed > 0 ? (pair.failed / single.failed).toFixed(3) : '-'}`,
    );
    expect(await t.holders()).toEqual([standby]);
    expect(single.failed).toBeGreaterThan(0);
    expect(pair.failed).toBeLessThan(single.failed);
  });

  it('the whole active node dies: the other takes the VIP; the node returns, converges, and does not take it back', async () => {
    const t = tier!;
    const [active] = await t.holders();
    const standby = other(active!);
    await waitFor(`${standby} ready`, () => t.passedCheck(standby), { timeoutMs: 30_000 });

    let vipMovedMs = 0;
    const node = await underLoad(
      t.url,
      () => t.killNode(active!),
      async (killedAt) => {
        vipMovedMs = await vipOn(standby, killedAt);
      },
    );
    figures.push(
      `two balancers, SIGKILL every process of the active node: ${node.failed} of ${node.requests} requests failed ` +
        `(last failure ${node.lastFailedMs ?? '-'} ms after the kill; ${node.errors.join('; ')}); VIP moved after ${vipMovedMs} ms; ` +
        `ratio to the single balancer ${singleFailed > 0 ? (node.failed / singleFailed).toFixed(3) : '-'}`,
    );
    expect(await t.holders()).toEqual([standby]);
    expect(node.failed).toBeLessThan(singleFailed);

    // The node comes back as a host that rebooted: no VIP, its HAProxy counted down until its check passes.
    const logFile = path.join(t.node(active!).dir, 'output.log');
    const logBefore = readFileSync(logFile, 'utf8').length;
    await t.startBalancer(active!);
    expect(t.passedCheck(active!)).toBe(false);
    const since = () => readFileSync(logFile, 'utf8').slice(logBefore);
    await waitFor(`${active} to pass its readiness check and enter BACKUP`, () => /Entering BACKUP STATE/.test(since()), {
      timeoutMs: 60_000,
    });
    // It left FAULT only through its check: a passing check is what writes 0 into the file keepalived tracks.
    expect(since()).toContain('tracked file haproxy_down leaving FAULT');
    await waitFor('the check to be logged as passing', () => since().includes('VRRP_Script(balancer_ready) succeeded'));
    expect(t.passedCheck(active!)).toBe(true);
    await t.waitConverged(5_000);
    // Same priority and the holder is ready: the VIP stays (no flap back). Nothing marks "did not move": observe 2 s.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await t.holders()).toEqual([standby]);
  });

  it('a web server on another host joins through Serf, is served through the VIP, and leaves with 0 failed requests', async () => {
    const t = tier!;
    const load = startDemoLoad(t.url);
    try {
      await waitHealthy(load, Date.now(), 100);
      const from = Date.now();
      const web = await t.addWeb();
      const name = serverName(web);
      await waitFor(`${name} served through the VIP`, () => load.outcomes.filter((o) => o.at > from && o.by === name).length >= 20, {
        timeoutMs: 30_000,
      });
      await t.removeWeb(web.name);
      await t.waitConverged();
      const end = Date.now();
      await waitFor('requests in flight to be answered', () => load.answeredBefore(end), { timeoutMs: 20_000 });
      const window = load.window(from, end);
      figures.push(`web server joined from another host and left: ${window.failed} of ${window.requests} requests failed`);
      expect(window.errors).toEqual([]);
      expect(window.failed).toBe(0);
    } finally {
      await load.stop();
    }
  });
});
