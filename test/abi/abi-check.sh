#!/bin/sh
# SPDX-License-Identifier: MIT
# Description: the ABI of libxos.so is what its map, its Debian symbols
# file and its man pages say it is.  Fails when the library exports a
# symbol (name@version) that debian/libxosN.symbols does not list or the
# other way round, when a function marked XOS_EXPORT in include/ is not
# exported (missing from src/libxos.map), when an exported xos_* function
# has no page man/man3/<name>.3 installed by make, or when the SONAME's N
# does not match the runtime package libxosN.
# Needs LIBXOS (the built .libs/libxos.so) and TOP_SRCDIR.
set -u
. "$TOP_SRCDIR/test/checks.sh"
LC_ALL=C
export LC_ALL
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

[ -r "$LIBXOS" ] || { echo "abi-check: no library at $LIBXOS" >&2; exit 99; }
command -v nm >/dev/null && command -v readelf >/dev/null || { echo "abi-check: needs nm and readelf (binutils)"; exit 77; }

# SONAME libxos.so.N <-> package libxosN and its symbols file.
soname=$(readelf -d "$LIBXOS" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
n=${soname#libxos.so.}
symbols=$TOP_SRCDIR/debian/libxos$n.symbols
check "SONAME is libxos.so.N ($soname)" '[ -n "$soname" ] && [ "$n" != "$soname" ] && [ -n "$n" ]'
check "debian/libxos$n.symbols exists" '[ -r "$symbols" ]'
check "the symbols file is for $soname in package libxos$n" \
	'head -n 1 "$symbols" 2>/dev/null | grep -q "^$soname libxos$n "'
check "debian/control builds package libxos$n" \
	'grep -q "^Package: libxos$n\$" "$TOP_SRCDIR/debian/control"'

# Exported: every defined dynamic symbol with its version (name@VER).
nm -D --defined-only --with-symbol-versions "$LIBXOS" | awk '{print $3}' |
	sed 's/@@*/@/; /@/!s/.*/&@&/' | sort -u >"$tmp/exported"
grep '^ ' "$symbols" 2>/dev/null | awk '{print $1}' | sort -u >"$tmp/listed"
if readelf -d "$LIBXOS" | grep -q 'NEEDED.*\[libasan\.so'; then
	# --enable-sanitizers: ASan owns malloc, so libxos leaves the C
	# library's names alone (XOS_SANITIZE in domain_alloc.c).
	echo "# sanitizer build: the interposed malloc family is not expected"
	grep -E '^(xos_|XOS_)' "$tmp/listed" >"$tmp/l2"; mv "$tmp/l2" "$tmp/listed"
fi
comm -23 "$tmp/exported" "$tmp/listed" >"$tmp/unlisted"
comm -13 "$tmp/exported" "$tmp/listed" >"$tmp/gone"
check "every export is in the symbols file" '[ ! -s "$tmp/unlisted" ]'
[ -s "$tmp/unlisted" ] && sed 's/^/#   exported, not in the symbols file: /' "$tmp/unlisted"
check "every symbol of the symbols file is exported" '[ ! -s "$tmp/gone" ]'
[ -s "$tmp/gone" ] && sed 's/^/#   in the symbols file, not exported: /' "$tmp/gone"
check "no export is unversioned" '! grep -q "@Base$" "$tmp/exported"'

# Declared public (XOS_EXPORT in include/) <-> exported.
sed 's/@.*//' "$tmp/exported" | sort -u >"$tmp/names"
find "$TOP_SRCDIR/include" -name '*.h' -exec cat {} + | grep 'XOS_EXPORT' | grep -v '#define' |
	sed -n 's/^.*XOS_EXPORT[^(]*[ *]\([A-Za-z_][A-Za-z0-9_]*\)[ ]*(.*/\1/p' | sort -u >"$tmp/declared"
comm -23 "$tmp/declared" "$tmp/names" >"$tmp/hidden"
check "every XOS_EXPORT function is exported (src/libxos.map)" '[ ! -s "$tmp/hidden" ]'
[ -s "$tmp/hidden" ] && sed 's/^/#   declared XOS_EXPORT, not exported: /' "$tmp/hidden"

# Exported functions <-> man pages.  The libc names libxos interposes
# (malloc...) are documented where it says so: a .BR name (3) in a page.
: >"$tmp/nopage"
for f in $(grep -v '^XOS_' "$tmp/names"); do
	case $f in
	xos_*)
		[ -r "$TOP_SRCDIR/man/man3/$f.3" ] && grep -q "man/man3/$f\.3" "$TOP_SRCDIR/Makefile.in" ||
			echo "$f" >>"$tmp/nopage" ;;
	*)
		grep -lq "^\.BR $f (3)" "$TOP_SRCDIR"/man/man3/xos_*.3 || echo "$f" >>"$tmp/nopage" ;;
	esac
done
check "every exported function has an installed man page" '[ ! -s "$tmp/nopage" ]'
[ -s "$tmp/nopage" ] && sed 's/^/#   no man page man\/man3\/NAME.3 in dist_man_MANS: /' "$tmp/nopage"
[ "$fail" -eq 0 ] || echo "# to export a function: its name in src/libxos.map (the node of the next
# release), ' NAME@NODE VERSION' in $symbols, and man/man3/NAME.3 in dist_man_MANS"
checks_done
