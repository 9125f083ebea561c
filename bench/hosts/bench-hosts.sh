#!/bin/sh
# SPDX-License-Identifier: MIT
# make bench-hosts: a channel between two hosts against raw TCP between the
# same two hosts (network namespaces on a bridge, 198.18.0.0/15 only).
# Rounds A B A B (A: xos under mpirun, an EF on host b and a channel to it;
# B: raw TCP, the same exchanges); each round's ratio to the raw round next
# to it; the median and the spread (min..max) of those ratios:
#   hosts_rtt_ratio     xos 8-byte round trip / raw TCP's   (goal <= 1.1)
#   hosts_stream_ratio  xos 64 KiB stream GB/s / raw TCP's  (goal >= 0.9)
# Then migration, rounds A B (A: a domain EF of 1, 64 and 256 MiB moved to
# host b and back under mpirun --fixed-layout, its image restored locally,
# an echo EF's round trip before, while and after it is away; B: raw TCP's
# stream rate between the same namespaces):
#   migrate_64MiB_ratio  migration time / (image bytes at the raw TCP rate +
#                        the local restore)                 (goal <= 1.5)
#   migrate_64MiB_vs_floor  the same against raw TCP received into fresh
#                        memfd pages (what an eager arrival must do at least)
#   migrate_64MiB_vs_eager  migration time / (image bytes at the raw TCP rate
#                        + an eager local restore: the same two pieces of work
#                        as the move, every page in before the EF runs, one
#                        after the other instead of overlapped)
#   colocated_rtt_us     round trip once the EF is back     (goal: the ring's)
#   echo_move_ms         the moves of that echo EF, asleep in its receive
# Needs BENCH (bench-hosts), XOS_RUN, TOP_SRCDIR; root, ip(8) and mpirun.
set -u
ROUNDS=${ROUNDS:-7} # A B pairs (the stream ratio of one round swings 0.6-1.4x here)
MROUNDS=${MROUNDS:-7} # A B pairs of the migration part (its ratio swings with the raw rate of each round)
INNER=${INNER:-3}   # repetitions inside one run (the program reports their median)
# Where it cannot run, it says why and succeeds (make bench goes on).
[ "$(id -u)" -eq 0 ] || { echo "bench-hosts: skipped: needs root (network namespaces)"; exit 0; }
command -v mpirun >/dev/null 2>&1 || { echo "bench-hosts: skipped: no mpirun (openmpi-bin)"; exit 0; }
[ "${XOS_HAVE_PMIX:-no}" = yes ] || { echo "bench-hosts: skipped: libxos built without PMIx"; exit 0; }
. "$TOP_SRCDIR/test/hosts/netns.sh"
tmp=$(mktemp -d)
trap 'netns_down a b; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP
netns_up "$tmp" a b || { echo "bench-hosts: skipped: cannot make namespace hosts: $(cat "$tmp/why")"; exit 0; }

val() { sed -n "s/^$1 = //p" "$2" | head -n 1; }
# raw PORT ROUNDS OUT [pages]: raw TCP between the same namespaces (host b
# serves, host a drives), its figures in OUT; with "pages" the receiver
# also writes the stream into fresh memfd pages.
raw() {
	ip netns exec "${pfx}b" "$BENCH" raw-serve "$1" "$2" >"$3.s" 2>&1 &
	srv=$!
	i=0
	until grep -q ready "$3.s" || [ $i -gt 50 ]; do sleep 0.1; i=$((i + 1)); done
	ip netns exec "${pfx}a" "$BENCH" raw "$net.2" "$1" "$2" ${4:-} >"$3" 2>&1 || { cat "$3" >&2; return 1; }
	wait $srv
}
r=0
while [ "$r" -lt "$ROUNDS" ]; do
	r=$((r + 1))
	NETNS_TIMEOUT=300 netns_mpirun "$tmp" a,b -n 2 "$XOS_RUN" -- "$BENCH" xos "$INNER" >"$tmp/x$r" 2>&1 ||
		{ grep -v 'PMIX ERROR' "$tmp/x$r"; exit 1; }
	raw 7412 "$INNER" "$tmp/r$r" || exit 1
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

