#!/bin/sh
# SPDX-License-Identifier: MIT
# Description: channels as an operator meets them through xos-run: the
# same program gives the same answer on every mechanism (--chan) and
# policy, --explain prints one line per channel decision saying why, and
# a bad --chan is one clear error.
set -u
XOS_RUN=${XOS_RUN:-./xos-run}
CHAN_DEMO=${CHAN_DEMO:-./examples/chan-demo}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../checks.sh"
unset XOS_POLICY XOS_ICF XOS_EXPLAIN XOS_CHAN

for mech in ring pipe unix tcp; do
	"$XOS_RUN" --explain --chan=$mech -- "$CHAN_DEMO" >"$tmp/out" 2>"$tmp/err"; st=$?
	check "--chan=$mech: exit 0, sum right, over $mech" \
		'[ $st -eq 0 ] && grep -q "^consumer: sum 5000050000 over $mech\$" "$tmp/out"'
	check "--chan=$mech: explained as forced" \
		'grep -q "^xos: chan \"numbers\" .*-> $mech: forced (XOS_CHAN=$mech)" "$tmp/err"'
done
"$XOS_RUN" --explain --policy=perf -- "$CHAN_DEMO" >"$tmp/out" 2>"$tmp/err"; st=$?
check "perf: cheapest mechanism (ring), explained with the costs" \
	'[ $st -eq 0 ] && grep -q "over ring" "$tmp/out" && grep -q "^xos: chan \"numbers\" (process <-> process) -> ring: policy perf: cheapest (cost: \*ring" "$tmp/err"'
"$XOS_RUN" --explain --policy=isolation -- "$CHAN_DEMO" >"$tmp/out" 2>"$tmp/err"; st=$?
check "isolation: kernel-mediated mechanism between processes" \
	'[ $st -eq 0 ] && grep -q "over unix" "$tmp/out" && grep -q "^xos: chan \"numbers\" .*-> unix: policy isolation: an end isolates memory: kernel-mediated" "$tmp/err"'
check "one line per channel decision" '[ "$(grep -c "^xos: chan " "$tmp/err")" -eq 1 ]'
"$XOS_RUN" --chan=warp -- "$CHAN_DEMO" >"$tmp/out" 2>"$tmp/err"; st=$?
check "--chan=warp: exit 2, one line" '[ $st -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "^xos-run: unknown mechanism" "$tmp/err"'
XOS_CHAN=warp "$CHAN_DEMO" >"$tmp/out" 2>"$tmp/err"; st=$?
check "a bad XOS_CHAN makes open fail, not guess" '[ $st -ne 0 ] && grep -q "Invalid argument" "$tmp/err"'
checks_done
