/**
 * The routes of services (pure): the operator's services → the entries of the two maps `frontend www`
 * looks requests up in, and the maps' file text, which a (re)started HAProxy loads. HAProxy indexes
 * `map_beg` keys in a prefix tree and picks the longest match whatever the entries' order.
 */
import { routeKeys, type Service } from '../model/service.js';
/** The map files, by role: `hosts` keys are `host/path-prefix`, `paths` keys are path prefixes (any host). */
export interface RoutingMaps {
  hosts: string;
  paths: string;
}

/** Next to the rendered config, so one deployment's maps never meet another's. */
export function routingMaps(configOut: string): RoutingMaps {
  return { hosts: `${configOut}.hosts.map`, paths: `${configOut}.paths.map` };
}

/** key → backend, for each map. */
export interface RoutingTable {
  hosts: Map<string, string>;
  paths: Map<string, string>;
}

/** The routes of the services given (a service whose backend HAProxy lacks is left out by the caller). */
export function routingTable(services: readonly Service[]): RoutingTable {
  const table: RoutingTable = { hosts: new Map(), paths: new Map() };
  for (const service of services) {
    const map = service.hosts.length > 0 ? table.hosts : table.paths;
    for (const key of routeKeys(service)) map.set(key, service.name);
  }
  return table;
}

/** A map file: one `key value` line per entry, sorted so that a re-render of the same routes is byte-identical. */
export function mapFileText(entries: ReadonlyMap<string, string>): string {
  const lines = [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, value]) => `${key} ${value}\n`);
  return `# Rendered by ha-agent from --services; changed at runtime with add/set/del map.\n${lines.join('')}`;
}
