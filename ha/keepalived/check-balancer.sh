#!/bin/sh
# keepalived's check of its own balancer (vrrp_script). It passes while the balancer serves: HAProxy
# answers FRONTEND_URL with 200 through a web server. Nothing else may take the VIP from a serving
# holder: moving the VIP resets every connection the holder carries, so a restart of the agent (its
# /healthz down for a few seconds) must not move it — HAProxy keeps serving meanwhile.
# Taking the VIP needs more: DOWN_FILE (keepalived's track_file, set to 1 when HAProxy exits, so a
# restarted node is in FAULT) goes back to 0 only once the agent is healthy (AGENT_HEALTHZ, from
# `ha-agent run --metrics`, answers 200) and has converged — HAProxy's backend has exactly as many
# servers UP as Serf has alive members of the role (HAProxy's stats page in CSV, `serf members`).
# Those gate only the return: a holder whose web server crashed (Serf still lists it alive, HAProxy
# has it DOWN) keeps the VIP, as would every other balancer's view of it.
# Usage: check-balancer.sh FRONTEND_URL AGENT_HEALTHZ STATS_CSV_URL SERF_RPC BACKEND ROLE DOWN_FILE
set -eu
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
frontend=$1 agent=$2 stats=$3 serf_rpc=$4 backend=$5 role=$6 down=$7
curl -fsS -m 1 -o /dev/null "$frontend"
[ "$(cat "$down" 2>/dev/null)" = 0 ] && exit 0
if ! curl -fsS -m 1 -o /dev/null "$agent"; then
  echo "agent not healthy" >&2
  exit 0
fi
alive=$(serf members -rpc-addr "$serf_rpc" -status alive -tag "role=^$role\$" | wc -l)
up=$(curl -fsS -m 1 "$stats" | awk -F, -v b="$backend" '$1 == b && $2 != "BACKEND" && $18 ~ /^UP/' | wc -l)
if [ "$alive" -eq 0 ] || [ "$alive" -ne "$up" ]; then
  echo "not converged: $alive alive members, $up servers UP" >&2
  exit 0
fi
echo 0 > "$down"
