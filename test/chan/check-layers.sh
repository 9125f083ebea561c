#!/bin/sh
# SPDX-License-Identifier: MIT
# Description: the channel layer stays below the runtime.  Fails when a
# file of src/chan includes a header of src/runtime (or src/icf), or when
# an object of the channel layer refers to a symbol the runtime's or the
# ICFs' objects define (libc's names, which the runtime interposes, aside).
# Run by `make check-layers` and by make check.
# Environment: LAYERS_SRCDIR, LAYERS_BUILDDIR (top source and build dirs), LAYERS_NM, LAYERS_CC.
srcdir=${LAYERS_SRCDIR:-.}
builddir=${LAYERS_BUILDDIR:-.}
NM=${LAYERS_NM:-nm}
CC=${LAYERS_CC:-cc}
. "$srcdir/test/checks.sh"

tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT

# 1. Includes: no src/chan file names a header that lives in src/runtime or src/icf.
for h in "$srcdir"/src/runtime/*.h "$srcdir"/src/icf/*.h "$srcdir"/src/icf/*/*.h; do
	[ -e "$h" ] && basename "$h"
done | sort -u >"$tmp/upper.h"
grep -Hn '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$srcdir"/src/chan/*.c "$srcdir"/src/chan/*.h |
	while IFS= read -r line; do
		inc=$(printf '%s\n' "$line" | sed 's/.*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/')
		case "$inc" in
		*runtime/* | *icf/*) echo "$line" ;;
		*) grep -qxF "$(basename "$inc")" "$tmp/upper.h" && echo "$line" ;;
		esac
	done >"$tmp/bad-includes"
check "src/chan includes no runtime or ICF header" '[ ! -s "$tmp/bad-includes" ]'
sed 's/^/#   /' "$tmp/bad-includes"

# 2. Symbols: what the channel objects leave undefined, against what the layers above define.
find "$builddir/src/chan" -name 'libxos_chan_la-*.o' >"$tmp/chan.o"
find "$builddir/src/runtime" "$builddir/src/icf" -name 'libxos_core_la-*.o' >"$tmp/upper.o"
if [ ! -s "$tmp/chan.o" ] || [ ! -s "$tmp/upper.o" ]; then
	echo "# no objects under $builddir/src: build first" >&2
	exit 99
fi
libc=$($CC -print-file-name=libc.so.6)
{ [ -f "$libc" ] && $NM -D --defined-only "$libc" | awk 'NF >= 3 { sub(/@.*/, "", $3); print $3 }'; } |
	sort -u >"$tmp/libc.syms"
# Both PIC and non-PIC objects may be there: count each name once.
xargs $NM -g --defined-only <"$tmp/upper.o" | awk 'NF == 3 { print $3 }' | sort -u |
	comm -23 - "$tmp/libc.syms" >"$tmp/upper.syms"
xargs $NM -u <"$tmp/chan.o" | awk 'NF >= 2 { print $2 }' | sort -u >"$tmp/chan.undef"
comm -12 "$tmp/chan.undef" "$tmp/upper.syms" >"$tmp/bad-syms"
check "src/chan refers to no runtime or ICF symbol" '[ ! -s "$tmp/bad-syms" ]'
sed 's/^/#   /' "$tmp/bad-syms"
check "the check saw the runtime's symbols" 'grep -qx xos__runtime_init "$tmp/upper.syms"'
checks_done
