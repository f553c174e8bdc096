/**
 * `ha-agent/serf`: a Serf cluster's membership over Serf's RPC. `SerfMembership` lists the members
 * after every event batch, every resync period and every reconnect, and emits the whole list
 * (Serf's events are only a prompt to re-list: they coalesce and can be dropped).
 *
 * @example
 * const serf = new SerfMembership({ address: parseSerfAddress('127.0.0.1:7373'), resyncMs: 30_000, log: silentLogger });
 * serf.on('members', (members) => console.log(members.filter((m) => m.status === 'alive')));
 * serf.start();
 *
 * @packageDocumentation
 */
export { SerfMembership, type MembershipEvents, type MembershipOptions } from './source.js';
export { parseSerfAddress, SerfRpcClient, type SerfAddress, type SerfRpcOptions } from './rpc-client.js';
export { toMember, type Member, type MemberStatus } from './member.js';
export { SerfError, serfErrorCodes, type SerfErrorCode } from './errors.js';
export { createLogger, silentLogger, type Fields, type Level, type LogFormat, type Logger } from '../log.js';
export { cappedBackoff, type ReconnectStrategy } from '../util/reconnect.js';
