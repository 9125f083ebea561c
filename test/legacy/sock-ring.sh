#!/bin/sh
# SPDX-License-Identifier: MIT
# Description: socket operations on connections the shim keeps on rings
# (xos-run --policy=perf): shutdown in each direction, MSG_PEEK, FIONREAD
# and SIOCOUTQ, socket options and names, a non-blocking connect paired
# with accept4(SOCK_NONBLOCK | SOCK_CLOEXEC), answers written after the
# peer has gone (the ring ends with the connection), and 10,000 concurrent
# loopback connections between two managed processes.  Each program gives
# the same output natively and under the shim, and --stats shows every
# connection on a ring, never moved back.  Prints what the 10,000 idle
# connections cost in memory.
set -u
XOS_RUN=${XOS_RUN:-./xos-run}
XOS_SHIM=${XOS_SHIM:-./.libs/libxos-shim.so}
LEGACY_DIR=${LEGACY_DIR:-./test/legacy}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../checks.sh"
unset XOS_POLICY XOS_ICF XOS_EXPLAIN

if [ ! -r "$XOS_SHIM" ]; then
	echo "SKIP: no libxos-shim.so at $XOS_SHIM"
	exit 77
fi
export XOS_SHIM

# same NAME MODES PROG...: the native run, then the managed runs, compared;
# the perf run's --stats go to $tmp/s.json.
same() {
	name=$1 modes=$2; shift 2
	timeout 120 "$@" >"$tmp/native" 2>&1; want=$?
	for how in $modes; do
		case $how in
		preload) timeout 120 env LD_PRELOAD="$XOS_SHIM" "$@" >"$tmp/$how" 2>&1; got=$? ;;
		run) timeout 120 "$XOS_RUN" -- "$@" >"$tmp/$how" 2>&1; got=$? ;;
		perf) timeout 120 "$XOS_RUN" --policy=perf --stats="$tmp/s.json" -- "$@" >"$tmp/$how" 2>&1; got=$? ;;
		esac
		if [ "$got" -eq "$want" ] && cmp -s "$tmp/native" "$tmp/$how"; then
			ok "$name ($how): same output, exit $want"
		else
			bad "$name ($how): exit $got (native $want)"
			diff "$tmp/native" "$tmp/$how" | head -n 20
		fi
	done
}

json() { python3 -c "import json,sys; d=json.load(open('$tmp/s.json')); $1"; }
# on_rings N BYTES [KIND]: the N channels upgraded (of KIND, if given)
# stayed on rings and moved BYTES there (a TCP connection accepted after
# its client wrote: those first bytes through the kernel, counted apart).
on_rings() {
	json "c=[x for x in d['channels'] if x['upgraded'] and x['kind'] in '${3:-unix tcp}'.split()]; assert len(c)==$1, len(c); \
bad=[x for x in c if x['mechanism']!='ring' or x['downgraded'] or x['kernel_bytes_written']]; assert not bad, bad[:2]; \
n=sum(x['ring_bytes'] + x['kernel_bytes_before_ring'] for x in c); assert n==$2, n"
}

same "shutdown" "preload run perf" "$LEGACY_DIR/sock-shutdown"
check "shutdown: both socketpairs and both TCP connections stayed on rings" 'on_rings 6 21'
same "MSG_PEEK, FIONREAD, SIOCOUTQ" "preload run perf" "$LEGACY_DIR/sock-peek"
check "peek: the socketpair and the TCP connection stayed on rings" 'on_rings 3 36'
same "socket options and names" "preload run perf" "$LEGACY_DIR/sockopts"
check "sockopts: the socketpair and the TCP connection stayed on rings" 'on_rings 3 18'
same "non-blocking connect, accept4" "preload run perf" "$LEGACY_DIR/nb-connect"
check "nb-connect: the connection made non-blocking on both sides is on a ring" 'on_rings 2 13'
same "accept 200 ms after the client wrote" "preload run perf" "$LEGACY_DIR/late-accept"
check "late-accept: the three connections (6 ends) on rings to the end, every byte through them or (the requests written before the accept) counted apart" \
	'json "c=[x for x in d[\"channels\"] if x[\"kind\"]==\"tcp\" and x[\"ring_bytes\"]+x[\"kernel_bytes_written\"]+x[\"kernel_bytes_before_ring\"]]; assert len(c)==6, c; \
assert not [x for x in c if not x[\"upgraded\"] or x[\"downgraded\"] or x[\"mechanism\"]!=\"ring\" or x[\"kernel_bytes_written\"] or x[\"kernel_bytes_read\"]], c; \
assert sum(1 for x in c if x[\"kernel_bytes_before_ring\"]>=5000)>=2, c; \
assert sum(x[\"ring_bytes\"]+x[\"kernel_bytes_before_ring\"] for x in c)==4*25000+100+10000, c"'
same "answers to a peer that has gone" "preload run perf" "$LEGACY_DIR/peer-gone"
check "peer-gone: the rings ended with their connections, none moved back; only TCP took bytes, for nobody" \
	'json "c=[x for x in d[\"channels\"] if x[\"upgraded\"]]; assert len(c)==4, c; assert not [x for x in c if x[\"downgraded\"] or x[\"mechanism\"]!=\"ring\" or x[\"kernel_bytes_written\"]], c; \
e=sorted((x[\"kind\"], x[\"kernel_bytes_after_peer_closed\"]) for x in c if x[\"peer_closed\"]); assert [k for k, _ in e]==[\"pipe\", \"tcp\", \"unix\"] and e[1][1]>=240 and e[0][1]==e[2][1]==0, e"'

# 10,000 connections: natively and under perf only (each run makes them all).
same "10,000 connections" "perf" "$LEGACY_DIR/conn-10k"
check "10,000 connections: all 20,000 ends on rings, every echo through them" 'on_rings 20000 200000 tcp'
CONN_REPORT="$tmp/mem" "$XOS_RUN" --policy=perf -- "$LEGACY_DIR/conn-10k" >/dev/null 2>&1
if [ -s "$tmp/mem" ]; then
	sed 's/^/# /' "$tmp/mem"
	used=$(sed -n 's/.*area_used_kib=\([0-9]*\).*/\1/p' "$tmp/mem")
	check "10,000 idle connections use less than 16 KiB of the area each (${used:-?} KiB in all)" \
		'[ -n "$used" ] && [ "$used" -lt 160000 ]'
else
	bad "10,000 connections: no memory report"
fi

checks_done
