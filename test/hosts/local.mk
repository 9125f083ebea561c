# SPDX-License-Identifier: MIT
# EFs on other hosts: three network-namespace hosts, mpirun with an agent that
# enters them (hosts.sh, netns.sh), a program of scenarios (hosts-prog.c).
check_PROGRAMS += %reldir%/hosts-prog %reldir%/hosts-prog-other
%canon_reldir%_hosts_prog_LDFLAGS = $(AM_LDFLAGS) -no-install
# The same program, another build (another build-id): hosts must refuse its EFs.
%canon_reldir%_hosts_prog_other_SOURCES = %reldir%/hosts-prog.c
%canon_reldir%_hosts_prog_other_CFLAGS = $(AM_CFLAGS) -DOTHER_BUILD=1
%canon_reldir%_hosts_prog_other_LDFLAGS = $(AM_LDFLAGS) -no-install
XOS_SCRIPT_TESTS += %reldir%/hosts.sh
EXTRA_DIST += %reldir%/netns.sh
TESTS_ENVIRONMENT += HOSTS_PROG=$(abs_builddir)/%reldir%/hosts-prog \
	HOSTS_PROG_OTHER=$(abs_builddir)/%reldir%/hosts-prog-other XOS_HAVE_PMIX=$(have_pmix); \
	export HOSTS_PROG HOSTS_PROG_OTHER XOS_HAVE_PMIX;
