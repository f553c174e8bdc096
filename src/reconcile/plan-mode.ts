/**
 * One pass's plan in either mode (pure): the actions, the servers the rendered config must list, and in
 * slot mode the members left without a slot. The agent's loop and `ha-agent plan` both plan through here.
 */
import type { Server } from '../model/server.js';
import type { ConfigServer } from '../render/template.js';
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

export function planForMode(
  mode: PlanMode,
  desired: ReadonlyMap<string, Server>,
  actual: ReadonlyMap<string, ActualServer>,
  options: PlanOptions = {},
): ModePlan {
  const asIs = ({ name, address, port, weight }: ActualServer): ConfigServer => ({ name, address, port, weight });
  if (mode === 'dynamic') {
    // A kept server stays in the config too, so that a restarted HAProxy still boots with it.
    const kept = [...actual.values()].filter((server) => options.absent?.get(server.name)?.hold === true).map(asIs);
    return {
      actions: plan(desired, actual, options),
      persisted: [...desired.values(), ...kept].map((server) => heldOnBoot(server, options.held?.get(server.name))),
      unplaced: [],
      memberOf: (server) => server,
    };
  }
  const slots = planSlots(desired, actual, options);
  const persisted = slots.layout.map(({ slot, member, held }): ConfigServer =>
    member ? { ...member, name: slot.name } : held ? asIs(slot) : { ...asIs(slot), disabled: true },
  );
  const memberOf = (server: string) => slots.layout.find(({ slot }) => slot.name === server)?.member?.name;
  return { actions: slots.actions, persisted, unplaced: slots.unplaced, memberOf };
}
