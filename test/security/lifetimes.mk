# SPDX-License-Identifier: MIT
# test/security: attacks on lifetimes, each a small program asserting the attack
# is stopped.  Included from Makefile.am.

# A peer dies or turns hostile holding a channel's control lock.  It knows the
# control block's layout (it is in its own memory): chan_i.h, libxos-core.
lifetimes_tests = \
	test/security/lifetimes-chan-lock \
	test/security/lifetimes-orphans \
	test/security/lifetimes-thread-ends
check_PROGRAMS += $(lifetimes_tests)
TESTS += $(lifetimes_tests)

test_security_lifetimes_chan_lock_SOURCES = test/security/lifetimes-chan-lock.c
test_security_lifetimes_chan_lock_LDADD = libxos-core.la

# A thread EF ends without closing the ends it was given.  Only <xos.h>.
test_security_lifetimes_thread_ends_SOURCES = test/security/lifetimes-thread-ends.c
test_security_lifetimes_thread_ends_LDADD = libxos.la

# A SIGKILLed program leaves none of its EF processes (sandboxes included).  Only <xos.h>.
test_security_lifetimes_orphans_SOURCES = test/security/lifetimes-orphans.c
test_security_lifetimes_orphans_LDADD = libxos.la
