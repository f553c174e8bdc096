#!/bin/sh
# PID 1 of the `ha` and `webapp` containers: s6-svscan over the image's service tree, copied to
# /run so that every start (docker restart included) supervises from a clean state.
# It reads this deployment's Serf key and RPC token from the `secrets` volume (made by the keygen
# service) into the environment, where `ps` does not show them, and for the `ha` container
# provisions the stats page credentials once, when none are given.
set -eu
tree="$1"
scan=/run/s6/services
rm -rf "$scan"
mkdir -p "$scan"
cp -R "$tree"/. "$scan"/

secrets="${SECRETS_DIR:-/secrets}"
if [ -z "${SERF_ENCRYPT_KEY:-}" ] && [ -s "$secrets/serf.key" ]; then
  SERF_ENCRYPT_KEY=$(cat "$secrets/serf.key")
  export SERF_ENCRYPT_KEY
fi
if [ -z "${SERF_RPC_AUTH:-}" ] && [ -s "$secrets/rpc.token" ]; then
  SERF_RPC_AUTH=$(cat "$secrets/rpc.token")
  HA_AGENT_SERF_AUTH="$SERF_RPC_AUTH"
  export SERF_RPC_AUTH HA_AGENT_SERF_AUTH
fi

if [ -n "${HA_AGENT_STATS_BIND:-}" ] && [ -z "${HA_AGENT_STATS_AUTH:-}" ]; then
  auth_file=/var/lib/ha-agent/stats-auth
  if [ ! -s "$auth_file" ]; then
    mkdir -p "$(dirname "$auth_file")"
    (umask 077; printf 'admin:%s\n' "$(node -e "process.stdout.write(require('node:crypto').randomBytes(18).toString('base64url'))")" > "$auth_file")
    echo "ha: stats page credentials (generated once, kept in $auth_file): $(cat "$auth_file")"
  fi
  HA_AGENT_STATS_AUTH=$(cat "$auth_file")
  export HA_AGENT_STATS_AUTH
fi

exec s6-svscan "$scan"
