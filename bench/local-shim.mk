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
