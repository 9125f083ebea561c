# SPDX-License-Identifier: MIT
# test/security: attacks on sandbox-privilege, each a small program asserting the attack
# is stopped.  Included from Makefile.am.

# Plain programs using only <xos.h>: exit 0 when the attack is stopped, 1 when
# it got through, 77 when this machine cannot make sandboxes.
sandbox_privilege_tests = \
	test/security/sandbox-sysctl \
	test/security/sandbox-mount \
	test/security/sandbox-init
check_PROGRAMS += $(sandbox_privilege_tests)
TESTS += $(sandbox_privilege_tests)

test_security_sandbox_sysctl_SOURCES = test/security/sandbox-sysctl.c test/security/priv-helpers.h
test_security_sandbox_sysctl_LDADD = libxos.la

test_security_sandbox_mount_SOURCES = test/security/sandbox-mount.c test/security/priv-helpers.h
test_security_sandbox_mount_LDADD = libxos.la

test_security_sandbox_init_SOURCES = test/security/sandbox-init.c test/security/priv-helpers.h
test_security_sandbox_init_LDADD = libxos.la
