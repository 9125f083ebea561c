# SPDX-License-Identifier: MIT
# What the tests of every directory share: the environment they run in, the
# helpers they include, valgrind over the quick ones, the installed tree.
EXTRA_DIST += %reldir%/checks.sh %reldir%/sandbox-require.h %reldir%/domains-require.h \
	%reldir%/shim-area-map.h

# The layers call down only: ICFs and examples use the public headers alone.
XOS_SCRIPT_TESTS += %reldir%/layers.sh

# A crash must stay a crash under ASan too (tests check how EFs die).
TESTS_ENVIRONMENT += XOS_RUN=$(abs_builddir)/xos-run DEMO=$(abs_builddir)/examples/ef-demo \
	ASAN_OPTIONS=handle_segv=0:handle_sigbus=0:detect_leaks=0$${ASAN_OPTIONS:+:$$ASAN_OPTIONS}; \
	export XOS_RUN DEMO ASAN_OPTIONS;
TESTS_ENVIRONMENT += LIBXOS=$(abs_builddir)/.libs/libxos.so TOP_SRCDIR=$(abs_top_srcdir); \
	export LIBXOS TOP_SRCDIR;
TESTS_ENVIRONMENT += XOS_SHIM=$(abs_builddir)/.libs/libxos-shim.so; export XOS_SHIM;

# ---- valgrind over the quick tests (quickstart.sh test runs it) -------------------
check-valgrind: $(check_PROGRAMS)
	@fail=0; for t in $(valgrind_tests); do \
	  if $(LIBTOOL) --mode=execute valgrind -q --error-exitcode=99 --leak-check=no \
	       --track-fds=no ./$$t >$$t.valgrind.log 2>&1; then echo "valgrind: $$t: clean"; \
	  else echo "valgrind: $$t: FAILED"; tail -n 40 $$t.valgrind.log; fail=1; fi; done; \
	test $$fail -eq 0
.PHONY: check-valgrind

# ---- the installed tree: make installcheck stages an install and checks it --------
installcheck_env = SRCDIR=$(abs_top_srcdir) bindir=$(bindir) includedir=$(includedir) \
	libdir=$(libdir) pkglibdir=$(pkglibdir) pkglibexecdir=$(pkglibexecdir) mandir=$(mandir) CC="$(CC)"
installcheck-local:
	@root=$(abs_builddir)/installcheck-root; rm -rf "$$root"; \
	$(MAKE) $(AM_MAKEFLAGS) install DESTDIR="$$root" >"$$root.log" 2>&1 || \
		{ tail -n 40 "$$root.log"; rm -f "$$root.log"; exit 1; }; rm -f "$$root.log"; \
	ROOT="$$root" $(installcheck_env) $(SHELL) $(srcdir)/%reldir%/installcheck.sh; st=$$?; \
	rm -rf "$$root"; exit $$st
EXTRA_DIST += %reldir%/installcheck.sh
