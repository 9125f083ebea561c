#!/bin/sh
# SPDX-License-Identifier: MIT
# Description: the layers call down only.  Every ICF in src/icf/ and every
# example is written against the public headers (<xos/vic.h>) alone, never
# the runtime's private ones; src/prim/ (built into libxos and the shim
# alike) includes nothing of the rest of src/.
set -u
top=${srcdir:-.}
. "$top/test/checks.sh"

# private NAME FILE...: ok unless a FILE includes a private header of src/runtime/ or src/chan/.
private() {
	what=$1
	shift
	hits=$(grep -lE '#include[[:space:]]*"([^"]*/)?(xos_i|image_i|chan_i)\.h"' "$@" 2>/dev/null)
	check "$what include no private runtime header${hits:+ (}${hits}${hits:+)}" '[ -z "$hits" ]'
}

private "the ICFs (src/icf/)" $(ls "$top"/src/icf/*.c "$top"/src/icf/*/*.c 2>/dev/null)
private "the examples" "$top"/examples/*.c
hits=$(grep -nE '#include[[:space:]]*"' "$top"/src/prim/*.h | grep -v '"\.\?/\?[a-z_]*\.h"' || true)
check "src/prim/ includes only its own headers${hits:+ ($hits)}" '[ -z "$hits" ]'
checks_done
