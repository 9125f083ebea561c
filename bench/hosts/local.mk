# SPDX-License-Identifier: MIT
# make bench-hosts: channels between network-namespace hosts against raw TCP
# between the same hosts (bench/hosts/bench-hosts.sh).  Included from Makefile.am.
noinst_PROGRAMS += bench/hosts/bench-hosts
bench_hosts_bench_hosts_SOURCES = bench/hosts/bench-hosts.c
bench_hosts_bench_hosts_LDADD = libxos.la
bench_hosts_bench_hosts_LDFLAGS = $(AM_LDFLAGS) -no-install
EXTRA_DIST += bench/hosts/bench-hosts.sh

bench-hosts: bench/hosts/bench-hosts xos-run
	BENCH=$(abs_builddir)/bench/hosts/bench-hosts XOS_RUN=$(abs_builddir)/xos-run \
	TOP_SRCDIR=$(abs_top_srcdir) $(SHELL) $(srcdir)/bench/hosts/bench-hosts.sh
.PHONY: bench-hosts
