#!/bin/sh
# SPDX-License-Identifier: MIT
# Description: xos-run starts without probing the sandbox ICF (no new
# namespace, no throwaway sandbox) when no decision needs it, and still
# tells the truth about the sandbox when asked (--list-icfs, --explain,
# --icf=sandbox).  Counts namespace-creating syscalls with strace; no timing.
set -u
XOS_RUN=${XOS_RUN:-./xos-run}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../checks.sh"
unset XOS_POLICY XOS_ICF XOS_EXPLAIN

command -v strace >/dev/null 2>&1 || { echo "skip: strace not installed"; exit 77; }
# strace must be able to trace here (a container may forbid ptrace).
strace -f -o /dev/null /bin/true 2>/dev/null || { echo "skip: ptrace not permitted"; exit 77; }
# The libtool wrapper script would be traced too: trace the real binary.
BIN=$XOS_RUN
[ -x "$(dirname "$XOS_RUN")/.libs/xos-run" ] && BIN=$(dirname "$XOS_RUN")/.libs/xos-run
[ -d "$(dirname "$XOS_RUN")/.libs" ] && export LD_LIBRARY_PATH="$(dirname "$XOS_RUN")/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# Namespace creations (unshare, clone/clone3 with CLONE_NEW*) by xos-run and everything it starts.
# Sets n (the count) and st (the command's exit status).
ns_count() {
	strace -f -qq -e trace=clone,clone3,unshare -o "$tmp/trace" "$@" >"$tmp/out" 2>"$tmp/err"
	st=$?
	n=$(grep -c 'unshare(\|CLONE_NEW' "$tmp/trace")
}

ns_count "$BIN" --policy=perf -- /bin/true
check "--policy=perf -- /bin/true creates no namespace (saw $n)" '[ "$n" -eq 0 ] && [ "$st" -eq 0 ]'
ns_count "$BIN" -- /bin/true
check "default policy -- /bin/true creates no namespace (saw $n)" '[ "$n" -eq 0 ] && [ "$st" -eq 0 ]'
ns_count "$BIN" --policy=balanced -- /bin/true
check "--policy=balanced -- /bin/true creates no namespace (saw $n)" '[ "$n" -eq 0 ] && [ "$st" -eq 0 ]'

# --list-icfs probes: the sandbox line says what the probe found.
ns_count "$BIN" --list-icfs
cp "$tmp/out" "$tmp/list"
state=$(awk '$1 == "sandbox" && $2 != "<->" { print $2; exit }' "$tmp/list")
check "--list-icfs lists the sandbox (state '$state')" '[ "$state" = available ] || [ "$state" = unavailable ]'
check "--list-icfs probed the sandbox (saw $n namespace creations)" '[ "$n" -gt 0 ]'
# The listing agrees with what using the sandbox does.
"$BIN" --icf=sandbox -- /bin/true >"$tmp/out" 2>"$tmp/err"; st=$?
if [ "$state" = available ]; then
	check "--icf=sandbox runs when listed available (status $st)" '[ "$st" -eq 0 ]'
	grep -q '^sandbox.*ring' "$tmp/list"
	check "--list-icfs shows the sandbox's mechanisms" '[ $? -eq 0 ]'
else
	check "--icf=sandbox refused when listed unavailable (status $st)" '[ "$st" -eq 2 ] && grep -q unavailable "$tmp/err"'
fi
# --explain probes too: its lines name every candidate's state.
ns_count "$BIN" --explain --policy=perf -- /bin/true
check "--explain -- /bin/true runs (status $st)" '[ "$st" -eq 0 ]'
checks_done
