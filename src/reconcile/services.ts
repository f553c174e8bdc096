/**
 * One agent, several backends: the default backend's reconciler and one per service (--services),
 * each level-triggered on its own from the same member list, so a refused command or a missing
 * backend in one never holds another. Around them this keeps what no single backend owns: which
 * services' backends the running HAProxy has (read once per connection: HAProxy cannot create a
 * backend at runtime, so a service declared after it booted waits for its restart, reported with
 * the command that applies it), the routing maps of the services it has, and the members whose
 * `service` tag names no service.
 */
import type { Logger } from '../log.js';
import type { Member } from '../membership/member.js';
import type { Service } from '../model/service.js';
import type { RuntimeClient } from '../runtime/client.js';
import { unknownServices } from './desired.js';
import { DryRunSteps } from './dry-run.js';
import type { OwnershipCheck } from './ownership.js';
import type { Reconciler } from './reconciler.js';
import { routingTable, type RoutingMaps } from '../render/routes.js';
import { mapSteps } from './routing.js';
import { SerialPass } from '../util/serial-pass.js';

/** What this needs of a backend's reconciler. */
export type BackendReconciler = Pick<Reconciler, 'setMembers' | 'trigger' | 'idle' | 'close' | 'stats'>;

export interface ServicesOptions {
  client: Pick<RuntimeClient, 'connected' | 'backends' | 'mapEntries' | 'run'>;
  role: string;
  /** The default backend's: members without a service tag. */
  main: BackendReconciler;
  services: readonly { service: Service; reconciler: BackendReconciler }[];
  /** The routing maps (undefined only when no service is configured). */
  maps: RoutingMaps | undefined;
  /** Asked before HAProxy is read or changed, as every reconciler asks. */
  ownership?: Pick<OwnershipCheck, 'allows'>;
  /** Log the routing commands (`dry-run.step`) instead of sending them. */
  dryRun?: boolean;
  /** How to make HAProxy boot with the rendered config, which declares every service's backend. */
  apply: string;
  log: Logger;
}

export class Services {
  private members: readonly Member[] | undefined;
  /** The services whose backend the connected HAProxy has; undefined until read after a (re)connect. */
  private present: ReadonlySet<string> | undefined;
  private readonly passes = new SerialPass((reason) => this.pass(reason));
  private loggedUnknown = new Map<string, string>();
  private readonly dryRun: DryRunSteps;
  private readonly names: ReadonlySet<string>;

  constructor(private readonly options: ServicesOptions) {
    this.names = new Set(options.services.map((s) => s.service.name));
    this.dryRun = new DryRunSteps(options.log);
  }

  /** Every reconciler, default first. */
  get reconcilers(): BackendReconciler[] {
    return [this.options.main, ...this.options.services.map((s) => s.reconciler)];
  }

  /** The full member list, for every backend. */
  setMembers(members: readonly Member[], reason: string): void {
    this.members = members;
    this.reportUnknown(members);
    this.options.main.setMembers(members, reason);
    for (const { service, reconciler } of this.options.services) {
      if (this.present?.has(service.name)) reconciler.setMembers(members, reason);
    }
    if (this.options.services.length > 0) this.trigger(reason);
  }

  /** HAProxy (re)connected, maybe a restarted one: its backends are read again before any service is driven. */
  connected(): void {
    this.present = undefined;
    this.options.main.trigger('runtime connected');
    if (this.options.services.length > 0) this.trigger('runtime connected');
  }

  /** Resolves once no pass and no action of any backend is running. */
  async idle(): Promise<void> {
    do {
      await this.passes.current;
      await Promise.all(this.reconcilers.map((r) => r.idle()));
    } while (this.passes.current);
  }

  async close(): Promise<void> {
    this.passes.close();
    await this.passes.current;
    await Promise.all(this.reconcilers.map((r) => r.close()));
  }

  private trigger(reason: string): void {
    this.passes.trigger(reason);
  }

  private async pass(reason: string): Promise<void> {
    const { client, log, ownership } = this.options;
    if (!client.connected) return;
    if (ownership && !(await ownership.allows())) return;
    if (this.present === undefined) {
      try {
        this.present = await this.readBackends();
      } catch (error) {
        log.error('services.failed', { reason, error });
        return;
      }
      for (const { service, reconciler } of this.options.services) {
        if (this.members && this.present.has(service.name)) reconciler.setMembers(this.members, reason);
      }
    }
    const present = this.present;
    await this.route(this.options.services.map((s) => s.service).filter((s) => present.has(s.name)));
  }

  /** Which services' backends HAProxy has; the missing ones are reported once per connection, with what applies them. */
  private async readBackends(): Promise<Set<string>> {
    const { client, log, apply } = this.options;
    const backends = new Set(await client.backends());
    const present = [...this.names].filter((name) => backends.has(name));
    const missing = [...this.names].filter((name) => !backends.has(name));
    if (missing.length === 0) log.info('services.checked', { present, missing });
    else {
      const hint = `HAProxy cannot add a backend at runtime; ${apply}`;
      log.warn('services.checked', { present, missing, apply: hint });
    }
    return new Set(present);
  }

  /** The maps' entries made equal to the routes of the services HAProxy has: a route to a backend it lacks is never added. */
  private async route(live: readonly Service[]): Promise<void> {
    const { client, log, maps } = this.options;
    if (maps === undefined) return;
    const table = routingTable(live);
    for (const [map, desired] of [
      [maps.hosts, table.hosts],
      [maps.paths, table.paths],
    ] as const) {
      let steps;
      try {
        steps = mapSteps(map, await client.mapEntries(map), desired);
      } catch (error) {
        log.error('route.failed', { map, error });
        continue;
      }
      if (this.options.dryRun) {
        const texts = steps.map((step) => step.text);
        this.dryRun.report(map, texts);
        continue;
      }
      for (const step of steps) {
        try {
          log.info('route.finished', { map, command: step.text, answer: await client.run(step) });
        } catch (error) {
          log.error('route.failed', { map, command: step.text, error });
        }
      }
    }
  }

  /** One `member.unknown-service` line per member, when first seen or when its tag changes. */
  private reportUnknown(members: readonly Member[]): void {
    const now = new Map(unknownServices(members, this.options.role, this.names).map((u) => [u.member, u.service]));
    for (const [member, service] of now) {
      if (this.loggedUnknown.get(member) !== service) {
        this.options.log.warn('member.unknown-service', { member, service, services: [...this.names] });
      }
    }
    const list = (map: ReadonlyMap<string, string>) => [...map].map(([member, service]) => `${member} (service ${service})`);
    // The whole list whenever it changes, for /healthz and `status` (a member that leaves, or is tagged right, drops out).
    if (list(now).join() !== list(this.loggedUnknown).join()) this.options.log.info('services.unknown', { members: list(now) });
    this.loggedUnknown = now;
  }
}
