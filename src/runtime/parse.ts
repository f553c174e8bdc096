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

/** One server of `show servers state`; the state fields are HAProxy's numbers (see ADMIN, OP_STATE, CHECK_RESULT). */
export interface ServerStateRow {
  backend: string;
  name: string;
  address: string;
  port: number;
  opState: number;
  adminState: number;
  userWeight: number;
  checkResult: number;
  /** HAProxy's number for the last check's status (`srv_check_status`: L4CON, L7STS…); 0 when not read. */
  checkStatus?: number;
  checkState: number;
  agentState: number;
  fqdn: string;
  /** Where the agent check connects ('-' when none; read when the columns are there, as on 2.6 and 3.0). */
  agentAddress: string;
  agentPort: number;
}

/** One server of `show stat` (servers only), by header name. */
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
  /** A check is running now (HAProxy's `* ` before the status): the status is the last one's, its code may read 0. */
  checkRunning: boolean;
  checkCode: string;
  checkDescription: string;
  /** `HOST:PORT`, with IPv6 hosts in brackets. */
  address: string;
  sessionsTotal: number;
  /** Seconds since HAProxy last gave the server a session (`lastsess`, whole seconds); -1 when it never had one. */
  lastSessionSec: number;
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

/** `show backend`: the names of the running configuration's backends (header `# name`). */
export function parseBackendList(text: string): string[] {
  return lines(text)
    .filter((line) => !line.startsWith('#'))
    .map((line) => line.trim());
}

/** Field `index` of a row (or ''), cut out alone: a watcher skips most of 1,000 rows every 25 ms by their name. */
function field(row: string, separator: string, index: number): string {
  let start = 0;
  for (let i = 0; i < index; i += 1) {
    start = row.indexOf(separator, start) + 1;
    if (start === 0) return '';
  }
  const end = row.indexOf(separator, start);
  return row.slice(start, end === -1 ? row.length : end);
}

/** Maps header names to their column index, or fails when a needed column is missing. */
function columns(header: string[], needed: readonly string[], what: string, text: string): Map<string, number> {
  const index = new Map(header.map((name, i) => [name, i]));
  for (const name of needed) if (!index.has(name)) parseError(`${what} (no column ${name})`, text);
  return index;
}

/**
 * `show servers state [BACKEND]` → rows; throws RUNTIME_PARSE when a needed column is missing. `only`: the rows of
 * these servers alone (the others are not split into fields: a watcher waiting on a few of 1,000 servers).
 */
export function parseServersState(text: string, only?: ReadonlySet<string>): ServerStateRow[] {
  const [version, header, ...rows] = lines(text);
  if (version?.trim() !== '1' || !header?.startsWith('# ')) return parseError('show servers state', text);
  const needed = [
    'be_name',
    'srv_name',
    'srv_addr',
    'srv_op_state',
    'srv_admin_state',
    'srv_uweight',
    'srv_check_result',
    'srv_check_state',
    'srv_agent_state',
    'srv_fqdn',
    'srv_port',
  ] as const;
  const col = columns(header.slice(2).split(' '), needed, 'show servers state', text);
  // Column positions looked up once, not per row: the agent reads 1,000 rows every 25 ms while servers join.
  const at = (name: (typeof needed)[number]) => col.get(name) as number;
  const [be, srv, addr, op, admin, uweight, checkResult, checkState, agentState, fqdn, port] = needed.map(at);
  const agentAddr = col.get('srv_agent_addr') ?? -1;
  const checkStatus = col.get('srv_check_status') ?? -1;
  const agentPort = col.get('srv_agent_port') ?? -1;
  const num = (f: string[], i: number | undefined): number => integer(f[i as number], 'show servers state', text);
  const wanted = only && ((row: string) => only.has(field(row, ' ', srv as number)));
  return (wanted ? rows.filter(wanted) : rows).map((row) => {
    const f = row.split(' ');
    return {
      backend: f[be as number] ?? '',
      name: f[srv as number] ?? '',
      address: f[addr as number] ?? '-',
      port: num(f, port),
      opState: num(f, op),
      adminState: num(f, admin),
      userWeight: num(f, uweight),
      checkResult: num(f, checkResult),
      checkStatus: optionalInteger(f[checkStatus]),
      checkState: num(f, checkState),
      agentState: num(f, agentState),
      fqdn: f[fqdn as number] ?? '-',
      agentAddress: f[agentAddr] ?? '-',
      agentPort: optionalInteger(f[agentPort]),
    };
  });
}

