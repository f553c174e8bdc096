/**
 * The agent's decision (pure): from what it remembers and what HAProxy and Serf show now, to the actions, the
 * servers the config must list, what to remember, and when to look again. The running agent, `--dry-run` and
 * `ha-agent plan` all decide here; what the decision found new (a member absent, a hold) is returned for the
 * caller to log.
 */
import type { Member } from '../membership/member.js';
import type { ConfigServer } from '../render/template.js';
import { absentServers, goneMembers, type AbsentServer } from './absent.js';
import type { ActualServer } from './actual.js';
import { desiredServers, type Desired, type DesiredMemo, type DesiredOptions, type Rejection } from './desired.js';
import { emptyLedger, heldStates, judgeHolds, type BackendLedger, type HoldChanges } from './holds.js';
import type { ModeStrategy } from './plan-mode.js';
import type { Action } from './plan.js';

/** What the agent remembers from one look to the next. */
export interface Memory {
  /** When each absent member was first seen missing (monotonic ms), by member key (absent.ts). */
  absentSince: ReadonlyMap<string, number>;
  /** Member keys seen leaving, left or failed (absent.ts). */
  gone: ReadonlySet<string>;
  /** What the agent set itself and the holds it has seen (holds.ts); dynamic mode only. */
  ledger: BackendLedger;
  /** Each rejected member's reason as last reported: a rejection is reported when new or changed. */
  rejections: ReadonlyMap<string, string>;
  /** The members last reported without a slot (slot mode). */
  unplaced: readonly string[];
}

/** A fresh agent's memory (a one-shot `ha-agent plan` too): nothing seen yet but the ledger on disk. */
export const freshMemory = (ledger: BackendLedger = emptyLedger()): Memory => ({
  absentSince: new Map(),
  gone: new Set(),
  ledger,
  rejections: new Map(),
  unplaced: [],
});

/** What HAProxy and Serf show now. */
export interface Look {
  members: readonly Member[];
  actual: ReadonlyMap<string, ActualServer>;
  /** Servers with an action in flight: left alone. */
  busy: ReadonlySet<string>;
  /** Monotonic ms (durations, the absent grace). */
  now: number;
  /** Wall-clock ms (when a hold began). */
  wallNow: number;
}

export interface DecideSettings {
  mode: ModeStrategy;
  desired: DesiredOptions;
  absentGraceMs: number;
  /** The agent's memo of judged members (desired.ts): an unchanged member is not judged again. */
  memo?: DesiredMemo;
  /** Nothing will be sent (--dry-run, `ha-agent plan`): what the agent would set itself is not recorded. */
  dryRun?: boolean;
}

export interface Decision {
  actions: Action[];
  /** The servers the rendered config must list. */
  persisted: ConfigServer[];
  memory: Memory;
  /** When to look again though nothing else happens (monotonic ms): a kept server's grace ends. */
  lookAgainAt: number | undefined;
  desired: Desired;
  absent: Map<string, AbsentServer>;
  /** The member a server (or slot) holds after this plan. */
  memberOf: (server: string) => string | undefined;
  /** To report: rejections new or changed, absences that began or ended, holds that began or ended, members newly without a slot. */
  news: {
    rejected: Rejection[];
    absent: Array<AbsentServer & { server: string }>;
    returned: Array<{ member: string; absentMs: number }>;
    holds: Pick<HoldChanges, 'started' | 'released'>;
    /** The members without a slot, when that list changed. */
    unplaced: string[] | undefined;
  };
  /** The ledger changed: what the agent sets itself (to save before its actions are sent), or only the holds. */
  ledgerChanged: 'own' | 'holds' | undefined;
}

export function decide(memory: Memory, look: Look, settings: DecideSettings): Decision {
  const { mode } = settings;
  const { members, actual, busy, now } = look;
  const desired = desiredServers(members, settings.desired, settings.memo);
  const rejections = new Map(desired.rejected.map((r) => [r.member, r.reason]));
  const rejected = desired.rejected.filter((r) => memory.rejections.get(r.member) !== r.reason);

  const memoryOfAbsence = { since: memory.absentSince, gone: memory.gone };
  const absent = absentServers(mode.memberKey, members, actual, memoryOfAbsence, now, settings.absentGraceMs);
  const missing = new Map([...absent].map(([server, a]) => [a.member, { server, ...a }]));
  const listed = new Set(members.map(mode.memberKey));
  const returned = [...memory.absentSince]
    .filter(([member]) => !missing.has(member) && listed.has(member))
    .map(([member, since]) => ({ member, absentMs: Math.round(now - since) }));
  const newlyAbsent = [...missing.values()].filter((a) => !memory.absentSince.has(a.member));
  const absentSince = new Map([...missing.values()].map((a) => [a.member, memory.absentSince.get(a.member) ?? now]));
  const gone = goneMembers(mode.memberKey, members, memory.gone, absent.values());
  const lookAgainAt = Math.min(...[...absent.values()].filter((a) => a.hold).map((a) => a.until));

  const holds = mode.judgesHolds ? judgeHolds(actual, memory.ledger, busy, look.wallNow) : undefined;
  const failed = new Set(members.filter((m) => m.status === 'failed').map((m) => m.name));
  const held = holds && heldStates(holds.next);
  const planned = mode.plan(desired.servers, actual, { busy, failed, absent, ...(held ? { held } : {}) });

  const ledger = holds?.next ?? memory.ledger;
  let ownChanged = false;
  // What the agent is about to set itself goes in the ledger: a restart mid-join resumes it, never holds it.
  if (mode.judgesHolds && !settings.dryRun) {
    for (const { server, kind } of planned.actions) {
      if ((kind === 'join' || kind === 'remove') && ledger.own.get(server) !== kind) {
        ledger.own.set(server, kind);
        ownChanged = true;
      }
    }
  }
  const holdsChanged = holds !== undefined && holds.started.length + holds.released.length > 0;
  const unplacedChanged = planned.unplaced.join() !== memory.unplaced.join();
  return {
    actions: planned.actions,
    persisted: planned.persisted,
    memory: { absentSince, gone, ledger, rejections, unplaced: planned.unplaced },
    lookAgainAt: Number.isFinite(lookAgainAt) ? lookAgainAt : undefined,
    desired,
    absent,
    memberOf: planned.memberOf,
    news: {
      rejected,
      absent: newlyAbsent,
      returned,
      holds: { started: holds?.started ?? [], released: holds?.released ?? [] },
      unplaced: unplacedChanged ? planned.unplaced : undefined,
    },
    ledgerChanged: ownChanged ? 'own' : holdsChanged ? 'holds' : undefined,
  };
}

/**
 * What a decision wants `server` to be: the member it holds, with that member's address, port and weight, or
 * nothing. A busy server's action was started for one; a later decision that wants another has it planned again.
 */
export function intentOf(decision: Pick<Decision, 'memberOf' | 'desired'>, server: string): string {
  const member = decision.memberOf(server);
  const wanted = member === undefined ? undefined : decision.desired.servers.get(member);
  return wanted ? `${member} ${wanted.address}:${wanted.port} weight ${wanted.weight}` : 'none';
}
