# SPDX-License-Identifier: MIT
# Memory domains, mutate, dump and restore (issue 7).  Included from Makefile.am.
libxos_core_la_SOURCES += \
	src/runtime/domain.c \
	src/runtime/domain_alloc.c \
	src/runtime/mutate.c \
	src/runtime/dump.c
xosinclude_HEADERS += include/xos/mutate.h

if HAVE_CMOCKA
check_PROGRAMS += test/integration/ef-mutate
TESTS += test/integration/ef-mutate
test_integration_ef_mutate_SOURCES = test/integration/ef-mutate.c
test_integration_ef_mutate_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
test_integration_ef_mutate_LDADD = libxos.la $(CMOCKA_LIBS)
endif
