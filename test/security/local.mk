# SPDX-License-Identifier: MIT
# Attacks: one small program per attack class, each asserting the attack is
# stopped (exit 0 when stopped, 1 when it got through, 77 when this machine
# cannot run it).

# ---- the sandbox's privileges: plain programs using only <xos.h> ----
noinst_HEADERS += %reldir%/priv-helpers.h
XOS_TESTS += %reldir%/sandbox-sysctl
XOS_TESTS += %reldir%/sandbox-mount
XOS_TESTS += %reldir%/sandbox-init
XOS_TESTS += %reldir%/sandbox-fds
XOS_TESTS += %reldir%/sandbox-reopen
XOS_TESTS += %reldir%/sandbox-ctl-dgram
XOS_TESTS += %reldir%/sandbox-wake-forge

# ---- limits that count the whole EF tree (src/icf/sandbox/cgroup.c): shmem,
# CPU of every process, process count ----
noinst_HEADERS += %reldir%/limits-attack.h %reldir%/memfd-hoard.h
XOS_TESTS += %reldir%/limits-memfd
XOS_TESTS += %reldir%/limits-cpu-tree
XOS_TESTS += %reldir%/limits-fork-bomb
# Spare cgroups reused by a creator: still limiting, gone with the program.
XOS_TESTS += %reldir%/limits-spare-cgroup
# The rlimit fallback (XOS_SANDBOX_CGROUP=off) and what --list-icfs says about it.
XOS_SCRIPT_TESTS += %reldir%/limits-fallback.sh

# ---- the seccomp filter's argument checks and never-allowed calls
# (src/icf/sandbox/seccomp.c): one program per public container-escape class ----
XOS_TESTS += %reldir%/seccomp-unix-connect
XOS_TESTS += %reldir%/seccomp-chan-switch
XOS_TESTS += %reldir%/seccomp-io-uring
XOS_TESTS += %reldir%/seccomp-foreign-abi
XOS_TESTS += %reldir%/seccomp-keyring
XOS_TESTS += %reldir%/seccomp-mknod
XOS_TESTS += %reldir%/seccomp-ptrace
XOS_TESTS += %reldir%/seccomp-open-by-handle
XOS_TESTS += %reldir%/seccomp-namespaces
XOS_TESTS += %reldir%/seccomp-kernel-attack

# ---- images: every attack is run on a genuine image of the test binary
# itself (dumped by a child), forged the way an attacker would
# (image-forge.h); real binaries (-no-install) ----
noinst_HEADERS += %reldir%/image-forge.h
XOS_TESTS += %reldir%/image-forged-binary
XOS_TESTS += %reldir%/image-forged-header
XOS_TESTS += %reldir%/image-fifo
XOS_TESTS += %reldir%/image-sparse-huge
XOS_TESTS += %reldir%/image-owner-mode
XOS_TESTS += %reldir%/image-forged-key
XOS_TESTS += %reldir%/image-lazy-chunk
%canon_reldir%_image_forged_binary_LDFLAGS = $(AM_LDFLAGS) -no-install
%canon_reldir%_image_forged_header_LDFLAGS = $(AM_LDFLAGS) -no-install
%canon_reldir%_image_fifo_LDFLAGS = $(AM_LDFLAGS) -no-install
%canon_reldir%_image_sparse_huge_LDFLAGS = $(AM_LDFLAGS) -no-install
%canon_reldir%_image_owner_mode_LDFLAGS = $(AM_LDFLAGS) -no-install
%canon_reldir%_image_forged_key_LDFLAGS = $(AM_LDFLAGS) -no-install
%canon_reldir%_image_lazy_chunk_LDFLAGS = $(AM_LDFLAGS) -no-install
XOS_SCRIPT_TESTS += %reldir%/image-restore-cli.sh

# libFuzzer harness for the image reader: `make fuzz-image [FUZZ_SECONDS=N]`
# (FUZZ_SECONDS, FUZZ_CC, FUZZ_FLAGS: test/chan/local.mk)
EXTRA_DIST += %reldir%/fuzz-image.c
fuzz/fuzz-image: $(srcdir)/%reldir%/fuzz-image.c $(srcdir)/src/runtime/image.c \
		$(srcdir)/src/runtime/sha256.c $(srcdir)/src/runtime/image_i.h $(srcdir)/src/runtime/xos_i.h
	@mkdir -p fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) \
	  -I$(top_srcdir)/include -I$(top_srcdir)/src/runtime -I$(top_builddir) \
	  -o $@ $(srcdir)/%reldir%/fuzz-image.c $(srcdir)/src/runtime/image.c $(srcdir)/src/runtime/sha256.c
fuzz-image: fuzz/fuzz-image
	@mkdir -p fuzz/image-corpus
	./fuzz/fuzz-image -max_len=65536 -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 fuzz/image-corpus
CLEANFILES += fuzz/fuzz-image
.PHONY: fuzz-image

# ---- lifetimes ----
# A peer dies or turns hostile holding a channel's control lock.  It knows the
# control block's layout (it is in its own memory): chan_i.h, libxos-core.
XOS_TESTS += %reldir%/lifetimes-chan-lock
%canon_reldir%_lifetimes_chan_lock_LDADD = libxos-core.la
# A thread EF ends without closing the ends it was given.  Only <xos.h>.
XOS_TESTS += %reldir%/lifetimes-thread-ends
# A SIGKILLed program leaves none of its EF processes (sandboxes included).  Only <xos.h>.
XOS_TESTS += %reldir%/lifetimes-orphans

# ---- the shim and the CLI ----
# Every bad xos-run invocation: exit 2, one line, nothing run.
XOS_SCRIPT_TESTS += %reldir%/cli-usage.sh
# The shim's area never outlives xos-run, nor does the program (signals, SIGKILL).
XOS_SCRIPT_TESTS += %reldir%/shim-area-lifetime.sh
# Plain programs the shim is preloaded into (no sanitizers, no libxos).
# A forged shared area under a legacy program on a ring: EIO, never a crash;
# it knows the area's layout, as an attacker reading the source would.
XOS_TESTS += %reldir%/shim-ring-forge
%canon_reldir%_shim_ring_forge_CFLAGS = $(XOS_CFLAGS_PLAIN) -I$(top_srcdir)/src/shim
%canon_reldir%_shim_ring_forge_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_shim_ring_forge_LDADD =
# The rings' memory budget, lowered and raised by a process of the run:
# channels past it stay native and work; the build's budget is the most.
XOS_TESTS += %reldir%/shim-ring-budget
%canon_reldir%_shim_ring_budget_CFLAGS = $(XOS_CFLAGS_PLAIN) -I$(top_srcdir)/src/shim
%canon_reldir%_shim_ring_budget_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_shim_ring_budget_LDADD =
# A pipe on a ring holds what the kernel pipe holds (natively and under the
# shim identical).
XOS_TESTS += %reldir%/shim-pipe-capacity
%canon_reldir%_shim_pipe_capacity_CFLAGS = $(XOS_CFLAGS) -Wno-unused-result
%canon_reldir%_shim_pipe_capacity_LDFLAGS = $(XOS_LDFLAGS_PLAIN)
%canon_reldir%_shim_pipe_capacity_LDADD =

# ---- start-up: xos-run creates no namespace unless a decision needs the
# sandbox; --list-icfs still tells the truth ----
XOS_SCRIPT_TESTS += %reldir%/startup-lazy-probe.sh
