#!/usr/bin/env bash
# Records every published table again, one bench after the other (they must not share the machine), then
# writes the tables: `bash bench/record-all.sh [NAME…]` (default: all, hours on 2 cores; root and a Docker engine
# for some). Each NAME is a table of docs/ or README.md; each bench writes its own results file(s) into
# bench/results/<bench>/ and its output into $RECORD_LOG_DIR/<name>.log. A bench that fails is reported at the
# end (exit 1) and the others still run. Commit the results files and the docs afterwards.
#
# The counts are the headline's: a table needs 5 runs of one commit, so run this on a committed tree.
set -uo pipefail
cd "$(dirname "$0")/.."
logs=${RECORD_LOG_DIR:-/tmp/ha-agent-record-all-$(date -u +%Y%m%dT%H%M%S)}
mkdir -p "$logs"
all=(runtime libs agent-events agent-mass serf-scale services-scale services-curve serf-idle serf-poll scale-in compare
  soak balancer-tier compose swarm swarm-nodes)
failed=()
for name in "${@:-${all[@]}}"; do
  [[ " ${all[*]} " == *" $name "* ]] || { echo "record-all: unknown table '$name' (known: ${all[*]})" >&2; exit 2; }
done

# The agent of the commit before the log watch (the poll), the serf-idle table's baseline, built in a worktree.
before=""
poll_build() {
  [ -n "$before" ] && return 0
  before=$(mktemp -d /tmp/ha-agent-before-XXXX)
  git worktree add -q --detach "$before" 232e6b3 && ln -s "$PWD/node_modules" "$before/node_modules" &&
    (cd "$before" && npm run -s build)
}
cleanup() {
  [ -n "$before" ] || return 0
  git worktree remove --force "$before" 2>/dev/null
  rm -rf "$before"
  git worktree prune
}
trap cleanup EXIT

bench() {
  case "$1" in
    runtime) npm run -s bench:runtime ;;
    libs) npx tsx bench/libs.ts ;;
    agent-events) for _ in 1 2 3 4 5; do BENCH_ONLY=events npm run -s bench:agent || return 1; done ;;
    agent-mass) BENCH_ONLY=mass npm run -s bench:agent ;;
    # 50, 250 and 500 real Serf agents; with 250 and more the members take what the 2 cores have (docs/scale.md).
    serf-scale) npm run -s bench:serf-scale ;;
    services-scale) BENCH_CURVE= npm run -s bench:services-scale ;;
    # The 10,000-member point needs a larger conntrack table than the kernel's default (docs/scale.md).
    services-curve) BENCH_RUNS=0 BENCH_CONNTRACK_MAX=${BENCH_CONNTRACK_MAX:-2000000} npm run -s bench:services-scale ;;
    serf-idle) poll_build && BENCH_BEFORE=$before npm run -s bench:serf-idle ;;
    serf-poll) npm run -s bench:serf-poll ;;
    # The host's HAProxy (2.6), then the image's (3.0) run on the host as a process.
    scale-in)
      npm run -s proof:scale-in || return 1
      bash scripts/docker-engine.sh start && bash scripts/base-image.sh && docker-compose build -q ha || return 1
      # Without a binary the bench would run the host's HAProxy again; a subnet of its own keeps the two sets' addresses apart.
      bin=$(bash scripts/haproxy-from-image.sh) || return 1
      HAPROXY_BIN=$bin PROOF_SUBNET=42 npx tsx bench/scale-in.ts
      ;;
    compare) for _ in 1 2 3 4 5; do npm run -s bench || return 1; done ;;
    soak) npm run -s bench:soak ;;
    balancer-tier) npx tsx scripts/balancer-proof.ts ;;
    compose) bash scripts/docker-engine.sh start && HA_AGENT_RECORD=1 CI=true npx vitest run test/e2e/compose.test.ts ;;
    swarm) bash scripts/docker-engine.sh start && npm run -s bench:swarm ;;
    swarm-nodes) bash scripts/docker-engine.sh start && HA_AGENT_RECORD=1 CI=true npx vitest run test/e2e/swarm-nodes.test.ts ;;
  esac
}

for name in "${@:-${all[@]}}"; do
  echo "record-all: $name ($(date -u +%H:%M:%S) UTC), output in $logs/$name.log" >&2
  if ! bench "$name" >"$logs/$name.log" 2>&1; then
    echo "record-all: $name FAILED (see $logs/$name.log)" >&2
    failed+=("$name")
  fi
done
npm run -s tables || failed+=(tables)
if [ "${#failed[@]}" -gt 0 ]; then
  echo "record-all: failed: ${failed[*]}" >&2
  exit 1
fi
