# SPDX-License-Identifier: MIT
# test/security: attacks on sandbox-limits, each a small program asserting the attack
# is stopped.  Included from Makefile.am.

# Limits that count the whole EF tree (src/icf/sandbox/cgroup.c): shmem,
# CPU of every process, process count.
limits_attacks = \
	test/security/limits-memfd \
	test/security/limits-cpu-tree \
	test/security/limits-fork-bomb
check_PROGRAMS += $(limits_attacks)
TESTS += $(limits_attacks)

test_security_limits_memfd_SOURCES = test/security/limits-memfd.c test/security/limits-attack.h
test_security_limits_memfd_LDADD = libxos.la

test_security_limits_cpu_tree_SOURCES = test/security/limits-cpu-tree.c test/security/limits-attack.h
test_security_limits_cpu_tree_LDADD = libxos.la

test_security_limits_fork_bomb_SOURCES = test/security/limits-fork-bomb.c test/security/limits-attack.h
test_security_limits_fork_bomb_LDADD = libxos.la

# The seccomp filter's argument checks and never-allowed calls (src/icf/sandbox/seccomp.c):
# one program per public container-escape class.
seccomp_attacks = \
	test/security/seccomp-unix-connect \
	test/security/seccomp-chan-switch \
	test/security/seccomp-io-uring \
	test/security/seccomp-foreign-abi \
	test/security/seccomp-keyring \
	test/security/seccomp-mknod \
	test/security/seccomp-ptrace \
	test/security/seccomp-open-by-handle \
	test/security/seccomp-namespaces \
	test/security/seccomp-kernel-attack
check_PROGRAMS += $(seccomp_attacks)
TESTS += $(seccomp_attacks)

test_security_seccomp_unix_connect_SOURCES = test/security/seccomp-unix-connect.c test/security/limits-attack.h
test_security_seccomp_unix_connect_LDADD = libxos.la

test_security_seccomp_chan_switch_SOURCES = test/security/seccomp-chan-switch.c test/security/limits-attack.h
test_security_seccomp_chan_switch_LDADD = libxos.la

test_security_seccomp_io_uring_SOURCES = test/security/seccomp-io-uring.c test/security/limits-attack.h
test_security_seccomp_io_uring_LDADD = libxos.la

test_security_seccomp_foreign_abi_SOURCES = test/security/seccomp-foreign-abi.c test/security/limits-attack.h
test_security_seccomp_foreign_abi_LDADD = libxos.la

test_security_seccomp_keyring_SOURCES = test/security/seccomp-keyring.c test/security/limits-attack.h
test_security_seccomp_keyring_LDADD = libxos.la

test_security_seccomp_mknod_SOURCES = test/security/seccomp-mknod.c test/security/limits-attack.h
test_security_seccomp_mknod_LDADD = libxos.la

test_security_seccomp_ptrace_SOURCES = test/security/seccomp-ptrace.c test/security/limits-attack.h
test_security_seccomp_ptrace_LDADD = libxos.la

test_security_seccomp_open_by_handle_SOURCES = test/security/seccomp-open-by-handle.c test/security/limits-attack.h
test_security_seccomp_open_by_handle_LDADD = libxos.la

test_security_seccomp_namespaces_SOURCES = test/security/seccomp-namespaces.c test/security/limits-attack.h
test_security_seccomp_namespaces_LDADD = libxos.la

test_security_seccomp_kernel_attack_SOURCES = test/security/seccomp-kernel-attack.c test/security/limits-attack.h
test_security_seccomp_kernel_attack_LDADD = libxos.la

# The rlimit fallback (XOS_SANDBOX_CGROUP=off) and what --list-icfs says about it.
TESTS += test/security/limits-fallback.sh
EXTRA_DIST += test/security/limits-fallback.sh
