# SPDX-License-Identifier: MIT
# test/security: attacks on sandbox-privilege, each a small program asserting the attack
# is stopped.  Included from Makefile.am.

# The host-kit call the sandbox closes inherited descriptors with (src/runtime/hostkit.c).
dist_man_MANS += man/man3/xos_ef_fds_owned.3

# Plain programs using only <xos.h>: exit 0 when the attack is stopped, 1 when
# it got through, 77 when this machine cannot make sandboxes.
sandbox_privilege_tests = \
	test/security/sandbox-sysctl \
	test/security/sandbox-mount \
	test/security/sandbox-init \
	test/security/sandbox-fds \
	test/security/sandbox-reopen \
	test/security/sandbox-ctl-dgram
check_PROGRAMS += $(sandbox_privilege_tests)
TESTS += $(sandbox_privilege_tests)

test_security_sandbox_sysctl_SOURCES = test/security/sandbox-sysctl.c test/security/priv-helpers.h
test_security_sandbox_sysctl_LDADD = libxos.la

test_security_sandbox_mount_SOURCES = test/security/sandbox-mount.c test/security/priv-helpers.h
test_security_sandbox_mount_LDADD = libxos.la

test_security_sandbox_init_SOURCES = test/security/sandbox-init.c test/security/priv-helpers.h
test_security_sandbox_init_LDADD = libxos.la

test_security_sandbox_fds_SOURCES = test/security/sandbox-fds.c test/security/priv-helpers.h
test_security_sandbox_fds_LDADD = libxos.la

test_security_sandbox_reopen_SOURCES = test/security/sandbox-reopen.c test/security/priv-helpers.h
test_security_sandbox_reopen_LDADD = libxos.la

test_security_sandbox_ctl_dgram_SOURCES = test/security/sandbox-ctl-dgram.c test/security/priv-helpers.h
test_security_sandbox_ctl_dgram_LDADD = libxos.la
