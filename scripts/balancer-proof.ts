/**
 * The balancer tier's proof over many runs (root only), recorded with bench/record.ts into
 * bench/results/balancer-tier/: two balancers and three web servers (src/lab/cluster/balancer-tier.ts),
 * the demo's own load on the VIP.
 *  - RELOADS planned reloads (`ha-agent reload`) of the VIP's holder: requests failed, and whether the
 *    VIP stayed on it. Target: 0 failed and the VIP stayed, every run.
 *  - KILLS rounds of: SIGKILL of a single balancer's HAProxy (the load on that balancer directly, the
 *    baseline), SIGKILL of every process of the VIP's holder, and the same with its link down first.
 *    Target: a node kill fails at most 1/10 of the single balancer's requests, every round.
 * Usage: sudo npx tsx scripts/balancer-proof.ts [RELOADS=10] [KILLS=5]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { addSamples, saveRecord, startRecord } from '../bench/record.js';
import { BalancerTier } from '../src/lab/cluster/balancer-tier.js';
import { ADVERT_INTERVAL_S } from '../src/lab/cluster/keepalived.js';
import { DEMO_LOAD } from '../src/lab/demo/run-demo.js';
import { nodeKill, plannedReload, restoreNode, singleBalancerKill, windowLine } from '../src/lab/demo/tier-faults.js';

const reloads = Number(process.argv[2] ?? 10);
const kills = Number(process.argv[3] ?? 5);
const home = path.resolve(import.meta.dirname, '..');
const stateDir = mkdtempSync(path.join(tmpdir(), 'ha-agent-balancer-proof-'));

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0
    ? Number.NaN
    : (sorted[Math.floor((sorted.length - 1) / 2)]! + sorted[Math.ceil((sorted.length - 1) / 2)]!) / 2;
};
const spread = (values: readonly number[], digits = 0) =>
  `${median(values).toFixed(digits)} (${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}, ${values.length} runs)`;

const record = startRecord('balancer-tier', {
  balancers: 2,
  webapps: 3,
  load: DEMO_LOAD,
  advertIntervalS: ADVERT_INTERVAL_S,
  reloads,
  kills,
});
const tier = await BalancerTier.up({ home, stateDir, prefix: 'hbp', net: '10.234.0', balancers: 2, webapps: 3 });
const outcome: string[] = [];
try {
  const reload = { failed: [] as number[], requests: [] as number[], moved: 0 };
  for (let run = 1; run <= reloads; run += 1) {
    const r = await plannedReload(tier);
    console.log(`reload ${run}/${reloads} on ${r.balancer}: ${windowLine(r)}; VIP ${r.vipStayed ? 'stayed' : 'MOVED'}`);
    reload.failed.push(r.failed);
    reload.requests.push(r.requests);
    if (!r.vipStayed) reload.moved += 1;
  }
  addSamples(record, 'reload failed requests', reload.failed);
  addSamples(record, 'reload requests', reload.requests);
  record.facts.reloadVipMoved = reload.moved;

  const rounds: Record<string, number[]> = {};
  const add = (name: string, value: number) => (rounds[name] ??= []).push(value);
  for (let run = 1; run <= kills; run += 1) {
    const single = await singleBalancerKill(tier);
    console.log(`round ${run}/${kills} single balancer (${single.balancer}), SIGKILL HAProxy: ${windowLine(single)}`);
    add('single failed requests', single.failed);
    add('single outage ms', single.lastFailedMs ?? 0);
    for (const link of [false, true]) {
      const kind = link ? 'node+link' : 'node';
      const k = await nodeKill(tier, { link });
      await restoreNode(tier, k.from);
      const ratio = single.failed > 0 ? k.failed / single.failed : Number.NaN;
      console.log(
        `round ${run}/${kills} SIGKILL ${link ? 'and link down of ' : ''}every process of ${k.from}: ${windowLine(k)}; ` +
          `VIP on ${k.to} after ${k.vipMovedMs} ms; ratio ${ratio.toFixed(3)}`,
      );
      add(`${kind} failed requests`, k.failed);
      add(`${kind} ratio to single`, ratio);
      add(`${kind} vip moved ms`, k.vipMovedMs);
      add(`${kind} slowest request ms`, k.maxMs);
    }
  }
  for (const [name, values] of Object.entries(rounds)) addSamples(record, name, values);
  const ratios = (kind: string) => record.samples[`${kind} ratio to single`] ?? [];
  record.facts.nodeRatioMet = ratios('node').filter((r) => r <= 0.1).length;
  record.facts.linkRatioMet = ratios('node+link').filter((r) => r <= 0.1).length;

  outcome.push(
    `planned reload of the VIP's holder: failed requests ${spread(reload.failed)}; VIP moved in ${reload.moved} of ${reloads}; ` +
      `${reload.failed.filter((f) => f === 0).length}/${reloads} runs lost 0`,
  );
  for (const [name, values] of Object.entries(record.samples)) {
    if (!name.startsWith('reload')) outcome.push(`${name}: ${spread(values, name.includes('ratio') ? 3 : 0)}`);
  }
  outcome.push(
    `node kill at most 1/10 of the single balancer's loss: ${String(record.facts.nodeRatioMet)}/${kills} rounds; ` +
      `with the link down: ${String(record.facts.linkRatioMet)}/${kills}`,
  );
} finally {
  await tier.down();
  rmSync(stateDir, { recursive: true, force: true });
}
console.log(`\n${outcome.join('\n')}\nrecorded: ${saveRecord(record)}`);
