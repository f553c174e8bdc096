#!/usr/bin/env bash
# Makes the HAProxy of the project's built image (Debian trixie: 3.0) runnable on this host as an
# ordinary process, with the image's own dynamic loader and libraries, and prints the wrapper's path:
#   HAPROXY_BIN=$(bash scripts/haproxy-from-image.sh) npx vitest run test/integration/runtime-data.test.ts
# Needs a running Docker engine and the image (docker compose build); starts no container.
set -euo pipefail
image=${1:-ha-agent/ha}
out=$(cd "$(dirname "$0")/.." && pwd)/.tmp/haproxy-image
rm -rf "$out" && mkdir -p "$out"
container=$(docker create "$image" true)
trap 'docker rm "$container" >/dev/null' EXIT
docker export "$container" | tar -x -C "$out" --wildcards 'usr/lib/*' 'usr/sbin/haproxy'
cat > "$out/haproxy" <<'WRAPPER'
#!/bin/sh
root=$(dirname "$(readlink -f "$0")")
exec "$root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" --library-path "$root/usr/lib/x86_64-linux-gnu" "$root/usr/sbin/haproxy" "$@"
WRAPPER
chmod +x "$out/haproxy"
"$out/haproxy" -v | sed -n 1p >&2   # sed reads to the end: head would make pipefail see SIGPIPE
echo "$out/haproxy"
