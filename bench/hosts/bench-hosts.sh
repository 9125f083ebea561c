#!/bin/sh
# SPDX-License-Identifier: MIT
# make bench-hosts: a channel between two hosts against raw TCP between the
# same two hosts (network namespaces on a bridge, 198.18.0.0/15 only).
# Rounds A B A B (A: xos under mpirun, an EF on host b and a channel to it;
# B: raw TCP, the same exchanges); each round's ratio to the raw round next
# to it; the median and the spread (min..max) of those ratios:
#   hosts_rtt_ratio     xos 8-byte round trip / raw TCP's   (goal <= 1.1)
#   hosts_stream_ratio  xos 64 KiB stream GB/s / raw TCP's  (goal >= 0.9)
# Needs BENCH (bench-hosts), XOS_RUN, TOP_SRCDIR; root, ip(8) and mpirun.
set -u
ROUNDS=${ROUNDS:-4} # A B pairs
INNER=${INNER:-3}   # repetitions inside one run (the program reports their median)
# Where it cannot run, it says why and succeeds (make bench goes on).
[ "$(id -u)" -eq 0 ] || { echo "bench-hosts: skipped: needs root (network namespaces)"; exit 0; }
command -v mpirun >/dev/null 2>&1 || { echo "bench-hosts: skipped: no mpirun (openmpi-bin)"; exit 0; }
ldd "$BENCH" 2>/dev/null | grep -q libpmix || { echo "bench-hosts: skipped: libxos built without PMIx"; exit 0; }
. "$TOP_SRCDIR/test/hosts/netns.sh"
tmp=$(mktemp -d)
trap 'netns_down a b; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP
netns_up "$tmp" a b || { echo "bench-hosts: skipped: cannot make namespace hosts: $(cat "$tmp/why")"; exit 0; }

val() { sed -n "s/^$1 = //p" "$2" | head -n 1; }
r=0
while [ "$r" -lt "$ROUNDS" ]; do
	r=$((r + 1))
	NETNS_TIMEOUT=300 netns_mpirun "$tmp" a,b -n 2 "$XOS_RUN" -- "$BENCH" xos "$INNER" >"$tmp/x$r" 2>&1 ||
		{ grep -v 'PMIX ERROR' "$tmp/x$r"; exit 1; }
	ip netns exec "${pfx}b" "$BENCH" raw-serve 7412 "$INNER" >"$tmp/s$r" 2>&1 &
	srv=$!
	i=0
	until grep -q ready "$tmp/s$r" || [ $i -gt 50 ]; do sleep 0.1; i=$((i + 1)); done
	ip netns exec "${pfx}a" "$BENCH" raw "$net.2" 7412 "$INNER" >"$tmp/r$r" 2>&1 || { cat "$tmp/r$r"; exit 1; }
	wait $srv
	xr=$(val rtt_us "$tmp/x$r") rr=$(val rtt_us "$tmp/r$r")
	xs=$(val stream_gbps "$tmp/x$r") rs=$(val stream_gbps "$tmp/r$r")
	echo "round $r: xos rtt $xr us, stream $xs GB/s | raw TCP rtt $rr us, stream $rs GB/s"
	echo "$xr $rr $xs $rs" >>"$tmp/all"
done
awk '
function med(a, n,   i, j, t) {
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{ n++; rt[n] = $1 / $2; st[n] = $3 / $4; xr[n] = $1; rr[n] = $2; xs[n] = $3; rs[n] = $4
  if (n == 1 || rt[n] < rmin) rmin = rt[n]; if (n == 1 || rt[n] > rmax) rmax = rt[n]
  if (n == 1 || st[n] < smin) smin = st[n]; if (n == 1 || st[n] > smax) smax = st[n] }
END {
	printf "figure: hosts_xos_rtt = %.2f us\n", med(xr, n)
	printf "figure: hosts_raw_tcp_rtt = %.2f us\n", med(rr, n)
	printf "figure: hosts_rtt_ratio = %.3f x (spread %.3f..%.3f over %d rounds; goal <= 1.1)\n", med(rt, n), rmin, rmax, n
	printf "figure: hosts_xos_stream = %.3f GB/s\n", med(xs, n)
	printf "figure: hosts_raw_tcp_stream = %.3f GB/s\n", med(rs, n)
	printf "figure: hosts_stream_ratio = %.3f x (spread %.3f..%.3f over %d rounds; goal >= 0.9)\n", med(st, n), smin, smax, n
}' "$tmp/all"
