/**
 * Runtime API commands for the data HAProxy matches traffic against — maps, ACL pattern lists and
 * stick tables — and the raw `show sess` / `show errors` dumps. Like every builder in commands.ts,
 * each one validates before anything could be sent: names are allow-listed, free text passes
 * `cliWord` (escaped, never able to end the command).
 */
import { z } from 'zod';
import { backendName } from '../model/values.js';
import { cliWord, mutation, read, valid, type Command } from './commands.js';

/**
 * A map or ACL as `show map` / `show acl` name it: the file it was loaded from (`/etc/haproxy/hosts.map`)
 * or its unique id (`#2`).
 */
export type PatternRef = string;

const patternRef = z.union([
  z.string().regex(/^#\d{1,10}$/, 'must be #ID'),
  z.string().regex(/^[A-Za-z0-9_./@:+-]{1,1024}$/, 'must be a file path of A-Z a-z 0-9 _ . / @ : + -'),
]);

/**
 * An entry of a map or ACL: its key (a map) or pattern (an ACL), or the entry's own reference from
 * `show map`/`show acl` (`{ ref: '0x55d1…' }`), which picks that one entry among equal keys.
 */
export type EntrySelector = string | { ref: string };

/** A key starting with `#` would be read by HAProxy as a reference: refused, `{ ref }` says that. */
const key = z.string().refine((k) => !k.startsWith('#'), "must not start with '#' (HAProxy reads it as a reference)");
/** A map key is one word in `show map`'s answer, so whitespace would make the entry unreadable. */
const mapKeySchema = key.refine((k) => !/\s/.test(k), 'must not contain whitespace');
const tableKey = z.string().regex(/^\S*$/, 'must not contain whitespace');

function mapKey(value: string, what: string): string {
  return cliWord(valid(mapKeySchema, value, what), what);
}

function keyWord(value: string, what: string): string {
  return cliWord(valid(key, value, what), what);
}

function selector(entry: EntrySelector, what: string, word: (key: string, what: string) => string): string {
  if (typeof entry === 'string') return word(entry, what);
  return `#${valid(z.string().regex(/^0x[0-9a-f]{1,16}$/, 'must be a reference such as 0x55d1c0ffee00'), entry.ref, what)}`;
}

/** A stick-table dump starts with its header; any other text is HAProxy explaining a refusal. */
const tableRead = (text: string): Command => ({ ...read(text), expect: { kind: 'read', starts: '# table:' } });

function ref(kind: 'map' | 'acl', value: PatternRef, verb: string): string {
  return valid(patternRef, value, `${verb} ${kind}`);
}

/** Every map (no argument; parse with `parseMapList`) or one map's entries (parse with `parseMapEntries`). */
export function showMap(map?: PatternRef): Command {
  return read(map === undefined ? 'show map' : `show map ${ref('map', map, 'show')}`);
}

/** Adds `key` → `value`; HAProxy keeps duplicates, and the first match wins. Value: any printable text. */
export function addMap(map: PatternRef, key: string, value: string): Command {
  const m = ref('map', map, 'add');
  return mutation(`add map ${m} ${mapKey(key, `add map ${m} key`)} ${cliWord(value, `add map ${m} value`)}`, { kind: 'empty' });
}

/** Sets the value of every entry with `key` (or of one entry by `{ ref }`); RUNTIME_NO_SUCH_ENTRY when none. */
export function setMap(map: PatternRef, entry: EntrySelector, value: string): Command {
  const m = ref('map', map, 'set');
  return mutation(`set map ${m} ${selector(entry, `set map ${m} key`, mapKey)} ${cliWord(value, `set map ${m} value`)}`, {
    kind: 'empty',
  });
}

/** Deletes every entry with `key` (or one by `{ ref }`); RUNTIME_NO_SUCH_ENTRY when none. */
export function delMap(map: PatternRef, entry: EntrySelector): Command {
  const m = ref('map', map, 'del');
  return mutation(`del map ${m} ${selector(entry, `del map ${m} key`, mapKey)}`, { kind: 'empty' });
}

/** Empties the map (an ACL sharing its file is emptied too). */
export function clearMap(map: PatternRef): Command {
  return mutation(`clear map ${ref('map', map, 'clear')}`, { kind: 'empty' });
}

/** Every ACL pattern list (parse with `parseAclList`) or one list's patterns (parse with `parseAclEntries`). */
export function showAcl(acl?: PatternRef): Command {
  return read(acl === undefined ? 'show acl' : `show acl ${ref('acl', acl, 'show')}`);
}

/** Adds a pattern (any printable text; spaces are kept). A file shared with a map needs `addMap`. */
export function addAcl(acl: PatternRef, pattern: string): Command {
  const a = ref('acl', acl, 'add');
  return mutation(`add acl ${a} ${keyWord(pattern, `add acl ${a} pattern`)}`, { kind: 'empty' });
}

/** Deletes every entry equal to `pattern` (or one by `{ ref }`); RUNTIME_NO_SUCH_ENTRY when none. */
export function delAcl(acl: PatternRef, entry: EntrySelector): Command {
  const a = ref('acl', acl, 'del');
  return mutation(`del acl ${a} ${selector(entry, `del acl ${a} pattern`, keyWord)}`, { kind: 'empty' });
}

/** Empties the ACL pattern list (a map sharing its file is emptied too). */
export function clearAcl(acl: PatternRef): Command {
  return mutation(`clear acl ${ref('acl', acl, 'clear')}`, { kind: 'empty' });
}

export type TableOperator = 'eq' | 'ne' | 'lt' | 'gt' | 'le' | 'ge';

/** Entries whose stored `data` type (e.g. `gpc0`, `http_req_rate`) compares to `value` by `op`. */
export interface TableDataFilter {
  data: string;
  op: TableOperator;
  value: number;
}

/** Picks stick-table entries by key (an IP, integer or string, as the table's type says) or by data. */
export type TableFilter = { key: string } | TableDataFilter | readonly TableDataFilter[];

const dataFilter = z.object({
  data: z.string().regex(/^[a-z][a-z0-9_]*(\(\d{1,3}\))?$/, 'must be a stick-table data type such as gpc0 or http_req_rate'),
  op: z.enum(['eq', 'ne', 'lt', 'gt', 'le', 'ge']),
  value: z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER),
});

