#!/bin/sh
# SPDX-License-Identifier: MIT
# Description: xos as installed, not as built: the EF example compiled
# against the installed headers and library found through pkg-config, a
# legacy program run under the installed xos-run with --stats showing
# that the installed shim was preloaded, every exported function with an
# installed man page, and every installed man page formatted without a
# warning (groff -ww, and man -l where man-db is installed).
#
# Run by `make installcheck` on a `make install DESTDIR=...` of the build
# tree, and by `./quickstart.sh package` on the installed Debian packages.
# Environment:
#   ROOT      where the tree was installed ("" for the machine itself)
#   bindir includedir libdir pkglibdir pkglibexecdir mandir   the configured paths
#   SRCDIR    the source tree (for examples/ef-demo.c)
#   CC        the compiler (default cc)
set -u
: "${ROOT=}" "${SRCDIR:?}" "${bindir:?}" "${includedir:?}" "${libdir:?}" "${pkglibdir:?}" "${pkglibexecdir:?}" "${mandir:?}"
CC=${CC:-cc}
LC_ALL=C.UTF-8
export LC_ALL
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$SRCDIR/test/checks.sh"
unset XOS_SHIM XOS_RUN_FULL XOS_POLICY XOS_ICF XOS_CHAN XOS_EXPLAIN
if [ -n "$ROOT" ]; then
	# A staged install: its library first, its xos.pc with paths under ROOT.
	LD_LIBRARY_PATH=$ROOT$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
	PKG_CONFIG_SYSROOT_DIR=$ROOT
	PKG_CONFIG_LIBDIR=$ROOT$libdir/pkgconfig
	export LD_LIBRARY_PATH PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR
fi
xos_run=$ROOT$bindir/xos-run
shim=$ROOT$pkglibdir/libxos-shim.so
lib=$ROOT$libdir/libxos.so

# ---- the layout ----
check "xos-run installed in $bindir" '[ -x "$xos_run" ]'
check "libxos-shim.so installed in $pkglibdir" '[ -r "$shim" ]'
soname=$(readelf -d "$lib" 2>/dev/null | sed -n 's/.*soname: \[\(.*\)\]/\1/p')
check "libxos.so -> $soname, in $libdir" '[ -n "$soname" ] && [ -r "$ROOT$libdir/$soname" ]'
check "headers installed in $includedir" '[ -r "$ROOT$includedir/xos.h" ] && [ -r "$ROOT$includedir/xos/ef.h" ]'

# ---- an EF program against the installed headers, via pkg-config ----
cflags=$(pkg-config --cflags xos 2>"$tmp/pc.err") && libs=$(pkg-config --libs xos 2>>"$tmp/pc.err"); st=$?
check "pkg-config --cflags --libs xos ($cflags ${libs:-}$(cat "$tmp/pc.err"))" '[ $st -eq 0 ]'
check "pkg-config points at the installed headers" \
	'[ "$(pkg-config --variable=includedir xos)" = "$ROOT$includedir" ] || [ "$(pkg-config --variable=includedir xos)" = "$includedir" ]'
for h in xos.h xos/common.h xos/ef.h xos/chan.h; do
	printf '#include <%s>\nint main(void) { return 0; }\n' "$h" >"$tmp/h.c"
	# shellcheck disable=SC2086
	check "<$h> compiles on its own with the installed headers" \
		'"$CC" -std=c11 -Wall -Werror $cflags -c "$tmp/h.c" -o "$tmp/h.o"'
done
# shellcheck disable=SC2086
"$CC" -Wall -o "$tmp/ef-demo" "$SRCDIR/examples/ef-demo.c" $cflags $libs 2>"$tmp/cc.err"; st=$?
check "examples/ef-demo.c builds with \$(pkg-config --cflags --libs xos) ($(head -n 3 "$tmp/cc.err"))" '[ $st -eq 0 ]'
linked=$(ldd "$tmp/ef-demo" | sed -n 's/.*libxos\.so[^ ]* => \([^ ]*\) .*/\1/p')
check "ef-demo is linked to the installed libxos ($linked)" \
	'[ -n "$linked" ] && [ "$(readlink -f "$linked")" = "$(readlink -f "$ROOT$libdir/$soname")" ]'
"$tmp/ef-demo" >"$tmp/demo.out" 2>&1; st=$?
check "ef-demo runs: workers in EFs, the bad parser's crash contained" \
	'[ $st -eq 0 ] && grep -q "^parser-ok .*exited with 42" "$tmp/demo.out" && grep -q "^parser-bad .*(contained)" "$tmp/demo.out"'
