# SPDX-License-Identifier: MIT
# make bench-hosts: a channel between two network-namespace hosts against raw
# TCP between the same hosts (bench-hosts.sh; needs root and mpirun).
noinst_PROGRAMS += %reldir%/bench-hosts
%canon_reldir%_bench_hosts_LDFLAGS = $(AM_LDFLAGS) -no-install
EXTRA_DIST += %reldir%/bench-hosts.sh
bench-hosts: %reldir%/bench-hosts xos-run
	BENCH=$(abs_builddir)/%reldir%/bench-hosts XOS_RUN=$(abs_builddir)/xos-run \
	TOP_SRCDIR=$(abs_top_srcdir) XOS_HAVE_PMIX=$(have_pmix) $(SHELL) $(srcdir)/%reldir%/bench-hosts.sh
bench: bench-hosts
.PHONY: bench-hosts
