/* SPDX-License-Identifier: MIT */
/* vfork then exec (with a pipe as the child's stdout), vfork then _exit
 * with a code, and posix_spawn: the parent sees the children's output and
 * statuses, and its own memory is as it left it. */
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(void)
{
	volatile int marker = 42;
	int p[2], st;
	char buf[128];
	ssize_t n;
	volatile ssize_t got = 0;
	pid_t pid;

	if (pipe(p))
		return 1;
	pid = vfork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execl("/bin/echo", "echo", "hello from vfork+exec", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while ((n = read(p[0], buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
		got += n;
	buf[got] = '\0';
	close(p[0]);
	waitpid(pid, &st, 0);
	printf("child said: %s", buf);
	printf("exec child: exit %d\n", WEXITSTATUS(st));

	pid = vfork();
	if (pid == 0)
		_exit(7);
	waitpid(pid, &st, 0);
	printf("vfork _exit: exit %d, marker %d\n", WEXITSTATUS(st), marker);

	{
		char *argv[] = { "sh", "-c", "exit 9", NULL };

		if (posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ))
			return 2;
		waitpid(pid, &st, 0);
		printf("posix_spawn: exit %d\n", WEXITSTATUS(st));
	}
	return 0;
}
