/* SPDX-License-Identifier: MIT */
/*
 * launch-floor: the least a launcher adds to a program's start, measured by
 * bench-startup in the same rounds as xos-run.
 *
 *   launch-floor exec PROG [ARG...]   only execs PROG (any launcher pays this)
 *   launch-floor wait PROG [ARG...]   vfork, exec, wait and exit with PROG's
 *                                     status (a launcher that stays to report
 *                                     or clean up pays this)
 *
 * Linked static-pie where xos-run is, so that the two differ only by what
 * xos-run does.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	pid_t pid;
	int ws;

	if (argc < 3 || (strcmp(argv[1], "exec") != 0 && strcmp(argv[1], "wait") != 0)) {
		fprintf(stderr, "usage: launch-floor exec|wait PROG [ARG...]\n");
		return 2;
	}
	if (argv[1][0] == 'e') {
		execv(argv[2], argv + 2);
		return 127;
	}
	pid = vfork();
	if (pid == 0) {
		execv(argv[2], argv + 2);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &ws, 0) != pid)
		return 126;
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}
