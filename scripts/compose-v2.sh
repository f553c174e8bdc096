#!/usr/bin/env bash
# Prints the path of a Docker Compose v2 binary, for the end-to-end test's v2 pass on machines whose
# Debian (bookworm) ships only docker-compose 1.29. Uses `docker compose` when the CLI has the plugin;
# otherwise takes Debian trixie's docker-compose 2.x package: installed in an image built from the
# local debian:trixie-slim (scripts/base-image.sh), its binary copied out once to a cache folder.
# Compose talks to the engine only through its API, so the host binary drives the same engine.
set -euo pipefail
cache=${HA_AGENT_COMPOSE_V2_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ha-agent/compose-v2}
binary="$cache/docker-compose"
image=ha-agent/compose-v2:latest

if docker compose version >/dev/null 2>&1; then
  echo "docker compose"
  exit 0
fi
if [ -x "$binary" ] && "$binary" version >/dev/null 2>&1; then
  echo "$binary"
  exit 0
fi
if ! docker image inspect "$image" >/dev/null 2>&1; then
  echo "compose-v2: building $image (Debian trixie's docker-compose package)" >&2
  printf '%s\n' 'FROM debian:trixie-slim' \
    'RUN apt-get update && apt-get install -y --no-install-recommends docker-compose && rm -rf /var/lib/apt/lists/*' \
    | docker build -q -t "$image" - >&2
fi
mkdir -p "$cache"
container=$(docker create "$image" true)
trap 'docker rm -f "$container" >/dev/null' EXIT
# The package's binary is the CLI plugin; /usr/bin/docker-compose is a link to it.
docker cp -L "$container:/usr/libexec/docker/cli-plugins/docker-compose" "$binary.tmp" >&2
chmod 755 "$binary.tmp"
mv "$binary.tmp" "$binary"
"$binary" version >&2
echo "$binary"
