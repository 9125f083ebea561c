# SPDX-License-Identifier: MIT
# The channel layer (src/chan), its tests, benchmark and fuzzer.  Included from Makefile.am.
# A library of its own, built without the runtime's headers on the include
# path: the layer below the runtime reaches it only through chan_host.h.
noinst_LTLIBRARIES += libxos-chan.la
libxos_chan_la_SOURCES = \
	src/chan/chan_host.h \
	src/chan/chan_i.h \
	src/chan/host.c \
	src/chan/mech.c \
	src/chan/chan.c \
	src/chan/ends.c \
	src/chan/bind.c \
	src/chan/stream.c \
	src/chan/switch.c \
	src/chan/fdstream.h \
	src/chan/fdstream.c \
	src/chan/ring.c \
	src/chan/pipe.c \
	src/chan/unix.c \
	src/chan/tcp.c \
	src/chan/handover.c
libxos_chan_la_CPPFLAGS = -I$(top_srcdir)/include -I$(top_builddir)
libxos_chan_la_CFLAGS = $(AM_CFLAGS) $(LIBURING_CFLAGS)
libxos_chan_la_LIBADD = $(LIBURING_LIBS)
libxos_core_la_LIBADD += libxos-chan.la

if HAVE_CMOCKA
chan_tests = \
	test/chan/chan-api \
	test/chan/chan-bind \
	test/chan/chan-corrupt \
	test/chan/chan-mech \
	test/chan/chan-switch
check_PROGRAMS += $(chan_tests)
TESTS += $(chan_tests)
# the quick ones also run under valgrind (make check-valgrind)
valgrind_tests += test/chan/chan-api test/chan/chan-bind test/chan/chan-corrupt

# The layer alone: its library, a stub host, no runtime.
check_PROGRAMS += test/chan/chan-alone
TESTS += test/chan/chan-alone
test_chan_chan_alone_SOURCES = test/chan/chan-alone.c
test_chan_chan_alone_CPPFLAGS = -I$(top_srcdir)/include -I$(top_builddir)
test_chan_chan_alone_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
test_chan_chan_alone_LDADD = libxos-chan.la $(CMOCKA_LIBS)

test_chan_chan_api_SOURCES = test/chan/chan-api.c test/chan/chan-test.h
test_chan_chan_api_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
test_chan_chan_api_LDADD = libxos.la $(CMOCKA_LIBS)

test_chan_chan_bind_SOURCES = test/chan/chan-bind.c test/chan/chan-test.h
test_chan_chan_bind_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
test_chan_chan_bind_LDADD = libxos.la $(CMOCKA_LIBS)

test_chan_chan_corrupt_SOURCES = test/chan/chan-corrupt.c
test_chan_chan_corrupt_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
test_chan_chan_corrupt_LDADD = libxos-core.la $(CMOCKA_LIBS)
# Linked statically from the convenience library: pull in the runtime's
# channel binding too, whose constructor installs the host table that
# registers the mechanisms (nothing else in this test refers to it).
test_chan_chan_corrupt_LDFLAGS = $(AM_LDFLAGS) -Wl,--undefined=xos__chans_bind

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

# ---- libFuzzer harness for the ring reader: `make fuzz-ring [FUZZ_SECONDS=N]` ----
FUZZ_SECONDS = 60
FUZZ_CC = clang
EXTRA_DIST += test/chan/fuzz-ring.c
fuzz/fuzz-ring: $(srcdir)/test/chan/fuzz-ring.c $(srcdir)/src/chan/ring.c $(srcdir)/src/chan/chan_i.h \
		$(srcdir)/include/xos/vic.h
	@mkdir -p fuzz
	$(FUZZ_CC) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  -I$(top_srcdir)/include -I$(top_builddir) \
	  -o $@ $(srcdir)/test/chan/fuzz-ring.c $(srcdir)/src/chan/ring.c
fuzz-ring: fuzz/fuzz-ring
	@mkdir -p fuzz/ring-corpus
	./fuzz/fuzz-ring -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 fuzz/ring-corpus
CLEANFILES += fuzz/fuzz-ring
.PHONY: fuzz-ring

