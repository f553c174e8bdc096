/**
 * The options shared by `run`, `plan` and `handle`, and their validation into one AgentConfig.
 * A bad value stops the agent at start with one clear line naming the option.
 */
import { hostname, networkInterfaces } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { createLogger, type Logger } from '../log.js';
import { DEFAULT_POLL_MS } from '../membership/change-poller.js';
import { DEFAULT_SERF_ADDRESS, parseSerfAddress, type SerfAddress } from '../membership/rpc-client.js';
import { addressPolicy, parseCidr, type Cidr } from '../model/cidr.js';
import { defaultServerPolicy, type ServerPolicy } from '../model/server.js';
import { parseServices, type Service } from '../model/service.js';
import { backendName, DEFAULT_BACKEND, describeIssues } from '../model/values.js';
import { DEFAULT_ABSENT_GRACE_MS } from '../reconcile/absent.js';
import type { DesiredOptions } from '../reconcile/desired.js';
import type { PlanMode } from '../reconcile/plan-mode.js';
import { routingMaps, type RoutingMaps } from '../render/routes.js';
import { defaultDeployment, deploymentSchema, type BootSettings } from '../render/identity.js';
import { balanceSchema, haproxyDuration, RETRY_STALLED_MAX_MS, RETRY_STALLED_MIN_MS, type ConfigModel } from '../render/template.js';
import { parseRuntimeUrl, type RuntimeAddress } from '../runtime/address.js';
import { parseDuration } from '../util/duration.js';
import { runtimeOption, traceOption, UsageError, type OptionSpec, type OptionValues } from './options.js';

export const defaultTemplatePath = path.resolve(import.meta.dirname, '../../ha/config/haproxy.cfg.hbs');

const o = (name: string, env: string, description: string, extra: Partial<OptionSpec> = {}): OptionSpec => ({
  name,
  type: 'string',
  env,
  description,
  ...extra,
});

export const serfOptions: OptionSpec[] = [
  o('serf', 'HA_AGENT_SERF', "the local Serf agent's RPC address", { default: DEFAULT_SERF_ADDRESS, valueName: 'HOST:PORT' }),
  o('serf-auth', 'HA_AGENT_SERF_AUTH', "Serf's rpc_auth token", { valueName: 'TOKEN' }),
];

export const backendOption = o('backend', 'HA_AGENT_BACKEND', 'the HAProxy backend ha-agent owns', {
  default: DEFAULT_BACKEND,
  valueName: 'NAME',
});
export const defaultPortOption = o('default-port', 'HA_AGENT_DEFAULT_PORT', "a member's port when it has no 'port' tag", {
  default: '3000',
  valueName: 'PORT',
});

export const membershipOptions: OptionSpec[] = [
  backendOption,
  o('role', 'HA_AGENT_ROLE', "members whose tag 'role' has this value are servers", { default: 'backend', valueName: 'ROLE' }),
  defaultPortOption,
  o('default-weight', 'HA_AGENT_DEFAULT_WEIGHT', "a member's weight when it has no 'weight' tag", { default: '100', valueName: 'WEIGHT' }),
  o('check-inter', 'HA_AGENT_CHECK_INTER', "servers' health-check interval", { default: '1s', valueName: 'DURATION' }),
  o(
    'slowstart',
    'HA_AGENT_SLOWSTART',
    "ramp a server's weight from ~0 to its own over DURATION after it joins or comes back up, as HAProxy's slowstart " +
      'does for static servers (none: off)',
    { valueName: 'DURATION' },
  ),
  o(
    'allow-cidr',
    'HA_AGENT_ALLOW_CIDR',
    "ranges member addresses must be in, comma-separated, or 'auto' (this host's networks); " +
      "0.0.0.0, multicast and the balancer's own addresses are always refused",
    { valueName: 'CIDR[,CIDR]' },
  ),
];

export const modeOption = o(
  'mode',
  'HA_AGENT_MODE',
  'dynamic (add/del server) or slots (fill and free the server slots of a server-template backend)',
  {
    default: 'dynamic',
    valueName: 'MODE',
  },
);

