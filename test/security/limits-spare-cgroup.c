/* SPDX-License-Identifier: MIT */
/*
 * Attack on the spare cgroups (src/icf/sandbox/cgroup.c keeps a joined
 * sandbox's empty cgroups for its creator's next sandbox): a sandbox that
 * reuses one must be limited as a fresh one is, and no cgroup may outlive
 * the program.  A child program runs the memfd hoard of limits-memfd three
 * times under sandbox.mem=64M (each must be stopped), checks that the later
 * ones reused the first one's cgroups (so the reuse is what is tested), and
 * exits; its parent then finds no cgroup of the child left anywhere.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <ftw.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <unistd.h>

#include "limits-attack.h"
#include "memfd-hoard.h"

static char prefix[64];  /* "xos-sandbox.PID." */
static int found;        /* cgroups with that prefix */
static char names[8][64]; /* their distinct names */
static int nnames;

static int visit(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	const char *base = path + ftw->base;

	(void)st;
	if (flag != FTW_D || strncmp(base, prefix, strlen(prefix)) != 0)
		return 0;
	found++;
	for (int i = 0; i < nnames; i++)
		if (strcmp(names[i], base) == 0)
			return 0;
	if (nnames < 8)
		snprintf(names[nnames++], sizeof(names[0]), "%s", base);
	return 0;
}

/* The cgroups (any hierarchy) that sandboxes of @pid made and left. */
static void scan(pid_t pid)
{
	snprintf(prefix, sizeof(prefix), "xos-sandbox.%ld.", (long)pid);
	found = nnames = 0;
	nftw("/sys/fs/cgroup", visit, 16, FTW_PHYS);
}

static int program(void)
{
	bool by_cgroup = false; /* a memory cgroup's OOM kill, not the rlimit fallback */

	for (int k = 0; k < 3; k++) {
		struct xos_ef_exit ex = la_run("sandbox.mem=64M", memfd_hoard, NULL, 0);

		if (ex.how == XOS_EF_EXITED && (ex.status == 0 || ex.status == 3)) {
			printf("FAIL: sandbox %d: the EF held 512 MiB of memfd under sandbox.mem=64M (%s)\n", k,
			       la_how(ex));
			return 1;
		}
		printf("ok: sandbox %d: memfd hoard stopped (%s)\n", k, la_how(ex));
		by_cgroup = ex.how == XOS_EF_KILLED && ex.status == SIGKILL;
	}
	scan(getpid());
	if (by_cgroup && !found) {
		printf("FAIL: limited by a cgroup, but no spare cgroup kept for the next sandbox\n");
		return 1;
	}
	if (found && nnames != 1) {
		printf("FAIL: three sandboxes with the same limits made %d cgroups (%s, %s...), none reused\n",
		       nnames, names[0], names[1]);
		return 1;
	}
	printf("ok: %d spare cgroup(s) held, %s\n", found, found ? names[0] : "(no cgroups here)");
	return 0;
}

int main(void)
{
	pid_t pid;
	int ws;

	la_require_sandbox();
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0)
		exit(program()); /* exit(), as a program ends: its spares go with it */
	if (waitpid(pid, &ws, 0) != pid || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
		printf("FAIL: the program failed (status %#x)\n", ws);
		return 1;
	}
	scan(pid);
	if (found) {
		printf("FAIL: %d cgroup(s) of the ended program left, e.g. %s\n", found, names[0]);
		return 1;
	}
	printf("ok: no cgroup of the ended program left\n");
	return 0;
}
