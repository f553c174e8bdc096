#!/usr/bin/env bash
# Makes the `debian:trixie-slim` base image from Debian's packages when it is missing: no registry
# can be reached here, so it is bootstrapped with mmdebstrap from the apt mirror this machine uses.
set -euo pipefail
suite=trixie
image="debian:${suite}-slim"
if docker image inspect "$image" >/dev/null 2>&1; then
  exit 0
fi
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
mirror=${mirror:-http://deb.debian.org/debian}
echo "base-image: building $image from $mirror with mmdebstrap" >&2
mmdebstrap --quiet --variant=minbase --include=ca-certificates "$suite" - "$mirror" \
  | docker import -c 'CMD ["bash"]' - "local/$suite"
docker tag "local/$suite" "$image"
