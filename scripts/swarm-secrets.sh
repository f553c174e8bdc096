#!/bin/sh
# Makes a swarm deployment's Serf gossip key and Serf RPC token as Docker secrets, the ones
# docker-stack.yml mounts (what the keygen one-shot of docker-compose.yml does for compose: a stack
# deploy ignores depends_on, so a keygen service would race the others). Run once on a manager:
#   sh scripts/swarm-secrets.sh            # secrets ha-agent-serf-key and ha-agent-rpc-token
#   HA_AGENT_SECRETS=shop sh scripts/swarm-secrets.sh    # shop-serf-key, shop-rpc-token (several stacks, one swarm)
# The values go from the image's own generators straight into `docker secret create`: never on a
# command line, never in a file. An existing secret is kept (a secret cannot change under a running stack).
set -eu
prefix="${HA_AGENT_SECRETS:-ha-agent}"
image="ha-agent/webapp:${HA_AGENT_TAG:-latest}"
make() {
  if docker secret inspect "$1" >/dev/null 2>&1; then
    echo "swarm-secrets: $1 exists, kept" >&2
  else
    docker run --rm --network none --entrypoint sh "$image" -c "$2" | docker secret create "$1" - >/dev/null
    echo "swarm-secrets: created $1" >&2
  fi
}
make "$prefix-serf-key" 'serf keygen'
make "$prefix-rpc-token" "node -e \"process.stdout.write(require('node:crypto').randomBytes(24).toString('base64url'))\""
