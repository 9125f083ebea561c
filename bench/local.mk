# SPDX-License-Identifier: MIT
# Benchmarks: `make bench` runs them all, `make bench-NAME` one; each prints
# `figure:` lines.  (bench/mapreduce has its own fragment.)
noinst_HEADERS += %reldir%/bench.h

# EF create/join, the ICFs; the channel layer; mutate latency, dump+restore
# time, against fork/memcpy; the sandbox ICF.
noinst_PROGRAMS += %reldir%/bench-ef %reldir%/bench-chan %reldir%/bench-mutate %reldir%/bench-sandbox
# Experiment behind domain_alloc.c: a jemalloc arena cannot follow an EF back
# (`make exp-jemalloc-return`, not part of `make bench`).
noinst_PROGRAMS += %reldir%/exp-jemalloc-return
%canon_reldir%_exp_jemalloc_return_CFLAGS = $(AM_CFLAGS) $(JEMALLOC_CFLAGS)
%canon_reldir%_exp_jemalloc_return_LDADD = $(JEMALLOC_LIBS)

bench-ef: %reldir%/bench-ef
bench-chan: %reldir%/bench-chan
bench-mutate: %reldir%/bench-mutate
bench-sandbox: %reldir%/bench-sandbox
exp-jemalloc-return: %reldir%/exp-jemalloc-return
bench-ef bench-chan bench-mutate bench-sandbox exp-jemalloc-return:
	$(builddir)/%reldir%/$@
bench: bench-ef bench-chan bench-mutate bench-sandbox
.PHONY: bench-ef bench-chan bench-mutate bench-sandbox exp-jemalloc-return

# ---- plain programs (no libxos) that run others under xos-run and the shim ----
# The shim: pipes and sockets of a legacy ping-pong, natively and under the shim.
noinst_PROGRAMS += %reldir%/bench-shim
%canon_reldir%_bench_shim_CFLAGS = $(XOS_CFLAGS_PLAIN)
%canon_reldir%_bench_shim_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_bench_shim_LDADD =
bench-shim: %reldir%/bench-shim test/legacy/pingpong libxos-shim.la xos-run
	XOS_RUN=$(abs_builddir)/xos-run XOS_SHIM=$(abs_builddir)/.libs/libxos-shim.so \
	PINGPONG=$(abs_builddir)/test/legacy/pingpong $(builddir)/%reldir%/bench-shim
bench: bench-shim
.PHONY: bench-shim

# xos-run's start-up vs the program's own, fork13-style throughput.
# xos-run links no libtool library: the binary itself, no wrapper script.
noinst_PROGRAMS += %reldir%/bench-startup
%canon_reldir%_bench_startup_CFLAGS = $(XOS_CFLAGS)
%canon_reldir%_bench_startup_LDADD =
# The floors measured in the same rounds: a launcher that only execs, one
# that waits (static where xos-run is), and a preloaded library that does
# nothing.
noinst_PROGRAMS += %reldir%/launch-floor
%canon_reldir%_launch_floor_LDADD =
if STATIC_XOS_RUN
%canon_reldir%_launch_floor_LDFLAGS = -XCClinker -static-pie
endif
noinst_LTLIBRARIES += %reldir%/libbench-empty.la
%canon_reldir%_libbench_empty_la_SOURCES = %reldir%/empty-preload.c
%canon_reldir%_libbench_empty_la_LDFLAGS = -module -avoid-version -shared -rpath $(abs_builddir)
bench-startup: %reldir%/bench-startup %reldir%/launch-floor %reldir%/libbench-empty.la libxos-shim.la xos-run
	LD_LIBRARY_PATH=$(abs_builddir)/.libs$${LD_LIBRARY_PATH:+:$$LD_LIBRARY_PATH} \
	XOS_RUN=$(abs_builddir)/xos-run XOS_SHIM=$(abs_builddir)/.libs/libxos-shim.so \
	LAUNCH_FLOOR=$(abs_builddir)/%reldir%/launch-floor \
	EMPTY_PRELOAD=$(abs_builddir)/%reldir%/.libs/libbench-empty.so \
	$(builddir)/%reldir%/bench-startup
bench: bench-startup
.PHONY: bench-startup

# Debian tools in pipelines, fork-exec loops and start-up, natively and
# under xos-run --policy=perf in alternating rounds.
noinst_PROGRAMS += %reldir%/bench-pipelines
%canon_reldir%_bench_pipelines_CFLAGS = $(XOS_CFLAGS)
%canon_reldir%_bench_pipelines_LDADD =
bench-pipelines: %reldir%/bench-pipelines libxos-shim.la xos-run
	XOS_RUN=$(abs_builddir)/xos-run XOS_SHIM=$(abs_builddir)/.libs/libxos-shim.so \
	$(builddir)/%reldir%/bench-pipelines
bench: bench-pipelines
.PHONY: bench-pipelines

# redis and nginx with their load generators, natively and with both sides
# under one xos-run --policy=perf.
EXTRA_DIST += %reldir%/bench-servers.sh %reldir%/MEASUREMENTS.md
bench-servers: libxos-shim.la xos-run
	XOS_RUN=$(abs_builddir)/xos-run XOS_SHIM=$(abs_builddir)/.libs/libxos-shim.so \
	LEGACY_SRC=$(abs_srcdir)/test/legacy sh $(srcdir)/%reldir%/bench-servers.sh
bench: bench-servers
.PHONY: bench-servers
