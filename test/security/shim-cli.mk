# SPDX-License-Identifier: MIT
# test/security: attacks on shim-cli, each a small program asserting the attack
# is stopped.  Included from Makefile.am.

# Every bad xos-run invocation: exit 2, one line, nothing run.
TESTS += test/security/cli-usage.sh
EXTRA_DIST += test/security/cli-usage.sh

# A forged shared area under a legacy program on a ring: EIO, never a crash.
# A plain program (the shim is preloaded into it: no sanitizers); it knows
# the area's layout, as an attacker reading the source would.
check_PROGRAMS += test/security/shim-ring-forge
TESTS += test/security/shim-ring-forge
test_security_shim_ring_forge_SOURCES = test/security/shim-ring-forge.c
test_security_shim_ring_forge_CFLAGS = $(XOS_CFLAGS) -pthread -I$(top_srcdir)/src/shim
test_security_shim_ring_forge_LDFLAGS = -pthread

# The rings' memory budget, lowered and raised by a process of the run:
# channels past it stay native and work; the build's budget is the most.
check_PROGRAMS += test/security/shim-ring-budget
TESTS += test/security/shim-ring-budget
test_security_shim_ring_budget_SOURCES = test/security/shim-ring-budget.c
test_security_shim_ring_budget_CFLAGS = $(XOS_CFLAGS) -pthread -I$(top_srcdir)/src/shim
test_security_shim_ring_budget_LDFLAGS = -pthread

# ---- libFuzzer harness for the shim's ring fed a hostile shared area:
# `make fuzz-shim-ring [FUZZ_SECONDS=N]` (FUZZ_SECONDS, FUZZ_CC: src/chan/local.mk) ----
EXTRA_DIST += test/chan/fuzz-shim-ring.c
fuzz/fuzz-shim-ring: $(srcdir)/test/chan/fuzz-shim-ring.c $(srcdir)/src/shim/ring.c $(srcdir)/src/shim/real.c \
		$(srcdir)/src/shim/shim_i.h $(srcdir)/src/shim/area.h
	@mkdir -p fuzz
	$(FUZZ_CC) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -pthread \
	  -I$(top_srcdir)/src/shim -I$(top_builddir) \
	  -o $@ $(srcdir)/test/chan/fuzz-shim-ring.c $(srcdir)/src/shim/real.c $(DL_LIBS)
fuzz-shim-ring: fuzz/fuzz-shim-ring
	@mkdir -p fuzz/shim-ring-corpus
	./fuzz/fuzz-shim-ring -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 fuzz/shim-ring-corpus
CLEANFILES += fuzz/fuzz-shim-ring
.PHONY: fuzz-shim-ring

# The shim's area never outlives xos-run, nor does the program (signals, SIGKILL).
TESTS += test/security/shim-area-lifetime.sh
EXTRA_DIST += test/security/shim-area-lifetime.sh

# A pipe on a ring holds what the kernel pipe holds (natively and under the
# shim identical).  A plain program, like the legacy ones.
check_PROGRAMS += test/security/shim-pipe-capacity
TESTS += test/security/shim-pipe-capacity
test_security_shim_pipe_capacity_SOURCES = test/security/shim-pipe-capacity.c
test_security_shim_pipe_capacity_CFLAGS = $(XOS_CFLAGS) -Wno-unused-result
test_security_shim_pipe_capacity_LDFLAGS = -pthread
