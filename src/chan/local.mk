# SPDX-License-Identifier: MIT
# The channel layer: a library of its own, built without the runtime's headers
# on the include path: the layer below the runtime reaches it only through
# chan_host.h.  Its tests are in test/chan, its benchmark in bench/.
noinst_LTLIBRARIES += libxos-chan.la
libxos_chan_la_SOURCES = \
	%reldir%/chan_host.h \
	%reldir%/chan_i.h \
	%reldir%/host.c \
	%reldir%/mech.c \
	%reldir%/chan.c \
	%reldir%/ends.c \
	%reldir%/bind.c \
	%reldir%/stream.c \
	%reldir%/switch.c \
	%reldir%/remote.c \
	%reldir%/move.c \
	%reldir%/fdstream.h \
	%reldir%/fdstream.c \
	%reldir%/ring.c \
	%reldir%/pipe.c \
	%reldir%/unix.c \
	%reldir%/tcp.c \
	%reldir%/handover.c
libxos_chan_la_CPPFLAGS = -I$(top_srcdir)/include -I$(top_builddir)
libxos_chan_la_CFLAGS = $(AM_CFLAGS) $(LIBURING_CFLAGS)
libxos_chan_la_LIBADD = $(LIBURING_LIBS)
