#!/bin/sh
# SPDX-License-Identifier: MIT
# Description: an EF program on three hosts.  The hosts are network
# namespaces made here (veth pairs on a bridge, addresses in 198.18.0.0/15,
# the range reserved for benchmarking; nothing else but loopback is used),
# the launcher is Open MPI's mpirun with a remote-shell agent that enters
# the namespace named by the host.  Scenarios (test/hosts/hosts-prog.c):
# EFs spread over the hosts, exits and signals, named hosts; channels across
# hosts under traffic (sequenced messages, a 64 MiB stream, EOF); a
# connection without the launch's secret refused; hosts running another
# build refused; a killed host (its EFs lost, their channels EOF/EPIPE, the
# rest goes on); the MapReduce word_count over the three hosts, its output
# identical to the sequential reference.  Skips (77) when namespaces or mpirun are unavailable.
# Needs HOSTS_PROG, HOSTS_PROG_OTHER, XOS_RUN, MR_BIN, TOP_SRCDIR.
set -u
. "$TOP_SRCDIR/test/checks.sh"

skip() { echo "SKIP: $1"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "network namespaces need root"
command -v ip >/dev/null 2>&1 || skip "no ip(8) (iproute2)"
command -v mpirun >/dev/null 2>&1 || skip "no mpirun (openmpi-bin)"
[ -x "$HOSTS_PROG" ] || skip "hosts-prog not built"
ldd "$HOSTS_PROG" 2>/dev/null | grep -q libpmix || skip "libxos built without PMIx (configure --with-pmix)"

# Names and a /24 of our own, so that concurrent runs do not collide.
id=$(( $$ % 200 + 20 ))
pfx=xh$id
net=198.18.$id
tmp=$(mktemp -d)
cleanup() {
	for h in a b c; do
		ip netns del "$pfx$h" 2>/dev/null
		ip link del "${pfx}v$h" 2>/dev/null
	done
	ip link del "${pfx}br" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

ip link add "${pfx}br" type bridge 2>"$tmp/err" || skip "cannot make a bridge: $(cat "$tmp/err")"
ip addr add "$net.254/24" dev "${pfx}br" && ip link set "${pfx}br" up || skip "cannot address the bridge"
n=0
for h in a b c; do
	n=$((n + 1))
	ip netns add "$pfx$h" 2>"$tmp/err" || skip "cannot make a network namespace: $(cat "$tmp/err")"
	ip link add "${pfx}v$h" type veth peer name "${pfx}p$h" &&
		ip link set "${pfx}p$h" netns "$pfx$h" &&
		ip link set "${pfx}v$h" master "${pfx}br" up &&
		ip -n "$pfx$h" addr add "$net.$n/24" dev "${pfx}p$h" &&
		ip -n "$pfx$h" link set "${pfx}p$h" up &&
		ip -n "$pfx$h" link set lo up || skip "cannot wire namespace $pfx$h"
done

# mpirun's remote shell: "agent HOST COMMAND..." runs COMMAND in HOST's namespace,
# with a temporary directory of its own (the hosts share one file system and one
# host name, and Open MPI's daemons would race for the same session directory).
mkdir "$tmp/ta" "$tmp/tb" "$tmp/tc"
cat >"$tmp/agent" <<EOF
#!/bin/sh
h=\$1; shift
case \$h in a|b|c) ;; *) echo "agent: no host \$h" >&2; exit 1;; esac
exec ip netns exec $pfx\$h env TMPDIR=$tmp/t\$h sh -c "\$*"
EOF
chmod +x "$tmp/agent"

# run NAME PROGRAM-AND-ARGS...: mpirun over a,b,c; output in $tmp/NAME.
# rtc ^hwloc: Open MPI 4.1's daemons share a topology through a fixed-address
# mapping that crashed them (SIGSEGV in hwloc_shmem_topology_write) under load.
run() {
	name=$1
	shift
	timeout 180 mpirun --allow-run-as-root --oversubscribe --host a,b,c \
		--mca plm_rsh_agent "$tmp/agent" --mca oob_tcp_if_include "$net.0/24" --mca rtc ^hwloc \
		--enable-recovery -x XOS_HOST_PORT=7411 -x "FOREIGN=$net.2:7411" "$@" \
		>"$tmp/$name" 2>&1
	echo $? >"$tmp/$name.rc"
	grep -v 'PMIX ERROR' "$tmp/$name" | sed "s/^/# $name: /"
}
# each "ok - x" of the program becomes a check; a missing summary is a failure
tally() {
	name=$1
	grep -q '^# 0 failures$' "$tmp/$name" && [ "$(cat "$tmp/$name.rc")" = 0 ]
}

run basic -n 3 "$XOS_RUN" --policy=spread --explain -- "$HOSTS_PROG" basic
check "basic: EFs on three hosts, exits, signals, named hosts (mpirun status $(cat "$tmp/basic.rc"))" 'tally basic'
check "--explain says which host and why" \
	'grep -q "\-> host b, icf .* there: policy spread: fewest live EFs" "$tmp/basic"'
check "--explain on the host says which ICF it chose there" 'grep -q "^xos\[c\]: ef .* -> thread" "$tmp/basic"'

run chans -n 3 "$XOS_RUN" --policy=spread --explain -- "$HOSTS_PROG" chans
check "chans: sequenced messages, a stream and EOF across hosts" 'tally chans'
check "--explain: the channel to another host is tcp, and why" \
	'grep -q "chan \"echo\" (to host b) -> tcp: ends on different hosts" "$tmp/chans"'

run foreign -n 3 "$XOS_RUN" --policy=spread -- "$HOSTS_PROG" foreign
check "foreign: a connection without the launch's secret is refused" 'tally foreign'

run other -n 1 "$HOSTS_PROG" other : -n 2 "$HOSTS_PROG_OTHER" other
check "other: hosts running another build are refused (-ENOEXEC)" 'tally other'

run kill -n 3 "$XOS_RUN" --policy=spread --explain -- "$HOSTS_PROG" kill
check "kill: a killed host's EFs end lost, their channels EOF/EPIPE, the rest goes on" 'tally kill'

# The MapReduce suite's word_count over the three hosts.  Its EFs' arguments
# hold pointers to the program's functions: --fixed-layout gives every host the
# same addresses.
wc=${MR_BIN:-}/word_count
if [ -n "${MR_BIN:-}" ] && [ -x "$wc" ]; then
	mkdir "$tmp/wcdata"
	"$wc" gen "$tmp/wcdata" small >/dev/null && "$wc" run seq "$tmp/wcdata" "$tmp/wc.seq" 1 >/dev/null
	run wc -n 3 "$XOS_RUN" --fixed-layout --policy=spread --explain -- "$wc" run ef "$tmp/wcdata" "$tmp/wc.ef" 2
	check "word_count over three hosts: output identical to the sequential reference" \
		'[ "$(cat "$tmp/wc.rc")" = 0 ] && [ -s "$tmp/wc.seq" ] && cmp -s "$tmp/wc.seq" "$tmp/wc.ef"'
	check "word_count's maps and reducers ran on hosts b and c too" \
		'grep -q "word_count.map.* -> host [bc]" "$tmp/wc" && grep -q "word_count.reduce.* -> host [bc]" "$tmp/wc"'
else
	bad "word_count not built (MR_BIN=${MR_BIN:-unset})"
fi

# Without a launcher the same program is a program of one host.
XOS_POLICY=spread "$HOSTS_PROG" alone >"$tmp/alone" 2>&1
echo $? >"$tmp/alone.rc"
sed 's/^/# alone: /' "$tmp/alone"
check "without a launcher: one host" 'tally alone'
checks_done
