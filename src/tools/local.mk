# SPDX-License-Identifier: MIT
# xos-run: runs programs as EFs, and legacy programs under the shim, and
# reports what it recorded.  libxos is dlopen'ed by the actions that need it
# (xos-run-lib.c), not linked.
#
# Where the toolchain can, xos-run is linked static-pie: its start is paid
# by every program it runs, and a static program has no loader or libc to
# map and relocate.  A static program cannot dlopen libxos, so the actions
# that need it (--list-icfs, --icf, --restore, ...) are those of the same
# program linked dynamically, xos-run-full in $(pkglibexecdir), which the
# static one starts with its arguments.
XOS_RUN_SOURCES = %reldir%/xos-run.c %reldir%/xos-run-lib.c %reldir%/xos-run-lib.h \
	%reldir%/xos-run-shim.c %reldir%/xos-run-shim.h
XOS_RUN_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/shim -DXOS_SHIM_PATH=\"$(pkglibdir)/libxos-shim.so\" \
	-DXOS_LIBDIR=\"$(libdir)\"
bin_PROGRAMS += xos-run
xos_run_SOURCES = $(XOS_RUN_SOURCES)
if STATIC_XOS_RUN
pkglibexec_PROGRAMS = xos-run-full
xos_run_full_SOURCES = $(XOS_RUN_SOURCES)
xos_run_full_CPPFLAGS = $(XOS_RUN_CPPFLAGS)
xos_run_full_LDADD = $(DL_LIBS)
xos_run_CPPFLAGS = $(XOS_RUN_CPPFLAGS) -DXOS_RUN_FULL=\"$(pkglibexecdir)/xos-run-full\"
xos_run_LDFLAGS = -XCClinker -static-pie
else
xos_run_CPPFLAGS = $(XOS_RUN_CPPFLAGS)
xos_run_LDADD = $(DL_LIBS)
endif
