# SPDX-License-Identifier: MIT
# test/security: attacks on sandbox-limits, each a small program asserting the attack
# is stopped.  Included from Makefile.am.

# Limits that count the whole EF tree (src/icf/sandbox_cgroup.c): shmem,
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
