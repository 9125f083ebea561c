# SPDX-License-Identifier: MIT
# Sourced by test/hosts/hosts.sh and bench/hosts/bench-hosts.sh: hosts made of
# network namespaces on a bridge, addresses in 198.18.0.0/15 only, and the
# remote-shell agent mpirun uses to start a process on one of them.
#
#   netns_up DIR HOST...  make the hosts (names: a-z), the agent DIR/agent,
#                         one TMPDIR per host; sets $net (198.18.N) and $pfx;
#                         host number i (from 1) has address $net.i.
#                         Returns 1 with the reason in DIR/why on failure.
#   netns_down HOST...    delete everything netns_up made (idempotent).
#   netns_mpirun DIR HOSTS ARGS...  mpirun over HOSTS (comma-separated), at most
#                         $NETNS_TIMEOUT seconds (default 180).
netns_ids() {
	id=$(( $$ % 200 + 20 ))
	pfx=xh$id
	net=198.18.$id
}

netns_down() {
	netns_ids
	for h in "$@"; do
		ip netns del "$pfx$h" 2>/dev/null
		ip link del "${pfx}v$h" 2>/dev/null
	done
	ip link del "${pfx}br" 2>/dev/null
	return 0
}

netns_up() {
	dir=$1
	shift
	netns_ids
	ip link add "${pfx}br" type bridge 2>"$dir/why" || return 1
	ip addr add "$net.254/24" dev "${pfx}br" 2>"$dir/why" && ip link set "${pfx}br" up || return 1
	n=0
	for h in "$@"; do
		n=$((n + 1))
		ip netns add "$pfx$h" 2>"$dir/why" || return 1
		{ ip link add "${pfx}v$h" type veth peer name "${pfx}p$h" &&
			ip link set "${pfx}p$h" netns "$pfx$h" &&
			ip link set "${pfx}v$h" master "${pfx}br" up &&
			ip -n "$pfx$h" addr add "$net.$n/24" dev "${pfx}p$h" &&
			ip -n "$pfx$h" link set "${pfx}p$h" up &&
			ip -n "$pfx$h" link set lo up; } 2>"$dir/why" || return 1
		mkdir -p "$dir/t$h"
	done
	# "agent HOST COMMAND..." runs COMMAND in HOST's namespace, with a temporary
	# directory of its own (the hosts share one file system and one host name,
	# and Open MPI's daemons would race for the same session directory).
	cat >"$dir/agent" <<AGENT
#!/bin/sh
h=\$1; shift
[ -d "$dir/t\$h" ] || { echo "agent: no host \$h" >&2; exit 1; }
exec ip netns exec $pfx\$h env TMPDIR=$dir/t\$h sh -c "\$*"
AGENT
	chmod +x "$dir/agent"
}

# rtc ^hwloc: Open MPI 4.1's daemons share a topology through a fixed-address
# mapping that crashed them (SIGSEGV in hwloc_shmem_topology_write) under load.
netns_mpirun() {
	dir=$1 hosts=$2
	shift 2
	timeout "${NETNS_TIMEOUT:-180}" mpirun --allow-run-as-root --oversubscribe --host "$hosts" \
		--mca plm_rsh_agent "$dir/agent" --mca oob_tcp_if_include "$net.0/24" --mca rtc ^hwloc \
		--enable-recovery "$@"
}
