#!/bin/sh
# Starts a Serf agent from the environment, for the `ha` and `webapp` service trees alike (in a
# container and in the local cluster). Settings go into a config file (mode 600), never onto the
# command line where `ps` would show the encryption key or the RPC token.
#   SERF_NODE_NAME (hostname)  SERF_BIND (0.0.0.0:7946)  SERF_RPC_ADDR (127.0.0.1:7373)
#   SERF_JOIN      (retry-join targets, space-separated)  SERF_PROFILE (lan)
#   SERF_ROLE      (tag role)  SERF_TAG_<KEY>=VALUE (tag key, lowercased)
#   SERF_ENCRYPT_KEY / SERF_KEYRING_FILE  SERF_RPC_AUTH / SERF_RPC_AUTH_FILE
#   SERF_RECONNECT_TIMEOUT, SERF_TOMBSTONE_TIMEOUT (30s: departed members do not linger for 24 h)
#   SERF_STATE_DIR (/run/serf): also holds the snapshot, so a restarted agent rejoins the nodes it knew
#   (after a graceful leave too): a restarted `ha` finds its web servers again without their help.
set -eu
state="${SERF_STATE_DIR:-/run/serf}"
mkdir -p "$state"
umask 077
node - "$state/serf.json" <<'JS'
const { readFileSync, writeFileSync } = require('node:fs');
const { hostname } = require('node:os');
const env = process.env;
const read = (file) => (file ? readFileSync(file, 'utf8').trim() : undefined);
const tags = {};
if (env.SERF_ROLE) tags.role = env.SERF_ROLE;
for (const [key, value] of Object.entries(env)) {
  if (key.startsWith('SERF_TAG_') && value !== undefined) tags[key.slice('SERF_TAG_'.length).toLowerCase()] = value;
}
const join = (env.SERF_JOIN ?? '').split(/\s+/).filter(Boolean);
const config = {
  node_name: env.SERF_NODE_NAME || hostname(),
  bind: env.SERF_BIND || '0.0.0.0:7946',
  rpc_addr: env.SERF_RPC_ADDR || '127.0.0.1:7373',
  profile: env.SERF_PROFILE || 'lan',
  tags,
  reconnect_timeout: env.SERF_RECONNECT_TIMEOUT || '30s',
  tombstone_timeout: env.SERF_TOMBSTONE_TIMEOUT || '30s',
  leave_on_terminate: true,
  snapshot_path: `${require('node:path').dirname(process.argv[2])}/snapshot`,
  rejoin_after_leave: true,
  ...(join.length > 0 ? { retry_join: join, retry_interval: env.SERF_RETRY_INTERVAL || '2s' } : {}),
};
const key = env.SERF_ENCRYPT_KEY || read(env.SERF_KEYRING_FILE);
if (key) config.encrypt_key = key;
const auth = env.SERF_RPC_AUTH || read(env.SERF_RPC_AUTH_FILE);
if (auth) config.rpc_auth = auth;
writeFileSync(process.argv[2], JSON.stringify(config, null, 2), { mode: 0o600 });
JS
exec serf agent -config-file "$state/serf.json"
