#!/bin/sh
# SPDX-License-Identifier: MIT
# Description: SIGTERM, SIGINT and SIGHUP sent to xos-run reach the
# program (which may handle them, as under a shell), xos-run ends with the
# program's status, and the run's shared area is gone afterwards.
set -u
XOS_RUN=${XOS_RUN:-./xos-run}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../checks.sh"
unset XOS_POLICY XOS_ICF XOS_EXPLAIN

for sig in TERM INT HUP; do
	rm -f "$tmp/out"
	# A background job starts with SIGINT ignored: give the run the default back.
	env --default-signal=INT "$XOS_RUN" --policy=perf -- sh -c "trap 'echo got $sig; exit 3' $sig; echo ready; while :; do sleep 0.05; done" >"$tmp/out" 2>&1 &
	run=$!
	for _ in $(seq 100); do grep -q ready "$tmp/out" 2>/dev/null && break; sleep 0.05; done
	# The area while the run lives, by the pid in its name.
	live=$(ls /dev/shm/xos-shim-$run-* /tmp/xos-shim-$run-* 2>/dev/null | wc -l)
	kill -$sig $run
	wait $run; st=$?
	left=$(ls /dev/shm/xos-shim-$run-* /tmp/xos-shim-$run-* 2>/dev/null | wc -l)
	check "SIG$sig to xos-run: the program handles it and exits 3 (got $st), the area existed ($live) and is gone ($left)" \
		'[ $st -eq 3 ] && grep -q "got $sig" "$tmp/out" && [ "$live" -eq 1 ] && [ "$left" -eq 0 ]'
done

# A program that does not handle it dies of it; xos-run reports the same signal.
"$XOS_RUN" -- sh -c 'echo ready; exec sleep 30' >"$tmp/out" 2>&1 &
run=$!
for _ in $(seq 100); do grep -q ready "$tmp/out" 2>/dev/null && break; sleep 0.05; done
sleep 0.1
kill -TERM $run
wait $run; st=$?
left=$(ls /dev/shm/xos-shim-$run-* /tmp/xos-shim-$run-* 2>/dev/null | wc -l)
check "SIGTERM to xos-run, unhandled: it dies of SIGTERM too (status $st), the area is gone ($left)" \
	'[ $st -eq 143 ] && [ "$left" -eq 0 ]'
checks_done
