/**
 * `ha-agent` as a library: the HAProxy Runtime API driver (`ha-agent/runtime`) and the Serf
 * membership source (`ha-agent/serf`). Importing starts nothing: no connection, timer, signal
 * handler or environment read happens until you construct and start a client.
 *
 * @packageDocumentation
 */
export * from './runtime/index.js';
export * from './membership/index.js';