/** `show stat … 4 -1` (or any `show stat`; FRONTEND and BACKEND rows are left out) → server rows; `only`: these servers' alone. */
export function parseStat(text: string, only?: ReadonlySet<string>): StatRow[] {
  const [header, ...rows] = lines(text);
  if (!header?.startsWith('# ')) return parseError('show stat', text);
  const needed = [
    'pxname',
    'svname',
    'qcur',
    'scur',
    'stot',
    'status',
    'weight',
    'check_status',
    'check_code',
    'check_desc',
    'addr',
  ] as const;
  const col = columns(header.slice(2).split(','), needed, 'show stat', text);
  // Column positions looked up once, not per row (1,000 rows in a pass).
  const [px, sv, qcur, scur, stot, status, weight, checkStatus, checkCode, checkDesc, addr] = needed.map((name) => col.get(name) as number);
  const uweight = col.get('uweight') ?? weight;
  const lastsess = col.get('lastsess');
  const rowsOut: StatRow[] = [];
  for (const row of rows) {
    if (only && !only.has(field(row, ',', sv as number))) continue;
    const f = row.split(',');
    const get = (i: number | undefined): string => f[i as number] ?? '';
    const name = get(sv);
    if (name === 'FRONTEND' || name === 'BACKEND') continue;
    rowsOut.push({
      backend: get(px),
      name,
      queue: optionalInteger(get(qcur)),
      sessions: optionalInteger(get(scur)),
      sessionsTotal: optionalInteger(get(stot)),
      status: get(status),
      // `weight` is the effective weight (1 while MAINT); `uweight` is what was set.
      weight: optionalInteger(get(uweight)),
      checkStatus: get(checkStatus).replace(/^\* ?/, ''),
      checkRunning: get(checkStatus).startsWith('*'),
      checkCode: get(checkCode),
      checkDescription: get(checkDesc),
      address: get(addr),
      lastSessionSec: lastsess === undefined || f[lastsess] === '' ? -1 : optionalInteger(f[lastsess]),
    });
  }
  return rowsOut;
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

/** How many streams in `show sess`'s answer point to `backend/server`. */
export function streamsOnServer(text: string, backend: string, server: string): number {
  const token = ` be=${backend} srv=${server} `;
  let count = 0;
  for (const line of lines(text)) if (line.includes(token)) count += 1;
  return count;
}

/** Splits `show stat`'s `addr` (`1.2.3.4:80`, `[::1]:80`) into address and port. */
export function splitAddress(addr: string): { address: string; port: number | undefined } {
  const match = /^\[?(.*?)\]?:(\d+)$/.exec(addr);
  if (!match) return { address: addr, port: undefined };
  return { address: match[1] as string, port: Number(match[2]) };
}

/** A map or ACL pattern list as `show map` / `show acl` list it. */
export interface PatternList {
  /** Its unique id: `#ID` names it in every map/ACL command. */
  id: number;
  /** The file it was loaded from ('' for an inline ACL). */
  file: string;
  /** HAProxy's own description (where it is used, versions, entry count). */
  description: string;
}

/** One entry of a map: `ref` picks this entry alone in `setMap`/`delMap` (`{ ref }`). */
export interface MapEntry {
  ref: string;
  key: string;
  value: string;
}

/** One pattern of an ACL: `ref` picks this entry alone in `delAcl` (`{ ref }`). */
export interface AclEntry {
  ref: string;
  pattern: string;
}

/** A stick table's header line. */
export interface TableInfo {
  name: string;
  /** ip, ipv6, integer, string or binary. */
  type: string;
  size: number;
  used: number;
}

/** One stick-table entry; `data` holds each stored type by HAProxy's name (`gpc0`, `conn_rate(30000)`…). */
export interface TableEntry {
  ref: string;
  key: string;
  /** Sessions tracking the entry right now (such an entry is not cleared). */
  use: number;
  /** Milliseconds until it expires. */
  exp: number;
  data: Record<string, string>;
}

/** The list `show map` or `show acl` prints without an argument. */
export function parsePatternList(text: string, what: 'show map' | 'show acl'): PatternList[] {
  const [header, ...rows] = lines(text);
  if (header !== '# id (file) description') return parseError(what, text);
  return rows.map((row) => {
    const match = /^(\d+) \((.*?)\) ?(.*)$/.exec(row);
    if (!match) return parseError(what, text);
    return { id: Number(match[1]), file: match[2] as string, description: match[3] as string };
  });
}

/** `show map`'s list of maps. */
export const parseMapList = (text: string): PatternList[] => parsePatternList(text, 'show map');
/** `show acl`'s list of ACL pattern lists. */
export const parseAclList = (text: string): PatternList[] => parsePatternList(text, 'show acl');

/** `show map MAP`: one `REF KEY VALUE` line per entry (the value may hold spaces; a key never does). */
export function parseMapEntries(text: string): MapEntry[] {
  return lines(text).map((row) => {
    const match = /^(0x[0-9a-f]+) (\S+) (.*)$/.exec(row);
    if (!match) return parseError('show map', text);
    return { ref: match[1] as string, key: match[2] as string, value: match[3] as string };
  });
}

/** `show acl ACL`: one `REF PATTERN` line per entry. */
export function parseAclEntries(text: string): AclEntry[] {
  return lines(text).map((row) => {
    const match = /^(0x[0-9a-f]+) (.*)$/.exec(row);
    if (!match) return parseError('show acl', text);
    return { ref: match[1] as string, pattern: match[2] as string };
  });
}

function tableInfo(line: string, text: string): TableInfo {
  const match = /^# table: (\S+), type: (\S+), size:(\d+), used:(\d+)/.exec(line);
  if (!match) return parseError('show table', text);
  return { name: match[1] as string, type: match[2] as string, size: Number(match[3]), used: Number(match[4]) };
}

/** `show table`: every stick table's header. */
export function parseTableList(text: string): TableInfo[] {
  return lines(text).map((line) => tableInfo(line, text));
}

/**
 * `show table NAME [filter]`: the header, then `REF: key=K use=N exp=N [shard=N] DATA=V…` per entry.
 * A key filter that matches nothing gets no answer at all, not even the header: `table` is then undefined.
 */
export function parseTable(text: string): { table: TableInfo | undefined; entries: TableEntry[] } {
  const [header, ...rows] = lines(text);
  if (header === undefined) return { table: undefined, entries: [] };
  const entries = rows.map((row) => {
    // A string key may hold spaces, so it runs up to the last ` use=N exp=N`; `shard` (HAProxy ≥ 2.9) is not data.
    const match = /^(0x[0-9a-f]+): key=(.*) use=(\d+) exp=(\d+)(?: shard=\d+)?((?: [^ =]+=\S*)*)$/.exec(row);
    if (!match) return parseError('show table', text);
    const data: Record<string, string> = {};
    for (const pair of (match[5] as string).split(' ').filter(Boolean))
      data[pair.slice(0, pair.indexOf('='))] = pair.slice(pair.indexOf('=') + 1);
    return { ref: match[1] as string, key: match[2] as string, use: Number(match[3]), exp: Number(match[4]), data };
  });
  return { table: tableInfo(header, text), entries };
}
