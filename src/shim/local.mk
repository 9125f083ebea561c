# SPDX-License-Identifier: MIT
# libxos-shim.so: the LD_PRELOAD shim for legacy programs.  Built without
# sanitizers: it is preloaded into programs that are not instrumented.
pkglib_LTLIBRARIES += libxos-shim.la
libxos_shim_la_SOURCES = \
	%reldir%/shim_i.h \
	%reldir%/area.h \
	%reldir%/real.c \
	%reldir%/init.c \
	%reldir%/report.c \
	%reldir%/flows.c \
	%reldir%/exec.c \
	%reldir%/fds.c \
	%reldir%/vfork_fds.c \
	%reldir%/spawn.c \
	%reldir%/stdio.c \
	%reldir%/ring.c \
	%reldir%/tcp.c \
	%reldir%/sockops.c \
	%reldir%/ready.h \
	%reldir%/ready.c \
	%reldir%/poll.c \
	%reldir%/epoll.c \
	%reldir%/sendfile.c \
	%reldir%/fortify.c \
	%reldir%/signals.c
libxos_shim_la_CFLAGS = $(XOS_CFLAGS) -pthread
# -fini: the library's DT_FINI is an empty function among the first code
# pages, not the legacy .fini section at the end of the code, a page every
# short program would otherwise fault in at its exit just to return.
libxos_shim_la_LDFLAGS = -module -avoid-version -no-undefined -pthread -Wl,-z,now -Wl,-fini=shim_fini
libxos_shim_la_LIBADD = $(DL_LIBS)
if HAVE_LD_VERSION_SCRIPT
libxos_shim_la_LDFLAGS += -Wl,--version-script=$(srcdir)/%reldir%/libxos-shim.map
EXTRA_libxos_shim_la_DEPENDENCIES = $(srcdir)/%reldir%/libxos-shim.map
endif
EXTRA_DIST += %reldir%/libxos-shim.map