export const applyOptions: OptionSpec[] = [
  o('drain-timeout', 'HA_AGENT_DRAIN_TIMEOUT', 'longest wait for in-flight requests before a server is cut', {
    default: '10s',
    valueName: 'DURATION',
  }),
  o(
    'drain-idle',
    'HA_AGENT_DRAIN_IDLE',
    'with --sticky cookie: a draining server keeps its users until none of them has sent a request for this long ' +
      '(within --drain-timeout)',
    { default: '2s', valueName: 'DURATION' },
  ),
  o('check-timeout', 'HA_AGENT_CHECK_TIMEOUT', "longest wait for a new server's first passing health check", {
    default: '10s',
    valueName: 'DURATION',
  }),
];

export const resyncOption = o('resync', 'HA_AGENT_RESYNC', 'how often the full member list is read again', {
  default: '10s',
  valueName: 'DURATION',
});
export const absentGraceOption = o(
  'absent-grace',
  'HA_AGENT_ABSENT_GRACE',
  "longest time a server whose member is missing from Serf's list (not left or failed: e.g. the local Serf agent restarted " +
    'and has not rejoined) is kept while HAProxy reports it up',
  { default: `${DEFAULT_ABSENT_GRACE_MS / 1000}s`, valueName: 'DURATION' },
);
export const serfPollOption = o(
  'serf-poll',
  'HA_AGENT_SERF_POLL',
  "the least time between two member lists prompted by Serf's log (which says at once when a member joins or starts leaving); when Serf refuses its log, how often its member counters and leaving members are read instead",
  { default: `${DEFAULT_POLL_MS}ms`, valueName: 'DURATION' },
);

export const masterSocketOption = o(
  'master-socket',
  'HA_AGENT_MASTER_SOCKET',
  "HAProxy's master CLI (the -S of `haproxy -W`): unix:///PATH or tcp://HOST:PORT",
  { valueName: 'URL' },
);

export const renderOptions: OptionSpec[] = [
  o('template', 'HA_AGENT_TEMPLATE', 'the haproxy.cfg Handlebars template', { default: defaultTemplatePath, valueName: 'PATH' }),
  o('config-out', 'HA_AGENT_CONFIG_OUT', 'where the rendered haproxy.cfg is written (none: not written)', { valueName: 'PATH' }),
  o(
    'deployment',
    'HA_AGENT_DEPLOYMENT',
    "this deployment's id in the rendered config; the agent changes no HAProxy that carries another " +
      '(default: derived from the host name and --config-out)',
    { valueName: 'ID' },
  ),
  o('frontend-bind', 'HA_AGENT_FRONTEND_BIND', "the rendered config's HTTP front end", { default: '*:80', valueName: 'ADDR:PORT' }),
  o('runtime-socket', 'HA_AGENT_RUNTIME_SOCKET', 'an extra admin unix socket the rendered config declares', { valueName: 'PATH' }),
  o(
    'runtime-operator-bind',
    'HA_AGENT_RUNTIME_OPERATOR_BIND',
    'a read-only (level operator) Runtime API listener the rendered config declares',
    { valueName: 'ADDR:PORT' },
  ),
  o('stats-bind', 'HA_AGENT_STATS_BIND', "the rendered config's stats page (none: no stats page)", { valueName: 'ADDR:PORT' }),
  o('stats-auth', 'HA_AGENT_STATS_AUTH', 'credentials for the stats page', { valueName: 'USER:PASSWORD' }),
  o('balance', 'HA_AGENT_BALANCE', "the backend's balance algorithm", { default: 'roundrobin', valueName: 'ALGO' }),
  o('health-path', 'HA_AGENT_HEALTH_PATH', 'the HTTP path health checks ask', { default: '/health', valueName: 'PATH' }),
  o(
    'retry-stalled-after',
    'HA_AGENT_RETRY_STALLED_AFTER',
    "HAProxy's `timeout server`, 1s-30s, with `response-timeout` retried: a request a server took and never answered " +
      '(its node lost) is sent to another server after DURATION when its method is idempotent (GET HEAD OPTIONS PUT DELETE); ' +
      'any answer slower than DURATION is cut (none: 30s, no such retry)',
    { valueName: 'DURATION' },
  ),
  o('sticky', 'HA_AGENT_STICKY', 'none, or cookie: keep each user on one server with a cookie HAProxy inserts', {
    default: 'none',
    valueName: 'MODE',
  }),
  o('sticky-cookie', 'HA_AGENT_STICKY_COOKIE', 'the name of the stickiness cookie', { default: 'SERVERID', valueName: 'NAME' }),
  o('sticky-key', 'HA_AGENT_STICKY_KEY', "the secret hashed with a server's address into its cookie value (keep it stable)", {
    default: 'ha-agent',
    valueName: 'KEY',
  }),
  o(
    'services',
    'HA_AGENT_SERVICES',
    "more backends, one per service, for members tagged service=NAME: 'NAME:host=HOST,path=/PREFIX,port=N,health=/PATH," +
      "balance=ALGO,sticky=MODE' (host and path repeatable, at least one of them), entries separated by spaces or ';' " +
      '(needs --config-out: the routing maps are written next to it)',
    { valueName: 'SPEC' },
  ),
];

