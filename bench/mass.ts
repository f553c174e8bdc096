/**
 * Many members joining, then leaving, at once, through a Serf RPC stand-in (test/helpers/fake-serf.ts)
 * so that the figure is ha-agent's, not hundreds of Serf processes': real haproxy, real HTTP servers
 * (in a process of their own, bench/http-fleet.ts).
 * As real Serf does, the stand-in's member list and `stats` change at once and its coalesced event
 * follows 1 s later (Serf's quiet period), so the clock starts when Serf's list shows the change.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { RuntimeClient } from '../src/runtime/client.js';
import { agentArgs, benchNodeOptions, startAgent, type LogLine } from '../test/helpers/agent.js';
import { FakeSerf, type FakeMember } from '../test/helpers/fake-serf.js';
import { startHaproxy } from '../test/helpers/haproxy.js';
import { stopAll } from '../test/helpers/processes.js';
import { waitFor } from '../test/helpers/wait.js';
import { cpuPercent, cpuSeconds, productDefaults, rssMb } from './figures.js';
import { startFleet, type FleetKind } from './http-fleet.js';

// The stages below are read from the agent's whole log (thousands of lines), not the helpers' last 200 kB.
process.env.TEST_OUTPUT_LIMIT ??= String(256 * 1024 * 1024);

/** Serf's quiet period before it sends a batch of member events. */
const SERF_BATCH_MS = 1_000;

/** When the last server reached each stage of its join or leave, ms after the list changed (from the agent's log). */
export type Stages = Record<string, number>;

export interface MassResult {
  joinMs: number;
  joinStages: Stages;
  leaveStages: Stages;
  outMs: number;
  deletedMs: number;
  /** CPU the agent used (user + system) from the list change until all were UP / all were out of rotation. */
  joinCpuMs: number;
  outCpuMs: number;
  distinctServed: number;
  /** The agent's RSS 5 s after the joins, after the idle window (~15 s after), and the most it held (its peak, during the joins). */
  agentRssMb: number;
  agentRssSettledMb: number;
  agentRssPeakMb: number;
  /** % of one core over `idleMs` with every member served and nothing changing (NaN when not measured). */
  idleCpu: number;
  /** `stats` reads a second during the idle window. */
  pollsPerSecond: number;
}

export interface MassOptions {
  /** Added to the agent's command line (e.g. a different --serf-poll). */
  extraArgs?: readonly string[];
  /** How long the idle agent's CPU is measured; 0: not measured. */
  idleMs?: number;
  /** The web servers' stand-in (bench/http-fleet.ts); default `haproxy`. */
  fleet?: FleetKind;
}

/** The stages of a join and of a leave, as the agent logs them. */
const JOIN_STAGES: Array<[string, (l: LogLine) => boolean]> = [
  ['planned', (l) => l.event === 'plan.action' && l.action === 'join'],
  ['first check timed out (rolled back)', (l) => l.event === 'check.timeout'],
  ['added', (l) => l.event === 'step.finished' && l.step === 'add'],
  ['health enabled', (l) => l.event === 'step.finished' && l.step === 'enable-health'],
  ['first check passed (seen)', (l) => l.event === 'check.passed'],
  ['state ready', (l) => l.event === 'step.finished' && l.step === 'set-state' && String(l.command).endsWith('ready')],
];
const LEAVE_STAGES: Array<[string, (l: LogLine) => boolean]> = [
  ['planned', (l) => l.event === 'plan.action' && l.action === 'remove'],
  ['state drain', (l) => l.event === 'step.finished' && l.step === 'set-state' && String(l.command).endsWith('drain')],
  ['drained', (l) => l.event === 'drain.finished' || l.event === 'drain.timeout'],
  ['deleted', (l) => l.event === 'step.finished' && l.step === 'del'],
];

function stages(logs: readonly LogLine[], from: number, list: Array<[string, (l: LogLine) => boolean]>): Stages {
  const out: Stages = {};
  for (const [name, match] of list) {
    let last = Number.NaN;
    for (const line of logs) if (match(line)) last = Math.max(Number.isNaN(last) ? -Infinity : last, Date.parse(String(line.time)) - from);
    out[name] = last;
  }
  return out;
}

