# SPDX-License-Identifier: MIT
# The channel layer (src/chan), its tests, benchmark and fuzzer.  Included from Makefile.am.
libxos_core_la_SOURCES += \
	src/chan/chan_i.h \
	src/chan/chan.c \
	src/chan/switch.c \
	src/chan/fdstream.h \
	src/chan/fdstream.c \
	src/chan/ring.c \
	src/chan/pipe.c \
	src/chan/unix.c \
	src/chan/tcp.c

if HAVE_CMOCKA
chan_tests = \
	test/chan/chan-api \
	test/chan/chan-bind \
	test/chan/chan-mech \
	test/chan/chan-switch
check_PROGRAMS += $(chan_tests)
TESTS += $(chan_tests)

test_chan_chan_api_SOURCES = test/chan/chan-api.c test/chan/chan-test.h
test_chan_chan_api_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
test_chan_chan_api_LDADD = libxos.la $(CMOCKA_LIBS)

test_chan_chan_bind_SOURCES = test/chan/chan-bind.c test/chan/chan-test.h
test_chan_chan_bind_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
test_chan_chan_bind_LDADD = libxos.la $(CMOCKA_LIBS)

test_chan_chan_mech_SOURCES = test/chan/chan-mech.c test/chan/chan-test.h
test_chan_chan_mech_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
test_chan_chan_mech_LDADD = libxos.la $(CMOCKA_LIBS)

test_chan_chan_switch_SOURCES = test/chan/chan-switch.c test/chan/chan-test.h
test_chan_chan_switch_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
test_chan_chan_switch_LDADD = libxos.la $(CMOCKA_LIBS)
endif

check_PROGRAMS += examples/chan-demo
examples_chan_demo_SOURCES = examples/chan-demo.c
examples_chan_demo_LDADD = libxos.la

TESTS += test/chan/chan-run.sh
EXTRA_DIST += test/chan/chan-run.sh
TESTS_ENVIRONMENT += CHAN_DEMO=$(abs_builddir)/examples/chan-demo; export CHAN_DEMO;
