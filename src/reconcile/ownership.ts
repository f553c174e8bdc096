/**
 * Before its first change after every (re)connect, the agent checks that the HAProxy it reached is
 * its own (pure verdict in ownership-verdict.ts, one `show info` here). Another deployment's HAProxy
 * is never changed: passes stop and `runtime.foreign` is logged, and every later pass asks again,
 * so the right HAProxy coming back heals it. An own HAProxy that booted with other settings is
 * driven, and `config.stale` names each setting old → new and how to apply them.
 */
import type { Logger } from '../log.js';
import { parseIdentity, type BootSettings, type Identity } from '../render/identity.js';
import { judgeOwnership, settingChanges, type Ownership } from './ownership-verdict.js';
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
  /** Where the next boot reads its config (--config-out), to say so. */
  configOut?: string | undefined;
  /**
   * Tries the rendered config's checks on the servers UP now (a stale check setting): one line per backend where
   * some would fail, and whether all of a backend's would. Asked after `config.stale`, never holding a pass.
   */
  probeNextBoot?: () => Promise<{ failing: string[]; lost: string[] }>;
  log: Logger;
}

/** Boot settings that change what HAProxy's health checks ask (the template's text may too). */
const CHECK_SETTINGS = /^(backend\.healthPath|service\.|template|settings )/;

/** What HAProxy's next boot uses, named for the `config.stale` line: a reload, a restart and a crash restart all read the file. */
export function nextBootHint(changes: readonly string[], configOut: string | undefined): string {
  const values = changes.map((change) => change.replace(/^([^:]+): .* → (.*)$/, '$1 $2')).join(', ');
  return (
    `HAProxy's next boot reads ${configOut ?? 'the rendered config'} and uses ${values}: whichever starts it — ha-agent reload ` +
    '(which first tries new health checks on the servers UP now and refuses when they would all fail), a restart, or a supervisor ' +
    '(s6) restarting HAProxy after a crash, which checks nothing first'
  );
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
  /** The settings the HAProxy reached booted with, when known (its own and current, or stale and recorded). */
  booted: BootSettings | undefined;
}

/** The verdict on one `show info` answer. */
export async function inspect(info: Info, options: Pick<OwnershipOptions, 'identity' | 'settings' | 'recorded'>): Promise<Inspection> {
  const ownership = judgeOwnership(options.identity, parseIdentity(info.fields.description));
  if (ownership.owner !== 'own') return { ownership, changes: [], booted: undefined };
  if (!ownership.stale) return { ownership, changes: [], booted: options.settings };
  const old = await options.recorded(ownership.found.settings);
  return { ownership, changes: settingChanges(old, options.settings, ownership.found.settings), booted: old };
}

export class OwnershipCheck {
  private allowed = false;
  private reported = '';
  private bootedWith: BootSettings | undefined;

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
    this.bootedWith = verdict.booted;
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
        if (changes.length > 0) {
          log.warn('config.stale', { address, pid: info.pid, changes, nextBoot: nextBootHint(changes, this.options.configOut), apply });
          if (changes.some((change) => CHECK_SETTINGS.test(change))) this.reportNextBootChecks(info.pid);
        }
      }
    }
    this.allowed = ownership.owner !== 'foreign';
    return this.allowed;
  }

  /** The settings the HAProxy connected now booted with, when known (what its checks ask, which may not be what is rendered). */
  get booted(): BootSettings | undefined {
    return this.bootedWith;
  }

  /** `config.next-boot`: what the rendered checks would do to the servers UP now, in the background. */
  private reportNextBootChecks(pid: number): void {
    const { probeNextBoot, log } = this.options;
    if (!probeNextBoot) return;
    void probeNextBoot().then(
      ({ failing, lost }) => {
        if (failing.length === 0) return log.info('config.next-boot', { pid, checks: 'every server UP now passes the rendered checks' });
        const what =
          lost.length > 0
            ? `HAProxy booted from the rendered config would put every server of ${lost.join(', ')} DOWN (each request a 503); ` +
              'ha-agent reload refuses it; fix the setting, or the app, before HAProxy restarts'
            : 'these servers would go DOWN once HAProxy boots from the rendered config';
        log.warn('config.next-boot', { pid, failing, lost, what });
      },
      (error: unknown) => log.info('config.next-boot', { pid, checks: 'not tried', error }),
    );
  }
}
