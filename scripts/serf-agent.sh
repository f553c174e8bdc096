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
#   SERF_ADVERTISE_CIDR (none)  SERF_ADVERTISE_WAIT (5, seconds): which address the agent advertises
#   when the host has several (a Swarm task: overlay + docker_gwbridge), see "advertised address" below.
#
# Advertised address. With SERF_BIND on 0.0.0.0 and more than one IPv4 address besides loopback, Serf
# would advertise one of them by itself, in a Swarm task the docker_gwbridge one that no other task can
# reach (every server DOWN, every request a 503). So the agent binds one address, the first of:
#   1. the address in SERF_ADVERTISE_CIDR (none there: the agent does not start);
#   2. the source address of the route to a join target (SERF_JOIN resolved; a UDP socket's connect picks
#      it and sends nothing): the address on the network this agent shares with the ones it joins. Tried
#      for SERF_ADVERTISE_WAIT seconds: Swarm resolves a task's name only once the task is running (with a
#      health check: healthy), so the first web tasks of a deploy may not resolve `ha` yet;
#   3. the address this host's name resolves to (Docker's /etc/hosts: the container's address on its first
#      network, a Swarm task's overlay);
#   4. the first interface's, with a warning that names the setting to use.
# It prints which address and why, in one line, before Serf starts.
set -eu
state="${SERF_STATE_DIR:-/run/serf}"
mkdir -p "$state"
umask 077
node - "$state/serf.json" <<'JS'
const { readFileSync, writeFileSync } = require('node:fs');
const { hostname, networkInterfaces } = require('node:os');
const dgram = require('node:dgram');
const dns = require('node:dns/promises');
const env = process.env;
const read = (file) => (file ? readFileSync(file, 'utf8').trim() : undefined);
const say = (level, message, fields) =>
  console.log(JSON.stringify({ time: new Date().toISOString(), level, component: 'serf-agent', message, ...fields }));
const tags = {};
if (env.SERF_ROLE) tags.role = env.SERF_ROLE;
for (const [key, value] of Object.entries(env)) {
  if (key.startsWith('SERF_TAG_') && value !== undefined) tags[key.slice('SERF_TAG_'.length).toLowerCase()] = value;
}
const join = (env.SERF_JOIN ?? '').split(/\s+/).filter(Boolean);

/** IPv4 addresses of this host's interfaces, loopback left out, with their interface and prefix. */
const local = Object.entries(networkInterfaces()).flatMap(([name, list]) =>
  (list ?? []).filter((a) => a.family === 'IPv4' && !a.internal).map((a) => ({ name, address: a.address, cidr: a.cidr })),
);
const ipv4 = (text) => text.split('.').reduce((n, part) => n * 256 + Number(part), 0);
const inCidr = (address, cidr) => {
  const [base, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ipv4(address) / size) === Math.floor(ipv4(base) / size);
};
/** The source address the kernel picks to reach `target`: a connected UDP socket sends no packet. */
const sourceTo = (target) =>
  new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    socket.on('error', () => resolve(undefined));
    socket.connect(7946, target, () => {
      const { address } = socket.address();
      socket.close();
      resolve(address);
    });
  });
async function routeToJoin() {
  for (const target of join) {
    const host = target.replace(/:\d+$/, '');
    const addresses = await dns.lookup(host, { family: 4, all: true }).catch(() => []);
    for (const { address } of addresses) {
      if (local.some((a) => a.address === address)) continue; // itself: no route to learn from
      const source = await sourceTo(address);
      if (source && local.some((a) => a.address === source)) return { address: source, why: `source address of the route to ${host} (${address})` };
    }
  }
  return undefined;
}
async function advertised(port) {
  if (env.SERF_ADVERTISE_CIDR) {
    const hit = local.find((a) => inCidr(a.address, env.SERF_ADVERTISE_CIDR));
    if (!hit) throw new Error(`SERF_ADVERTISE_CIDR=${env.SERF_ADVERTISE_CIDR}: no address of this host is in it (${local.map((a) => a.cidr).join(', ')})`);
    return { address: hit.address, why: `in SERF_ADVERTISE_CIDR=${env.SERF_ADVERTISE_CIDR}` };
  }
  const deadline = Date.now() + Number(env.SERF_ADVERTISE_WAIT || 5) * 1000;
  for (;;) {
    const routed = await routeToJoin();
    if (routed) return routed;
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const own = await dns.lookup(hostname(), { family: 4 }).catch(() => undefined);
  const unresolved = `no join target (${join.join(' ') || 'none'}) resolved`;
  const named = local.find((a) => a.address === own?.address);
  if (named) return { address: named.address, why: `${unresolved}; the address of this host's name ${hostname()}` };
  return {
    address: local[0].address,
    why: `${unresolved}, and this host's name ${hostname()} is none of its addresses; the first interface`,
    warn: `if the others cannot reach ${local[0].address}, every server is DOWN: set SERF_ADVERTISE_CIDR to the network this agent shares with the balancer`,
  };
}

async function main() {
  let bind = env.SERF_BIND || '0.0.0.0:7946';
  const [host, port = '7946'] = bind.split(':');
  const addresses = local.map((a) => `${a.address} (${a.name})`);
  if (host !== '0.0.0.0') {
    say('info', `serf: advertising ${host}, as SERF_BIND says`, { address: host, addresses });
  } else if (local.length <= 1 && !env.SERF_ADVERTISE_CIDR) {
    say('info', `serf: advertising ${local[0]?.address ?? 'no address'}, this host's only address`, { address: local[0]?.address, addresses });
  } else {
    const pick = await advertised(port);
    bind = `${pick.address}:${port}`;
    say(pick.warn ? 'warn' : 'info', `serf: advertising ${pick.address} of ${local.length} addresses: ${pick.why}${pick.warn ? `; ${pick.warn}` : ''}`, {
      address: pick.address,
      addresses,
    });
  }
  const config = {
    node_name: env.SERF_NODE_NAME || hostname(),
    bind,
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
}
main().catch((error) => {
  say('error', `serf: ${error.message}`, {});
  process.exit(1);
});
JS
exec serf agent -config-file "$state/serf.json"
