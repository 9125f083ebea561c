/* SPDX-License-Identifier: MIT */
/*
 * Attack: make new namespaces (a fresh user namespace gives full
 * capabilities over what it creates: the usual first step of a kernel
 * exploit) or enter others with setns.  Stopped: unshare, setns and clone
 * with a namespace flag kill the EF (SIGSYS), even with sandbox.allow=clone
 * (which used to lift the flag check); sandbox.allow cannot add unshare,
 * setns, or mount (which would remount the view read-write) (-EPERM).
 */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "limits-attack.h"

static int new_userns(void *arg)
{
	(void)arg;
	return unshare(CLONE_NEWUSER) == 0 ? 0 : 1;
}

static int enter_ns(void *arg)
{
	(void)arg;
	return syscall(SYS_setns, 0, 0) == 0 ? 0 : 1;
}

static int clone_userns(void *arg)
{
	long rc;

	(void)arg;
	rc = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
	if (rc == 0)
		_exit(0);
	return rc > 0 ? 0 : 1;
}

int main(void)
{
	la_require_sandbox();
	la_expect_sigsys("unshare(CLONE_NEWUSER)", NULL, new_userns, NULL, 0);
	la_expect_sigsys("setns", NULL, enter_ns, NULL, 0);
	la_expect_sigsys("clone(CLONE_NEWUSER)", NULL, clone_userns, NULL, 0);
	la_expect_sigsys("clone(CLONE_NEWUSER) with sandbox.allow=clone", "sandbox.allow=clone",
			 clone_userns, NULL, 0);
	la_expect_refused("unshare", new_userns);
	la_expect_refused("setns", enter_ns);
	la_expect_refused("mount:umount2", enter_ns);
	return la_fail_count ? 1 : 0;
}
