/**
 * The local cluster's "containers" (pure): each is an s6-svscan over the same service tree the
 * images use, with the environment its container would have. Web servers each own a loopback
 * address, like a container owns its IP; the balancer's ports match the container's defaults.
 */
import path from 'node:path';
import { DEFAULT_SERF_ADDRESS } from '../../membership/rpc-client.js';
import { DEFAULT_RUNTIME_URL } from '../../runtime/address.js';

/** The ha "container"'s Runtime API: the agent's default, so `ha-agent status` reaches it with no flag. */
export const RUNTIME_URL = DEFAULT_RUNTIME_URL;

/** The port every web server's app listens on, at its own address. */
export const WEB_PORT = 3000;

/** `webapp`: a web server of the default backend; `api`: one of the second service (compose's `api`). */
export type ContainerKind = 'ha' | 'webapp' | 'api';

/** The lab's second service, as compose declares it: members tagged service=api, reached with Host: api.localhost. */
export const API_BACKEND = 'api';
export const API_HOST = 'api.localhost';
export const API_SERVICE = `${API_BACKEND}:host=${API_HOST}`;

export interface ContainerSpec {
  name: string;
  kind: ContainerKind;
  address: string;
  dir: string;
  /** The service tree the image uses (copied into `dir` before s6 supervises it). */
  tree: string;
  env: Record<string, string>;
}

export interface ClusterOptions {
  home: string;
  stateDir: string;
  /** HAProxy's HTTP front end on 127.0.0.1. */
  port: number;
  /**
   * Where convergence is read: the ha container's Runtime API unless the caller runs the balancer
   * itself (`up({ ha: 'serf' })`, the benchmark's reload-based ways).
   */
  runtimeUrl?: string;
  /** Serf's gossip timing profile: `local` detects leaves and failures faster than `lan`. */
  serfProfile?: string;
  graceMs?: number;
}

/** HAProxy's HTTP front end for a cluster on `port`. */
export function frontendUrl(port: number): string {
  return `http://127.0.0.1:${port}`;
}

/** The address of web server number `n` (1-based): 127.0.0.11, 127.0.0.12, … then 127.0.1.1… */
export function webAddress(n: number): string {
  const index = n + 10;
  return index < 255 ? `127.0.0.${index}` : `127.0.${Math.floor((index - 255) / 254) + 1}.${((index - 255) % 254) + 1}`;
}

/** The address of api server number `n` (1-based): 127.0.3.1…127.0.3.254, then 127.0.4.1…, clear of the by-hand setup's 127.0.2.x. */
export function apiAddress(n: number): string {
  return `127.0.${3 + Math.floor((n - 1) / 254)}.${((n - 1) % 254) + 1}`;
}

function common(options: ClusterOptions, dir: string): Record<string, string> {
  return {
    HA_AGENT_HOME: options.home,
    PATH: `${path.join(options.stateDir, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    SERF_PROFILE: options.serfProfile ?? 'local',
    SERF_STATE_DIR: path.join(dir, 'serf'),
  };
}

export function haSpec(options: ClusterOptions): ContainerSpec {
  const dir = path.join(options.stateDir, 'ha');
  return {
    name: 'ha',
    kind: 'ha',
    address: '127.0.0.1',
    dir,
    tree: path.join(options.home, 'ha/services'),
    env: {
      ...common(options, dir),
      HA_AGENT_RUNTIME: RUNTIME_URL,
      HA_AGENT_RUNTIME_SOCKET: path.join(dir, 'admin.sock'),
      HA_AGENT_MASTER_SOCKET: path.join(dir, 'master.sock'),
      HA_AGENT_FRONTEND_BIND: `127.0.0.1:${options.port}`,
      HA_AGENT_CONFIG_OUT: path.join(dir, 'haproxy.cfg'),
      HA_AGENT_SERF: DEFAULT_SERF_ADDRESS,
      HA_AGENT_LOG_FORMAT: 'json',
      // The local web servers own loopback addresses, as containers own the compose network's.
      HA_AGENT_ALLOW_CIDR: '127.0.0.0/8',
      // The web app keeps sessions in memory: users stay on their server (docs/sessions.md).
      HA_AGENT_STICKY: 'cookie',
      HA_AGENT_SERVICES: API_SERVICE,
      SERF_NODE_NAME: 'ha',
      SERF_ROLE: 'lb',
      SERF_BIND: '127.0.0.1:7946',
      SERF_RPC_ADDR: DEFAULT_SERF_ADDRESS,
    },
  };
}

/** Web server number `n`: of the default backend (`webapp`), or of the service `api`, tagged so. */
export function webSpec(options: ClusterOptions, n: number, kind: 'webapp' | 'api' = 'webapp'): ContainerSpec {
  const name = kind === 'api' ? `api-${n}` : `web-${n}`;
  const address = kind === 'api' ? apiAddress(n) : webAddress(n);
  const dir = path.join(options.stateDir, name);
  return {
    name,
    kind,
    address,
    dir,
    tree: path.join(options.home, 'webapp/services'),
    env: {
      ...common(options, dir),
      HOST: address,
      PORT: String(WEB_PORT),
      SERVER_NAME: name,
      GRACE_MS: String(options.graceMs ?? 3000),
      SERF_NODE_NAME: name,
      SERF_ROLE: 'backend',
      SERF_TAG_PORT: String(WEB_PORT),
      SERF_BIND: `${address}:7946`,
      SERF_RPC_ADDR: `${address}:7373`,
      SERF_JOIN: '127.0.0.1:7946',
      ...(kind === 'api' ? { SERF_TAG_SERVICE: API_BACKEND } : {}),
    },
  };
}
