/**
 * The boot settings of every fingerprint rendered into a config, kept next to it
 * (`<config>.settings.json`), so that the settings a running HAProxy booted with can be named,
 * old → new, once the file itself has been re-rendered. Secrets are already hashed in BootSettings.
 */
import { promises as fs } from 'node:fs';
import { z } from 'zod';
import type { BootSettings } from './identity.js';

/** Enough for every HAProxy still running from an older file; older entries are dropped. */
const KEEP = 20;

const storeSchema = z.record(z.string().regex(/^[0-9a-f]{12}$/), z.record(z.string(), z.string()));

export const settingsPath = (configOut: string) => `${configOut}.settings.json`;

async function read(configOut: string): Promise<Record<string, BootSettings>> {
  const text = await fs.readFile(settingsPath(configOut), 'utf8').catch(() => undefined);
  if (text === undefined) return {};
  try {
    const parsed = storeSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : {};
  } catch {
    return {}; // a damaged file only costs the names of old values
  }
}

export async function recordSettings(configOut: string, fingerprint: string, settings: BootSettings): Promise<void> {
  const store = await read(configOut);
  delete store[fingerprint]; // re-inserted last: the newest entries are kept
  const entries = [...Object.entries(store), [fingerprint, settings] as const].slice(-KEEP);
  const tmp = `${settingsPath(configOut)}.${process.pid}.tmp`;
  await fs.writeFile(tmp, `${JSON.stringify(Object.fromEntries(entries), null, 2)}\n`, { mode: 0o644 });
  await fs.rename(tmp, settingsPath(configOut));
}

export async function recordedSettings(configOut: string, fingerprint: string): Promise<BootSettings | undefined> {
  return (await read(configOut))[fingerprint];
}
