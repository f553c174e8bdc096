/**
 * What the rendered config says of its owner and its boot settings (pure). The rendered config's `global`
 * `description` reads `ha-agent deployment=ID settings=FINGERPRINT`, and `show info` prints it back
 * (`description: …`), so the agent can tell its own HAProxy from another deployment's on the same
 * address, and an HAProxy still running settings it read at boot from the ones rendered now (the verdict:
 * reconcile/ownership-verdict.ts).
 */
import { createHash } from 'node:crypto';
import type { Identity } from './description.js';
import type { ConfigModel } from './template.js';

export { deploymentSchema, describeIdentity, parseIdentity, type Identity } from './description.js';

/** What HAProxy reads only at boot, by the model path that sets it; secrets are hashed, never kept. */
export type BootSettings = Record<string, string>;

const short = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);

/**
 * The default deployment id: the same for every render into one file on one host, and different
 * for another file (the by-hand setup and the local cluster) or another host.
 */
export function defaultDeployment(hostname: string, configOut: string): string {
  return `ha-${short(`${hostname}\0${configOut}`)}`;
}

/** Everything the template renders outside the servers (the template's own text included, as a hash). */
export function bootSettings(base: Omit<ConfigModel, 'servers' | 'identity'>, template: string): BootSettings {
  const none = '(none)';
  return {
    'runtime.tcp': base.runtime.tcp ?? none,
    'runtime.unixSocket': base.runtime.unixSocket ?? none,
    'runtime.operator': base.runtime.operator ?? none,
    'frontend.bind': base.frontend.bind,
    'stats.bind': base.stats?.bind ?? none,
    'stats.credentials': base.stats?.credentials === undefined ? none : `sha256:${short(base.stats.credentials)}`,
    'backend.name': base.backend.name,
    'backend.balance': base.backend.balance,
    'backend.healthPath': base.backend.healthPath,
    // Only with services, so that a deployment without them keeps its fingerprint. Their routes are not
    // here: the agent changes the maps at runtime, while a service's backend exists only after a boot.
    ...Object.fromEntries(
      (base.services ?? []).map((s) => [
        `service.${s.name}`,
        `balance=${s.balance} health=${s.healthPath} sticky=${s.sticky?.cookie ?? 'none'}`,
      ]),
    ),
    ...(base.routing ? { 'routing.maps': `${base.routing.hosts} ${base.routing.paths}` } : {}),
    // Only when set, like the services: a deployment without it keeps its fingerprint.
    ...(base.retryStalledAfterMs === undefined ? {} : { retryStalledAfterMs: String(base.retryStalledAfterMs) }),
    template: `sha256:${short(template)}`,
  };
}

export function fingerprint(settings: BootSettings): string {
  return short(JSON.stringify(Object.entries(settings).sort(([a], [b]) => a.localeCompare(b))));
}

export interface Stamped<T> {
  /** The model with its identity (none without a deployment id: an unmarked config). */
  base: T;
  identity: Identity | undefined;
  settings: BootSettings;
}

export function stamp<T extends Omit<ConfigModel, 'servers' | 'identity'>>(
  base: T,
  deployment: string | undefined,
  template: string,
): Stamped<T> {
  const settings = bootSettings(base, template);
  const identity = deployment === undefined ? undefined : { deployment, settings: fingerprint(settings) };
  return { base: identity ? { ...base, identity } : base, identity, settings };
}
