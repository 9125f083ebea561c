# SPDX-License-Identifier: MIT
# Primitives libxos and libxos-shim.so share: header-only, each built into both
# (the shim never links libxos).
noinst_HEADERS = \
	src/prim/cursor.h \
	src/prim/fdpass.h \
	src/prim/futex.h \
	src/prim/spin.h
