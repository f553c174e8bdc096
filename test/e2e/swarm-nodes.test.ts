/**
 * docker-stack.yml on three Swarm nodes on one machine (root): each node a network namespace with its own
 * dockerd, every node a manager; docker-stack.nodes.yml puts an `ha` task on each of the two nodes labelled
 * lb=true and spreads the web tasks; keepalived on those two nodes holds a virtual IP in front of their
 * host-mode ports, and the load goes to it from the host. Under that load: webapp scaled across nodes, a
 * node drained and a rolling update (0 failed each), node 1 lost (link down, every process killed: requests
 * lost and the time until its servers are out, bounded), then the node of the balancer holding the VIP lost
 * (failover time and requests lost, bounded). Afterwards nothing the lab made is left: asserted.
 */
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { addSamples, saveRecord, startRecord } from '../../bench/record.js';
import type { Load } from '../../src/lab/demo/load.js';
import { NodesDriver, type NodeLoss } from '../../src/lab/demo/nodes-driver.js';
import { BALANCER_LOSS_MAX_FAILED, NODE_LOSS_MAX_FAILED } from '../../src/lab/demo/scenario.js';
import { RuntimeClient } from '../../src/runtime/client.js';
import { measurePhase, prepareEngine, startStackLoad, type PhaseFigures } from '../helpers/docker.js';
import { describeIfCan } from '../helpers/needs.js';

const root = path.resolve(import.meta.dirname, '../..');
const report: string[] = [];
const STICKY_USERS = 6;
/** Its own prefix and /24: a demo the user runs (swn, 10.234.0) and the balancer tier's tests are left alone. */
const PREFIX = 'swe';
const NET = '10.235.0';
/** From a node's loss to its servers out of every balancer's HAProxy: Serf's failure detection, under load on 2 CPUs. */
const MEMBERS_OUT_MS = 60_000;
/** From SIGKILL of the VIP holder's node to the VIP on the other balancer node. */
const VIP_MOVE_MS = 5_000;

/** HA_AGENT_RECORD=1: the phases' figures go to bench/results/swarm-nodes/ (docs/swarm.md's table is generated from them). */
const record =
  process.env.HA_AGENT_RECORD === '1'
    ? startRecord('swarm-nodes', {
        nodes: 3,
        WEBAPP_GRACE_MS: 3000,
        stickyUsers: STICKY_USERS,
        load: '4 keep-alive + 2 new-connection clients',
      })
    : undefined;
if (record) record.facts.failedTests = [];
const seconds = (ms: number) => Math.round(ms / 100) / 10;

let driver: NodesDriver;
let load: Load;
let users: Load;
let startedEngine = false;
let tornDown = false;

async function servers(node: string): Promise<string[]> {
  const client = new RuntimeClient({ url: driver.nodeRuntimeUrl(driver.swarm.node(node)), connectTimeoutMs: 2000 });
  try {
    await client.connect();
    return (await client.stat('nodes')).map((s) => s.name).sort();
  } finally {
    await client.close();
  }
}

/** Pid and start time of the HAProxy behind the VIP. */
async function haproxyProcess(): Promise<string> {
  const info = await driver.execInHa('ha-agent', 'exec', '--', 'show info');
  return `pid ${/^Pid: (\d+)$/m.exec(info)?.[1]} started ${/^Start_time_sec: (\d+)$/m.exec(info)?.[1]}`;
}

async function phase(name: string, action: () => Promise<void>): Promise<PhaseFigures> {
  const result = await measurePhase(load, users, action);
  if (record)
    ((record.facts.phases ??= []) as unknown[]).push({
      stack: '3 nodes',
      phase: name,
      requests: result.requests,
      failed: result.failed,
      seconds: result.seconds,
      usersRequests: result.users.requests,
      usersFailed: result.users.failed,
      sessionsKept: result.sessions.kept,
      sessionsNew: result.sessions.renewed,
    });
  report.push(
    `${name.padEnd(70)} ${String(result.requests).padStart(7)} ${String(result.failed).padStart(5)} ${result.seconds.toFixed(1).padStart(6)} s ` +
      `${result.errors.join('; ')} | users: ${result.users.requests} requests, ${result.users.failed} failed`,
  );
  return result;
}

function expectGraceful(result: PhaseFigures): void {
  expect(result.failed, result.errors.join('; ')).toBe(0);
  expect(result.users.failed, result.users.errors.join('; ')).toBe(0);
  expect(result.requests).toBeGreaterThan(0);
  expect(result.users.requests).toBeGreaterThan(0);
}

/** The nodes the web tasks run on. */
async function webNodes(): Promise<string[]> {
  return [...new Set((await driver.placed('web')).map((t) => t.node))].sort();
}

