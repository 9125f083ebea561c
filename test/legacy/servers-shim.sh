#!/bin/sh
# SPDX-License-Identifier: MIT
# Description: the shim paths real servers take, each with a legacy program
# run natively and under xos-run --policy=perf (same output), and what
# --stats says became of its channels:
#  - sendfile-ring: a file sent with sendfile64 between a header and a
#    trailer, over a socketpair, loopback TCP (once the server accepted and
#    said so with one byte) and a pipe: the file's bytes
#    go through the ring, the channels stay on it; without perf, the
#    kernel's sendfile bytes are counted on the channel;
#  - fortify-ring: a program built with _FORTIFY_SOURCE reads a ring fd
#    (__read_chk, __recv_chk, __recvfrom_chk): the bytes come from the ring.
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

# same NAME: native and --policy=perf runs of the program NAME; the perf
# run's report is left in $tmp/NAME.json.
same() {
	timeout 30 "$LEGACY_DIR/$1" >"$tmp/$1.native" 2>&1; want=$?
	timeout 30 "$XOS_RUN" --policy=perf --stats="$tmp/$1.json" -- "$LEGACY_DIR/$1" >"$tmp/$1.perf" 2>&1; got=$?
	if [ "$got" -eq "$want" ] && [ "$want" -eq 0 ] && cmp -s "$tmp/$1.native" "$tmp/$1.perf"; then
		ok "$1: same output natively and under --policy=perf"
	else
		bad "$1: exit $got (native $want)"
		diff "$tmp/$1.native" "$tmp/$1.perf" | head -n 20
	fi
}
json() { python3 -c "import json,sys; d=json.load(open('$tmp/$1.json')); c=d['channels']; $2"; }

same sendfile-ring
check "sendfile-ring: every byte, none wrong, file offsets as the kernel's" \
	"[ \$(grep -c ': 300048 bytes, 0 wrong' '$tmp/sendfile-ring.native') -eq 3 ] && [ \$(grep -c 'sender exit 0' '$tmp/sendfile-ring.native') -eq 3 ]"
check "sendfile-ring: the socketpair, TCP and pipe stay on their rings, the file's bytes through them" \
	'json sendfile-ring "m=[x for x in c if x[\"ring_bytes\"]+x[\"kernel_bytes_written\"]+x[\"kernel_bytes_before_ring\"] > 1]; assert len(m)==3 and all(x[\"upgraded\"]==1 and x[\"downgraded\"]==0 and not x[\"kernel_bytes_written\"] and x[\"ring_bytes\"]+x[\"kernel_bytes_before_ring\"]==300048 for x in m), m"'
timeout 30 "$XOS_RUN" --stats="$tmp/plain.json" -- "$LEGACY_DIR/sendfile-ring" >/dev/null 2>&1
check "sendfile-ring without perf: the kernel's sendfile bytes are counted on their channels" \
	'json plain "assert sum(x[\"kernel_bytes_written\"] for x in c)==3*300048+1, [x[\"kernel_bytes_written\"] for x in c]"'

if command -v nm >/dev/null 2>&1; then
	check "fortify-ring calls __read_chk, __recv_chk and __recvfrom_chk (else it tests nothing)" \
		"[ \$(nm -D '$LEGACY_DIR/fortify-ring' | grep -c -e ' U __read_chk@' -e ' U __recv_chk@' -e ' U __recvfrom_chk@') -eq 3 ]"
fi
same fortify-ring
check "fortify-ring: __read_chk, __recv_chk, __recvfrom_chk read every line" \
	"grep -qx 'read, recv, recvfrom: 3 of 3 lines' '$tmp/fortify-ring.native'"
check "fortify-ring: the lines came through the ring, which stayed" \
	'json fortify-ring "x=c[0]; assert x[\"upgraded\"]==1 and x[\"downgraded\"]==0 and x[\"ring_bytes\"]==45, x"'
checks_done
