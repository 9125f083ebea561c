# SPDX-License-Identifier: MIT
# Unit tests of the runtime core (test/unit): cmocka programs that link the
# internals (libxos-core.la) and include "xos_i.h".  Included from Makefile.am.
if HAVE_CMOCKA
unit_tests = \
	test/unit/unit-api-args \
	test/unit/unit-com \
	test/unit/unit-mech \
	test/unit/unit-policy \
	test/unit/unit-policy-mech \
	test/unit/unit-registry \
	test/unit/unit-vic-dispatch
check_PROGRAMS += $(unit_tests)
TESTS += $(unit_tests)

test_unit_unit_api_args_SOURCES = test/unit/unit-api-args.c test/unit/unit.h
test_unit_unit_api_args_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
test_unit_unit_api_args_LDADD = libxos-core.la $(CMOCKA_LIBS)

test_unit_unit_com_SOURCES = test/unit/unit-com.c test/unit/unit.h
test_unit_unit_com_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
test_unit_unit_com_LDADD = libxos-core.la $(CMOCKA_LIBS)

test_unit_unit_mech_SOURCES = test/unit/unit-mech.c test/unit/unit.h
test_unit_unit_mech_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
test_unit_unit_mech_LDADD = libxos-core.la $(CMOCKA_LIBS)

test_unit_unit_policy_SOURCES = test/unit/unit-policy.c test/unit/unit.h
test_unit_unit_policy_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
test_unit_unit_policy_LDADD = libxos-core.la $(CMOCKA_LIBS)

test_unit_unit_policy_mech_SOURCES = test/unit/unit-policy-mech.c test/unit/unit.h
test_unit_unit_policy_mech_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
test_unit_unit_policy_mech_LDADD = libxos-core.la $(CMOCKA_LIBS)

test_unit_unit_registry_SOURCES = test/unit/unit-registry.c test/unit/unit.h
test_unit_unit_registry_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
test_unit_unit_registry_LDADD = libxos-core.la $(CMOCKA_LIBS)

test_unit_unit_vic_dispatch_SOURCES = test/unit/unit-vic-dispatch.c test/unit/unit.h
test_unit_unit_vic_dispatch_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
test_unit_unit_vic_dispatch_LDADD = libxos-core.la $(CMOCKA_LIBS)
endif
