/**
 * `ha-agent handle`: the same pipeline for a Serf `-event-handler` (the drop-in replacement for the
 * seed lab's member-join.sh / member-leave.sh). An event is only a prompt: the handler lists the
 * members from the Serf agent that invoked it (its RPC, `--serf`) and reconciles against that, since
 * an event's lines can be stale (Serf re-sends old member-updates, hashicorp/serf#555). Only when
 * that RPC cannot be reached does it fall back to the event's lines on stdin, with HAProxy's ready
 * servers standing for the members the event does not mention. Then it applies the change through
 * the Runtime API and exits. Serf runs handlers one at a time, so a drain holds the next event.
 * A handler remembers nothing between events: a server whose member is absent from the list (not
 * left or failed: the Serf agent restarted and has not rejoined) is kept while HAProxy reports it up,
 * and removed by the first event handled once its checks report it down; no grace period runs out.
 */
import { listMembers } from '../membership/list.js';
import { MEMBER_EVENTS, type Member } from '../membership/member.js';
import { isMemberEvent, parseHandlerInput } from '../membership/handler-input.js';
import { actualServers } from '../reconcile/actual.js';
import {
  applyOptions,
  logOptions,
  membershipOptions,
  renderOptions,
  resolveAgentConfig,
  runtimeOption,
  serfOptions,
  traceOption,
  type AgentConfig,
} from './agent-config.js';
import { createAgent, type Agent } from './agent.js';
import type { CliIo } from './io.js';
import { helpOption, parseCommandLine, type CommandSpec } from './options.js';

export const handleSpec: CommandSpec = {
  name: 'handle',
  summary: 'Apply one Serf event-handler invocation (SERF_EVENT, member lines on stdin) through the Runtime API, then exit.',
  usage: `serf agent -event-handler "${MEMBER_EVENTS}=ha-agent handle [options]"`,
  options: [runtimeOption, ...serfOptions, ...membershipOptions, ...applyOptions, ...renderOptions, ...logOptions, traceOption, helpOption],
};

/** The full member list from the Serf agent's RPC, or undefined when it cannot be reached. */
async function listFromSerf(config: AgentConfig): Promise<Member[] | undefined> {
  try {
    return await listMembers({ address: config.serf, authKey: config.serfAuth, timeoutMs: 2_000 });
  } catch (error) {
    config.log.warn('handle.no-rpc', { serf: config.serf.text, error });
    return undefined;
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return text;
}

/** Without Serf's list: HAProxy's ready servers stand for the members this event does not mention. */
async function fromEvent(agent: Agent, config: AgentConfig, eventMembers: Member[]): Promise<Member[]> {
  const [state, stat] = await Promise.all([agent.client.serversState(config.backend), agent.client.stat(config.backend)]);
  const known = new Map<string, Member>();
  for (const s of actualServers(config.backend, state, stat).values()) {
    if (s.mode !== 'ready') continue;
    known.set(s.name, {
      name: s.name,
      address: s.address,
      status: 'alive',
      tags: { role: config.desired.role, port: String(s.port), weight: String(s.weight) },
    });
  }
  for (const member of eventMembers) known.set(member.name, member);
  return [...known.values()];
}

export async function handle(argv: readonly string[], io: CliIo, stdin: NodeJS.ReadableStream = process.stdin): Promise<number> {
  const { values } = parseCommandLine(handleSpec, argv, io.env);
  const config = resolveAgentConfig(values, io.stdout);
  const event = io.env.SERF_EVENT ?? '';
  const { log } = config;
  if (!isMemberEvent(event)) {
    log.info('handle.ignored', { event });
    return 0;
  }
  const eventMembers = parseHandlerInput(await readAll(stdin), event);
  log.info('serf.event', { type: event, members: eventMembers.map((m) => m.name) });
  const agent = await createAgent(config);
  try {
    await agent.client.connect();
    const members = (await listFromSerf(config)) ?? (await fromEvent(agent, config, eventMembers));
    agent.services.setMembers(members, event);
    await agent.services.idle();
    const outcomes = agent.services.reconcilers.map((r) => r.stats.actions);
    const failed = outcomes.reduce((sum, actions) => sum + (actions.get('failed') ?? 0) + (actions.get('rolled-back') ?? 0), 0);
    return failed > 0 ? 1 : 0;
  } finally {
    await agent.services.close();
    await agent.client.close();
  }
}
