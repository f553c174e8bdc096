/** Parsers for the Runtime API's tables. Columns are found by header name, so added columns (3.0) do no harm. */
import { RuntimeError } from './errors.js';

/** The `srv_admin_state` bits of `show servers state` (HAProxy's SRV_ADMF_* flags). */
export const ADMIN = {
  FMAINT: 0x01,
  IMAINT: 0x02,
  CMAINT: 0x04,
  FDRAIN: 0x08,
  IDRAIN: 0x10,
  RMAINT: 0x20,
  HMAINT: 0x40,
} as const;

/** `srv_op_state` values. */
export const OP_STATE = { STOPPED: 0, STARTING: 1, RUNNING: 2, STOPPING: 3 } as const;

/** `srv_check_result` values. */
export const CHECK_RESULT = { UNKNOWN: 0, NEUTRAL: 1, FAILED: 2, PASSED: 3, CONDPASS: 4 } as const;

export interface ServerStateRow {
  backend: string;
  name: string;
  address: string;
  port: number;
  opState: number;
  adminState: number;
  userWeight: number;
  checkResult: number;
  checkState: number;
  agentState: number;
  fqdn: string;
}

export interface StatRow {
  backend: string;
  name: string;
  queue: number;
  sessions: number;
  /** HAProxy's own words: UP, UP 1/3, DOWN, MAINT, DRAIN, no check… */
  status: string;
  weight: number;
  /** INI, L4OK, L4CON, L7OK, L7STS… or '' when no check ran. */
  checkStatus: string;
  checkCode: string;
  checkDescription: string;
  /** `HOST:PORT`, with IPv6 hosts in brackets. */
  address: string;
  sessionsTotal: number;
}

export interface Info {
  pid: number;
  version: string;
  uptimeSec: number;
  startTimeSec: number;
  stopping: boolean;
  fields: Record<string, string>;
}

function parseError(what: string, text: string): never {
  throw new RuntimeError('RUNTIME_PARSE', `could not parse '${what}': ${JSON.stringify(text.slice(0, 120))}`, { answer: text });
}

function integer(value: string | undefined, what: string, text: string): number {
  if (value === undefined || !/^-?\d+$/.test(value)) return parseError(what, text);
  return Number(value);
}

function optionalInteger(value: string | undefined): number {
  return value !== undefined && /^-?\d+$/.test(value) ? Number(value) : 0;
}

function lines(text: string): string[] {
  return text.split('\n').filter((line) => line.trim() !== '');
}

/** Maps header names to their column index, or fails when a needed column is missing. */
function columns(header: string[], needed: readonly string[], what: string, text: string): Map<string, number> {
  const index = new Map(header.map((name, i) => [name, i]));
  for (const name of needed) if (!index.has(name)) parseError(`${what} (no column ${name})`, text);
  return index;
}

export function parseServersState(text: string): ServerStateRow[] {
  const [version, header, ...rows] = lines(text);
  if (version?.trim() !== '1' || !header?.startsWith('# ')) return parseError('show servers state', text);
  const needed = ['be_name', 'srv_name', 'srv_addr', 'srv_op_state', 'srv_admin_state', 'srv_uweight',
    'srv_check_result', 'srv_check_state', 'srv_agent_state', 'srv_fqdn', 'srv_port'] as const;
  const col = columns(header.slice(2).split(' '), needed, 'show servers state', text);
  return rows.map((row) => {
    const f = row.split(' ');
    const get = (name: (typeof needed)[number]): string | undefined => f[col.get(name) as number];
    const num = (name: (typeof needed)[number]): number => integer(get(name), 'show servers state', text);
    return {
      backend: get('be_name') ?? '',
      name: get('srv_name') ?? '',
      address: get('srv_addr') ?? '-',
      port: num('srv_port'),
      opState: num('srv_op_state'),
      adminState: num('srv_admin_state'),
      userWeight: num('srv_uweight'),
      checkResult: num('srv_check_result'),
      checkState: num('srv_check_state'),
      agentState: num('srv_agent_state'),
      fqdn: get('srv_fqdn') ?? '-',
    };
  });
}

export function parseStat(text: string): StatRow[] {
  const [header, ...rows] = lines(text);
  if (!header?.startsWith('# ')) return parseError('show stat', text);
  const needed = ['pxname', 'svname', 'qcur', 'scur', 'stot', 'status', 'weight', 'check_status', 'check_code',
    'check_desc', 'addr'] as const;
  const col = columns(header.slice(2).split(','), needed, 'show stat', text);
  const uweight = col.get('uweight');
  return rows
    .map((row) => row.split(','))
    .filter((f) => f[col.get('svname') as number] !== 'FRONTEND' && f[col.get('svname') as number] !== 'BACKEND')
    .map((f) => {
      const get = (name: (typeof needed)[number]): string => f[col.get(name) as number] ?? '';
      return {
        backend: get('pxname'),
        name: get('svname'),
        queue: optionalInteger(get('qcur')),
        sessions: optionalInteger(get('scur')),
        sessionsTotal: optionalInteger(get('stot')),
        status: get('status'),
        // `weight` is the effective weight (1 while MAINT); `uweight` is what was set.
        weight: uweight === undefined ? optionalInteger(get('weight')) : optionalInteger(f[uweight]),
        checkStatus: get('check_status').replace(/^\* ?/, ''),
        checkCode: get('check_code'),
        checkDescription: get('check_desc'),
        address: get('addr'),
      };
    });
}


export function parseInfo(text: string): Info {
  const fields: Record<string, string> = {};
  for (const line of lines(text)) {
    const colon = line.indexOf(': ');
    if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 2);
  }
  if (fields.Pid === undefined) return parseError('show info', text);
  return {
    pid: integer(fields.Pid, 'show info', text),
    version: fields.Version ?? '',
    uptimeSec: optionalInteger(fields.Uptime_sec),
    startTimeSec: optionalInteger(fields.Start_time_sec),
    stopping: fields.Stopping === '1',
    fields,
  };
}

/** Splits `show stat`'s `addr` (`1.2.3.4:80`, `[::1]:80`) into address and port. */
export function splitAddress(addr: string): { address: string; port: number | undefined } {
  const match = /^\[?(.*?)\]?:(\d+)$/.exec(addr);
  if (!match) return { address: addr, port: undefined };
  return { address: match[1] as string, port: Number(match[2]) };
}
