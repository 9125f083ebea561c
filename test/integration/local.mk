# SPDX-License-Identifier: MIT
# Integration tests: only <xos.h> (and <xos/vic.h> for feature bits), the CLI
# and the shim.
XOS_CMOCKA_TESTS += %reldir%/ef-icfs
XOS_CMOCKA_TESTS += %reldir%/ef-mutate
XOS_CMOCKA_TESTS += %reldir%/ef-mutate-chan
XOS_CMOCKA_TESTS += %reldir%/ef-wake-signal
# The runtime's jemalloc arena: none made when the program's heap is glibc's.
XOS_TESTS += %reldir%/runtime-arena
%canon_reldir%_runtime_arena_LDADD = $(LDADD) $(JEMALLOC_LIBS) $(DL_LIBS)
%canon_reldir%_runtime_arena_CFLAGS = $(AM_CFLAGS) $(JEMALLOC_CFLAGS)
if ENABLE_SANITIZERS
%canon_reldir%_runtime_arena_CFLAGS += -DXOS_SANITIZE=1
endif
# Loads libxos itself (dlopen), so not linked with it.
XOS_TESTS += %reldir%/dlclose-handler
%canon_reldir%_dlclose_handler_LDADD = $(DL_LIBS)
if HAVE_CMOCKA
valgrind_tests += %reldir%/ef-icfs
endif
XOS_SCRIPT_TESTS += %reldir%/xos-run.sh
XOS_SCRIPT_TESTS += %reldir%/xos-run-shim-path.sh
XOS_SCRIPT_TESTS += %reldir%/xos-run-signals.sh

# The sandbox ICF.
noinst_HEADERS += %reldir%/sandbox-helpers.h
XOS_CMOCKA_TESTS += %reldir%/sandbox-chan
XOS_CMOCKA_TESTS += %reldir%/sandbox-domain
XOS_CMOCKA_TESTS += %reldir%/sandbox-limits
XOS_CMOCKA_TESTS += %reldir%/sandbox-messages
XOS_CMOCKA_TESTS += %reldir%/sandbox-net
XOS_CMOCKA_TESTS += %reldir%/sandbox-policy
XOS_CMOCKA_TESTS += %reldir%/sandbox-seccomp
XOS_CMOCKA_TESTS += %reldir%/sandbox-view
# The CLI with the sandbox (uses XOS_RUN and DEMO from TESTS_ENVIRONMENT).
XOS_SCRIPT_TESTS += %reldir%/sandbox-run.sh

# dump/restore across processes: real binaries (-no-install), driven by a script.
check_PROGRAMS += %reldir%/ef-restore %reldir%/ef-restore-other
%canon_reldir%_ef_restore_LDFLAGS = $(AM_LDFLAGS) -no-install
%canon_reldir%_ef_restore_other_SOURCES = %reldir%/ef-restore.c
%canon_reldir%_ef_restore_other_CFLAGS = $(AM_CFLAGS) -DOTHER_BINARY=1
%canon_reldir%_ef_restore_other_LDFLAGS = $(AM_LDFLAGS) -no-install
XOS_SCRIPT_TESTS += %reldir%/ef-restore.sh
TESTS_ENVIRONMENT += RESTORE_PROG=$(abs_builddir)/%reldir%/ef-restore; \
	XOS_DEMO_BIN=$(abs_builddir)/%reldir%/ef-restore-other; \
	export RESTORE_PROG XOS_DEMO_BIN;