"$xos_run" --explain --policy=isolation -- "$tmp/ef-demo" >"$tmp/demo.out" 2>"$tmp/demo.err"; st=$?
check "ef-demo under the installed xos-run --explain --policy=isolation" \
	'[ $st -eq 0 ] && grep -q "policy: isolation" "$tmp/demo.out" && [ -s "$tmp/demo.err" ]'
# A static xos-run hands the actions that need libxos to xos-run-full
# (installed in $pkglibexecdir; a staged one is named, its baked path is
# outside ROOT).
if [ -n "$ROOT" ] && [ -x "$ROOT$pkglibexecdir/xos-run-full" ]; then
	XOS_RUN_FULL=$ROOT$pkglibexecdir/xos-run-full
	export XOS_RUN_FULL
fi
"$xos_run" --list-icfs >"$tmp/icfs" 2>&1; st=$?
check "the installed xos-run --list-icfs: exit 0, the thread and process ICFs ($(head -n 1 "$tmp/icfs"))" \
	'[ $st -eq 0 ] && grep -q "^thread " "$tmp/icfs" && grep -q "^process " "$tmp/icfs"'
unset XOS_RUN_FULL

# ---- a legacy program under the installed xos-run and shim ----
if [ -n "$ROOT" ]; then
	# The baked path is $(pkglibdir)'s, outside ROOT: name the staged shim.
	# Unset, the installed xos-run looks where configure put it.
	if [ -e "$pkglibdir/libxos-shim.so" ]; then
		check "XOS_SHIM unset: the shim of $pkglibdir (configure's) is found" \
			'"$xos_run" --stats="$tmp/j0" -- true && grep -q "\"icf\": \"process\"" "$tmp/j0"'
	else
		"$xos_run" --explain -- true 2>"$tmp/e0"
		check "XOS_SHIM unset: xos-run looks in configure's $pkglibdir" \
			'grep -q "not at $pkglibdir/libxos-shim.so" "$tmp/e0"'
	fi
	XOS_SHIM=$shim
	export XOS_SHIM
fi
(cd / && "$xos_run" --stats -- sh -c 'echo legacy | cat' >"$tmp/legacy.out" 2>"$tmp/legacy.err"); st=$?
check "sh -c 'echo legacy | cat' under the installed xos-run --stats: exit 0, same output" \
	'[ $st -eq 0 ] && [ "$(cat "$tmp/legacy.out")" = legacy ]'
check "... the shim loaded: its stats list the three processes and the pipe" \
	'grep -q "^xos-run: execution flows (3)" "$tmp/legacy.err" && grep -Eq "^  chan 0 +pipe" "$tmp/legacy.err"'
[ -s "$tmp/legacy.err" ] && sed 's/^/#   /' "$tmp/legacy.err"
unset XOS_SHIM

# ---- man pages ----
# Every exported function of the installed library has its page.
: >"$tmp/nopage"
for f in $(nm -D --defined-only "$ROOT$libdir/$soname" | awk '$3 ~ /^xos_/ {sub(/@.*/, "", $3); print $3}'); do
	[ -e "$ROOT$mandir/man3/$f.3" ] || [ -e "$ROOT$mandir/man3/$f.3.gz" ] || echo "$f" >>"$tmp/nopage"
done
check "every exported xos_* function has an installed page in man3" '[ ! -s "$tmp/nopage" ]'
[ -s "$tmp/nopage" ] && sed 's/^/#   no page: /' "$tmp/nopage"
check "xos-run(1), xos(7), xos-shim(7) are installed" \
	'for p in man1/xos-run.1 man7/xos.7 man7/xos-shim.7; do [ -e "$ROOT$mandir/$p" ] || [ -e "$ROOT$mandir/$p.gz" ] || exit 1; done'
: >"$tmp/manwarn"
n=0
for page in "$ROOT$mandir"/man1/xos* "$ROOT$mandir"/man3/xos* "$ROOT$mandir"/man7/xos*; do
	[ -e "$page" ] || continue
	n=$((n + 1))
	# .so stubs name their target relative to the top of the man tree.
	(cd "$ROOT$mandir" && zcat -f "$page" | groff -ww -z -man) >"$tmp/w" 2>&1 ||
		echo "groff failed" >>"$tmp/w"
	if command -v man >/dev/null 2>&1 && man --version >/dev/null 2>&1; then
		(cd "$ROOT$mandir" && MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null) >>"$tmp/w"
	fi
	[ -s "$tmp/w" ] && sed "s|^|$page: |" "$tmp/w" >>"$tmp/manwarn"
done
check "all $n installed man pages format with no warning (groff -ww -z, man -l --warnings)" \
	'[ "$n" -gt 0 ] && [ ! -s "$tmp/manwarn" ]'
[ -s "$tmp/manwarn" ] && sed 's/^/#   /' "$tmp/manwarn" | head -n 40
checks_done
