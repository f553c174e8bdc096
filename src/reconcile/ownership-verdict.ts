/**
 * The ownership verdict (pure): whose HAProxy the agent reached, from the identity its config rendered and the one
 * `show info` prints back (render/identity.ts), and which boot settings it runs that differ from the ones rendered now.
 */
import { fingerprint, type BootSettings, type Identity } from '../render/identity.js';

export type Ownership = { owner: 'unmarked' } | { owner: 'foreign'; found: Identity } | { owner: 'own'; stale: boolean; found: Identity };

/** An HAProxy whose config carries no identity (a user's own) is driven as before; another deployment's never. */
export function judgeOwnership(ours: Identity, found: Identity | undefined): Ownership {
  if (found === undefined) return { owner: 'unmarked' };
  if (found.deployment !== ours.deployment) return { owner: 'foreign', found };
  return { owner: 'own', found, stale: found.settings !== ours.settings };
}

/** Each boot setting that differs, as `name: old → new`; `old` undefined when its values were not recorded. */
export function settingChanges(old: BootSettings | undefined, now: BootSettings, oldFingerprint: string): string[] {
  if (old === undefined) return [`settings ${oldFingerprint} → ${fingerprint(now)} (the old values were not recorded)`];
  const names = [...new Set([...Object.keys(old), ...Object.keys(now)])].sort();
  return names.filter((name) => old[name] !== now[name]).map((name) => `${name}: ${old[name] ?? '(none)'} → ${now[name] ?? '(none)'}`);
}