describeIfCan(
  { root: true, programs: ['ip', 'iptables', 'keepalived', 'dockerd', 'unshare', 'curl'] },
  'Docker Swarm on three nodes: two balancers behind a VIP; scale, drain, rolling update, a node lost, a balancer node lost',
  () => {
    let haproxy: string;

    // A recorded run says which tests failed: its figures are those of a run that did not pass.
    beforeEach(({ onTestFailed, task }) => {
      if (record) onTestFailed(() => void (record.facts.failedTests as string[]).push(task.name));
    });

    beforeAll(async () => {
      const env: NodeJS.ProcessEnv = { ...process.env, HA_AGENT_TAG: process.env.HA_AGENT_TAG ?? 'latest', WEBAPP_GRACE_MS: '3000' };
      driver = new NodesDriver({ root, stack: 'haenodes', env, nodes: 3, prefix: PREFIX, net: NET });
      startedEngine = await prepareEngine(root, (command, args) => driver.sh(command, args));
      const started = Date.now();
      await driver.up(3, 0);
      report.push(`images built, 3 nodes, images loaded, swarm, stack deployed, VIP held: ${((Date.now() - started) / 1000).toFixed(1)} s`);
      if (record) addSamples(record, 'build + nodes + images + swarm + deploy + VIP (s)', [seconds(Date.now() - started)]);
      ({ load, users } = startStackLoad(driver.frontendUrl, STICKY_USERS));
    }, 900_000);

    afterAll(async () => {
      await Promise.all([load?.stop(), users?.stop()]);
      // A failed run leaves nothing either: the same teardown as the last test's.
      if (!tornDown) await driver?.down().catch((error) => console.error(error));
      console.log(['', 'E2E swarm nodes: phase, requests, failed, duration | sticky users', ...report].join('\n'));
      if (record) console.log(`recorded: ${saveRecord(record)}`);
      if (startedEngine) await driver.sh('bash', ['scripts/docker-engine.sh', 'stop']);
    }, 300_000);

    it('serves through the VIP: an ha task on each lb node, web tasks on every node, both balancers holding the same servers', async () => {
      haproxy = await haproxyProcess();
      const ha = await driver.placed('ha');
      expect(ha.map((t) => t.node).sort()).toEqual([...driver.balancerNodes].sort());
      expect(await webNodes()).toEqual(driver.swarm.nodes.map((n) => n.name).sort());
      const web = await driver.webHosts();
      expect(web).toHaveLength(3);
      // One Serf cluster: each balancer's HAProxy holds every web task, wherever it runs.
      for (const node of driver.balancerNodes) expect(await servers(node)).toEqual(web);
    });

    it('scales webapp 3 → 6 → 3 across nodes: no failed request', async () => {
      const out = await phase('scale webapp 3 → 6', () => driver.scale(6).then(() => undefined));
      expectGraceful(out);
      expect(await webNodes()).toHaveLength(3);
      expectGraceful(await phase('scale webapp 6 → 3', () => driver.scale(3).then(() => undefined)));
    }, 240_000);

    it('drains node 1 (docker node update --availability drain): its tasks start elsewhere, no failed request', async () => {
      let detail = '';
      const result = await phase('drain node 1', async () => {
        ({ detail } = await driver.drainNode());
      });
      report.push(`  ${detail}`);
      if (record) record.facts.drain = detail;
      expectGraceful(result);
      expect(await driver.webHosts()).toHaveLength(3);
    }, 240_000);

    it('rolls webapp across nodes (docker service update --force): no failed request, HAProxy never restarted', async () => {
      const before = await driver.webHosts();
      const result = await phase('rolling update of webapp', async () => {
        const { replaced } = await driver.rollingUpdate();
        expect(replaced).toBe(before.length);
      });
      expectGraceful(result);
      expect(await haproxyProcess()).toBe(haproxy);
    }, 240_000);

    it('loses node 1 (link down, every process killed): requests lost and the time until its servers are out, bounded', async () => {
      let loss: NodeLoss | undefined;
      const result = await phase('node 1 lost', async () => {
        loss = await driver.loseNode();
      });
      report.push(`  ${loss?.detail}; ${result.failed} failed (${result.errors.join('; ')}), p99 ${result.p99.toFixed(0)} ms`);
      if (record && loss) {
        addSamples(record, 'node lost: its servers DOWN (s)', [seconds(loss.downMs)]);
        addSamples(record, 'node lost: its servers out of HAProxy (s)', [seconds(loss.outMs)]);
        addSamples(record, 'node lost: replacements serving (s)', [seconds(loss.replacedMs)]);
        record.facts.nodeLoss = { servers: loss.servers, errors: result.errors };
      }
      expect(loss?.servers).toBeGreaterThan(0);
      expect(loss!.outMs).toBeLessThan(MEMBERS_OUT_MS);
      expect(result.failed).toBeLessThanOrEqual(NODE_LOSS_MAX_FAILED);
      expect(await driver.webHosts()).toHaveLength(3);
      expect(await haproxyProcess()).toBe(haproxy);
    }, 300_000);

    it("loses the active balancer's node: the other node takes the VIP, requests lost bounded", async () => {
      let figures = '';
      const result = await phase('active balancer node lost', async () => {
        const { from, to, killedAt, vipAt } = await driver.killActiveBalancer();
        expect(to).not.toBe(from);
        expect(vipAt - killedAt).toBeLessThan(VIP_MOVE_MS);
        figures = `${from} → ${to}: VIP moved in ${vipAt - killedAt} ms`;
        if (record) addSamples(record, 'balancer node lost: VIP moved (ms)', [vipAt - killedAt]);
        // Served again through the other balancer: every web task left is in its HAProxy, and a request answers.
        await driver.waitConverged(120_000);
        const answer = await fetch(driver.frontendUrl, { signal: AbortSignal.timeout(5000) });
        expect(answer.status).toBe(200);
      });
      report.push(`  ${figures}; ${result.failed} failed (${result.errors.join('; ')})`);
      expect(result.failed).toBeLessThanOrEqual(BALANCER_LOSS_MAX_FAILED);
    }, 300_000);

    it('tears down: no namespace, link, FORWARD rule, cgroup, data or exec root, or engine left', async () => {
      await load.stop();
      await users.stop();
      tornDown = true;
      const started = Date.now();
      await driver.down();
      report.push(`teardown: ${((Date.now() - started) / 1000).toFixed(1)} s`);
      if (record) addSamples(record, 'teardown (s)', [seconds(Date.now() - started)]);
      expect(await driver.leftovers()).toEqual([]);
    }, 180_000);
  },
);
