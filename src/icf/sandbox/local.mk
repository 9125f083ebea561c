# SPDX-License-Identifier: MIT
# The sandbox ICF (src/icf/sandbox/: the ICF and its processes, the seccomp
# filters, the view and its masks and Landlock, the limits by cgroups), its
# tests, benchmark and pages, and the EF options it reads through the VIC
# (src/runtime/options.c).  Included from Makefile.am.
libxos_core_la_SOURCES += src/icf/sandbox/sandbox.c src/icf/sandbox/sandbox_i.h \
	src/icf/sandbox/seccomp.c src/icf/sandbox/view.c \
	src/icf/sandbox/cgroup.c src/icf/sandbox/cgroup.h
libxos_core_la_SOURCES += src/runtime/options.c src/runtime/hostkit.c

# ---- integration tests: only <xos.h> (and <xos/vic.h> for feature bits) ----------
if HAVE_CMOCKA
sandbox_tests = \
	test/integration/sandbox-chan \
	test/integration/sandbox-domain \
	test/integration/sandbox-limits \
	test/integration/sandbox-messages \
	test/integration/sandbox-net \
	test/integration/sandbox-policy \
	test/integration/sandbox-seccomp \
	test/integration/sandbox-view
check_PROGRAMS += $(sandbox_tests)
TESTS += $(sandbox_tests)

test_integration_sandbox_chan_SOURCES = test/integration/sandbox-chan.c test/integration/sandbox-helpers.h
test_integration_sandbox_chan_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
test_integration_sandbox_chan_LDADD = libxos.la $(CMOCKA_LIBS)

test_integration_sandbox_domain_SOURCES = test/integration/sandbox-domain.c test/integration/sandbox-helpers.h
test_integration_sandbox_domain_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
test_integration_sandbox_domain_LDADD = libxos.la $(CMOCKA_LIBS)

test_integration_sandbox_limits_SOURCES = test/integration/sandbox-limits.c test/integration/sandbox-helpers.h
test_integration_sandbox_limits_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
test_integration_sandbox_limits_LDADD = libxos.la $(CMOCKA_LIBS)

test_integration_sandbox_messages_SOURCES = test/integration/sandbox-messages.c test/integration/sandbox-helpers.h
test_integration_sandbox_messages_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
test_integration_sandbox_messages_LDADD = libxos.la $(CMOCKA_LIBS)

test_integration_sandbox_net_SOURCES = test/integration/sandbox-net.c test/integration/sandbox-helpers.h
test_integration_sandbox_net_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
test_integration_sandbox_net_LDADD = libxos.la $(CMOCKA_LIBS)

test_integration_sandbox_policy_SOURCES = test/integration/sandbox-policy.c test/integration/sandbox-helpers.h
test_integration_sandbox_policy_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
test_integration_sandbox_policy_LDADD = libxos.la $(CMOCKA_LIBS)

test_integration_sandbox_seccomp_SOURCES = test/integration/sandbox-seccomp.c test/integration/sandbox-helpers.h
test_integration_sandbox_seccomp_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
test_integration_sandbox_seccomp_LDADD = libxos.la $(CMOCKA_LIBS)

test_integration_sandbox_view_SOURCES = test/integration/sandbox-view.c test/integration/sandbox-helpers.h
test_integration_sandbox_view_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
test_integration_sandbox_view_LDADD = libxos.la $(CMOCKA_LIBS)
endif

# ---- benchmark: `make bench-sandbox` (also part of `make bench`) -----------------
noinst_PROGRAMS += bench/bench-sandbox
bench_bench_sandbox_SOURCES = bench/bench-sandbox.c bench/bench.h
bench_bench_sandbox_LDADD = libxos.la

bench-sandbox: bench/bench-sandbox
	$(builddir)/bench/bench-sandbox
bench: bench-sandbox
.PHONY: bench-sandbox

# ---- pages ---------------------------------------------------------------------
dist_man_MANS += man/man7/xos-icf-sandbox.7 man/man3/xos_ef_options_each.3

# ---- unit tests of what the sandbox added to the VIC: EF options, restricted ICFs --
if HAVE_CMOCKA
sandbox_unit_tests = test/unit/unit-options test/unit/unit-policy-restricted
check_PROGRAMS += $(sandbox_unit_tests)
TESTS += $(sandbox_unit_tests)
valgrind_tests += $(sandbox_unit_tests)

test_unit_unit_options_SOURCES = test/unit/unit-options.c test/unit/unit.h
test_unit_unit_options_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
test_unit_unit_options_LDADD = libxos-core.la $(CMOCKA_LIBS)

test_unit_unit_policy_restricted_SOURCES = test/unit/unit-policy-restricted.c test/unit/unit.h
test_unit_unit_policy_restricted_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
test_unit_unit_policy_restricted_LDADD = libxos-core.la $(CMOCKA_LIBS)
endif

# ---- the CLI with the sandbox (uses XOS_RUN and DEMO from TESTS_ENVIRONMENT) ------
TESTS += test/integration/sandbox-run.sh
EXTRA_DIST += test/integration/sandbox-run.sh
