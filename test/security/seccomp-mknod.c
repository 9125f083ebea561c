/* SPDX-License-Identifier: MIT */
/*
 * Attack: make a device node (here /dev/mem's 1:1 and a disk's 8:0) in a
 * writable place and open the device through it.  Stopped: mknodat kills
 * the EF by default (SIGSYS); with sandbox.allow=mknodat it makes FIFOs
 * but device nodes fail with EPERM (the filter checks the mode, whatever
 * the id mapping or mount flags).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "limits-attack.h"

static int make_mem(void *arg)
{
	(void)arg;
	return syscall(SYS_mknodat, AT_FDCWD, "/tmp/mem", S_IFCHR | 0600, makedev(1, 1)) == 0 ? 0 : 1;
}

static int make_nodes(void *arg)
{
	(void)arg;
	if (syscall(SYS_mknodat, AT_FDCWD, "/tmp/fifo", S_IFIFO | 0600, 0) != 0)
		return 2; /* not a device: allowed */
	if (syscall(SYS_mknodat, AT_FDCWD, "/tmp/mem", S_IFCHR | 0600, makedev(1, 1)) == 0)
		return 3;
	if (errno != EPERM)
		return 4;
	if (syscall(SYS_mknodat, AT_FDCWD, "/tmp/sda", S_IFBLK | 0600, makedev(8, 0)) == 0)
		return 5;
	return errno == EPERM ? 0 : 6;
}

int main(void)
{
	struct xos_ef_exit ex;

	la_require_sandbox();
	la_expect_sigsys("mknodat (default)", NULL, make_mem, NULL, 0);
	ex = la_run("sandbox.allow=mknodat", make_nodes, NULL, 0);
	if (ex.how != XOS_EF_EXITED || ex.status != 0) {
		printf("FAIL: sandbox.allow=mknodat: EF %s (2: FIFO refused, 3/5: device made, 4/6: wrong errno)\n",
		       la_how(ex));
		la_fail_count++;
	} else {
		printf("ok: sandbox.allow=mknodat: FIFO made, device nodes refused with EPERM\n");
	}
	return la_fail_count ? 1 : 0;
}
