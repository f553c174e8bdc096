#!/bin/sh
# PID 1 of the `ha` and `webapp` containers: s6-svscan over the image's service tree, copied to
# /run so that every start (docker restart included) supervises from a clean state.
# For the `ha` container it also provisions the stats page credentials once, when none are given.
set -eu
tree="$1"
scan=/run/s6/services
rm -rf "$scan"
mkdir -p "$scan"
cp -R "$tree"/. "$scan"/

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
