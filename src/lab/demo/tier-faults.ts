/**
 * Faults on the lab's balancer tier under the demo's own load, each measured from outside as a user
 * sees it: the requests that started from the fault until the service was back for good (200 in a
 * row), the failed ones, and how long the VIP took to move. Used by test/integration/balancers.test.ts
 * (a few runs) and scripts/balancer-proof.ts (the recorded proof over many runs).
 */
import type { BalancerTier } from '../cluster/balancer-tier.js';
import { ClusterError } from '../cluster/converge.js';
import { startLoad, type Load } from './load.js';
import { DEMO_LOAD } from './run-demo.js';

/** Requests in a row that must succeed after a fault before the service counts as back. */
const HEALTHY_RUN = 200;
const TIMEOUT_MS = 60_000;

export interface FaultWindow {
  requests: number;
  failed: number;
  errors: string[];
  /** From the fault to the end of the last failed request; undefined when none failed. */
  lastFailedMs: number | undefined;
  p99: number;
  /** The slowest request of the window (a lost packet shows as a wait, not a failure). */
  maxMs: number;
}

export interface Failover extends FaultWindow {
  from: string;
  to: string;
  /** From the kill until `to` alone held the VIP (polled every 10 ms). */
  vipMovedMs: number;
}

export interface Reload extends FaultWindow {
  balancer: string;
  /** Whoever held the VIP before held it after, and nobody else in between (polled every 10 ms). */
  vipStayed: boolean;
}

/** One line for a window: what failed, when the last failure ended, the slowest request, the errors. */
export function windowLine(w: FaultWindow): string {
  const errors = w.errors.length > 0 ? `; ${w.errors.join('; ')}` : '';
  return `${w.failed} of ${w.requests} requests failed (last failure ${w.lastFailedMs ?? '-'} ms after the fault; slowest ${w.maxMs} ms${errors})`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = TIMEOUT_MS, intervalMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new ClusterError(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Until `count` requests that started after `since` have succeeded in a row (the service is back for good). */
async function waitHealthy(load: Load, since: number, count = HEALTHY_RUN): Promise<void> {
  await until(`${count} successful requests in a row after ${new Date(since).toISOString()}`, () => {
    const after = load.outcomes.filter((o) => o.at - o.latencyMs >= since);
    return after.length >= count && after.slice(-count).every((o) => o.ok);
  });
}

/** Runs `fault` under the demo's load on `url` (then `after`, still under load) and returns what the load saw until it recovered. */
export async function underLoad(url: string, fault: () => Promise<void>, after?: () => Promise<void>): Promise<FaultWindow> {
  const load = startLoad(url, DEMO_LOAD);
  try {
    await waitHealthy(load, Date.now(), 300);
    const at = Date.now();
    await fault();
    await after?.();
    await waitHealthy(load, at);
    const end = Date.now();
    await until('requests in flight at the end to be answered', () => load.answeredBefore(end), 20_000);
    const outcomes = load.outcomes.filter((o) => o.at >= at && o.at <= end);
    const failed = outcomes.filter((o) => !o.ok);
    const window = load.window(at, end);
    return {
      requests: outcomes.length,
      failed: failed.length,
      errors: window.errors,
      lastFailedMs: failed.length > 0 ? Math.max(...failed.map((o) => o.at)) - at : undefined,
      p99: Math.round(window.p99),
      maxMs: Math.round(Math.max(0, ...outcomes.map((o) => o.latencyMs))),
    };
  } finally {
    await load.stop();
  }
}

async function holder(tier: BalancerTier): Promise<string> {
  const held = await tier.holders();
  if (held.length !== 1) throw new ClusterError(`expected one balancer to hold the VIP, found ${held.length} (${held.join(', ')})`);
  return held[0]!;
}

const otherThan = (tier: BalancerTier, name: string) => tier.balancers().find((b) => b.name !== name && b.pid !== undefined)!.name;

/** Every running balancer converged and passed its readiness check since its HAProxy last started. */
export async function waitReady(tier: BalancerTier): Promise<void> {
  await tier.waitConverged();
  for (const b of tier.balancers().filter((n) => n.pid !== undefined))
    await until(`${b.name} to pass its readiness check`, () => tier.passedCheck(b.name));
}

/**
 * What a single balancer loses: SIGKILL of the HAProxy of a balancer that does not hold the VIP, the load
 * addressed to that balancer directly (s6 starts HAProxy again). The baseline of every failover.
 */
export async function singleBalancerKill(tier: BalancerTier): Promise<FaultWindow & { balancer: string }> {
  const balancer = otherThan(tier, await holder(tier));
  const window = await underLoad(tier.balancerUrl(balancer), () => tier.killService(balancer, 'haproxy'));
  await waitReady(tier);
  return { ...window, balancer };
}

/** `ha-agent reload` on the VIP's holder, under the demo's load on the VIP, watching who holds it meanwhile. */
export async function plannedReload(tier: BalancerTier): Promise<Reload> {
  const balancer = await holder(tier);
  let stayed = true;
  let watching = true;
  const watch = (async () => {
    while (watching) {
      if ((await tier.holders()).join() !== balancer) stayed = false;
      await sleep(10);
    }
  })();
  try {
    const window = await underLoad(tier.url, async () => {
      await tier.exec(balancer, 'ha-agent', ['reload']);
    });
    return { ...window, balancer, vipStayed: stayed };
  } finally {
    watching = false;
    await watch;
  }
}

/**
 * `kill` applied to the VIP's holder under the demo's load on the VIP, until served for good through
 * the other balancer; how long the VIP took to move there.
 */
export async function failover(tier: BalancerTier, kill: (name: string) => Promise<void>): Promise<Failover> {
  const from = await holder(tier);
  const to = otherThan(tier, from);
  let vipMovedMs = 0;
  let killedAt = 0;
  const window = await underLoad(
    tier.url,
    async () => {
      killedAt = Date.now();
      await kill(from);
    },
    async () => {
      await until(`the VIP on ${to}`, async () => (await tier.holders()).join() === to, 20_000, 10);
      vipMovedMs = Date.now() - killedAt;
    },
  );
  return { ...window, from, to, vipMovedMs };
}

/** Every process of the VIP's holder SIGKILLed at once; with `link`, its link down first (a host that lost power). */
export function nodeKill(tier: BalancerTier, { link = false } = {}): Promise<Failover> {
  return failover(tier, (name) => tier.killNode(name, { link }));
}

/** A killed node comes back like a rebooted host, and passes its check (the VIP stays where it went). */
export async function restoreNode(tier: BalancerTier, name: string): Promise<void> {
  await tier.startBalancer(name);
  await waitReady(tier);
}
