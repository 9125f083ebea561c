/* SPDX-License-Identifier: MIT */
/*
 * Attack: root inside the sandbox undoes the sandbox with mount(2):
 * remounting the read-only view or the read-only /proc/sys writable,
 * unmounting the masks, mounting a fresh /proc (whose /proc/sys would be
 * writable) or a tmpfs.  Two layers stop it, each checked here: mount and
 * umount2 can never be put on the allow-list (sandbox.allow), so the filter
 * kills the first attempt (SIGSYS); and were the filter bypassed, the
 * kernel would refuse too, because the EF holds no capability at all
 * (effective, permitted, bounding, ambient) and runs with no_new_privs.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "priv-helpers.h"

static int attempt(int rc, const char *what)
{
	if (rc < 0)
		return 0;
	t_say("  EF could %s\n", what);
	return 1;
}

static int mounter(void *arg)
{
	int through = 0;

	(void)arg;
	through |= attempt(mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND, NULL), "remount / writable") << 0;
	through |= attempt(mount(NULL, "/proc/sys", NULL, MS_REMOUNT | MS_BIND, NULL),
			   "remount /proc/sys writable") << 1;
	through |= attempt(umount2("/proc/sys", MNT_DETACH), "unmount /proc/sys") << 2;
	mkdir("/tmp/p", 0700);
	through |= attempt(mount("proc", "/tmp/p", "proc", 0, NULL), "mount a new /proc") << 3;
	through |= attempt(mount("tmpfs", "/tmp/p", "tmpfs", 0, NULL), "mount a tmpfs") << 4;
	return through;
}

static int privileges(void *arg)
{
	int through = 0;

	(void)arg;
	through |= t_status_not("/proc/self/status", "the EF", "CapEff", "0000000000000000") << 5;
	through |= t_status_not("/proc/self/status", "the EF", "CapPrm", "0000000000000000") << 5;
	through |= t_status_not("/proc/self/status", "the EF", "CapBnd", "0000000000000000") << 5;
	through |= t_status_not("/proc/self/status", "the EF", "CapAmb", "0000000000000000") << 5;
	through |= t_status_not("/proc/self/status", "the EF", "NoNewPrivs", "1") << 6;
	return through;
}

int main(void)
{
	struct xos_ef_exit ex;
	int bad = 0;

	t_sandbox_require();
	bad |= t_sandbox_refused("sandbox.allow=mount:umount2", mounter);
	bad |= t_expect_stopped("capabilities and no_new_privs of the EF", t_sandbox_run(NULL, privileges, NULL, 0));
	ex = t_sandbox_run(NULL, mounter, NULL, 0);
	if (ex.how == XOS_EF_KILLED && ex.status == SIGSYS)
		printf("ok: mount(2) from a sandbox killed by the filter (SIGSYS)\n");
	else
		bad |= t_expect_stopped("mount and remount from a sandbox", ex);
	return bad ? T_FAIL : T_PASS;
}