export const logOptions: OptionSpec[] = [
  o('log-format', 'HA_AGENT_LOG_FORMAT', 'json (one object per line) or pretty', { default: 'json', valueName: 'FORMAT' }),
  o('log-level', 'HA_AGENT_LOG_LEVEL', 'debug, info, warn or error', { default: 'info', valueName: 'LEVEL' }),
];

export { runtimeOption, traceOption };

/** Every setting `run` reads, in its --help order; the other agent commands take subsets of it. */
export const agentOptions: OptionSpec[] = [
  runtimeOption,
  ...serfOptions,
  ...membershipOptions,
  modeOption,
  ...applyOptions,
  resyncOption,
  absentGraceOption,
  serfPollOption,
  ...renderOptions,
];

/** Each option's default, from its spec above: a subcommand without the option gets the same value. */
const defaults = new Map(
  [...agentOptions, ...logOptions].flatMap((option) => (option.default === undefined ? [] : [[option.name, option.default] as const])),
);

/** This host's addresses, and with `auto` its networks (in a container: the compose network). */
function addressRules(text: string | undefined): { allowed: Cidr[]; own: string[] } {
  const interfaces = Object.values(networkInterfaces()).flatMap((list) => list ?? []);
  const own = interfaces.map((i) => i.address);
  if (text === undefined || text.trim() === '') return { allowed: [], own };
  const parts = text.trim() === 'auto' ? interfaces.filter((i) => !i.internal).map((i) => i.cidr ?? '') : text.split(',');
  const allowed = parts.map((part) => {
    const cidr = parseCidr(part);
    if (!cidr) throw new UsageError(`--allow-cidr: '${part}' is not a range like 172.18.0.0/16 or fd00::/8`);
    return cidr;
  });
  return { allowed, own };
}

export interface AgentConfig {
  runtime: RuntimeAddress;
  serf: SerfAddress;
  serfAuth: string | undefined;
  backend: string;
  desired: DesiredOptions;
  policy: ServerPolicy;
  drainTimeoutMs: number;
  drainIdleMs: number;
  checkTimeoutMs: number;
  resyncMs: number;
  absentGraceMs: number;
  /** undefined: the poller's own default. */
  serfPollMs: number;
  templatePath: string;
  configOut: string | undefined;
  /** Marks the rendered config and is checked in HAProxy's `show info`; none without --deployment or --config-out. */
  deployment: string | undefined;
  /** Everything the template needs but the servers. */
  base: Omit<ConfigModel, 'servers'>;
  /** The operator's services (--services), each its own backend; empty: the default backend alone, as before. */
  services: Service[];
  /** The routing maps next to --config-out; undefined without services. */
  maps: RoutingMaps | undefined;
  mode: PlanMode;
  dryRun: boolean;
  trace: boolean;
  /** Replaced by `run` with a logger that also feeds the metrics. */
  log: Logger;
}

/**
 * A duration option. With `range`, one outside it is refused naming the bounds (in HAProxy's units) and why;
 * without, anything above zero is taken.
 */
