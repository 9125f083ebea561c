/* SPDX-License-Identifier: MIT */
/* Pipe ends going away: EOF after the last writer closes (including one
 * in a child that exits), EPIPE when writing with SIGPIPE ignored, death
 * by SIGPIPE when it is not. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	int p[2], st;
	char buf[64];
	ssize_t n, got = 0;
	pid_t pid;

	/* EOF: two writers, the child's copy goes away when it exits. */
	pipe(p);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		write(p[1], "child ", 6);
		_exit(0);
	}
	write(p[1], "parent ", 7);
	close(p[1]);
	while ((n = read(p[0], buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
		got += n;
	printf("eof after %zd bytes, last read %zd\n", got, n);
	close(p[0]);
	waitpid(pid, &st, 0);

	/* EPIPE with SIGPIPE ignored. */
	pipe(p);
	signal(SIGPIPE, SIG_IGN);
	pid = fork();
	if (pid == 0) {
		close(p[1]);
		read(p[0], buf, 1);
		_exit(0);
	}
	close(p[0]);
	write(p[1], "a", 1);
	waitpid(pid, &st, 0);
	errno = 0;
	n = write(p[1], "b", 1);
	printf("write to a pipe without readers: %zd %s\n", n, strerror(errno));
	close(p[1]);

	/* A reader killed (no close of its own) while the writer is blocked. */
	{
		static char big[4 << 20];

		pipe(p);
		signal(SIGPIPE, SIG_IGN);
		pid = fork();
		if (pid == 0) {
			close(p[1]);
			read(p[0], buf, 1);
			usleep(200000);
			raise(SIGKILL);
		}
		close(p[0]);
		n = write(p[1], big, sizeof(big));
		printf("write while the reader is killed: %s\n", n == (ssize_t)sizeof(big) ? "complete" : n > 0 ? "partial" : "failed");
		errno = 0;
		n = write(p[1], big, 10);
		printf("next write: %zd %s\n", n, strerror(errno));
		waitpid(pid, &st, 0);
		printf("reader: %s %d\n", WIFSIGNALED(st) ? "killed by signal" : "exit", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
		close(p[1]);
	}

	/* A writer killed: the reader sees what it wrote, then EOF. */
	pipe(p);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		write(p[1], "12345", 5);
		pause();
		_exit(0);
	}
	close(p[1]);
	got = 0;
	while (got < 5 && (n = read(p[0], buf + got, 5 - (size_t)got)) > 0)
		got += n;
	kill(pid, SIGKILL);
	n = read(p[0], buf, sizeof(buf));
	printf("after the writer is killed: %zd bytes, then %zd\n", got, n);
	waitpid(pid, &st, 0);
	close(p[0]);

	/* Death by SIGPIPE. */
	signal(SIGPIPE, SIG_DFL);
	pipe(p);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		usleep(100000);
		for (int i = 0; i < 100; i++)
			write(p[1], "data", 4);
		_exit(0);
	}
	close(p[1]);
	close(p[0]);
	waitpid(pid, &st, 0);
	printf("writer: %s %d\n", WIFSIGNALED(st) ? "killed by signal" : "exit", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	return 0;
}
