#!/bin/sh
# One Swarm node of the multi-node lab (src/lab/cluster/swarm-nodes.ts): a dockerd of its own inside a
# network namespace, started from the host as
#   ip netns exec NS unshare --uts sh scripts/swarm-node.sh NAME DATA_ROOT EXEC_ROOT SOCKET BIP
# `ip netns exec` gives the command a fresh /sys, without the host's cgroup mounts: dockerd would exit
# with "Devices cgroup isn't mounted". So the host's cgroup hierarchies are mounted again here (this
# mount namespace only) before dockerd starts. The UTS namespace gives each node its own host name,
# which is its Swarm node name. dockerd is exec'd: the PID the lab started is the engine's, and the
# engine starts its own containerd. Containers go under the cgroup NAME, which the lab removes.
set -eu
name=$1 data=$2 exec_root=$3 socket=$4 bip=$5
hostname "$name"
mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
awk '$3 == "cgroup" || $3 == "cgroup2" { print $2, $3, $4 }' /proc/1/mounts | while read -r dir type opts; do
  mkdir -p "$dir"
  mount -t "$type" -o "$opts" "$type" "$dir"
done
exec dockerd --data-root "$data" --exec-root "$exec_root" --pidfile "$exec_root.pid" -H "unix://$socket" \
  --bip "$bip" --cgroup-parent "/$name"