const duration = (name: string, range?: { min: number; max: number; why: string; like: string }) =>
  z.string().transform((text, ctx) => {
    const ms = parseDuration(text);
    if (!Number.isFinite(ms) || (range === undefined && ms <= 0))
      ctx.addIssue({ code: 'custom', message: `--${name}: '${text}' is not a duration like ${range?.like ?? '500ms, 10s or 2m'}` });
    else if (range && (ms < range.min || ms > range.max)) {
      const [min, max] = [range.min, range.max].map(haproxyDuration);
      ctx.addIssue({ code: 'custom', message: `--${name}: '${text}' must be from ${min} to ${max} (${range.why})` });
    }
    return ms;
  });
/** --retry-stalled-after: no longer than the template's `timeout server` (30 s), and not so short it cuts every answer. */
const retryStalledAfter = duration('retry-stalled-after', {
  min: RETRY_STALLED_MIN_MS,
  max: RETRY_STALLED_MAX_MS,
  why: 'the timeout server it shortens',
  like: '5s or 2500ms',
});
const whole = (name: string, min: number, max: number) =>
  z.string().transform((text, ctx) => {
    const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
    if (!(n >= min && n <= max)) ctx.addIssue({ code: 'custom', message: `--${name}: '${text}' must be a whole number ${min}-${max}` });
    return n;
  });

/** Reads every option given in `values` (the subcommand's own subset) into an AgentConfig. */
export function resolveAgentConfig(values: OptionValues, write?: (line: string) => void): AgentConfig {
  const fail = (message: string): never => {
    throw new UsageError(message);
  };
  /** The option's value, else its spec's default (none: undefined). */
  const str = (name: string): string | undefined => {
    const value = values[name];
    return typeof value === 'string' ? value : defaults.get(name);
  };
  /** The same, for an option whose spec has a default. */
  const given = (name: string): string => str(name) ?? fail(`--${name} has no value and no default`);
  const parse = <T>(schema: z.ZodType<T>, value: unknown, name: string): T => {
    const parsed = schema.safeParse(value);
    return parsed.success ? parsed.data : fail(`--${name}: ${describeIssues(parsed.error).replace(new RegExp(`^--${name}: `), '')}`);
  };
  const wrap = <T>(name: string, read: () => T): T => {
    try {
      return read();
    } catch (error) {
      return fail(`--${name}: ${(error as Error).message}`);
    }
  };
  const runtime = wrap('runtime', () => parseRuntimeUrl(given('runtime')));
  const format = parse(z.enum(['json', 'pretty']), given('log-format'), 'log-format');
  const level = parse(z.enum(['debug', 'info', 'warn', 'error']), given('log-level'), 'log-level');
  const statsBind = str('stats-bind');
  const backend = parse(backendName, given('backend'), 'backend');
  const configOut = str('config-out');
  const deployment = str('deployment');
  const rules = addressRules(str('allow-cidr'));
  const services = wrap('services', () => parseServices(str('services') ?? '', backend));
  if (services.length > 0 && configOut === undefined) fail('--services needs --config-out: the routing maps are written next to it');
  const maps = services.length > 0 && configOut !== undefined ? routingMaps(path.resolve(configOut)) : undefined;
  const balance = parse(balanceSchema, given('balance'), 'balance');
  const healthPath = given('health-path');
  const stickyMode = parse(z.enum(['none', 'cookie']), given('sticky'), 'sticky');
  const cookie = (mode: string) => (mode === 'cookie' ? { cookie: given('sticky-cookie'), key: given('sticky-key') } : undefined);
  const inter = parse(duration('check-inter'), given('check-inter'), 'check-inter');
  const { fastinter, downinter } = defaultServerPolicy.check;
  const slowstart = str('slowstart');
  const retryStalled = str('retry-stalled-after');
  const policy: ServerPolicy = {
    ...defaultServerPolicy,
    check: { ...defaultServerPolicy.check, inter, fastinter: Math.min(fastinter, inter), downinter: Math.min(downinter, inter) },
    ...(slowstart === undefined ? {} : { slowstartMs: parse(duration('slowstart'), slowstart, 'slowstart') }),
  };
  return {
    runtime,
    serf: wrap('serf', () => parseSerfAddress(given('serf'))),
    serfAuth: str('serf-auth'),
    backend,
    desired: {
      refuseAddress: addressPolicy(rules.allowed, rules.own),
      role: given('role'),
      defaultPort: parse(whole('default-port', 1, 65535), given('default-port'), 'default-port'),
      defaultWeight: parse(whole('default-weight', 0, 256), given('default-weight'), 'default-weight'),
    },
    policy,
    drainTimeoutMs: parse(duration('drain-timeout'), given('drain-timeout'), 'drain-timeout'),
    drainIdleMs: parse(duration('drain-idle'), given('drain-idle'), 'drain-idle'),
    checkTimeoutMs: parse(duration('check-timeout'), given('check-timeout'), 'check-timeout'),
    resyncMs: parse(duration('resync'), given('resync'), 'resync'),
    absentGraceMs: parse(duration('absent-grace'), given('absent-grace'), 'absent-grace'),
    serfPollMs: parse(duration('serf-poll'), given('serf-poll'), 'serf-poll'),
    templatePath: given('template'),
    configOut,
    deployment:
      deployment !== undefined
        ? parse(deploymentSchema, deployment, 'deployment')
        : configOut === undefined
          ? undefined
          : defaultDeployment(hostname(), path.resolve(configOut)),
    base: {
      runtime: {
        tcp: runtime.kind === 'tcp' ? `${runtime.host}:${runtime.port}` : undefined,
        unixSocket: runtime.kind === 'unix' ? runtime.path : str('runtime-socket'),
        operator: str('runtime-operator-bind'),
      },
      // Beside the config, like its settings record: one per deployment, no option to keep in step.
      serverStateFile: configOut === undefined ? undefined : `${path.resolve(configOut)}.state`,
      frontend: { bind: given('frontend-bind') },
      stats: statsBind === undefined ? undefined : { bind: statsBind, credentials: str('stats-auth') },
      backend: { name: backend, balance, healthPath, sticky: cookie(stickyMode) },
      ...(retryStalled === undefined ? {} : { retryStalledAfterMs: parse(retryStalledAfter, retryStalled, 'retry-stalled-after') }),
      ...(maps === undefined
        ? {}
        : {
            services: services.map((s) => ({
              name: s.name,
              balance: s.balance ?? balance,
              healthPath: s.healthPath ?? healthPath,
              sticky: cookie(s.sticky ?? stickyMode),
            })),
            routing: maps,
          }),
      policy,
    },
    services,
    maps,
    mode: parse(z.enum(['dynamic', 'slots']), given('mode'), 'mode'),
    dryRun: values['dry-run'] === true,
    trace: values.trace === true,
    log: createLogger({ format, level, ...(write ? { write } : {}) }),
  };
}

