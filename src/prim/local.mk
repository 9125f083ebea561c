# SPDX-License-Identifier: MIT
# Primitives shared by libxos's layers and libxos-shim.so: header-only, each
# built into what uses it (the shim never links libxos).
noinst_HEADERS += \
	%reldir%/cursor.h \
	%reldir%/fdpass.h \
	%reldir%/forklist.h \
	%reldir%/futex.h \
	%reldir%/sendall.h \
	%reldir%/spin.h
