/**
 * Two balancers behind a virtual IP, each its own "host" (network namespace) with real HAProxy, Serf,
 * ha-agent and keepalived; web servers (the lab's web app + Serf) on hosts of their own. Load runs
 * from the root namespace (the bridge's address) to the VIP, the demo's own. Needs root (namespaces,
 * iptables). Asserted: planned reloads lose nothing and keep the VIP; each failover moves the VIP, its
 * last failed request ends within 2 s of the fault, and it loses at most a tenth of what a single
 * balancer loses in the same run. A few runs here;
 * scripts/balancer-proof.ts runs the proof over 10 reloads and 5 rounds of kills and records it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BalancerTier, serverName } from '../../src/lab/cluster/balancer-tier.js';
import { LabNetwork, sh } from '../../src/lab/cluster/netns.js';
import { startLoad } from '../../src/lab/demo/load.js';
import { DEMO_LOAD } from '../../src/lab/demo/run-demo.js';
import {
  failover,
  nodeKill,
  plannedReload,
  restoreNode,
  singleBalancerKill,
  waitReady,
  windowLine,
  type Failover,
} from '../../src/lab/demo/tier-faults.js';
import { expectNoneFailed } from '../helpers/expect-load.js';
import { describeIfCan, TIER_NEEDS } from '../helpers/needs.js';
import { waitFor } from '../helpers/wait.js';

const home = path.resolve(import.meta.dirname, '../..');
const prefix = 'hat';

/** Targets: a failover loses at most a tenth of what a single balancer loses, and its last failed request ends within this bound. */
const MAX_RATIO = 0.1;
const MAX_FAILOVER_MS = 2_000;
/** The VIP poll (`ip addr` in each namespace, every 10 ms) lags on a busy machine: it only has to see the move. */
const MAX_VIP_POLL_MS = 10_000;

const ratio = (failed: number, single: number) => (single > 0 ? (failed / single).toFixed(3) : '-');
/** Planned reloads per run of the suite (scripts/balancer-proof.ts runs 10 and records them). */
const RELOAD_RUNS = 2;

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

  /** A failover against the single balancer measured in the same run: VIP moved in time, at most a tenth of the loss. */
  function expectFailover(what: string, f: Failover): void {
    figures.push(
      `${what}: ${windowLine(f)}; VIP on ${f.to} after ${f.vipMovedMs} ms; ratio to the single balancer ${ratio(f.failed, singleFailed)}`,
    );
    expect(f.to).not.toBe(f.from);
    expect(f.lastFailedMs ?? 0).toBeLessThan(MAX_FAILOVER_MS);
    expect(f.vipMovedMs).toBeLessThan(MAX_VIP_POLL_MS);
    expect(f.failed).toBeLessThanOrEqual(MAX_RATIO * singleFailed);
  }

  it('a single balancer: SIGKILL of its HAProxy fails requests until s6 has it serving again (the baseline)', async () => {
    const single = await singleBalancerKill(tier!);
    singleFailed = single.failed;
    figures.push(`single balancer ${single.balancer}, SIGKILL HAProxy (s6 restarts it): ${windowLine(single)}`);
    expect(single.requests).toBeGreaterThan(0);
    expect(single.failed).toBeGreaterThan(0);
  }, 180_000);

  it("a planned reload of the VIP's holder loses nothing and the VIP stays, run after run", async () => {
    for (let run = 1; run <= RELOAD_RUNS; run += 1) {
      const reload = await plannedReload(tier!);
      figures.push(
        `planned reload ${run}/${RELOAD_RUNS} of ${reload.balancer}: ${windowLine(reload)}; VIP ${reload.vipStayed ? 'stayed' : 'moved'}`,
      );
      expectNoneFailed(reload, `planned reload ${run}`);
      expect(reload.vipStayed).toBe(true);
    }
  }, 180_000);

  it('SIGKILL of the active HAProxy: the VIP moves, losing at most a tenth of a single balancer', async () => {
    const t = tier!;
    const f = await failover(t, (name) => t.killService(name, 'haproxy'));
    expectFailover('two balancers, SIGKILL the active HAProxy', f);
    await waitReady(t);
  }, 180_000);

  it('the whole active node dies: the other takes the VIP, losing at most a tenth; the node returns, converges, and does not take it back', async () => {
    const t = tier!;
    const f = await nodeKill(t);
    expectFailover('two balancers, SIGKILL every process of the active node', f);
    expect(await t.holders()).toEqual([f.to]);

    // The node comes back as a host that rebooted: no VIP, its HAProxy counted down until its check passes.
    const logFile = path.join(t.node(f.from).dir, 'output.log');
    const logBefore = readFileSync(logFile, 'utf8').length;
    await t.startBalancer(f.from);
    expect(t.passedCheck(f.from)).toBe(false);
    const since = () => readFileSync(logFile, 'utf8').slice(logBefore);
    await waitFor(`${f.from} to pass its readiness check and enter BACKUP`, () => /Entering BACKUP STATE/.test(since()), {
      timeoutMs: 60_000,
    });
    // It left FAULT only through its check: a passing check is what writes 0 into the file keepalived tracks.
    expect(since()).toContain('tracked file haproxy_down leaving FAULT');
    await waitFor('the check to be logged as passing', () => since().includes('VRRP_Script(balancer_ready) succeeded'));
    expect(t.passedCheck(f.from)).toBe(true);
    await t.waitConverged(5_000);
    // Same priority and the holder is ready: the VIP stays (no flap back). Nothing marks "did not move": observe 2 s.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await t.holders()).toEqual([f.to]);
  }, 180_000);

  it('the whole active node dies with its link down (a host that lost power): the VIP moves, losing at most a tenth', async () => {
    const t = tier!;
    const f = await nodeKill(t, { link: true });
    expectFailover('two balancers, SIGKILL every process of the active node, its link down', f);
    await restoreNode(t, f.from);
  }, 180_000);

  it('a web server on another host joins through Serf, is served through the VIP, and leaves with 0 failed requests', async () => {
    const t = tier!;
    const load = startLoad(t.url, DEMO_LOAD);
    try {
      await waitFor('the load served', () => load.outcomes.filter((o) => o.ok).length >= 100, { timeoutMs: 30_000 });
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
      expectNoneFailed(window, 'web server joined and left');
    } finally {
      await load.stop();
    }
  }, 180_000);
});
