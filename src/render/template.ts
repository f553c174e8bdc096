/**
 * Renders haproxy.cfg from the Handlebars template (pure). Every value is validated first: the
 * template must never receive a newline that would add a line of configuration.
 * Rendering needs only Handlebars' runtime: a template is compiled by compile.ts, or precompiled
 * (the default one, default-template.ts), which spares the agent the compiler's memory.
 */
import type HandlebarsApi from 'handlebars';
import runtime from 'handlebars/runtime.js';
import { z } from 'zod';
import { endpoint, serverKeywords, serverPolicySchema, serverSchema, type ServerPolicy } from '../model/server.js';
import { backendName, describeIssues } from '../model/values.js';
import { deploymentSchema, describeIdentity } from './description.js';

/** A bind or socket address: no whitespace, no quotes, nothing that could end a config line. */
const bindAddress = z.string().regex(/^[A-Za-z0-9_.:@/[\]*-]{1,200}$/, 'must be an address without spaces or quotes');

/** The algorithms that accept dynamic servers. */
export const balanceSchema = z.enum(['roundrobin', 'leastconn', 'first', 'random']);

const backendSchema = z.object({
  name: backendName,
  balance: balanceSchema,
  healthPath: z.string().regex(/^\/[A-Za-z0-9_.~/-]{0,200}$/, 'must be a URL path'),
  /** Persistence by dynamic cookie: each server's value is XXH64(key + IP + port) (docs/sessions.md). */
  sticky: z
    .object({
      cookie: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a cookie name of letters, digits, _ or -'),
      key: z.string().regex(/^[A-Za-z0-9_.~+/=-]{1,128}$/, 'must be a key without spaces or quotes'),
    })
    .optional(),
});

/** An absolute path HAProxy reads a map from, which is also its name in `show map` and `add map`. */
const mapFile = z.string().regex(/^\/[A-Za-z0-9_./@:+-]{1,1000}$/, 'must be an absolute path of A-Z a-z 0-9 _ . / @ : + -');

/** --retry-stalled-after's bounds: a second at least, and at most the template's own `timeout server` (30 s). */
export const RETRY_STALLED_MIN_MS = 1000;
export const RETRY_STALLED_MAX_MS = 30_000;

/** A duration as HAProxy reads it: whole seconds as `5s`, anything else in milliseconds. */
export function haproxyDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

const configServer = serverSchema.extend({ disabled: z.boolean().optional() });

export const configModelSchema = z.object({
  /** `unixSocket` and `tcp` at level admin (keep them local); `operator`: a read-only listener that may be published. */
  runtime: z.object({ unixSocket: bindAddress.optional(), tcp: bindAddress.optional(), operator: bindAddress.optional() }),
  frontend: z.object({ bind: bindAddress }),
  stats: z
    .object({
      bind: bindAddress,
      credentials: z
        .string()
        .regex(/^[A-Za-z0-9_.-]{1,64}:[A-Za-z0-9_.~+/=-]{8,128}$/, 'must be USER:PASSWORD of safe characters')
        .optional(),
    })
    .optional(),
  /** The default backend: members without a service tag, and requests no route picks. */
  backend: backendSchema,
  /** One more backend per service (--services); their routes are in the maps below. */
  services: z.array(backendSchema).optional(),
  /** The map files `frontend www` looks requests up in (host/path prefix, then path prefix) to pick a service. */
  routing: z.object({ hosts: mapFile, paths: mapFile }).optional(),
  policy: serverPolicySchema,
  /**
   * `timeout server` when set, with `response-timeout` among the retried failures: a request a server took and
   * never answered (its node lost) goes to another server after this long (idempotent methods only). None: 30 s.
   */
  retryStalledAfterMs: z.number().int().min(RETRY_STALLED_MIN_MS).max(RETRY_STALLED_MAX_MS).optional(),
  /** HAProxy's server-state file (see server-state.ts): how a planned reload keeps every server's state. */
  serverStateFile: bindAddress.optional(),
  /** Carried in `global` `description`, which `show info` reveals (see identity.ts); none: an unmarked config. */
  identity: z.object({ deployment: deploymentSchema, settings: z.string().regex(/^[0-9a-f]{12}$/) }).optional(),
  /** The default backend's servers. `disabled`: an empty slot (slot mode), kept in MAINT until a member fills it. */
  servers: z.array(configServer),
  /** Each service's servers, by backend name (none: an empty backend). */
  serviceServers: z.record(backendName, z.array(configServer)).optional(),
});

export type ConfigModel = z.infer<typeof configModelSchema>;
export type ConfigServer = ConfigModel['servers'][number];

export class TemplateError extends Error {
  readonly code = 'RENDER_INVALID_MODEL';
}

export type RenderConfig = (model: ConfigModel) => string;

/** A compiled template: what Handlebars.compile returns, or the runtime makes of a precompiled one. */
export type TemplateFunction = (context: object) => string;

/** The options every template is compiled with, precompiled or not: the output must not depend on which. */
export const compileOptions = { noEscape: true, strict: true } as const;

/** A template precompiled with compileOptions (Handlebars.precompile's object, evaluated). */
export function precompiledTemplate(spec: TemplateSpecification): TemplateFunction {
  // The runtime is the same Handlebars object without its compiler; its bundled typings declare nothing.
  return (runtime as unknown as typeof HandlebarsApi).template(spec);
}

export function renderer(template: TemplateFunction): RenderConfig {
  return (model) => {
    const parsed = configModelSchema.safeParse(model);
    if (!parsed.success) throw new TemplateError(`refused to render haproxy.cfg: ${describeIssues(parsed.error)}`);
    const { policy, servers, serviceServers, identity, ...rest } = parsed.data;
    const description = identity ? describeIdentity(identity) : '';
    const views = (list: readonly ConfigServer[]) => list.map((server) => view(server, policy));
    const backends = [
      { ...rest.backend, servers: views(servers) },
      ...(rest.services ?? []).map((service) => ({ ...service, servers: views(serviceServers?.[service.name] ?? []) })),
    ];
    return template({
      ...rest,
      description,
      serverStateFile: rest.serverStateFile ?? '',
      retryStalledAfter: rest.retryStalledAfterMs === undefined ? '' : haproxyDuration(rest.retryStalledAfterMs),
      stats: rest.stats ?? {},
      routing: rest.routing ?? {},
      backends,
      servers: views(servers),
    });
  };
}

function view(server: ConfigServer, policy: ServerPolicy) {
  const keywords = serverKeywords(server.weight, policy) + (server.disabled ? ' disabled' : '');
  return { ...server, endpoint: endpoint(server.address, server.port), keywords };
}
