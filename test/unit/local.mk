# SPDX-License-Identifier: MIT
# Unit tests of the runtime core: cmocka programs that link the internals
# (libxos-core.la) and include "xos_i.h".  A test is its line in the list and
# its _LDADD.
noinst_HEADERS += %reldir%/unit.h
XOS_UNIT_TESTS += %reldir%/unit-api-args
XOS_UNIT_TESTS += %reldir%/unit-com
XOS_UNIT_TESTS += %reldir%/unit-mech
XOS_UNIT_TESTS += %reldir%/unit-policy
XOS_UNIT_TESTS += %reldir%/unit-policy-mech
XOS_UNIT_TESTS += %reldir%/unit-registry
XOS_UNIT_TESTS += %reldir%/unit-vic-dispatch
# Whom a request signals when it finds an EF asleep on a descriptor.
XOS_UNIT_TESTS += %reldir%/unit-wake
# What the sandbox added to the VIC: EF options, restricted ICFs.
XOS_UNIT_TESTS += %reldir%/unit-options
XOS_UNIT_TESTS += %reldir%/unit-policy-restricted
# SHA-256 / HMAC-SHA256 of keyed images against FIPS 180-4 and RFC 4231 vectors.
XOS_UNIT_TESTS += %reldir%/unit-sha256
# The image checksum against known answers, vector lanes and plain.
XOS_UNIT_TESTS += %reldir%/unit-image-sum
# The runtime's own memory: an arena the program's heap does not use, none made when not needed.
XOS_UNIT_TESTS += %reldir%/unit-alloc
%canon_reldir%_unit_api_args_LDADD = $(XOS_LIBS_UNIT)
%canon_reldir%_unit_com_LDADD = $(XOS_LIBS_UNIT)
%canon_reldir%_unit_mech_LDADD = $(XOS_LIBS_UNIT)
%canon_reldir%_unit_policy_LDADD = $(XOS_LIBS_UNIT)
%canon_reldir%_unit_policy_mech_LDADD = $(XOS_LIBS_UNIT)
%canon_reldir%_unit_registry_LDADD = $(XOS_LIBS_UNIT)
%canon_reldir%_unit_vic_dispatch_LDADD = $(XOS_LIBS_UNIT)
%canon_reldir%_unit_wake_LDADD = $(XOS_LIBS_UNIT)
%canon_reldir%_unit_options_LDADD = $(XOS_LIBS_UNIT)
%canon_reldir%_unit_policy_restricted_LDADD = $(XOS_LIBS_UNIT)
%canon_reldir%_unit_sha256_LDADD = $(XOS_LIBS_UNIT)
%canon_reldir%_unit_image_sum_LDADD = $(XOS_LIBS_UNIT)
%canon_reldir%_unit_alloc_LDADD = $(XOS_LIBS_UNIT) $(JEMALLOC_LIBS)
%canon_reldir%_unit_alloc_CFLAGS = $(AM_CFLAGS) $(JEMALLOC_CFLAGS)
if ENABLE_SANITIZERS
%canon_reldir%_unit_alloc_CFLAGS += -DXOS_SANITIZE=1
endif
if HAVE_CMOCKA
valgrind_tests += $(XOS_UNIT_TESTS)
endif
