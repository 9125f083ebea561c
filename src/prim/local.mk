# SPDX-License-Identifier: MIT
# Primitives libxos and libxos-shim.so share: header-only, each built into both
# (the shim never links libxos).
noinst_HEADERS += \
	%reldir%/cursor.h \
	%reldir%/fdpass.h \
	%reldir%/futex.h \
	%reldir%/spin.h
