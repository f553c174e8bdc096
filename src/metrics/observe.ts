/**
 * Metrics from the agent's own log events: every event is logged once, and the same call feeds
 * the counters, so logs and metrics cannot disagree.
 */
import { withFields, type Fields, type Level, type Logger } from '../log.js';
import type { Registry } from './registry.js';

const FOREIGN_HELP = "Whether the HAProxy reached is another deployment's (nothing is changed there)";
const STALE_HELP = 'Whether HAProxy runs boot settings other than the rendered ones (restart it to apply them)';
const MISSING_HELP = "Whether a service's backend is missing from the running HAProxy (restart it from the rendered config)";
const FAILING_HELP = 'New servers whose health checks fail while the agent waits for their first pass (see /healthz)';
const SECONDS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface Health {
  runtime: boolean;
  serf: boolean;
  configError: string | undefined;
  /** Set while the HAProxy on the Runtime API address belongs to another deployment. */
  foreign: string | undefined;
  /** Boot settings HAProxy runs that differ from the rendered ones (`name: old → new`). */
  stale: string[] | undefined;
  /** Services whose backend the running HAProxy lacks (declared after it booted), and what applies them. */
  missing?: { services: string[]; apply: string } | undefined;
  /** Members whose service tag names no configured service (`"name" (service "tag")`). */
  unknown?: string[] | undefined;
  /**
   * New servers whose checks fail (`check.failing`), by `backend/server`: what answered what. Kept while the
   * server is retried, until a check passes or its member leaves during the wait.
   */
  failingChecks?: Map<string, string>;
  /** Servers a person holds in MAINT or DRAIN (`backend/server` → state and since when, ISO). */
  holds?: Record<string, { state: string; since: string }>;
  /** Since when (ISO) the member list could not be read, while the last good one is kept. */
  membershipStaleSince?: string | undefined;
}

/** `labels` with the backend's label, on the events of a reconciler (every one carries it, its own or its logger's). */
function withBackend(labels: Record<string, string>, fields: Fields, base: Fields): Record<string, string> {
  const backend = Object.hasOwn(fields, 'backend') ? fields.backend : base.backend;
  if (typeof backend === 'string') labels.backend = backend;
  return labels;
}

/** What config.invalid (HAProxy's alert) or a write/render failure (the error's message) says went wrong. */
function configProblem(event: string, fields: Fields): string {
  if (typeof fields.alert === 'string') return fields.alert;
  return fields.error instanceof Error ? fields.error.message : event;
}

export function observe(log: Logger, metrics: Registry, health: Health): Logger {
  return observeWith(log, metrics, health, {});
}

