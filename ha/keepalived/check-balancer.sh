#!/bin/sh
# keepalived's readiness check of its own balancer (vrrp_script). It passes while
#  1. HAProxy serves: FRONTEND_URL answers 200 through a web server,
#  2. the agent is healthy: AGENT_HEALTHZ (ha-agent run --metrics) answers 200,
#  3. the agent converged: HAProxy's backend has exactly as many servers UP as Serf has alive
#     members of the role (HAProxy's stats page in CSV, `serf members`),
# and then sets DOWN_FILE (keepalived's track_file, set to 1 when HAProxy exits) back to 0.
# Usage: check-balancer.sh FRONTEND_URL AGENT_HEALTHZ STATS_CSV_URL SERF_RPC BACKEND ROLE DOWN_FILE
set -eu
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
frontend=$1 agent=$2 stats=$3 serf_rpc=$4 backend=$5 role=$6 down=$7
curl -fsS -m 1 -o /dev/null "$frontend"
curl -fsS -m 1 -o /dev/null "$agent"
alive=$(serf members -rpc-addr "$serf_rpc" -status alive -tag "role=^$role\$" | wc -l)
up=$(curl -fsS -m 1 "$stats" | awk -F, -v b="$backend" '$1 == b && $2 != "BACKEND" && $18 ~ /^UP/' | wc -l)
if [ "$alive" -eq 0 ] || [ "$alive" -ne "$up" ]; then
  echo "not converged: $alive alive members, $up servers UP" >&2
  exit 1
fi
[ "$(cat "$down" 2>/dev/null)" = 0 ] || echo 0 > "$down"
