#!/bin/sh
# One-shot `keygen` service of docker-compose.yml: makes this deployment's Serf gossip key and RPC
# token the first time, in the `secrets` volume the other containers mount read-only. Nothing
# secret is committed to the repository or put on a command line.
set -eu
umask 077
dir="${SECRETS_DIR:-/secrets}"
mkdir -p "$dir"
if [ ! -s "$dir/serf.key" ]; then
  serf keygen > "$dir/serf.key"
  echo "keygen: new Serf gossip key in $dir/serf.key"
fi
if [ ! -s "$dir/rpc.token" ]; then
  node -e "process.stdout.write(require('node:crypto').randomBytes(24).toString('base64url'))" > "$dir/rpc.token"
  echo "keygen: new Serf RPC token in $dir/rpc.token"
fi
