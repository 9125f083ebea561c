/* SPDX-License-Identifier: MIT */
/*
 * Legacy test programs that run themselves under the shim: the program,
 * started by make check, runs itself again as
 * "$XOS_RUN --policy=perf -- itself --under-shim [MODE]" and reports what
 * that run says.
 */
#ifndef XOS_TEST_SELF_UNDER_SHIM_H
#define XOS_TEST_SELF_UNDER_SHIM_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* Run this program under $XOS_RUN with "--under-shim" and @mode (or
 * none): its exit status; 77 without XOS_RUN; 1 if xos-run died. */
static inline int self_under_shim(const char *mode)
{
	const char *run = getenv("XOS_RUN");
	char self[4096];
	ssize_t len;
	pid_t pid;
	int st;

	if (!run || access(run, X_OK) != 0) {
		printf("SKIP: XOS_RUN must name xos-run\n");
		return 77;
	}
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len <= 0)
		return 1;
	self[len] = '\0';
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execl(run, run, "--policy=perf", "--", self, "--under-shim", mode, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) {
		printf("FAIL: xos-run died\n");
		return 1;
	}
	return WEXITSTATUS(st);
}

#endif
