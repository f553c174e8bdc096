/**
 * Before its first change after every (re)connect, the agent checks that the HAProxy it reached is
 * its own (pure verdict in render/identity.ts, one `show info` here). Another deployment's HAProxy
 * is never changed: passes stop and `runtime.foreign` is logged, and every later pass asks again,
 * so the right HAProxy coming back heals it. An own HAProxy that booted with other settings is
 * driven, and `config.stale` names each setting old → new and how to apply them.
 */
import type { Logger } from '../log.js';
import { judgeOwnership, parseIdentity, settingChanges, type BootSettings, type Identity, type Ownership } from '../render/identity.js';
import type { Info } from '../runtime/parse.js';

/** What the check needs of a Runtime API connection (RuntimeClient in production). */
export interface InfoSource {
  readonly address: { readonly url: string };
  info(): Promise<Info>;
  /** A new connection may reach another HAProxy: it is asked again. */
  on(event: 'connected', listener: () => void): unknown;
}

export interface OwnershipOptions {
  client: InfoSource;
  identity: Identity;
  settings: BootSettings;
  /** The settings recorded for an older fingerprint, to name old → new. */
  recorded: (fingerprint: string) => Promise<BootSettings | undefined>;
  /** How to make HAProxy boot with the current settings (a command for this setup). */
  apply: string;
  log: Logger;
}

/** How to make HAProxy boot with the settings rendered now (docs/troubleshooting.md has each setup's command). */
export function applyHint(configOut: string | undefined): string {
  const file = configOut ?? 'the rendered haproxy.cfg';
  return (
    `restart HAProxy so that it boots from ${file}: without losing a request, ha-agent reload (master-worker HAProxy; ` +
    `docker compose: docker compose exec ha ha-agent reload); or docker compose restart ha; by hand: stop haproxy, then ` +
    `haproxy -W -S MASTER_SOCKET -f ${file})`
  );
}

export interface Inspection {
  ownership: Ownership;
  /** `name: old → new` for each boot setting that differs; empty when current. */
  changes: string[];
}

/** The verdict on one `show info` answer. */
export async function inspect(info: Info, options: Pick<OwnershipOptions, 'identity' | 'settings' | 'recorded'>): Promise<Inspection> {
  const ownership = judgeOwnership(options.identity, parseIdentity(info.fields.description));
  if (ownership.owner !== 'own' || !ownership.stale) return { ownership, changes: [] };
  const old = await options.recorded(ownership.found.settings);
  return { ownership, changes: settingChanges(old, options.settings, ownership.found.settings) };
}

export class OwnershipCheck {
  private allowed = false;
  private reported = '';

  constructor(private readonly options: OwnershipOptions) {
    options.client.on('connected', () => {
      this.allowed = false;
    });
  }

  /** Whether the HAProxy connected now may be changed; asks `show info` until the answer is yes. */
  async allows(): Promise<boolean> {
    if (this.allowed) return true;
    const { client, identity, log, apply } = this.options;
    let info: Info;
    let verdict: Inspection;
    try {
      info = await client.info();
      verdict = await inspect(info, this.options);
    } catch {
      return false; // not connected: the pass could not read HAProxy either, and reconnecting asks again
    }
    const { ownership, changes } = verdict;
    const address = client.address.url;
    const key = JSON.stringify([info.pid, ownership, changes]);
    if (key !== this.reported) {
      this.reported = key;
      if (ownership.owner === 'foreign') {
        log.error('runtime.foreign', {
          address,
          pid: info.pid,
          expected: identity.deployment,
          found: ownership.found.deployment,
          hint:
            `the HAProxy at ${address} belongs to deployment ${ownership.found.deployment}: ha-agent changes nothing there; ` +
            'give each deployment its own Runtime API address',
        });
      } else {
        const deployment = ownership.owner === 'own' ? identity.deployment : null;
        log.info('runtime.verified', { address, pid: info.pid, deployment, stale: changes.length > 0 });
        if (changes.length > 0) log.warn('config.stale', { address, pid: info.pid, changes, apply });
      }
    }
    this.allowed = ownership.owner !== 'foreign';
    return this.allowed;
  }
}
