#!/usr/bin/env bash
# Starts or stops a Docker engine for the end-to-end tests on a machine where none runs
# (no systemd): `start` launches dockerd in the background when `docker info` does not answer and
# records its PID; `stop` stops only a dockerd this script started, by that PID.
set -euo pipefail
state=${HA_AGENT_DOCKERD_STATE:-/tmp/ha-agent-dockerd}
mkdir -p "$state"

case "${1:-}" in
  start)
    if docker info >/dev/null 2>&1; then
      echo "docker-engine: an engine is already running" >&2
      exit 0
    fi
    echo "docker-engine: starting dockerd" >&2
    nohup dockerd >"$state/dockerd.log" 2>&1 &
    echo $! >"$state/dockerd.pid"
    for _ in $(seq 1 60); do
      docker info >/dev/null 2>&1 && exit 0
      sleep 0.5
    done
    echo "docker-engine: dockerd did not answer in 30 s; see $state/dockerd.log" >&2
    tail -20 "$state/dockerd.log" >&2
    exit 1
    ;;
  stop)
    if [ -f "$state/dockerd.pid" ]; then
      pid=$(cat "$state/dockerd.pid")
      if kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        kill -9 "$pid" 2>/dev/null || true
      fi
      rm -f "$state/dockerd.pid"
    fi
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
