/**
 * Every event ha-agent logs, by name: its level(s), what it means, and its fields. docs/log-events.md is
 * generated from this list (`npx tsx scripts/log-events-doc.mjs`); test/unit/log-events.test.ts fails when the
 * doc and the list disagree, or when the code logs an event the list lacks. Every line also has `time`,
 * `level` and `event`; a service's reconciler adds `backend` to its lines.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogEventSpec {
  /** The level(s) it is logged at (two: the first when it went well). */
  levels: readonly LogLevel[];
  means: string;
  /** Field name → what it holds. */
  fields: Readonly<Record<string, string>>;
}

const error = 'the error: message, code, command, answer, address';

export const logEvents = {
  'agent.started': {
    levels: ['info'],
    means: '`ha-agent run` started with these settings',
    fields: {
      runtime: 'Runtime API URL',
      serf: 'Serf RPC address',
      backend: 'default backend',
      services: 'service names',
      role: 'the Serf role tag members must carry',
      mode: '`dynamic` or `slots`',
      configOut: 'haproxy.cfg path written, if any',
      dryRun: 'whether nothing is sent',
    },
  },
  'agent.stopping': { levels: ['info'], means: 'a signal asked the agent to stop', fields: { signal: 'the signal' } },
  'agent.stopped': { levels: ['info'], means: 'the agent closed its connections and stops', fields: {} },
  'runtime.connected': {
    levels: ['info'],
    means: "connected to HAProxy's Runtime API",
    fields: { address: 'Runtime API URL', pid: "HAProxy's Pid", version: "HAProxy's version" },
  },
  'runtime.disconnected': {
    levels: ['warn'],
    means: 'the Runtime API connection closed; the agent reconnects with backoff',
    fields: { address: 'Runtime API URL', error },
  },
  'runtime.restarted': {
    levels: ['warn'],
    means: 'the HAProxy process behind the socket changed (restart or reload)',
    fields: { previousPid: 'the Pid before', pid: 'the Pid now' },
  },
  'runtime.command': {
    levels: ['info', 'warn'],
    means: 'one runtime command sent (with --trace; always when it failed)',
    fields: { command: 'the command line', answer: "HAProxy's answer", latencyMs: 'from write to answer', error },
  },
  'runtime.verified': {
    levels: ['info'],
    means: "the HAProxy's config carries this deployment's identity (or none)",
    fields: {
      address: 'Runtime API URL',
      pid: "HAProxy's Pid",
      deployment: 'the deployment id',
      stale: 'whether its boot settings differ',
    },
  },
  'runtime.foreign': {
    levels: ['error'],
    means: 'the HAProxy belongs to another deployment: the agent sends it nothing',
    fields: {
      address: 'Runtime API URL',
      pid: "HAProxy's Pid",
      expected: 'our deployment id',
      found: 'its deployment id',
      hint: 'what to do',
    },
  },
  'config.stale': {
    levels: ['warn'],
    means: 'HAProxy runs boot settings older than the ones rendered now; a reload applies them',
    fields: { address: 'Runtime API URL', pid: "HAProxy's Pid", changes: 'each setting, old → new', apply: 'how to apply them' },
  },
  'config.next-boot': {
    levels: ['info', 'warn'],
    means: 'after `config.stale` on a check setting: the rendered checks tried on the servers UP now (docs/checks.md)',
    fields: {
      pid: "HAProxy's Pid",
      checks: 'the outcome when every server passes, or `not tried`',
      failing: 'servers whose answer the new check would refuse',
      lost: 'backends that would have every server DOWN',
      what: 'what a reload, a restart or a crash restart would do',
      error,
    },
  },
  'config.written': {
    levels: ['info'],
    means: 'haproxy.cfg rewritten with the servers',
    fields: { path: 'the file', servers: 'servers in it' },
  },
  'config.render-failed': {
    levels: ['error'],
    means: 'haproxy.cfg could not be rendered; the old file is kept',
    fields: { path: 'the file', error },
  },
  'config.write-failed': {
    levels: ['error'],
    means: 'haproxy.cfg could not be written; the old file is kept',
    fields: { path: 'the file', error },
  },
  'config.invalid': {
    levels: ['error'],
    means: '`haproxy -c` refused the rendered config; the old file is kept',
    fields: { path: 'the file', alert: "HAProxy's alert" },
  },
  'config.record-failed': {
    levels: ['warn'],
    means: 'the boot settings could not be recorded beside the config',
    fields: { path: 'the file', error },
  },
  'serf.connected': {
    levels: ['info'],
    means: "connected to Serf's RPC and subscribed to member events",
    fields: { address: 'Serf RPC address' },
  },
  'serf.connect-failed': {
    levels: ['warn'],
    means: 'a connection attempt to Serf failed; another follows',
    fields: { address: 'Serf RPC address', attempt: 'failures since the last success', error },
  },
  'serf.disconnected': {
    levels: ['warn'],
    means: 'the Serf RPC connection closed; the agent reconnects',
    fields: { address: 'Serf RPC address', error },
  },
  'serf.event': {
    levels: ['info'],
    means: 'a Serf member event arrived (a prompt to list the members)',
    fields: { type: 'the event type', members: 'the members it names' },
  },
  'serf.list-failed': { levels: ['warn'], means: 'listing the members failed', fields: { reason: 'why it listed', error } },
  'serf.monitor-unavailable': {
    levels: ['warn'],
    means:
      "Serf refused to stream its log (RPC `monitor`), which tells the agent of a change at once: for the rest of this connection it polls Serf's counters and leaving members every --serf-poll instead",
    fields: { address: 'Serf RPC address', error },
  },
  'serf.leaving-unavailable': {
    levels: ['warn'],
    means: "Serf cannot list leaving members (members-filtered); leaves are seen by Serf's events",
    fields: { address: 'Serf RPC address', error },
  },
  'member.malformed': {
    levels: ['warn'],
    means: 'a Serf member record did not validate; it is ignored',
    fields: { record: 'the record (200 characters)' },
  },
  'member.rejected': {
    levels: ['warn'],
    means: 'a member is refused (bad tags, address policy)',
    fields: { member: 'the member', reason: 'why' },
  },
  'member.absent': {
    levels: ['warn'],
    means: 'a member left the list without a leave: its server is kept for a while or removed',
    fields: { member: 'the member', server: 'its server', action: '`keep` or `remove`', reason: 'why', until: 'kept until (when kept)' },
  },
  'member.returned': {
    levels: ['info'],
    means: 'an absent member is listed again',
    fields: { member: 'the member', absentMs: 'how long it was absent' },
  },
  'member.unknown-service': {
    levels: ['warn'],
    means: 'a member names a service the agent does not know',
    fields: { member: 'the member', service: 'its service tag', services: 'the known services' },
  },
  'services.unknown': {
    levels: ['info'],
    means: 'the members with an unknown service, whenever that list changes',
    fields: { members: 'member (service …)' },
  },
  'services.checked': {
    levels: ['info', 'warn'],
    means: "which services' backends HAProxy has (warn: some are missing)",
    fields: { present: 'backends found', missing: 'backends missing', apply: 'how to add them' },
  },
  'services.failed': {
    levels: ['error'],
    means: 'a services pass failed; the next trigger retries',
    fields: { reason: 'why it ran', error },
  },
  'route.finished': {
    levels: ['info'],
    means: 'a routing map entry was changed',
    fields: { map: 'the map file', command: 'the command', answer: "HAProxy's answer" },
  },
  'route.failed': {
    levels: ['error'],
    means: 'reading or changing a routing map failed',
    fields: { map: 'the map file', command: 'the command', error },
  },
  pass: {
    levels: ['debug'],
    means: 'one reconcile pass',
    fields: {
      reason: 'what triggered it',
      members: 'members listed',
      desired: 'servers wanted',
      actual: 'servers in HAProxy',
      actions: 'actions planned',
    },
  },
  'pass.failed': {
    levels: ['error'],
    means: 'a reconcile pass failed; the next trigger retries',
    fields: { reason: 'what triggered it', error },
  },
  'slots.full': {
    levels: ['warn'],
    means: 'slot mode: more members than slots',
    fields: { members: 'members without a slot', slots: 'slots' },
  },
  'dry-run.step': { levels: ['info'], means: '--dry-run: a step that would be sent', fields: { step: 'the step' } },
  'plan.action': {
    levels: ['info'],
    means: 'an action planned for a server',
    fields: { server: 'the server', action: 'join, leave, update…', reason: 'why', steps: 'its steps, in order' },
  },
  'step.finished': {
    levels: ['info'],
    means: 'a runtime command of an action was answered',
    fields: {
      server: 'the server',
      step: 'the step',
      command: 'the command',
      answer: "HAProxy's answer",
      latencyMs: 'from write to answer',
    },
  },
  'step.refused': {
    levels: ['debug'],
    means: 'HAProxy refused a step',
    fields: { server: 'the server', command: 'the command', answer: "HAProxy's answer" },
  },
  'step.failed': {
    levels: ['error'],
    means: 'a step failed: its action stops',
    fields: { server: 'the server', action: 'the action', step: 'the step', index: 'its index', error },
  },
  'action.finished': {
    levels: ['info'],
    means: 'an action finished',
    fields: {
      server: 'the server',
      action: 'the action',
      durationMs: 'from its start',
      sinceListMs: 'from the member list that asked for it',
    },
  },
  'action.aborted': {
    levels: ['warn'],
    means: 'an action stopped before a step (the agent is stopping)',
    fields: { server: 'the server', action: 'the action', nextStep: 'the step not sent' },
  },
  'action.abandoned': {
    levels: ['info'],
    means: 'a join given up: its member is no longer wanted',
    fields: { server: 'the server', member: 'the member', reason: 'why' },
  },
  'action.rolled-back': {
    levels: ['warn'],
    means: 'a join was undone',
    fields: { server: 'the server', action: 'the action', reason: 'why' },
  },
  'rollback.failed': { levels: ['error'], means: 'undoing a join failed', fields: { server: 'the server', error } },
  'check.passed': {
    levels: ['info'],
    means: "a new server's first health check passed",
    fields: { server: 'the server', waitedMs: 'how long it waited' },
  },
  'check.timeout': {
    levels: ['warn'],
    means: "a new server's first check did not pass in time",
    fields: { server: 'the server', waitedMs: 'how long it waited', check: 'the last failed check', message: 'what it means' },
  },
  'check.abandoned': {
    levels: ['info'],
    means: 'the wait for a first check was given up (member left)',
    fields: { server: 'the server', waitedMs: 'how long it waited' },
  },
  'check.failing': {
    levels: ['warn'],
    means: "a new server's check failed while the agent waits for its first pass; again when the failure changes (docs/checks.md)",
    fields: {
      server: 'the server',
      waitedMs: 'how long it has waited',
      check: "HAProxy's check status and code, e.g. `L7STS 404`",
      message: 'which path answered what, e.g. `404 on /health: is --health-path right?`',
    },
  },
  'drain.finished': {
    levels: ['info'],
    means: "a leaving server's users finished",
    fields: { server: 'the server', waitedMs: 'how long it waited', sessions: 'sessions still open' },
  },
  'drain.timeout': {
    levels: ['warn'],
    means: "a leaving server's drain ran out of time",
    fields: { server: 'the server', waitedMs: 'how long it waited', sessions: 'sessions still open' },
  },
  'inflight.timeout': {
    levels: ['warn'],
    means: 'requests in flight on a server going down did not end in time',
    fields: {
      server: 'the server',
      waitedMs: 'how long it waited',
      sessions: 'sessions still open',
      streams: 'streams still pointing to the server (HAProxy 2.6: `show sess`)',
    },
  },
  'wait-removable.failed': {
    levels: ['info', 'warn'],
    means:
      '`wait srv-removable` (HAProxy ≥ 2.8) timed out; or, on 2.6, `show sess` still lists streams on the server, so `del server` was held and the sessions are cut first (docs/leaving.md)',
    fields: { server: 'the server', answer: "HAProxy's answer", streams: 'streams still pointing to the server (2.6)' },
  },
  'del.retry': {
    levels: ['info'],
    means: '`del server` refused while streams are attached: retried',
    fields: { server: 'the server', attempt: 'the attempt', answer: "HAProxy's answer" },
  },
  'reload.started': {
    levels: ['info'],
    means: 'a planned HAProxy reload started',
    fields: { pid: 'the old Pid', servers: 'servers carried over' },
  },
  'reload.finished': {
    levels: ['info', 'warn'],
    means: 'a planned reload finished (warn: some state was not carried over)',
    fields: {
      oldPid: 'the old Pid',
      newPid: 'the new Pid',
      tookMs: 'to the new worker answering',
      servers: 'servers',
      differences: 'what was not carried over',
    },
  },
  'reload.checked': {
    levels: ['info', 'warn'],
    means: "`ha-agent reload`: a backend's new health check tried on its servers UP now, before anything is written",
    fields: { backend: 'the backend', check: 'the new check (method, path, expected status)', servers: 'each server and its answer' },
  },
  'hold.started': {
    levels: ['warn'],
    means: 'a person put a server in MAINT or DRAIN: the agent keeps it so until a person sets it ready (docs/holds.md)',
    fields: {
      server: 'the server',
      state: '`maint` or `drain`',
      since: 'since when (ISO)',
      held: 'servers held in the backend',
      release: 'the command that clears it',
    },
  },
  'hold.released': {
    levels: ['info'],
    means: 'a hold ended: a person set the server ready, or its member left and it was deleted',
    fields: { server: 'the server', heldMs: 'how long it was held', why: 'why it ended', held: 'servers still held' },
  },
  'ledger.write-failed': {
    levels: ['error'],
    means: "the agent's ledger of its own transitional states (beside --config-out) could not be written",
    fields: { error },
  },
  'ledger.unreadable': {
    levels: ['warn'],
    means: 'the ledger beside --config-out could not be read at start; the agent starts with an empty one',
    fields: { path: 'the ledger file', error },
  },
  'membership.stale': {
    levels: ['warn'],
    means: 'the member list cannot be read: the last good list is kept (never an empty backend), once until a list is read again',
    fields: {
      since: 'when the kept list was read (ISO)',
      why: 'why it cannot be read',
      listed: 'whether any list was read yet',
      action: 'what the agent does',
    },
  },
  'membership.fresh': {
    levels: ['info'],
    means: 'the member list is read again after `membership.stale`',
    fields: { staleMs: 'how long the kept list was used' },
  },
  'handle.ignored': { levels: ['info'], means: '`ha-agent handle`: an event that changes no member', fields: { event: 'the Serf event' } },
  'handle.no-rpc': {
    levels: ['warn'],
    means: "`ha-agent handle`: Serf's RPC unreachable; the event's members are used",
    fields: { serf: 'Serf RPC address', error },
  },
} as const satisfies Record<string, LogEventSpec>;

export type LogEvent = keyof typeof logEvents;

/** docs/log-events.md, from the list above. */
export function logEventsDoc(): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  const rows = Object.entries(logEvents as Record<string, LogEventSpec>)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, spec]) => {
      const fields = Object.entries(spec.fields).map(([field, what]) => `\`${field}\`: ${cell(what)}`);
      return `| \`${name}\` | ${spec.levels.join(', ')} | ${cell(spec.means)} | ${fields.join('; ')} |`;
    });
  return [
    '# Log events',
    '',
    '<!-- Generated from src/log-events.ts by `npx tsx scripts/log-events-doc.mjs`; do not edit by hand. -->',
    '',
    'ha-agent logs one JSON object per line (`--log-format json`, the default) or one readable line (`pretty`).',
    "Every line has `time` (ISO 8601), `level` and `event`; a service's reconciler adds `backend`. An error field",
    'holds `message`, `code`, `command`, `answer` and `address`. A field named `time`, `level` or `event` is written',
    'as `field.time`, `field.level`, `field.event`.',
    '',
    '| event | level | means | fields |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
