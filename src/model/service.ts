/**
 * Services: more backends than the default one, declared by the operator (`--services`), each with
 * its own routing (host names and/or path prefixes) and backend settings (pure). Members choose one
 * with their `service` tag; what a service may be and where it is routed never comes from members.
 */
import { z } from 'zod';
import { backendName, describeIssues, port } from './values.js';

/** The member tag naming the service a member serves; a member without it serves the default backend. */
export const SERVICE_TAG = 'service';

/** A DNS name, lower case: HAProxy's routing lowercases the Host header before it looks it up. */
export const hostName = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/, 'must be a lower-case host name');

/** A URL path prefix: the same characters the health path allows, so it is one word in a map file and a CLI command. */
export const pathPrefix = z.string().regex(/^\/[A-Za-z0-9_.~/-]{0,200}$/, 'must be a URL path starting with /');

export const serviceSchema = z
  .object({
    name: backendName,
    /** Requests whose Host (without its port) is one of these… */
    hosts: z.array(hostName),
    /** …and whose path starts with one of these, element by element (`routeKeys`; none: any path). */
    paths: z.array(pathPrefix),
    /** A member's port when it has no `port` tag (none: --default-port). */
    port: port.optional(),
    healthPath: pathPrefix.optional(),
    balance: z.enum(['roundrobin', 'leastconn', 'first', 'random']).optional(),
    sticky: z.enum(['none', 'cookie']).optional(),
  })
  .refine((s) => s.hosts.length + s.paths.length > 0, 'needs at least one host= or path= to route to it');

export type Service = z.infer<typeof serviceSchema>;

const KEYS = new Set(['host', 'path', 'port', 'health', 'balance', 'sticky']);

/**
 * `NAME:key=value,key=value` entries separated by spaces or `;` (one string, so that one environment
 * variable carries them all): `host` and `path` may repeat; `port`, `health`, `balance`, `sticky` once.
 * Throws an Error naming the entry at fault.
 */
export function parseServices(text: string, defaultBackend: string): Service[] {
  const entries = text
    .split(/[\s;]+/)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const services = entries.map((entry) => parseEntry(entry));
  const seen = new Set<string>([defaultBackend]);
  for (const service of services) {
    if (seen.has(service.name)) {
      throw new Error(
        service.name === defaultBackend
          ? `'${service.name}' is the default backend (--backend); members without a service tag go there`
          : `service '${service.name}' is declared twice`,
      );
    }
    seen.add(service.name);
  }
  const routes = new Map<string, string>();
  for (const service of services) {
    for (const key of routeKeys(service)) {
      const other = routes.get(key);
      if (other !== undefined) throw new Error(`services '${other}' and '${service.name}' both route ${key}`);
      routes.set(key, service.name);
    }
  }
  return services;
}

function parseEntry(entry: string): Service {
  const colon = entry.indexOf(':');
  const name = colon === -1 ? entry : entry.slice(0, colon);
  const fields: Record<string, string[]> = {};
  for (const pair of colon === -1 ? [] : entry.slice(colon + 1).split(',')) {
    const eq = pair.indexOf('=');
    const key = eq === -1 ? pair : pair.slice(0, eq);
    if (!KEYS.has(key) || eq === -1) throw new Error(`'${entry}': '${pair}' is not one of ${[...KEYS].map((k) => `${k}=…`).join(' ')}`);
    (fields[key] ??= []).push(pair.slice(eq + 1));
  }
  const once = (key: string): string | undefined => {
    const values = fields[key] ?? [];
    if (values.length > 1) throw new Error(`'${entry}': ${key}= given twice`);
    return values[0];
  };
  const portText = once('port');
  const parsed = serviceSchema.safeParse({
    name,
    hosts: (fields.host ?? []).map((host) => host.toLowerCase()),
    paths: fields.path ?? [],
    port: portText === undefined ? undefined : /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN,
    healthPath: once('health'),
    balance: once('balance'),
    sticky: once('sticky'),
  });
  if (!parsed.success) throw new Error(`'${entry}': ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/**
 * A path prefix as a map key: element by element, as a Kubernetes Ingress `pathType: Prefix` matches. The key
 * ends in one `/` and HAProxy looks up the request's path with a `/` appended, so `/api` (key `/api/`) matches
 * `/api`, `/api/` and `/api/x` but not `/apiary`; `/api/` is the same route as `/api`. Case is kept: paths are
 * case-sensitive.
 */
export function pathKey(prefix: string): string {
  return `${prefix.replace(/\/+$/, '')}/`;
}

/** A host-scoped route's key is `host` + its path key (`host/` when no path); a path-only route's key is its path key. */
export function routeKeys(service: Pick<Service, 'hosts' | 'paths'>): string[] {
  const paths = (service.paths.length > 0 ? service.paths : ['/']).map(pathKey);
  // Once each: `/api` and `/api/` are one route, and a service does not clash with itself.
  return [...new Set(service.hosts.length > 0 ? service.hosts.flatMap((host) => paths.map((path) => `${host}${path}`)) : paths)];
}

/** Which service a member names: undefined for none (the default backend). The tag is compared, never trusted. */
export function serviceTag(tags: Readonly<Record<string, string>>): string | undefined {
  return tags[SERVICE_TAG];
}
