# SPDX-License-Identifier: MIT
# bench-shim (included from src/shim/local.mk): `make bench-shim`.
noinst_PROGRAMS += bench/bench-shim
bench_bench_shim_SOURCES = bench/bench-shim.c bench/bench.h
bench_bench_shim_CFLAGS = $(XOS_CFLAGS) -pthread
bench_bench_shim_LDFLAGS = -pthread

bench-shim: bench/bench-shim test/legacy/pingpong libxos-shim.la xos-run
	XOS_RUN=$(abs_builddir)/xos-run XOS_SHIM=$(abs_builddir)/.libs/libxos-shim.so \
	PINGPONG=$(abs_builddir)/test/legacy/pingpong $(builddir)/bench/bench-shim
bench: bench-shim
.PHONY: bench-shim

# bench-startup: xos-run's start-up vs the program's own, fork13-style throughput.
# xos-run links no libtool library: the binary itself, no wrapper script.
noinst_PROGRAMS += bench/bench-startup
bench_bench_startup_SOURCES = bench/bench-startup.c bench/bench.h
bench_bench_startup_CFLAGS = $(XOS_CFLAGS)

bench-startup: bench/bench-startup libxos-shim.la xos-run
	LD_LIBRARY_PATH=$(abs_builddir)/.libs$${LD_LIBRARY_PATH:+:$$LD_LIBRARY_PATH} \
	XOS_RUN=$(abs_builddir)/xos-run XOS_SHIM=$(abs_builddir)/.libs/libxos-shim.so \
	$(builddir)/bench/bench-startup
bench: bench-startup
.PHONY: bench-startup

# bench-pipelines: Debian tools in pipelines, fork-exec loops and start-up,
# natively and under xos-run --policy=perf in alternating rounds.
noinst_PROGRAMS += bench/bench-pipelines
bench_bench_pipelines_SOURCES = bench/bench-pipelines.c bench/bench.h
bench_bench_pipelines_CFLAGS = $(XOS_CFLAGS)

bench-pipelines: bench/bench-pipelines libxos-shim.la xos-run
	XOS_RUN=$(abs_builddir)/xos-run XOS_SHIM=$(abs_builddir)/.libs/libxos-shim.so \
	$(builddir)/bench/bench-pipelines
bench: bench-pipelines
.PHONY: bench-pipelines
