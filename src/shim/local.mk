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
libxos_shim_la_LDFLAGS = -module -avoid-version -no-undefined -pthread -Wl,-z,now
libxos_shim_la_LIBADD = $(DL_LIBS)
if HAVE_LD_VERSION_SCRIPT
libxos_shim_la_LDFLAGS += -Wl,--version-script=$(srcdir)/%reldir%/libxos-shim.map
EXTRA_libxos_shim_la_DEPENDENCIES = $(srcdir)/%reldir%/libxos-shim.map
endif
EXTRA_DIST += %reldir%/libxos-shim.map