export async function massChange(
  count: number,
  { extraArgs = [], idleMs = 10_000, fleet: fleetKind = 'haproxy' }: MassOptions = {},
): Promise<MassResult> {
  const haproxy = await startHaproxy();
  const serf = new FakeSerf();
  await serf.listen();
  // As ha/services/ha-agent/run starts it.
  const agent = startAgent(productDefaults(agentArgs(haproxy, serf.address, ['--log-level', 'info', ...extraArgs])), {
    NODE_OPTIONS: benchNodeOptions(),
  });
  const runtime = new RuntimeClient({ url: haproxy.tcpUrl });
  runtime.start();
  const fleet = await startFleet(fleetKind, count);
  const timers: NodeJS.Timeout[] = [];
  try {
    await waitFor('runtime connected', () => runtime.connected);
    await waitFor('agent connected to serf', () => serf.streaming, { timeoutMs: 20_000 });
    const members: FakeMember[] = fleet.webs.map((w) => ({
      name: w.id,
      address: w.address,
      tags: { role: 'backend', port: String(w.port) },
      status: 'alive',
    }));
    const change = (type: 'member-join' | 'member-leave', changed: FakeMember[], then: FakeMember[]) => {
      serf.set(changed);
      timers.push(setTimeout(() => serf.event(type, then), SERF_BATCH_MS));
    };
    const up = async () => (await runtime.stat(haproxy.backend)).filter((s) => s.status.startsWith('UP')).length;

    const agentCpuMs = () => cpuSeconds(agent.process.pid) * 1000;
    const cpu0 = agentCpuMs();
    const t0 = Date.now();
    change('member-join', members, members);
    await waitFor(`${count} UP`, async () => (await up()) === count, { timeoutMs: 120_000, intervalMs: 20 });
    const joinMs = Date.now() - t0;
    const joinCpuMs = agentCpuMs() - cpu0;
    // HAProxy can show the last change before the agent's line about it has reached this process: wait for the lines.
    const logged = (what: string, match: (l: LogLine) => boolean) =>
      waitFor(`the agent's log shows ${count} ${what}`, () => agent.logs().filter(match).length >= count, {
        timeoutMs: 10_000,
        intervalMs: 100,
      });
    await logged('finished joins', (l) => l.event === 'action.finished' && l.action === 'join');
    const joinStages = stages(agent.logs(), t0, JOIN_STAGES);
    // Memory and idle cost with every member served, once the burst of joins (and its event) has settled.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const agentRssMb = rssMb(agent.process.pid);
    const polls = serf.statsRequests;
    const [idleCpu = Number.NaN] = idleMs > 0 ? await cpuPercent([agent.process.pid], idleMs) : [];
    const pollsPerSecond = idleMs > 0 ? ((serf.statsRequests - polls) * 1000) / idleMs : Number.NaN;
    const agentRssSettledMb = idleMs > 0 ? rssMb(agent.process.pid) : Number.NaN;
    const agentRssPeakMb = rssMb(agent.process.pid, 'VmHWM');
    const known = new Set(fleet.webs.map(fleet.header));
    const served = new Set<string>();
    for (let i = 0; i < Math.min(count * 2, 400); i += 1) {
      const answered = (await fetch(`${haproxy.frontendUrl}/`)).headers.get('x-backend') ?? '?';
      if (known.has(answered)) served.add(answered);
    }

    // A graceful leave shows as `leaving` in Serf's list first; `left` comes with the event.
    const cpu1 = agentCpuMs();
    const t1 = Date.now();
    change(
      'member-leave',
      members.map((m) => ({ ...m, status: 'leaving' })),
      members.map((m) => ({ ...m, status: 'left' })),
    );
    await waitFor(`${count} out of rotation`, async () => (await up()) === 0, { timeoutMs: 120_000, intervalMs: 20 });
    const outMs = Date.now() - t1;
    const outCpuMs = agentCpuMs() - cpu1;
    await waitFor(`${count} deleted`, async () => (await runtime.serversState(haproxy.backend)).length === 0, {
      timeoutMs: 120_000,
      intervalMs: 20,
    });
    const deletedMs = Date.now() - t1;
    await logged('deletes', (l) => l.event === 'step.finished' && l.step === 'del');
    // MASS_LOG_DIR: keep the agent's log of each run there (for looking into a single run).
    if (process.env.MASS_LOG_DIR) writeFileSync(path.join(process.env.MASS_LOG_DIR, `agent-${t0}-${t1}.log`), agent.process.output());
    const leaveStages = stages(
      agent.logs().filter((l) => Date.parse(String(l.time)) >= t1),
      t1,
      LEAVE_STAGES,
    );
    return {
      joinMs,
      joinStages,
      joinCpuMs,
      outMs,
      outCpuMs,
      leaveStages,
      deletedMs,
      distinctServed: served.size,
      agentRssMb,
      agentRssSettledMb,
      agentRssPeakMb,
      idleCpu,
      pollsPerSecond,
    };
  } finally {
    for (const timer of timers) clearTimeout(timer);
    await runtime.close();
    await fleet.stop();
    await serf.close();
    await stopAll();
  }
}

/** `runs` fresh runs of massChange, one after the other; a run that failed is reported, not hidden. */
export async function massRuns(
  count: number,
  runs: number,
  options: MassOptions = {},
): Promise<{ results: MassResult[]; failures: string[] }> {
  const results: MassResult[] = [];
  const failures: string[] = [];
  for (let i = 0; i < runs; i += 1) {
    try {
      results.push(await massChange(count, options));
    } catch (error) {
      failures.push((error as Error).message.split('\n')[0] ?? 'failed');
    }
  }
  return { results, failures };
}
