/* SPDX-License-Identifier: MIT */
/* A child made with the raw clone system call (no glibc wrapper, so the
 * shim never sees it): it writes to a pipe and exits through the raw
 * syscall; the parent reads and reaps it. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	int p[2], st;
	char buf[64] = "";
	long pid;

	if (pipe(p))
		return 1;
	pid = syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);
	if (pid == 0) {
		static const char msg[] = "raw clone child";

		syscall(SYS_write, p[1], msg, sizeof(msg));
		syscall(SYS_exit_group, 12);
	}
	if (pid < 0)
		return 2;
	close(p[1]);
	if (read(p[0], buf, sizeof(buf)) <= 0)
		return 3;
	waitpid((pid_t)pid, &st, 0);
	printf("%s, exit %d\n", buf, WEXITSTATUS(st));
	return 0;
}