/** Which members are a backend's servers: the default backend's (no service tag), or a service's, with its port. */
export function desiredFor(desired: DesiredOptions, service: Service | undefined): DesiredOptions {
  return service === undefined ? desired : { ...desired, service: service.name, defaultPort: service.port ?? desired.defaultPort };
}

/** Whether a backend (the default one, or a service's) persists users with dynamic cookies. */
export function isSticky(config: AgentConfig, service: Service | undefined): boolean {
  const settings = service === undefined ? config.base.backend : config.base.services?.find((s) => s.name === service.name);
  return settings?.sticky !== undefined;
}

/**
 * The path a backend's checks ask and the flag that sets it, for a failing first check to name. The running HAProxy
 * asks the path it booted with (`booted`, when known): when that is not the configured one, that path is named.
 */
export function healthSetting(
  config: Pick<AgentConfig, 'base'>,
  service: Service | undefined,
  booted?: BootSettings,
): { path: string; setting: string } {
  const flag = service?.healthPath !== undefined ? `--services ${service.name}:health=` : '--health-path';
  const configured = (service && config.base.services?.find((s) => s.name === service.name)?.healthPath) ?? config.base.backend.healthPath;
  const value = booted?.[service ? `service.${service.name}` : 'backend.healthPath'];
  const path = service ? /(?:^| )health=(\S+)/.exec(value ?? '')?.[1] : value;
  if (path === undefined || path === configured) return { path: configured, setting: flag };
  return { path, setting: `the path HAProxy booted with (${flag} ${configured} applies at its next boot)` };
}