# ---- libFuzzer harness for the control page: `make fuzz-ctl [FUZZ_SECONDS=N]` ----
# The whole channel layer, the runtime stubbed out; the waits a lying peer
# can cause (a promised path, a held lock) shortened so each input is quick.
fuzz_ctl_srcs = $(srcdir)/test/chan/fuzz-ctl.c $(srcdir)/src/chan/host.c $(srcdir)/src/chan/mech.c $(srcdir)/src/chan/chan.c \
	$(srcdir)/src/chan/ends.c $(srcdir)/src/chan/bind.c $(srcdir)/src/chan/stream.c $(srcdir)/src/chan/switch.c \
	$(srcdir)/src/chan/fdstream.c $(srcdir)/src/chan/ring.c $(srcdir)/src/chan/pipe.c \
	$(srcdir)/src/chan/unix.c $(srcdir)/src/chan/tcp.c
EXTRA_DIST += test/chan/fuzz-ctl.c
fuzz/fuzz-ctl: $(fuzz_ctl_srcs) $(srcdir)/src/chan/chan_i.h $(srcdir)/src/chan/chan_host.h $(srcdir)/src/chan/fdstream.h
	@mkdir -p fuzz
	$(FUZZ_CC) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  -DCTL_LOCK_TIMEOUT_NS=200000ull -DCTL_LOCK_TICK_NS=100000 -DXOS_PATH_WAIT_MS=1 \
	  -DXOS_MARKER_WAIT_MS=1 -I$(top_srcdir)/include -I$(top_builddir) \
	  -o $@ $(fuzz_ctl_srcs) $(LIBURING_LIBS) -pthread
fuzz-ctl: fuzz/fuzz-ctl
	@mkdir -p fuzz/ctl-corpus
	./fuzz/fuzz-ctl -max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 fuzz/ctl-corpus
CLEANFILES += fuzz/fuzz-ctl
.PHONY: fuzz-ctl

# ---- benchmark: `make bench-chan` prints figure: lines ----
noinst_PROGRAMS += bench/bench-chan
bench_bench_chan_SOURCES = bench/bench-chan.c bench/bench.h
bench_bench_chan_LDADD = libxos.la
bench-chan: bench/bench-chan
	$(builddir)/bench/bench-chan
bench: bench-chan
.PHONY: bench-chan

dist_man_MANS += \
	man/man3/xos_chan_attr_init.3 \
	man/man3/xos_chan_close.3 \
	man/man3/xos_chan_commit.3 \
	man/man3/xos_chan_consume.3 \
	man/man3/xos_chan_fd.3 \
	man/man3/xos_chan_mechanism.3 \
	man/man3/xos_chan_name.3 \
	man/man3/xos_chan_open.3 \
	man/man3/xos_chan_peek.3 \
	man/man3/xos_chan_recv.3 \
	man/man3/xos_chan_release.3 \
	man/man3/xos_chan_reserve.3 \
	man/man3/xos_chan_send.3 \
	man/man3/xos_chan_set_nonblock.3 \
	man/man3/xos_chan_stats.3 \
	man/man3/xos_chan_switch.3 \
	man/man3/xos_mech_list.3 \
	man/man3/xos_mech_peer_gone.3 \
	man/man3/xos_mech_register.3 \
	man/man3/xos_mech_unregister.3 \
	man/man3/xos_mech_wait_fd.3

# ---- the layering: `make check-layers` (also part of make check) ----
TESTS += test/chan/check-layers.sh
EXTRA_DIST += test/chan/check-layers.sh
TESTS_ENVIRONMENT += LAYERS_SRCDIR=$(abs_top_srcdir) LAYERS_BUILDDIR=$(abs_top_builddir) \
	LAYERS_NM='$(NM)' LAYERS_CC='$(CC)'; export LAYERS_SRCDIR LAYERS_BUILDDIR LAYERS_NM LAYERS_CC;
check-layers: libxos.la
	LAYERS_SRCDIR=$(abs_top_srcdir) LAYERS_BUILDDIR=$(abs_top_builddir) LAYERS_NM='$(NM)' \
	  LAYERS_CC='$(CC)' $(SHELL) $(srcdir)/test/chan/check-layers.sh
.PHONY: check-layers

# ---- a mechanism from outside libxos, on <xos/vic.h> only: built and run by make check ----
check_PROGRAMS += examples/mech-loop
TESTS += examples/mech-loop
examples_mech_loop_SOURCES = examples/mech-loop.c
examples_mech_loop_LDADD = libxos.la