/** `base`: the fields `log` puts on every line (withFields), which the counters read as a line's own. */
function observeWith(log: Logger, metrics: Registry, health: Health, base: Fields): Logger {
  const record = (event: string, fields: Fields) => {
    switch (event) {
      case 'serf.event':
        metrics.inc('ha_agent_serf_events_total', 'Serf member events received', { type: String(fields.type) });
        break;
      case 'member.rejected':
        metrics.inc('ha_agent_members_rejected_total', 'Members refused, by the field at fault', {
          reason: String(fields.reason).split(':')[0] ?? 'unknown',
        });
        break;
      case 'step.finished':
        metrics.inc('ha_agent_steps_total', 'Runtime API steps applied', withBackend({ kind: String(fields.step) }, fields, base));
        break;
      case 'step.failed':
        metrics.inc(
          'ha_agent_steps_failed_total',
          'Runtime API steps that failed: HAProxy refused the command or it could not be sent',
          withBackend({ kind: String(fields.step) }, fields, base),
        );
        break;
      case 'drain.finished':
      case 'drain.timeout':
        metrics.observe(
          'ha_agent_drain_seconds',
          'How long drains waited for in-flight requests',
          Number(fields.waitedMs) / 1000,
          SECONDS,
          withBackend({ outcome: event === 'drain.finished' ? 'drained' : 'timeout' }, fields, base),
        );
        break;
      case 'action.finished':
        metrics.observe(
          'ha_agent_event_to_applied_seconds',
          'From the member list showing a change to HAProxy applying it',
          Number(fields.sinceListMs) / 1000,
          SECONDS,
          withBackend({ action: String(fields.action) }, fields, base),
        );
        break;
      case 'runtime.connected':
      case 'runtime.disconnected':
        health.runtime = event === 'runtime.connected';
        metrics.set('ha_agent_runtime_connected', 'Whether the Runtime API connection to HAProxy is up', health.runtime ? 1 : 0);
        break;
      case 'runtime.foreign':
      case 'runtime.verified':
        health.foreign =
          event === 'runtime.foreign'
            ? `HAProxy at ${String(fields.address)} belongs to deployment ${String(fields.found)}, not ${String(fields.expected)}`
            : undefined;
        metrics.set('ha_agent_runtime_foreign', FOREIGN_HELP, health.foreign ? 1 : 0);
        if (event === 'runtime.verified' && fields.stale === false) health.stale = undefined;
        metrics.set('ha_agent_config_stale', STALE_HELP, health.stale ? 1 : 0);
        break;
      case 'config.stale':
        health.stale = (fields.changes as string[]).map(String);
        metrics.set('ha_agent_config_stale', STALE_HELP, 1);
        break;
      case 'services.checked': {
        const missing = (fields.missing as string[]).map(String);
        health.missing = missing.length > 0 ? { services: missing, apply: String(fields.apply) } : undefined;
        for (const name of [...(fields.present as string[]).map(String), ...missing]) {
          metrics.set('ha_agent_service_missing', MISSING_HELP, missing.includes(name) ? 1 : 0, { backend: name });
        }
        break;
      }
      case 'services.unknown': {
        const members = (fields.members as string[]).map(String);
        health.unknown = members.length > 0 ? members : undefined;
        break;
      }
      case 'member.unknown-service':
        metrics.inc(
          'ha_agent_members_unknown_service_total',
          'Members whose service tag names no configured service (they are served nowhere)',
        );
        break;
      case 'route.finished':
      case 'route.failed':
        if (fields.command !== undefined) {
          metrics.inc('ha_agent_route_steps_total', 'Routing map commands sent, by outcome', {
            outcome: event === 'route.finished' ? 'applied' : 'failed',
          });
        }
        break;
      case 'check.failing':
      case 'check.timeout':
      case 'check.passed':
      case 'check.abandoned': {
        const server = `${withBackend({}, fields, base).backend ?? '?'}/${String(fields.server)}`;
        health.failingChecks ??= new Map();
        if (event === 'check.passed' || event === 'check.abandoned') health.failingChecks.delete(server);
        else if (typeof fields.message === 'string') health.failingChecks.set(server, `${String(fields.check)}: ${fields.message}`);
        metrics.set('ha_agent_checks_failing', FAILING_HELP, health.failingChecks.size);
        break;
      }
      case 'hold.started':
      case 'hold.released': {
        const labels = withBackend({}, fields, base);
        const key = `${labels.backend ?? ''}/${String(fields.server)}`;
        health.holds ??= {};
        if (event === 'hold.started') health.holds[key] = { state: String(fields.state), since: String(fields.since) };
        else delete health.holds[key];
        metrics.set(
          'ha_agent_servers_held',
          'Servers a person holds in MAINT or DRAIN (the agent keeps them so)',
          Number(fields.held),
          labels,
        );
        break;
      }
      case 'membership.stale':
      case 'membership.fresh':
        health.membershipStaleSince = event === 'membership.stale' ? String(fields.since) : undefined;
        break;
      case 'serf.connected':
      case 'serf.disconnected':
        health.serf = event === 'serf.connected';
        metrics.set('ha_agent_serf_connected', 'Whether the RPC connection to the local Serf agent is up', health.serf ? 1 : 0);
        break;
      case 'config.written':
      case 'config.invalid':
      case 'config.write-failed':
      case 'config.render-failed':
        health.configError = event === 'config.written' ? undefined : configProblem(event, fields);
        metrics.set(
          'ha_agent_config_written',
          'Whether the last rendered haproxy.cfg was written (0: the previous file is kept)',
          health.configError ? 0 : 1,
        );
        break;
    }
  };
  const wrap =
    (level: Level) =>
    (event: string, fields: Fields = {}) => {
      record(event, fields);
      log[level](event, fields);
    };
  return {
    debug: wrap('debug'),
    info: wrap('info'),
    warn: wrap('warn'),
    error: wrap('error'),
    child: (fields) => observeWith(withFields(log, fields), metrics, health, { ...base, ...fields }),
  };
}
