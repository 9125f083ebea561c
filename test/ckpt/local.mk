# SPDX-License-Identifier: MIT
# test/ckpt: dumps that do not stop the EF (xos_ef_dump_start).  A real
# binary (-no-install: restored by xos-run in a new process), driven by a script.
check_PROGRAMS += %reldir%/ckpt-dump
%canon_reldir%_ckpt_dump_LDFLAGS = $(AM_LDFLAGS) -no-install
XOS_SCRIPT_TESTS += %reldir%/ckpt-dump.sh
TESTS_ENVIRONMENT += CKPT_PROG=$(abs_builddir)/%reldir%/ckpt-dump; export CKPT_PROG;
