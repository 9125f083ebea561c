#!/bin/sh
# SPDX-License-Identifier: MIT
# The rlimit fallback of the sandbox's limits (XOS_SANDBOX_CGROUP=off, what a
# machine without usable cgroups gets): `xos-run --list-icfs` says so with
# its gaps, and the per-process limits still hold (test/integration/sandbox-limits).
# Run by make check with XOS_RUN set (TESTS_ENVIRONMENT).
set -u
: "${XOS_RUN:?XOS_RUN must name xos-run}"
# Programs are built in the build directory, where make check runs this.

list=$("$XOS_RUN" --list-icfs) || { echo "FAIL: xos-run --list-icfs"; exit 1; }
echo "$list" | grep -q '^sandbox  *available' || { echo "# SKIP sandbox unavailable here"; exit 77; }
echo "$list" | grep '^sandbox  *available' | grep -q 'limits: ' ||
	{ echo "FAIL: --list-icfs does not say what enforces the sandbox's limits"; exit 1; }

fb=$(XOS_SANDBOX_CGROUP=off "$XOS_RUN" --list-icfs | grep '^sandbox  *available') || exit 1
echo "# $fb"
echo "$fb" | grep -q 'limits: rlimit (memory: address space, shmem not counted; pids: RLIMIT_NPROC, not for host root; cpu: per process)' ||
	{ echo "FAIL: the fallback does not state its gaps"; exit 1; }

XOS_SANDBOX_CGROUP=off ./test/integration/sandbox-limits >/dev/null ||
	{ echo "FAIL: per-process limits under the rlimit fallback"; exit 1; }
echo "ok: rlimit fallback listed with its gaps; per-process limits hold"
