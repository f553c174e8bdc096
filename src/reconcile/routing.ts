/**
 * Routing at runtime (pure): the `add map` / `set map` / `del map` commands that bring a running
 * HAProxy's routing map to the entries rendered for its next boot (render/routes.ts). The longest
 * prefix wins whatever the entries' order, so entries change one by one and the map is never cleared.
 */
import { addMap, delMap, setMap } from '../runtime/data-commands.js';
import type { Command } from '../runtime/commands.js';
import type { MapEntry } from '../runtime/parse.js';

/**
 * The commands that make a map's entries equal `desired`: `add map` for a new key, `set map` for a
 * key whose value differs, `del map` for a key no longer routed. A key HAProxy holds more than once
 * (added by hand) is deleted and added again, so exactly one entry is left. Empty when equal.
 */
export function mapSteps(map: string, current: readonly MapEntry[], desired: ReadonlyMap<string, string>): Command[] {
  const held = new Map<string, string[]>();
  for (const entry of current) held.set(entry.key, [...(held.get(entry.key) ?? []), entry.value]);
  const steps: Command[] = [];
  for (const key of held.keys()) if (!desired.has(key)) steps.push(delMap(map, key));
  for (const [key, value] of desired) {
    const values = held.get(key);
    if (values === undefined) steps.push(addMap(map, key, value));
    else if (values.length > 1) steps.push(delMap(map, key), addMap(map, key, value));
    else if (values[0] !== value) steps.push(setMap(map, key, value));
  }
  return steps;
}
