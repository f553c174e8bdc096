/**
 * Slot mode (pure): for a backend of fixed server slots (`server-template`, or the slot lines
 * `ha-agent render --slots N` writes) where dynamic servers are refused. A member is placed in a
 * slot with `set server … addr … port …`; a slot is freed with drain → maint, never deleted.
 * Slots are matched to members by address:port, so a restarted agent adopts what HAProxy holds.
 */
import type { Server } from '../model/server.js';
import type { ActualServer } from './actual.js';
import { drainToMaint, type Action, type PlanOptions, type Step } from './plan.js';

export interface SlotPlan {
  actions: Action[];
  /**
   * Every slot and the member it holds (after this plan), in slot order: the config to persist. `held`:
   * the slot keeps its occupant, whose member is absent from the list (see absent.ts).
   */
  layout: Array<{ slot: ActualServer; member: Server | undefined; held: boolean }>;
  /** Alive members for which no slot is free, or whose endpoint another member already holds. */
  unplaced: string[];
}

const key = (address: string, port: number) => `${address}|${port}`;

/** Checks are paused while a slot is in MAINT, so the new occupant is checked in DRAIN (no new traffic). */
const fill = (server: Server, slot: ActualServer): Step[] => [
  ...(slot.address !== server.address || slot.port !== server.port
    ? [{ kind: 'set-addr', address: server.address, port: server.port } as const]
    : []),
  ...(slot.weight !== server.weight ? [{ kind: 'set-weight', weight: server.weight } as const] : []),
  { kind: 'set-state', state: 'drain' },
  { kind: 'await-check' },
  { kind: 'set-state', state: 'ready' },
];
const FREE_ROLLBACK: Step[] = [{ kind: 'set-state', state: 'maint' }];

export function planSlots(
  desired: ReadonlyMap<string, Server>,
  actual: ReadonlyMap<string, ActualServer>,
  options: PlanOptions = {},
): SlotPlan {
  const busy = options.busy ?? new Set<string>();
  const held = (slot: ActualServer) => options.absent?.get(slot.name)?.hold === true;
  const slots = [...actual.values()].sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  // A slot is known by its endpoint, so one member per endpoint: the first by name.
  const members = [...desired.values()].sort((a, b) => a.name.localeCompare(b.name));
  const byAddress = new Map<string, Server>();
  for (const member of members)
    if (!byAddress.has(key(member.address, member.port))) byAddress.set(key(member.address, member.port), member);
  const holder = new Map<string, Server>(); // slot name → member it holds or is being given
  const placed = new Set<string>(); // member names with a slot
  const actions: Action[] = [];

  // 1. Slots already holding (or being filled with) an alive member: serving ones first.
  for (const filled of [true, false]) {
    for (const slot of slots) {
      if ((slot.mode !== 'maint') !== filled) continue;
      const member = byAddress.get(key(slot.address, slot.port));
      if (!member || placed.has(member.name)) continue;
      holder.set(slot.name, member);
      placed.add(member.name);
      if (busy.has(slot.name)) continue;
      const reason = `holds member ${member.name}`;
      if (slot.mode === 'maint')
        actions.push({ server: slot.name, kind: 'resume', reason, steps: fill(member, slot), rollback: FREE_ROLLBACK });
      else if (slot.mode === 'drain')
        actions.push({ server: slot.name, kind: 'resume', reason, steps: [{ kind: 'set-state', state: 'ready' }] });
      else if (slot.weight !== member.weight)
        actions.push({ server: slot.name, kind: 'update', reason, steps: [{ kind: 'set-weight', weight: member.weight }] });
    }
  }

  // 2. Serving slots whose member is gone: drain them, then free them.
  const freeing = new Map<string, Action>();
  for (const slot of slots) {
    if (slot.mode === 'maint' || holder.has(slot.name) || busy.has(slot.name) || held(slot)) continue;
    const steps: Step[] = [...(slot.mode === 'ready' ? [{ kind: 'set-state', state: 'drain' } as const] : []), ...drainToMaint(false)];
    const reason = options.absent?.get(slot.name)?.reason ?? `frees slot of ${slot.address}:${slot.port}`;
    const action: Action = { server: slot.name, kind: 'remove', reason, steps };
    freeing.set(slot.name, action);
    actions.push(action);
  }

  // 3. Members without a slot take free ones, in name order; then slots being freed right now, whose
  //    new occupant moves in once the old one has drained (one action: the steps stay in order).
  const free = slots.filter((slot) => slot.mode === 'maint' && !holder.has(slot.name) && !busy.has(slot.name));
  free.push(...slots.filter((slot) => freeing.has(slot.name)));
  const unplaced: string[] = [];
  for (const member of members) {
    if (placed.has(member.name)) continue;
    if (byAddress.get(key(member.address, member.port)) !== member) {
      unplaced.push(member.name); // another member already claims this endpoint
      continue;
    }
    const slot = free.shift();
    if (!slot) {
      unplaced.push(member.name);
      continue;
    }
    holder.set(slot.name, member);
    const emptied = freeing.get(slot.name);
    if (emptied) {
      emptied.kind = 'join';
      emptied.reason = `${emptied.reason}, then member ${member.name}`;
      emptied.steps.push(...fill(member, slot));
      emptied.rollback = FREE_ROLLBACK;
    } else {
      actions.push({
        server: slot.name,
        kind: 'join',
        reason: `member ${member.name}`,
        steps: fill(member, slot),
        rollback: FREE_ROLLBACK,
      });
    }
  }

  const layout = slots.map((slot) => ({ slot, member: holder.get(slot.name), held: held(slot) }));
  return { actions, layout, unplaced };
}
