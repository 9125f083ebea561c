# SPDX-License-Identifier: MIT
# EFs on other hosts: network-namespace hosts, mpirun with a namespace-entering
# agent (test/hosts/hosts.sh).  Included from Makefile.am.
check_PROGRAMS += test/hosts/hosts-prog test/hosts/hosts-prog-other
test_hosts_hosts_prog_SOURCES = test/hosts/hosts-prog.c
test_hosts_hosts_prog_LDADD = libxos.la
test_hosts_hosts_prog_LDFLAGS = $(AM_LDFLAGS) -no-install
# The same program, another build (another build-id): hosts must refuse its EFs.
test_hosts_hosts_prog_other_SOURCES = test/hosts/hosts-prog.c
test_hosts_hosts_prog_other_CFLAGS = $(AM_CFLAGS) -DOTHER_BUILD=1
test_hosts_hosts_prog_other_LDADD = libxos.la
test_hosts_hosts_prog_other_LDFLAGS = $(AM_LDFLAGS) -no-install
TESTS += test/hosts/hosts.sh
EXTRA_DIST += test/hosts/hosts.sh test/hosts/netns.sh
TESTS_ENVIRONMENT += HOSTS_PROG=$(abs_builddir)/test/hosts/hosts-prog \
	HOSTS_PROG_OTHER=$(abs_builddir)/test/hosts/hosts-prog-other; export HOSTS_PROG HOSTS_PROG_OTHER;
