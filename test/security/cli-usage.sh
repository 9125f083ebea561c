#!/bin/sh
# SPDX-License-Identifier: MIT
# Description: every bad xos-run invocation is refused before anything runs:
# exit status 2, exactly one line on stderr, nothing on stdout, and the
# program not started.  In particular --stats=FILE is opened before the
# program runs (a file that cannot be written used to be noticed only at
# the end, with exit 0), and --restore or --list-icfs combined with another
# action or followed by arguments is an error, not silently dropped.
set -u
XOS_RUN=${XOS_RUN:-./xos-run}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../checks.sh"
unset XOS_POLICY XOS_ICF XOS_EXPLAIN XOS_CHAN

if [ -z "${XOS_SHIM:-}" ] || [ ! -r "$XOS_SHIM" ]; then
	echo "SKIP: no libxos-shim.so (XOS_SHIM)"
	exit 77
fi
export XOS_SHIM

# bad ARG...: status 2, one "xos-run: " line, no output, the marker program not run.
bad_call() {
	rm -f "$tmp/ran"
	"$XOS_RUN" "$@" >"$tmp/out" 2>"$tmp/err"; got=$?
	lines=$(wc -l <"$tmp/err")
	if [ "$got" -eq 2 ] && [ "$lines" -eq 1 ] && grep -q '^xos-run: ' "$tmp/err" && [ ! -s "$tmp/out" ] &&
	   [ ! -e "$tmp/ran" ]; then
		ok "xos-run $* -> 2: $(cat "$tmp/err")"
	else
		bad "xos-run $* -> status $got, $lines stderr lines, ran: $([ -e "$tmp/ran" ] && echo yes || echo no): $(cat "$tmp/err")"
	fi
}

run="touch $tmp/ran"
: >"$tmp/image"
bad_call --stats=/nonexistent/x -- $run
bad_call --stats="$tmp" -- $run
bad_call --stats= -- $run
bad_call --policy=perf --stats=/nonexistent/dir/x -- $run
bad_call
bad_call --
bad_call --bogus -- $run
bad_call -x -- $run
bad_call --policy -- $run
bad_call --policy=fastest -- $run
bad_call --icf=warp -- $run
bad_call --chan=carrier-pigeon -- $run
bad_call --explain=yes -- $run
bad_call --list-icfs=all
bad_call --list-icfs -- $run
bad_call --list-icfs --stats
bad_call --list-icfs --restore="$tmp/image"
bad_call --restore="$tmp/image" -- $run
bad_call --restore="$tmp/image"
bad_call --restore="$tmp/image" --stats
bad_call --restore="$tmp/image" --stats="$tmp/s.json"
bad_call --restore=
bad_call --restore

# The good path still works and writes the file it opened first.
"$XOS_RUN" --stats="$tmp/s.json" -- $run >/dev/null 2>&1; st=$?
check "--stats=FILE with a writable FILE: exit 0, program ran, JSON written" \
	'[ $st -eq 0 ] && [ -e "$tmp/ran" ] && grep -q "\"efs\"" "$tmp/s.json"'
"$XOS_RUN" --stats="$tmp/s.json" -- sh -c 'exit 3' >/dev/null 2>&1; st=$?
check "the program's own status passes through (3)" '[ $st -eq 3 ]'

checks_done
