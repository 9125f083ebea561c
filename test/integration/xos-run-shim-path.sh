#!/bin/sh
# SPDX-License-Identifier: MIT
# Description: xos-run finds the shim it belongs with, never silently
# none: the build tree's xos-run preloads the build tree's shim with
# XOS_SHIM unset, from any directory; XOS_SHIM names another one, and a
# XOS_SHIM that is not a readable file is one line and exit status 2; an
# xos-run away from its build tree and its installed shim refuses --stats
# (one line, exit 2) and otherwise says that the program runs
# unmanaged, with or without --explain.  (The installed xos-run and shim: make installcheck.)
set -u
XOS_RUN=${XOS_RUN:-./xos-run}
abs_run=$(cd "$(dirname "$XOS_RUN")" && pwd)/$(basename "$XOS_RUN")
builddir=$(dirname "$abs_run")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../checks.sh"
unset XOS_SHIM XOS_POLICY XOS_ICF XOS_EXPLAIN

[ -r "$builddir/.libs/libxos-shim.so" ] || { echo "SKIP: no shim built in $builddir/.libs"; exit 77; }

# A legacy program whose shim stats are known: a shell, a child, a pipe.
(cd / && "$abs_run" --stats="$tmp/stats.json" -- sh -c 'echo hi | cat' >"$tmp/out" 2>"$tmp/err"); st=$?
check "build tree xos-run, XOS_SHIM unset, run from /: exit 0" '[ $st -eq 0 ] && [ "$(cat "$tmp/out")" = hi ]'
check "... the build tree's shim recorded the processes and the pipe" \
	'grep -q "\"icf\": \"process\"" "$tmp/stats.json" && grep -q "\"kind\": \"pipe\"" "$tmp/stats.json"'

XOS_SHIM=$builddir/.libs/libxos-shim.so "$abs_run" --stats="$tmp/s2.json" -- true; st=$?
check "XOS_SHIM names the shim: it is preloaded" '[ $st -eq 0 ] && grep -q "\"icf\": \"process\"" "$tmp/s2.json"'

for bad in /nonexistent/libxos-shim.so "$tmp"; do
	XOS_SHIM=$bad "$abs_run" -- true >"$tmp/out" 2>"$tmp/err"; st=$?
	check "XOS_SHIM=$bad: exit 2, one line naming it ($(cat "$tmp/err"))" \
		'[ $st -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "^xos-run: XOS_SHIM=$bad: " "$tmp/err" && [ ! -s "$tmp/out" ]'
done

# The real binary, moved out of the build tree (libxos still from it).
# xos-run links no libtool library: the build tree's is the binary itself
# (a .libs/xos-run left by an older build is stale, so look at it only when
# xos-run is a libtool wrapper).
if head -c 4 "$abs_run" | grep -q ELF; then
	real=$abs_run
else
	real=$builddir/.libs/xos-run
	[ -x "$real" ] || real=$builddir/.libs/lt-xos-run
fi
installed=$(strings "$real" 2>/dev/null | grep '^/.*/libxos-shim\.so$' | head -n 1)
if [ -x "$real" ] && [ -n "$installed" ] && [ ! -e "$installed" ]; then
	mkdir "$tmp/bin" && cp "$real" "$tmp/bin/xos-run"
	LD_LIBRARY_PATH=$builddir/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
		"$tmp/bin/xos-run" --stats -- true >"$tmp/out" 2>"$tmp/err"; st=$?
	check "no shim anywhere: --stats is one line, exit 2 ($(cat "$tmp/err"))" \
		'[ $st -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "^xos-run: .*libxos-shim" "$tmp/err"'
	LD_LIBRARY_PATH=$builddir/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
		"$tmp/bin/xos-run" --explain -- true >"$tmp/out" 2>"$tmp/err"; st=$?
	check "no shim anywhere: --explain says it runs unmanaged, at $installed" \
		'[ $st -eq 0 ] && grep -q "^xos-run: no libxos-shim.so (not at $installed.*unmanaged" "$tmp/err"'
	"$tmp/bin/xos-run" -- true >"$tmp/out" 2>"$tmp/err"; st=$?
	check "no shim anywhere: a plain run says so too, in one line" \
		'[ $st -eq 0 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "^xos-run: no libxos-shim.so (not at $installed.*unmanaged" "$tmp/err"'
else
	echo "# skipped the no-shim cases: the installed shim ${installed:-?} exists, or no real binary"
fi
checks_done
