/**
 * The two modes as strategies (pure): how a server's member is known, whether holds are judged, and one pass's
 * plan — the actions, the servers the rendered config must list, and in slot mode the members left without a slot.
 */
import type { Server } from '../model/server.js';
import type { ConfigServer } from '../render/template.js';
import type { MemberKey } from './absent.js';
import type { ActualServer } from './actual.js';
import type { HeldState } from './holds.js';
import { plan, type Action, type PlanOptions } from './plan.js';
import { planSlots } from './plan-slots.js';

/** `dynamic`: add/del server; `slots`: fill and free fixed server slots. */
export type PlanMode = 'dynamic' | 'slots';

export interface ModePlan {
  actions: Action[];
  /** Dynamic: the desired servers and the kept ones (absent members); slots: every slot with its occupant after this plan, empty ones disabled. */
  persisted: ConfigServer[];
  /** Slot mode: alive members with no free slot (always empty in dynamic mode). */
  unplaced: string[];
  /** The member a server (or slot) holds after this plan: a slot is named for itself, not its member. */
  memberOf: (server: string) => string | undefined;
}

/**
 * A held server boots held: MAINT as `disabled`; DRAIN as weight 0, since a server line has no drain keyword
 * (HAProxy 2.6 and 3.0 accept both on a server line); the agent restores the drain and the weight after boot.
 */
function heldOnBoot(server: ConfigServer, held: HeldState | undefined): ConfigServer {
  if (held === 'maint') return { ...server, disabled: true };
  return held === 'drain' ? { ...server, weight: 0 } : server;
}

export interface ModeStrategy {
  readonly name: PlanMode;
  /** How the member list knows a server's member (absent.ts). */
  readonly memberKey: MemberKey;
  /** Dynamic mode only: a MAINT or DRAIN the agent did not set is a person's hold (holds.ts), and its own are recorded. */
  readonly judgesHolds: boolean;
  plan(desired: ReadonlyMap<string, Server>, actual: ReadonlyMap<string, ActualServer>, options?: PlanOptions): ModePlan;
}

const asIs = ({ name, address, port, weight }: ActualServer): ConfigServer => ({ name, address, port, weight });

/** add/del server: a server is named for its member. */
export const dynamicMode: ModeStrategy = {
  name: 'dynamic',
  memberKey: (server) => server.name,
  judgesHolds: true,
  plan(desired, actual, options = {}) {
    // A kept server stays in the config too, so that a restarted HAProxy still boots with it.
    const kept = [...actual.values()].filter((server) => options.absent?.get(server.name)?.hold === true).map(asIs);
    return {
      actions: plan(desired, actual, options),
      persisted: [...desired.values(), ...kept].map((server) => heldOnBoot(server, options.held?.get(server.name))),
      unplaced: [],
      memberOf: (server) => server,
    };
  },
};

/** Fixed server slots, filled and freed: a slot is named for itself and holds a member's endpoint. */
export const slotsMode: ModeStrategy = {
  name: 'slots',
  memberKey: (server) => server.address,
  judgesHolds: false,
  plan(desired, actual, options = {}) {
    const slots = planSlots(desired, actual, options);
    const persisted = slots.layout.map(({ slot, member, held }): ConfigServer =>
      member ? { ...member, name: slot.name } : held ? asIs(slot) : { ...asIs(slot), disabled: true },
    );
    const memberOf = (server: string) => slots.layout.find(({ slot }) => slot.name === server)?.member?.name;
    return { actions: slots.actions, persisted, unplaced: slots.unplaced, memberOf };
  },
};

export const planModes: Record<PlanMode, ModeStrategy> = { dynamic: dynamicMode, slots: slotsMode };