# ---- migration ----------------------------------------------------------------
r=0
while [ "$r" -lt "$MROUNDS" ]; do
	r=$((r + 1))
	NETNS_TIMEOUT=300 netns_mpirun "$tmp" a,b -n 2 -x XOS_RESTORE_EAGER=0 "$XOS_RUN" --fixed-layout -- "$BENCH" migrate 1 >"$tmp/m$r" 2>&1 ||
		{ grep -v 'PMIX ERROR' "$tmp/m$r"; exit 1; }
	raw 7413 1 "$tmp/mr$r" && raw 7414 1 "$tmp/mp$r" pages || exit 1
	rs=$(val stream_gbps "$tmp/mr$r") rp=$(val stream_gbps "$tmp/mp$r")
	for S in 1 64 256; do
		echo "$S $(val migrate_${S}MiB_out_ms "$tmp/m$r") $(val migrate_${S}MiB_back_ms "$tmp/m$r") $(val restore_${S}MiB_ms "$tmp/m$r") $(val image_${S}MiB_bytes "$tmp/m$r") $rs $rp $(val restore_${S}MiB_eager_ms "$tmp/m$r")" >>"$tmp/mall"
	done
	echo "$(val ring_rtt_us "$tmp/m$r") $(val moved_tcp_rtt_us "$tmp/m$r") $(val colocated_rtt_us "$tmp/m$r") $(val echo_move_out_ms "$tmp/m$r") $(val echo_move_back_ms "$tmp/m$r")" >>"$tmp/rall"
	echo "migration round $r: 64 MiB there $(val migrate_64MiB_out_ms "$tmp/m$r") ms, back $(val migrate_64MiB_back_ms "$tmp/m$r") ms, local restore $(val restore_64MiB_ms "$tmp/m$r") ms (eager $(val restore_64MiB_eager_ms "$tmp/m$r") ms) | raw TCP $rs GB/s, into fresh pages $rp GB/s"
done
awk '
function med(a, n,   i, j, t) {
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{ s = $1; k = ++n[s]
  out[s, k] = $2; back[s, k] = $3; rest[s, k] = $4; img[s] = $5; raw[s, k] = $6; rawp[s, k] = $7
  # what the move would cost at the raw rate: the bytes at raw TCP speed, then a local restore
  base = $5 / ($6 * 1e9) * 1e3 + $4
  rt[s, k] = ($2 + $3) / 2 / base
  # the floor of an eager arrival: the bytes received into fresh pages, then the same restore
  fl[s, k] = ($2 + $3) / 2 / ($5 / ($7 * 1e9) * 1e3 + $4)
  # the same work by hand, one piece after the other: the bytes at raw TCP speed, then an eager restore
  eg[s, k] = ($2 + $3) / 2 / ($5 / ($6 * 1e9) * 1e3 + $8); er[s, k] = $8
  rate[s, k] = $5 / ($2 * 1e6) }
END {
	split("1 64 256", sizes, " ")
	for (z = 1; z <= 3; z++) {
		s = sizes[z]; m = n[s]
		for (k = 1; k <= m; k++) { a[k] = out[s, k]; b[k] = back[s, k]; c[k] = rate[s, k]; d[k] = raw[s, k]; e[k] = rest[s, k] }
		printf "figure: migrate_%sMiB_ms = %.1f there, %.1f back (image %.1f MiB; local restore %.1f ms)\n", s, med(a, m), med(b, m), img[s] / 1048576, med(e, m)
		printf "figure: migrate_%sMiB_image_rate = %.3f GB/s (raw TCP between the same namespaces: %.3f GB/s)\n", s, med(c, m), med(d, m)
		lo = hi = rt[s, 1]
		for (k = 1; k <= m; k++) { f[k] = rt[s, k]; if (rt[s, k] < lo) lo = rt[s, k]; if (rt[s, k] > hi) hi = rt[s, k] }
		printf "figure: migrate_%sMiB_ratio = %.2f x (spread %.2f..%.2f over %d rounds%s)\n", s, med(f, m), lo, hi, m, s == 64 ? "; goal <= 1.5" : ""
		for (k = 1; k <= m; k++) { f[k] = fl[s, k]; d[k] = rawp[s, k] }
		printf "figure: migrate_%sMiB_vs_floor = %.2f x (the bytes received into fresh pages at %.3f GB/s, then the local restore)\n", s, med(f, m), med(d, m)
		lo = hi = eg[s, 1]
		for (k = 1; k <= m; k++) { f[k] = eg[s, k]; e[k] = er[s, k]; if (eg[s, k] < lo) lo = eg[s, k]; if (eg[s, k] > hi) hi = eg[s, k] }
		printf "figure: migrate_%sMiB_vs_eager = %.2f x (spread %.2f..%.2f; the bytes at the raw TCP rate, then an eager local restore of %.1f ms)\n", s, med(f, m), lo, hi, med(e, m)
	}
}' "$tmp/mall"
awk '
function med(a, n,   i, j, t) {
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{ n++; ring[n] = $1; tcp[n] = $2; col[n] = $3; q[n] = $3 / $1; eo[n] = $4; eb[n] = $5 }
END {
	printf "figure: colocated_rtt_us = %.2f us (ring before the EF moved: %.2f us, tcp while it was on host b: %.2f us; colocated/ring %.2f x over %d rounds; goal: the ring'"'"'s)\n", med(col, n), med(ring, n), med(tcp, n), med(q, n), n
	printf "figure: echo_move_ms = %.2f there, %.2f back (the echo EF asleep in xos_chan_recv, on a ring, then on tcp)\n", med(eo, n), med(eb, n)
}' "$tmp/rall"
