# SPDX-License-Identifier: MIT
# libxos-shim.so: the LD_PRELOAD shim for legacy programs (included from
# Makefile.am).  Built without sanitizers: it is preloaded into programs
# that are not instrumented.
pkglib_LTLIBRARIES = libxos-shim.la
libxos_shim_la_SOURCES = \
	src/shim/shim_i.h \
	src/shim/area.h \
	src/shim/real.c \
	src/shim/init.c \
	src/shim/report.c \
	src/shim/flows.c \
	src/shim/exec.c \
	src/shim/fds.c \
	src/shim/stdio.c \
	src/shim/ring.c \
	src/shim/tcp.c \
	src/shim/sockops.c \
	src/shim/ready.h \
	src/shim/ready.c \
	src/shim/poll.c \
	src/shim/epoll.c
libxos_shim_la_CFLAGS = $(XOS_CFLAGS) -pthread
libxos_shim_la_LDFLAGS = -module -avoid-version -no-undefined -pthread -Wl,-z,now
libxos_shim_la_LIBADD = $(DL_LIBS)
# What servers call beside read and write: sendfile, fortified reads and polls.
libxos_shim_la_SOURCES += src/shim/sendfile.c src/shim/fortify.c
if HAVE_LD_VERSION_SCRIPT
libxos_shim_la_LDFLAGS += -Wl,--version-script=$(srcdir)/src/shim/libxos-shim.map
EXTRA_libxos_shim_la_DEPENDENCIES = $(srcdir)/src/shim/libxos-shim.map
endif
EXTRA_DIST += src/shim/libxos-shim.map

# xos-run runs legacy programs under the shim and reports what it recorded.
xos_run_SOURCES += src/tools/xos-run-shim.c src/tools/xos-run-shim.h
xos_run_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/shim -DXOS_SHIM_PATH=\"$(pkglibdir)/libxos-shim.so\" \
	-DXOS_LIBDIR=\"$(libdir)\"
TESTS_ENVIRONMENT += XOS_SHIM=$(abs_builddir)/.libs/libxos-shim.so; export XOS_SHIM;
include bench/local-shim.mk
dist_man_MANS += man/man7/xos-shim.7
