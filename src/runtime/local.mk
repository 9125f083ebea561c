# SPDX-License-Identifier: MIT
# Memory domains (an EF's stack and heap in a memfd), mutate, dump and restore.  Included from Makefile.am.
libxos_core_la_SOURCES += \
	src/runtime/domain.c \
	src/runtime/domain_alloc.c \
	src/runtime/mutate.c \
	src/runtime/dump.c \
	src/runtime/restore_start.c \
	src/runtime/image.c \
	src/runtime/image_i.h \
	src/runtime/sha256.c \
	src/runtime/arch/ctx.h
# The context switch for the host's CPU (configure: --disable-domains where none).
if XOS_CTX_X86_64
libxos_core_la_SOURCES += src/runtime/arch/x86_64/ctx.c
endif
xosinclude_HEADERS += include/xos/mutate.h

if HAVE_CMOCKA
check_PROGRAMS += test/integration/ef-mutate
TESTS += test/integration/ef-mutate
test_integration_ef_mutate_SOURCES = test/integration/ef-mutate.c
test_integration_ef_mutate_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
test_integration_ef_mutate_LDADD = libxos.la $(CMOCKA_LIBS)
check_PROGRAMS += test/integration/ef-mutate-chan
TESTS += test/integration/ef-mutate-chan
test_integration_ef_mutate_chan_SOURCES = test/integration/ef-mutate-chan.c
test_integration_ef_mutate_chan_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
test_integration_ef_mutate_chan_LDADD = libxos.la $(CMOCKA_LIBS)
endif

# dump/restore across processes: a real binary (-no-install), driven by a script
check_PROGRAMS += test/integration/ef-restore
test_integration_ef_restore_SOURCES = test/integration/ef-restore.c
test_integration_ef_restore_LDADD = libxos.la
test_integration_ef_restore_LDFLAGS = $(AM_LDFLAGS) -no-install
TESTS += test/integration/ef-restore.sh
EXTRA_DIST += test/integration/ef-restore.sh
TESTS_ENVIRONMENT += RESTORE_PROG=$(abs_builddir)/test/integration/ef-restore; \
	XOS_DEMO_BIN=$(abs_builddir)/test/integration/ef-restore-other; \
	export RESTORE_PROG XOS_DEMO_BIN;
check_PROGRAMS += test/integration/ef-restore-other
test_integration_ef_restore_other_SOURCES = test/integration/ef-restore.c
test_integration_ef_restore_other_CFLAGS = $(AM_CFLAGS) -DOTHER_BINARY=1
test_integration_ef_restore_other_LDADD = libxos.la
test_integration_ef_restore_other_LDFLAGS = $(AM_LDFLAGS) -no-install

# ---- bench-mutate: mutate latency, dump+restore time, against fork/memcpy ----
noinst_PROGRAMS += bench/bench-mutate
bench_bench_mutate_SOURCES = bench/bench-mutate.c bench/bench.h
bench_bench_mutate_LDADD = libxos.la

bench-mutate: bench/bench-mutate
	$(builddir)/bench/bench-mutate
bench: bench-mutate
.PHONY: bench-mutate

# Experiment behind domain_alloc.c: a jemalloc arena cannot follow an EF back (make exp-jemalloc-return)
noinst_PROGRAMS += bench/exp-jemalloc-return
bench_exp_jemalloc_return_SOURCES = bench/exp-jemalloc-return.c
bench_exp_jemalloc_return_CFLAGS = $(AM_CFLAGS) $(JEMALLOC_CFLAGS)
bench_exp_jemalloc_return_LDADD = $(JEMALLOC_LIBS)
exp-jemalloc-return: bench/exp-jemalloc-return
	$(builddir)/bench/exp-jemalloc-return
.PHONY: exp-jemalloc-return
