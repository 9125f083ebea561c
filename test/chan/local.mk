# SPDX-License-Identifier: MIT
# Tests of the channel layer, its layering check and its fuzzers.
noinst_HEADERS += %reldir%/chan-test.h
XOS_CMOCKA_TESTS += %reldir%/chan-api
XOS_CMOCKA_TESTS += %reldir%/chan-bind
XOS_CMOCKA_TESTS += %reldir%/chan-mech
XOS_CMOCKA_TESTS += %reldir%/chan-switch
# The layer alone: its library, a stub host, no runtime.
XOS_CMOCKA_TESTS += %reldir%/chan-alone
%canon_reldir%_chan_alone_CPPFLAGS = -I$(top_srcdir)/include -I$(top_builddir)
%canon_reldir%_chan_alone_LDADD = libxos-chan.la $(CMOCKA_LIBS)
# Linked statically from the convenience library: pull in the runtime's
# channel binding too, whose constructor installs the host table that
# registers the mechanisms (nothing else in this test refers to it).
XOS_CMOCKA_TESTS += %reldir%/chan-corrupt
%canon_reldir%_chan_corrupt_LDADD = $(XOS_LIBS_UNIT)
%canon_reldir%_chan_corrupt_LDFLAGS = $(AM_LDFLAGS) -Wl,--undefined=xos__chans_bind
if HAVE_CMOCKA
# the quick ones also run under valgrind (make check-valgrind)
valgrind_tests += %reldir%/chan-api %reldir%/chan-bind %reldir%/chan-corrupt
endif

XOS_SCRIPT_TESTS += %reldir%/chan-run.sh
TESTS_ENVIRONMENT += CHAN_DEMO=$(abs_builddir)/examples/chan-demo; export CHAN_DEMO;

# ---- the layering: `make check-layers` (also part of make check) ----
XOS_SCRIPT_TESTS += %reldir%/check-layers.sh
TESTS_ENVIRONMENT += LAYERS_SRCDIR=$(abs_top_srcdir) LAYERS_BUILDDIR=$(abs_top_builddir) \
	LAYERS_NM='$(NM)' LAYERS_CC='$(CC)'; export LAYERS_SRCDIR LAYERS_BUILDDIR LAYERS_NM LAYERS_CC;
check-layers: libxos.la
	LAYERS_SRCDIR=$(abs_top_srcdir) LAYERS_BUILDDIR=$(abs_top_builddir) LAYERS_NM='$(NM)' \
	  LAYERS_CC='$(CC)' $(SHELL) $(srcdir)/%reldir%/check-layers.sh
.PHONY: check-layers

# ---- libFuzzer harnesses: `make fuzz-ring`, `make fuzz-ctl`, `make fuzz-shim-ring`
# (each [FUZZ_SECONDS=N]); fuzz-image is in test/security.
FUZZ_SECONDS = 60
FUZZ_CC = clang
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined

# The ring reader.
EXTRA_DIST += %reldir%/fuzz-ring.c
fuzz/fuzz-ring: $(srcdir)/%reldir%/fuzz-ring.c $(srcdir)/src/chan/ring.c $(srcdir)/src/chan/chan_i.h \
		$(srcdir)/include/xos/vic.h
	@mkdir -p fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) -I$(top_srcdir)/include -I$(top_builddir) \
	  -o $@ $(srcdir)/%reldir%/fuzz-ring.c $(srcdir)/src/chan/ring.c
fuzz-ring: fuzz/fuzz-ring
	@mkdir -p fuzz/ring-corpus
	./fuzz/fuzz-ring -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 fuzz/ring-corpus
CLEANFILES += fuzz/fuzz-ring
.PHONY: fuzz-ring

# The control page: the whole channel layer, the runtime stubbed out; the
# waits a lying peer can cause (a promised path, a held lock) shortened so
# each input is quick.
fuzz_ctl_srcs = $(srcdir)/%reldir%/fuzz-ctl.c $(srcdir)/src/chan/host.c $(srcdir)/src/chan/mech.c $(srcdir)/src/chan/chan.c \
	$(srcdir)/src/chan/ends.c $(srcdir)/src/chan/bind.c $(srcdir)/src/chan/stream.c $(srcdir)/src/chan/switch.c \
	$(srcdir)/src/chan/fdstream.c $(srcdir)/src/chan/ring.c $(srcdir)/src/chan/pipe.c \
	$(srcdir)/src/chan/unix.c $(srcdir)/src/chan/tcp.c
EXTRA_DIST += %reldir%/fuzz-ctl.c
fuzz/fuzz-ctl: $(fuzz_ctl_srcs) $(srcdir)/src/chan/chan_i.h $(srcdir)/src/chan/chan_host.h $(srcdir)/src/chan/fdstream.h
	@mkdir -p fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) \
	  -DCTL_LOCK_TIMEOUT_NS=200000ull -DCTL_LOCK_TICK_NS=100000 -DXOS_PATH_WAIT_MS=1 \
	  -DXOS_MARKER_WAIT_MS=1 -I$(top_srcdir)/include -I$(top_builddir) \
	  -o $@ $(fuzz_ctl_srcs) $(LIBURING_LIBS) -pthread
fuzz-ctl: fuzz/fuzz-ctl
	@mkdir -p fuzz/ctl-corpus
	./fuzz/fuzz-ctl -max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 fuzz/ctl-corpus
CLEANFILES += fuzz/fuzz-ctl
.PHONY: fuzz-ctl

# The shim's ring fed a hostile shared area.
EXTRA_DIST += %reldir%/fuzz-shim-ring.c
fuzz/fuzz-shim-ring: $(srcdir)/%reldir%/fuzz-shim-ring.c $(srcdir)/src/shim/ring.c $(srcdir)/src/shim/real.c \
		$(srcdir)/src/shim/shim_i.h $(srcdir)/src/shim/area.h
	@mkdir -p fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) -pthread \
	  -I$(top_srcdir)/src/shim -I$(top_builddir) \
	  -o $@ $(srcdir)/%reldir%/fuzz-shim-ring.c $(srcdir)/src/shim/real.c $(DL_LIBS)
fuzz-shim-ring: fuzz/fuzz-shim-ring
	@mkdir -p fuzz/shim-ring-corpus
	./fuzz/fuzz-shim-ring -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 fuzz/shim-ring-corpus
CLEANFILES += fuzz/fuzz-shim-ring
.PHONY: fuzz-shim-ring
