#!/usr/bin/env bash
# Installs what ha-agent's commands and tests need, only when missing, then builds.
# Usage: scripts/setup.sh [--docker]   (--docker, the test path: also the Docker engine, compose, and
# chromium for the demo's live-page test)
set -euo pipefail
cd "$(dirname "$0")/.."

want_docker=0
[ "${1:-}" = "--docker" ] && want_docker=1

missing=()
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
command -v serf >/dev/null 2>&1 || missing+=(serf)
command -v s6-svscan >/dev/null 2>&1 || missing+=(s6)
# The lab's balancer tier (two balancers behind a virtual IP in network namespaces).
command -v keepalived >/dev/null 2>&1 || missing+=(keepalived)
# ...whose hosts need ip (netns, veth, bridge) and iptables (the bridge's FORWARD rule), and whose
# readiness check (ha/keepalived/check-balancer.sh) asks with curl.
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v iptables >/dev/null 2>&1 || missing+=(iptables)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if [ "$want_docker" = 1 ]; then
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
  command -v mmdebstrap >/dev/null 2>&1 || missing+=(mmdebstrap)
  [ -x /usr/bin/chromium ] || missing+=(chromium)
fi

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "ha-agent setup: missing system packages: ${missing[*]}. Run as root, or: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "ha-agent setup: apt-get install ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian's haproxy package starts a service where an init system runs; ours starts its own.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet haproxy 2>/dev/null; then
    systemctl stop haproxy || true
  fi
fi

# npm packages: install when node_modules is missing or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "ha-agent setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

npm run --silent build >&2
