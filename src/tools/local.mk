# SPDX-License-Identifier: MIT
# xos-run: runs programs as EFs, and legacy programs under the shim, and
# reports what it recorded.  libxos is dlopen'ed by the actions that need it
# (xos-run-lib.c), not linked.
bin_PROGRAMS += xos-run
xos_run_SOURCES = %reldir%/xos-run.c %reldir%/xos-run-lib.c %reldir%/xos-run-lib.h \
	%reldir%/xos-run-shim.c %reldir%/xos-run-shim.h
xos_run_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/shim -DXOS_SHIM_PATH=\"$(pkglibdir)/libxos-shim.so\" \
	-DXOS_LIBDIR=\"$(libdir)\"
xos_run_LDADD = $(DL_LIBS)
