/* SPDX-License-Identifier: MIT */
/*
 * Attack: hold memory beyond sandbox.mem where RLIMIT_AS cannot see it.
 * The EF writes 512 MiB into a memfd (shmem: no mapping, so no address
 * space) under sandbox.mem=64M.  Stopped: a write fails or the EF is
 * killed before 512 MiB are held; the memory cgroup counts shmem.
 */
#define _GNU_SOURCE
#include <unistd.h>

#include "limits-attack.h"
#include "memfd-hoard.h"

int main(void)
{
	struct xos_ef_exit ex;

	la_require_sandbox();
	ex = la_run("sandbox.mem=64M", memfd_hoard, NULL, 0);
	if (ex.how == XOS_EF_EXITED && ex.status == 0) {
		printf("FAIL: the EF held 512 MiB of memfd under sandbox.mem=64M\n");
		return 1;
	}
	if (ex.how == XOS_EF_EXITED && ex.status == 3) {
		printf("FAIL: memfd_create refused, the attack was not tried\n");
		return 1;
	}
	printf("ok: memfd hoard stopped (%s)\n", la_how(ex));
	return 0;
}
