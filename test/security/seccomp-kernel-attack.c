/* SPDX-License-Identifier: MIT */
/*
 * Attack: the kernel interfaces most kernel exploits start from: bpf
 * (verifier bugs), perf_event_open (perf bugs, side channels) and
 * userfaultfd (freezing the kernel mid-copy to win races).  The EF needs
 * none of them.  Stopped: each kills the EF (SIGSYS), and sandbox.allow
 * cannot add them (-EPERM).
 */
#include <sys/syscall.h>
#include <unistd.h>

#include "limits-attack.h"

static int call_bpf(void *arg)
{
	unsigned char attr[128] = { 0 };

	(void)arg;
	return syscall(SYS_bpf, 0 /* BPF_MAP_CREATE */, attr, sizeof(attr)) >= 0 ? 0 : 1;
}

static int call_perf(void *arg)
{
	unsigned char attr[128] = { 0 };

	(void)arg;
	attr[4] = 128; /* size */
	return syscall(SYS_perf_event_open, attr, 0, -1, -1, 0) >= 0 ? 0 : 1;
}

static int call_uffd(void *arg)
{
	(void)arg;
	return syscall(SYS_userfaultfd, 0) >= 0 ? 0 : 1;
}

int main(void)
{
	la_require_sandbox();
	la_expect_sigsys("bpf", NULL, call_bpf, NULL, 0);
	la_expect_sigsys("perf_event_open", NULL, call_perf, NULL, 0);
	la_expect_sigsys("userfaultfd", NULL, call_uffd, NULL, 0);
	la_expect_refused("bpf", call_bpf);
	la_expect_refused("perf_event_open", call_perf);
	la_expect_refused("userfaultfd", call_uffd);
	return la_fail_count ? 1 : 0;
}