function tableFilter(filter: TableFilter | undefined, what: string, maxData: number): string {
  if (filter === undefined) return '';
  if ('key' in filter) {
    return ` key ${cliWord(valid(tableKey, filter.key, `${what} key`), `${what} key`)}`;
  }
  const list = valid(z.array(dataFilter).min(1).max(maxData), Array.isArray(filter) ? filter : [filter], `${what} filter`);
  return list.map((f) => ` data.${f.data} ${f.op} ${f.value}`).join('');
}

/** Every stick table (parse with `parseTableList`) or one table's entries (parse with `parseTable`); up to 4 data filters. */
export function showTable(table?: string, filter?: TableFilter): Command {
  if (table === undefined) return tableRead('show table');
  const t = valid(backendName, table, 'show table');
  return tableRead(`show table ${t}${tableFilter(filter, `show table ${t}`, 4)}`);
}

/** Removes every entry, the one with a key, or those matching one data filter (entries in use by a session stay). */
export function clearTable(table: string, filter?: { key: string } | TableDataFilter): Command {
  const t = valid(backendName, table, 'clear table');
  return mutation(`clear table ${t}${tableFilter(filter, `clear table ${t}`, 1)}`, { kind: 'empty' });
}

/** Every session, as HAProxy's raw text. */
export function showSess(): Command {
  return read('show sess');
}

/** The last invalid requests and responses HAProxy captured, as its raw text. */
export function showErrors(): Command {
  return read('show errors');
}
