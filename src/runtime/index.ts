/**
 * `ha-agent/runtime`: a typed client of HAProxy's Runtime API. Commands are data built by
 * validating builders (nothing unvalidated reaches the socket), sent over one persistent
 * prompt-mode connection, and judged into `RuntimeError`s with stable codes.
 *
 * @example
 * const client = new RuntimeClient({ url: 'tcp://127.0.0.1:9999' });
 * await client.connect();
 * await client.run(setState('nodes', 'web-1', 'drain'));
 * console.log(await client.stat('nodes'));
 * await client.close();
 *
 * @packageDocumentation
 */
export { RuntimeClient, type RuntimeClientEvents, type RuntimeClientOptions, type TraceEvent } from './client.js';
export { DEFAULT_RUNTIME_URL, parseRuntimeUrl, type RuntimeAddress } from './address.js';
export { RuntimeError, runtimeErrorCodes, type RuntimeErrorCode, type RuntimeErrorDetails } from './errors.js';
export {
  addServer,
  cliWord,
  delServer,
  disableAgent,
  disableHealth,
  enableAgent,
  enableHealth,
  MAX_COMMAND_BYTES,
  raw,
  setAddr,
  setAgent,
  setAgentAddr,
  setAgentPort,
  setAgentSend,
  setHealth,
  setState,
  setWeight,
  showBackend,
  showInfo,
  showServersState,
  showStat,
  shutdownSessions,
  supportsWaitRemovable,
  waitRemovable,
  type Command,
  type Expect,
  type ServerSpec,
} from './commands.js';
export {
  addAcl,
  addMap,
  clearAcl,
  clearMap,
  clearTable,
  delAcl,
  delMap,
  setMap,
  showAcl,
  showErrors,
  showMap,
  showSess,
  showTable,
  type EntrySelector,
  type PatternRef,
  type TableDataFilter,
  type TableFilter,
  type TableOperator,
} from './data-commands.js';
export {
  ADMIN,
  CHECK_RESULT,
  OP_STATE,
  parseAclEntries,
  parseAclList,
  parseInfo,
  parseMapEntries,
  parseBackendList,
  parseMapList,
  parseServersState,
  parseStat,
  streamsOnServer,
  parseTable,
  parseTableList,
  splitAddress,
  type AclEntry,
  type Info,
  type MapEntry,
  type PatternList,
  type ServerStateRow,
  type StatRow,
  type TableEntry,
  type TableInfo,
} from './parse.js';
export { defaultServerPolicy, type ServerPolicy } from '../model/server.js';
export { cappedBackoff, type ReconnectStrategy } from '../util/reconnect.js';
