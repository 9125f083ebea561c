#!/bin/sh
# SPDX-License-Identifier: MIT
# Description: the sandbox ICF as an operator meets it through xos-run:
# listed with isolation syscalls and the restricted feature, with
# mechanisms to every ICF but never tcp; the example program gives the
# same answers under --icf=sandbox (its parser's crash contained there);
# --policy=isolation leaves EFs that do not ask for syscall isolation in
# processes.  Skips (77) when the sandbox is unavailable here.
set -u
XOS_RUN=${XOS_RUN:-./xos-run}
DEMO=${DEMO:-./examples/ef-demo}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../checks.sh"

unset XOS_POLICY XOS_ICF XOS_EXPLAIN XOS_CHAN

"$XOS_RUN" --list-icfs >"$tmp/list" || { echo "not ok - --list-icfs failed"; exit 1; }
if grep -Eq "^sandbox +unavailable" "$tmp/list"; then
	echo "# SKIP sandbox unavailable: $(grep -A1 '^sandbox' "$tmp/list" | sed -n 's/.*reason: //p')"
	exit 77
fi
check "--list-icfs: sandbox available, isolation syscalls, restricted" \
	'grep -Eq "^sandbox +available +syscalls +own-fds,crash-contained,restricted" "$tmp/list"'
check "--list-icfs: ring, unix and pipe between sandbox and process" \
	'[ "$(grep -Ec "^process <-> sandbox +(ring|unix|pipe) " "$tmp/list")" -eq 3 ]'
check "--list-icfs: no tcp to or from the sandbox" '! grep -Eq "sandbox.* tcp " "$tmp/list"'

"$DEMO" | awk '{print $1, $NF}' | grep -v '^policy' >"$tmp/native"
"$XOS_RUN" --explain --icf=sandbox -- "$DEMO" >"$tmp/out" 2>"$tmp/err"; st=$?
awk '{print $1, $NF}' "$tmp/out" | grep -v '^policy' >"$tmp/answers"
check "demo under --icf=sandbox: exit 0, same answers" '[ $st -eq 0 ] && cmp -s "$tmp/native" "$tmp/answers"'
check "demo under --icf=sandbox: every EF in the sandbox" '[ "$(grep -c "ran in sandbox" "$tmp/out")" -eq 6 ]'
check "demo under --icf=sandbox: parser crash contained" \
	'grep -q "^parser-bad .*sandbox.*killed by signal 11" "$tmp/out"'
check "demo under --icf=sandbox: forced, explained" \
	'[ "$(grep -c "\-> sandbox: forced (XOS_ICF=sandbox)" "$tmp/err")" -eq 6 ]'
"$XOS_RUN" --explain --policy=isolation -- "$DEMO" >"$tmp/out" 2>"$tmp/err"
check "isolation policy: workers stay in processes" '[ "$(grep -c "^worker. *ran in process" "$tmp/out")" -eq 4 ]'
check "isolation policy: says why not the sandbox" \
	'grep -q "sandbox (restricted, and the EF asks only for isolation none)" "$tmp/err"'

checks_done
