/* SPDX-License-Identifier: MIT */
/* Close-on-exec: of two pipes, the O_CLOEXEC one is gone in the exec'd
 * shell and the other is still there, and the shell can write into it. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	int a[2], b[2], st;
	char cmd[256], buf[256];
	ssize_t n, got = 0;
	pid_t pid;

	if (pipe2(a, O_CLOEXEC) || pipe(b))
		return 1;
	snprintf(cmd, sizeof(cmd),
		 "test -e /proc/self/fd/%d && echo cloexec-open || echo cloexec-closed; "
		 "test -e /proc/self/fd/%d && echo plain-open; echo via-fd >&%d",
		 a[1], b[1], b[1]);
	pid = fork();
	if (pid == 0) {
		close(b[0]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(b[1]);
	close(a[1]);
	while ((n = read(b[0], buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
		got += n;
	buf[got] = '\0';
	waitpid(pid, &st, 0);
	printf("%s", buf);
	printf("exit %d\n", WEXITSTATUS(st));
	return 0;
}
