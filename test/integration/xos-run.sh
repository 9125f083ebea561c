#!/bin/sh
# SPDX-License-Identifier: MIT
# Description: xos-run as a user meets it: help, version, --list-icfs,
# one clear line and exit status 2 for every bad invocation, 126/127 for
# programs it cannot run, and the example program giving the same answers
# under every policy and ICF while --explain says what was chosen.
set -u
XOS_RUN=${XOS_RUN:-./xos-run}
DEMO=${DEMO:-./examples/ef-demo}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../checks.sh"

unset XOS_POLICY XOS_ICF XOS_EXPLAIN

# Expect exit status $1 and exactly one line on stderr starting "xos-run: ".
expect_error() {
	want=$1; shift
	"$XOS_RUN" "$@" >"$tmp/out" 2>"$tmp/err"; got=$?
	lines=$(wc -l <"$tmp/err")
	if [ "$got" -eq "$want" ] && [ "$lines" -eq 1 ] && grep -q '^xos-run: ' "$tmp/err" && [ ! -s "$tmp/out" ]; then
		ok "xos-run $* -> $want: $(cat "$tmp/err")"
	else
		bad "xos-run $* -> status $got (want $want), $lines stderr lines: $(cat "$tmp/err")"
	fi
}

check "--help exits 0 with usage" '"$XOS_RUN" --help >"$tmp/h" && grep -q "^Usage: xos-run" "$tmp/h"'
check "--version" '"$XOS_RUN" --version | grep -q "^xos-run (xos) [0-9]"'
"$XOS_RUN" --list-icfs >"$tmp/list"; st=$?
check "--list-icfs exits 0" '[ $st -eq 0 ]'
check "--list-icfs: thread available, isolation none, shared-memory" \
	'grep -Eq "^thread +available +none +shared-memory" "$tmp/list"'
check "--list-icfs: process available, isolation memory, pivot" \
	'grep -Eq "^process +available +memory +own-fds,crash-contained,pivot" "$tmp/list"'
check "--list-icfs: mechanisms between ICF pairs" 'grep -Eq "^thread <-> thread +ring" "$tmp/list"'
"$XOS_RUN" --list-mechs >"$tmp/mechs"; st=$?
check "--list-mechs: exit 0, the four built-in mechanisms listed" \
	'[ $st -eq 0 ] && [ "$(grep -Ec "^(ring|pipe|unix|tcp) +[0-9]+ " "$tmp/mechs")" -eq 4 ]'
"$XOS_RUN" --list-mechs -- /bin/true 2>"$tmp/err"; st=$?
check "--list-mechs with a program: exit 2, one line" '[ $st -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ]'

expect_error 2 --policy=fastest "$DEMO"
expect_error 2 --policy "$DEMO"
expect_error 2 --policy=
expect_error 2 --icf=warp "$DEMO"
expect_error 2 --icf=NOT/valid "$DEMO"
expect_error 2 --bogus
expect_error 2 -x
expect_error 2
expect_error 2 --explain
expect_error 127 ./no-such-program-here
: >"$tmp/notexec"
expect_error 126 "$tmp/notexec"

# The example gives the same answers whatever hosts its EFs.
"$DEMO" | awk '{print $1, $NF}' | grep -v '^policy' >"$tmp/native"
check "demo runs natively" '[ -s "$tmp/native" ] && ! grep -q error "$tmp/native"'
for opt in --policy=perf --policy=balanced --policy=isolation --icf=thread --icf=process; do
	"$XOS_RUN" --explain $opt -- "$DEMO" >"$tmp/out" 2>"$tmp/err"; st=$?
	awk '{print $1, $NF}' "$tmp/out" | grep -v '^policy' >"$tmp/answers"
	check "demo under $opt: exit 0, same answers" '[ $st -eq 0 ] && cmp -s "$tmp/native" "$tmp/answers"'
	check "demo under $opt: one explanation per EF" '[ "$(grep -c "^xos: ef [0-9]* \"" "$tmp/err")" -eq 6 ]'
	check "demo under $opt: parser crash contained" 'grep -q "^parser-bad .*process.*killed by signal 11" "$tmp/out"'
done
"$XOS_RUN" --policy=isolation -- "$DEMO" >"$tmp/out" 2>&1
check "isolation policy puts workers in processes" '[ "$(grep -c "^worker. *ran in process" "$tmp/out")" -eq 4 ]'
"$XOS_RUN" --policy=perf -- "$DEMO" >"$tmp/out" 2>&1
check "perf policy puts workers in threads" '[ "$(grep -c "^worker. *ran in thread" "$tmp/out")" -eq 4 ]'
"$XOS_RUN" --explain --icf=thread -- "$DEMO" >/dev/null 2>"$tmp/err"
check "forcing thread never weakens a parser that needs memory isolation" \
	'grep -q "parser-ok.*-> process: forced ICF thread not usable here (isolation none < memory)" "$tmp/err"'
check "no explanation without --explain" '! "$XOS_RUN" -- "$DEMO" 2>&1 >/dev/null | grep -q "^xos:"'
# The program's fd table is the one it would have natively: nothing of
# xos-run's (its area's file, a pipe) leaks into it, under any option.
sh -c 'ls /proc/$$/fd' >"$tmp/fds-native" 2>&1
for opt in --policy=perf --stats; do
	"$XOS_RUN" $opt -- sh -c 'ls /proc/$$/fd' >"$tmp/fds" 2>/dev/null
	check "xos-run $opt: the program's fds are the native ones ($(tr '\n' ' ' <"$tmp/fds"))" \
		'cmp -s "$tmp/fds-native" "$tmp/fds"'
done
XOS_POLICY=fastest "$DEMO" >/dev/null 2>"$tmp/err"; st=$?
check "a bad XOS_POLICY makes EF creation fail, not guess" '[ $st -ne 0 ] && grep -q "Invalid argument" "$tmp/err"'

checks_done
