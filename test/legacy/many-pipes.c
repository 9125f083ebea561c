/* SPDX-License-Identifier: MIT */
/* Many short-lived pipes, one after the other: each carries a message
 * from a child to its parent and is closed.  Under --policy=perf every one
 * of them gets a ring, because a ring no process holds is reused. */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	unsigned long sum = 0;

	for (int i = 0; i < 200; i++) {
		char buf[1000];
		int p[2], st;
		ssize_t n, got = 0;
		pid_t pid;

		if (pipe(p))
			return 1;
		pid = fork();
		if (pid == 0) {
			close(p[0]);
			memset(buf, 'a' + i % 26, sizeof(buf));
			write(p[1], buf, sizeof(buf));
			_exit(0);
		}
		close(p[1]);
		while ((n = read(p[0], buf + got, sizeof(buf) - (size_t)got)) > 0)
			got += n;
		close(p[0]);
		waitpid(pid, &st, 0);
		for (ssize_t j = 0; j < got; j++)
			sum += (unsigned char)buf[j];
	}
	printf("sum %lu\n", sum);
	return 0;
}
