/* SPDX-License-Identifier: MIT */
/* Built with -static: LD_PRELOAD has no effect, so the shim never runs in
 * it; it must behave exactly as natively (fork, pipe, exit status). */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	int p[2], st;
	char buf[32] = "";
	pid_t pid;

	if (pipe(p))
		return 1;
	pid = fork();
	if (pid == 0) {
		write(p[1], "static child", 12);
		_exit(4);
	}
	close(p[1]);
	read(p[0], buf, sizeof(buf) - 1);
	waitpid(pid, &st, 0);
	printf("%s, exit %d\n", buf, WEXITSTATUS(st));
	return 3;
}
