/**
 * `npm run bench:agent`: how fast membership changes reach HAProxy, with real processes and the
 * product's defaults (Serf profile `lan` as the images use; ha-agent's default --resync, --serf-poll
 * and check settings).
 *  1. BENCH_EVENTS (default 20) real Serf agents joining one after the other, then leaving
 *     (SIGINT, their /health still 200), under keep-alive load: p50 / p95 / min–max of
 *     Serf agent started → first request served by it, and SIGINT → last request routed to it;
 *     slow requests in flight on a leaving server must still finish (drain).
 *  2. BENCH_MASS (default 1,000) members joining, then leaving, at once, BENCH_RUNS (default 5) times,
 *     through a Serf RPC stand-in (test/helpers/fake-serf.ts): medians with min–max, agent RSS,
 *     and the idle agent's CPU with and without the Serf poll. BENCH_AGENT_NODE_OPTIONS (e.g.
 *     `--max-semi-space-size=1`) is added to the agent's NODE_OPTIONS after ha/services/ha-agent/run's.
 * Prints figures; asserts nothing.
 */
import { createInterface } from 'node:readline';
import { once, startLoad } from '../src/lab/demo/load.js';
import { RuntimeClient } from '../src/runtime/client.js';
import { agentArgs, startAgent, type LogLine, type TestAgent } from '../test/helpers/agent.js';
import { startWebMember, type WebMember } from '../test/helpers/cluster.js';
import { startHaproxy } from '../test/helpers/haproxy.js';
import { startHttpBackend } from '../test/helpers/http-backend.js';
import { stopAll, type Started } from '../test/helpers/processes.js';
import { startSerf } from '../test/helpers/serf.js';
import { waitFor } from '../test/helpers/wait.js';
import { cpuPercent, machineLine, medianRange, productDefaults, SINGLE_CHANGE_P50_TARGET_MS, spread, verdict } from './figures.js';
import { massRuns } from './mass.js';
import { addSamples, saveRecord, startRecord, type RunRecord } from './record.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20);
const MASS = Number(process.env.BENCH_MASS ?? 1000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const PROFILE = { profile: 'lan' };
/** The balancer's Serf agent also logs at debug (see stampLines). */
const BALANCER_SERF = { ...PROFILE, log_level: 'debug' };
/** BENCH_LABEL names what a recorded run measured (e.g. `baseline`, `pino`), for before/after comparisons. */
const LABEL = process.env.BENCH_LABEL;

const header = () =>
  console.log(`${'ms'.padEnd(68)} ${'p50'.padStart(6)} ${'p95'.padStart(6)} ${'min'.padStart(6)} ${'max'.padStart(6)}  target`);
/** The events run's record: every row's samples under the row's name. */
let events: RunRecord | undefined;
const row = (name: string, values: number[], target?: number) => {
  if (events) addSamples(events, name.trim(), values);
  const s = spread(values);
  const missing = values.length - s.n;
  const met = target === undefined ? '' : `p50 <= ${target} ${s.median <= target ? 'met' : 'NOT met'} (one run)`;
  console.log(
    `${name.padEnd(68)} ${[s.median, s.p95, s.min, s.max].map((v) => v.toFixed(0).padStart(6)).join(' ')}  ${met}${missing > 0 ? ` [${missing} missing]` : ''}`,
  );
};
const logTime = (agent: TestAgent, match: (l: LogLine) => boolean) => {
  const line = agent.logs().find(match);
  return line ? Date.parse(String(line.time)) : Number.NaN;
};
/**
 * When the bench read each line of a Serf agent's log (Serf writes it all to stdout): the returned function
 * gives the first matching line's time. The bench's own event loop (it also runs the load) can delay a read.
 */
function stampLines(process: Started): (line: RegExp) => number {
  const lines: { at: number; line: string }[] = [];
  if (process.child.stdout) createInterface({ input: process.child.stdout }).on('line', (line) => lines.push({ at: Date.now(), line }));
  return (match) => lines.find((l) => match.test(l.line))?.at ?? Number.NaN;
}
const serfEventTime = (agent: TestAgent, type: string, name: string) =>
  logTime(agent, (l) => l.event === 'serf.event' && l.type === type && Array.isArray(l.members) && l.members.includes(name));

async function joinAndLeave(): Promise<void> {
  events = startRecord('agent-events', {
    events: EVENTS,
    label: LABEL,
    serf: PROFILE,
    balancerSerf: BALANCER_SERF,
    agent: 'product defaults (agentArgs without --resync), --log-level info',
  });
  const haproxy = await startHaproxy();
  // At debug, the balancer's Serf agent writes the lines the agent's log watch reads (it asks the monitor at
  // DEBUG): the bench stamps their arrival, which splits each change between Serf's part and the agent's.
  const lb = await startSerf({ name: 'lb', address: '127.0.0.1', tags: { role: 'lb' }, config: BALANCER_SERF });
  const serfLogged = stampLines(lb.process);
  const agent = startAgent(productDefaults(agentArgs(haproxy, lb.rpc, ['--log-level', 'info'])));
  const anchor = await startWebMember('anchor', '127.0.0.250', lb.bind); // keeps the backend serving
  // Started (heartbeat on): HAProxy closes a prompt session idle for `stats timeout`.
  const runtime = new RuntimeClient({ url: haproxy.tcpUrl });
  runtime.start();
  await waitFor('runtime connected', () => runtime.connected);
  await waitFor('anchor UP', async () => (await runtime.stat(haproxy.backend)).some((s) => s.status.startsWith('UP')), {
    timeoutMs: 20_000,
  });
  const traffic = startLoad(haproxy.frontendUrl, { keepAlive: 4, newConnection: 0 });
  const served = () => traffic.outcomes.filter((o) => o.ok);

  const joinToServed: number[] = [];
  const joinToListed: number[] = [];
  const joinToSerfLogged: number[] = [];
  const joinLoggedToPlanned: number[] = [];
  const plannedToServed: number[] = [];
  const plannedToSeen: number[] = [];
  const joinToSerfEvent: number[] = [];
  const members: WebMember[] = [];
  const startedAt: number[] = [];
  for (let i = 0; i < EVENTS; i += 1) {
    const name = `j${i}`;
    const web = await startHttpBackend(name, `127.0.1.${i + 1}`); // the app listens before its Serf agent starts
    const t0 = Date.now();
    startedAt.push(t0);
    const serf = await startSerf({
      name,
      address: web.address,
      join: lb.bind,
      tags: { role: 'backend', port: String(web.port) },
      config: PROFILE,
    });
    members.push({ name, web, serf });
    const first = await waitFor(`${name} served`, () => served().find((s) => s.by === name && s.at >= t0), {
      timeoutMs: 20_000,
      intervalMs: 5,
    });
    const planned = logTime(agent, (l) => l.event === 'plan.action' && l.action === 'join' && l.server === name);
    const seen = logTime(agent, (l) => l.event === 'check.passed' && l.server === name);
    joinToServed.push(first.at - t0);
    joinToListed.push(planned - t0);
    const logged = serfLogged(new RegExp(`serf: EventMemberJoin: ${name} `));
    joinToSerfLogged.push(logged - t0);
    joinLoggedToPlanned.push(planned - logged);
    plannedToServed.push(first.at - planned);
    plannedToSeen.push(seen - planned);
  }

  const leaveToOut: number[] = [];
  const leaveToSerfLogged: number[] = [];
  const leaveToPlanned: number[] = [];
  const leaveLoggedToPlanned: number[] = [];
  const leaveToLast: number[] = [];
  const leaveToSerfEvent: number[] = [];
  let slowOnLeaving = 0;
  let slowFailed = 0;
  for (const member of members) {
    // Slow requests in flight when the leave starts: those on the leaving server must finish (drain).
    const slow = Array.from({ length: 4 }, () => once(haproxy.frontendUrl, '/slow?ms=600').catch(() => ({ status: 0, by: '' })));
    const t0 = Date.now();
    const leaving = member.serf.leave();
    const drained = `set server ${haproxy.backend}/${member.name} state drain`;
    await agent.waitForLog(`${member.name} drained`, (l) => l.event === 'step.finished' && l.command === drained);
    const answers = await Promise.all(slow);
    slowOnLeaving += answers.filter((a) => a.by === member.name).length;
    slowFailed += answers.filter((a) => a.status !== 200).length;
    await leaving;
    const out = logTime(agent, (l) => l.event === 'step.finished' && l.command === drained);
    const last = [...served()].reverse().find((s) => s.by === member.name);
    leaveToOut.push(out - t0);
    const [logged, planned] = [
      serfLogged(new RegExp(`serf: messageLeaveType: ${member.name}$`)),
      logTime(agent, (l) => l.event === 'plan.action' && l.action === 'remove' && l.server === member.name),
    ];
    leaveToSerfLogged.push(logged - t0);
    leaveToPlanned.push(planned - t0);
    leaveLoggedToPlanned.push(planned - logged);
    if (last) leaveToLast.push(Math.max(0, last.at - t0));
    leaveToSerfEvent.push(serfEventTime(agent, 'member-leave', member.name) - t0);
  }
  for (const [i, m] of members.entries()) joinToSerfEvent.push(serfEventTime(agent, 'member-join', m.name) - (startedAt[i] ?? Number.NaN));
  const [agentCpu = Number.NaN, serfCpu = Number.NaN] = await cpuPercent([agent.process.pid, lb.process.pid], 10_000);
  await traffic.stop();
  const pid = (await runtime.info()).pid;
  await runtime.close();

  const failed = traffic.outcomes.length - served().length;
  console.log(
    `\nJoin and leave of ${EVENTS} real Serf members (profile lan, ha-agent defaults), under keep-alive load (${traffic.outcomes.length} requests, ${failed} failed)`,
  );
  header();
  row('Serf agent started (app listening) → first request served', joinToServed, SINGLE_CHANGE_P50_TARGET_MS);
  row('  Serf agent started → agent planned the join (log watch + list)', joinToListed);
  row("    Serf agent started → the balancer's Serf agent logged the join", joinToSerfLogged);
  row("      the balancer's Serf agent logged the join → agent planned it", joinLoggedToPlanned);
  row('  agent planned the join → first request served (check)', plannedToServed);
  row('    agent planned the join → saw the first check passed', plannedToSeen);
  row('SIGINT to its Serf agent → last request routed to it', leaveToLast, SINGLE_CHANGE_P50_TARGET_MS);
  row('  SIGINT → out of rotation (`state drain` answered)', leaveToOut);
  row("    SIGINT → the balancer's Serf agent logged the leave intent", leaveToSerfLogged);
  row('    SIGINT → agent planned the leave (log watch + list)', leaveToPlanned);
  row("      the balancer's Serf agent logged the leave intent → agent planned it", leaveLoggedToPlanned);
  console.log("For comparison, when Serf's own coalesced events reached the agent (what it used to wait for):");
  row('  Serf agent started → Serf member-join event', joinToSerfEvent);
  row('  SIGINT → Serf member-leave event', leaveToSerfEvent);
  console.log(
    `Drain: ${slowOnLeaving} slow requests (600 ms) were in flight on leaving servers at SIGINT; ${slowFailed} of all slow requests failed`,
  );
  console.log(
    `Idle for 10 s afterwards (1 member): ha-agent ${agentCpu.toFixed(2)} % of a core, the balancer's Serf agent ${serfCpu.toFixed(2)} %`,
  );
  console.log(`HAProxy Pid unchanged through ${EVENTS * 2} membership changes: ${pid === haproxy.process.pid}`);
  // A leave with no request served by the server after SIGINT has no sample: counted, not dropped.
  if (leaveToLast.length < members.length)
    events.missing['SIGINT to its Serf agent → last request routed to it'] = members.length - leaveToLast.length;
  events.facts = {
    requests: traffic.outcomes.length,
    failed,
    slowOnLeaving,
    slowFailed,
    idleAgentCpuPercent: agentCpu,
    idleSerfCpuPercent: serfCpu,
    haproxyPidUnchanged: pid === haproxy.process.pid,
  };
  console.log(`recorded: ${saveRecord(events)}`);
  events = undefined;
  await Promise.all([...members, anchor].map((m) => m.web.close()));
  await stopAll();
}

async function mass(): Promise<void> {
  const record = startRecord('agent-mass', {
    members: MASS,
    runs: RUNS,
    label: LABEL,
    agent: 'as ha/services/ha-agent/run starts it (product defaults)',
    agentNodeOptions: process.env.BENCH_AGENT_NODE_OPTIONS ?? '',
    serf: 'RPC stand-in (test/helpers/fake-serf.ts)',
    webServers: 'stand-in: one haproxy answering on a bind per server (bench/http-fleet.ts)',
  });
  const { results: runs, failures } = await massRuns(MASS, RUNS);
  const { results: off } = await massRuns(MASS, 1, { extraArgs: ['--serf-poll', '10m'] });
  // The Node.js fleet, once: how much HAProxy's first checks wait on a heavier stand-in.
  const { results: nodeFleet } = await massRuns(MASS, 1, { fleet: 'node', idleMs: 0 });
  const pick = (key: Exclude<keyof (typeof runs)[number], 'joinStages' | 'leaveStages'>) => runs.map((r) => r[key]);
  console.log(
    `\n${MASS} members at once, ${RUNS} runs, median (min–max). Serf RPC stand-in (test/helpers/fake-serf.ts); real haproxy and health checks;` +
      ` web servers: one extra haproxy with a bind per server answering itself (bench/http-fleet.ts)`,
  );
  for (const failure of failures) console.log(`  a run FAILED (left out of the figures below): ${failure}`);
  console.log(
    `  Serf list shows the joins → all ${MASS} UP in HAProxy: ${medianRange(pick('joinMs'))} ms — target <= 1000: ${verdict(pick('joinMs'), 1000)}`,
  );
  console.log(
    `  Serf list shows the leave intents → all ${MASS} out of rotation: ${medianRange(pick('outMs'))} ms — target <= 300: ${verdict(pick('outMs'), 300)}`,
  );
  console.log(
    `  … → all deleted: ${medianRange(pick('deletedMs'))} ms; distinct servers answering afterwards: ${medianRange(pick('distinctServed'))}`,
  );
  // Where the time goes: when the last of the servers reached each stage, from the agent's log.
  for (const [what, key] of [
    ['join', 'joinStages'],
    ['leave', 'leaveStages'],
  ] as const) {
    const names = Object.keys(runs[0]?.[key] ?? {});
    const cells = names.map((name) => `${name} ${medianRange(runs.map((r) => r[key][name] ?? Number.NaN))}`);
    console.log(`  ${what}, the last server reached (ms after the list changed): ${cells.join(' · ')}`);
  }
  console.log(
    `  ha-agent CPU (user + system) from the list change: until all UP ${medianRange(pick('joinCpuMs'))} ms;` +
      ` until all out of rotation ${medianRange(pick('outCpuMs'))} ms`,
  );
  const [heavy] = nodeFleet;
  console.log(
    heavy
      ? `  the same with the Node.js fleet (${MASS} HTTP servers in one process, 1 run): all UP ${heavy.joinMs} ms,` +
          ` first check seen passed ${heavy.joinStages['first check passed (seen)']} ms, agent CPU ${heavy.joinCpuMs} ms`
      : '  the run with the Node.js fleet failed',
  );
  // V8 keeps the heap pages a burst of joins used committed until its memory reducer returns them, ~10 s later.
  for (const [when, key] of [
    ['5 s after the joins', 'agentRssMb'],
    ['after the 10-s idle window (~15 s after the joins)', 'agentRssSettledMb'],
    ['at its peak (VmHWM, during the joins)', 'agentRssPeakMb'],
  ] as const) {
    console.log(`  ha-agent RSS ${when}: ${medianRange(pick(key), 1)} MB — target <= 80: ${verdict(pick(key), 80)}`);
  }
  console.log(
    `  idle ha-agent CPU over 10 s (${MASS} members): ${medianRange(pick('idleCpu'), 2)} % of a core at ${medianRange(pick('pollsPerSecond'), 1)} polls/s;`,
  );
  console.log(
    `    with --serf-poll 10m (poll effectively off, 1 run): ${off[0]?.idleCpu.toFixed(2) ?? '(run failed)'} % — the poll's cost is the difference`,
  );
  console.log(`  ${runs.length} of ${RUNS} runs succeeded`);
  // Each run's figures; a failed run counts as missing in every one of them.
  for (const [key, value] of Object.entries(runs[0] ?? {}) as Array<[string, number | Record<string, number>]>) {
    if (typeof value === 'number') addSamples(record, key, pick(key as Parameters<typeof pick>[0]));
    else
      for (const stage of Object.keys(value))
        addSamples(
          record,
          `${key} ${stage}`,
          runs.map((r) => (r[key as 'joinStages'] as Record<string, number>)[stage] ?? Number.NaN),
        );
  }
  for (const name of Object.keys(record.samples))
    if (failures.length > 0) record.missing[name] = (record.missing[name] ?? 0) + failures.length;
  record.facts = {
    succeededRuns: runs.length,
    failures,
    pollOffIdleCpuPercent: off[0]?.idleCpu ?? null,
    nodeFleet: heavy
      ? { joinMs: heavy.joinMs, firstCheckSeenMs: heavy.joinStages['first check passed (seen)'], joinCpuMs: heavy.joinCpuMs }
      : null,
  };
  console.log(`recorded: ${saveRecord(record)}`);
}

const only = process.env.BENCH_ONLY; // e.g. BENCH_ONLY=events or mass
console.log(machineLine());
if (only === undefined || only === 'events') await joinAndLeave();
if (only === undefined || only === 'mass') await mass();
console.log(machineLine());
