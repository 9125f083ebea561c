/* SPDX-License-Identifier: MIT */
/* A tree of processes: each level forks two children, leaves exit with a
 * code made from their path, parents fold their children's statuses; one
 * leaf dies of SIGKILL.  Prints the folded result. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int node(int depth, int path)
{
	int sum = path;

	if (depth == 0) {
		if (path == 13)
			raise(SIGKILL);
		return path % 50;
	}
	for (int i = 0; i < 2; i++) {
		pid_t pid = fork();
		int st;

		if (pid < 0)
			return 99;
		if (pid == 0)
			_exit(node(depth - 1, path * 2 + i));
		if (waitpid(pid, &st, 0) != pid)
			return 98;
		sum += WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
	}
	return sum % 200;
}

int main(void)
{
	printf("tree: %d\n", node(3, 1));
	return 0;
}
