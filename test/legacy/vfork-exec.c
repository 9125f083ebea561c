/* SPDX-License-Identifier: MIT */
/* vfork then exec (with a pipe as the child's stdout), vfork then _exit
 * with a code, and posix_spawn: the parent sees the children's output and
 * statuses, and its own memory is as it left it.  A vfork child runs in
 * its parent's memory (what it writes there, the parent reads: some
 * programs report a failed exec so), and what it does to its own fds and
 * signal handlers leaves the parent's as they were. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void say(const char *s)
{
	if (write(1, s, strlen(s)) < 0)
		_exit(3);
}

static void parents_handler(int sig)
{
	(void)sig;
	say("SIGUSR1: the parent's handler\n");
}

static void childs_handler(int sig)
{
	(void)sig;
	say("SIGUSR1: the vfork child's handler\n");
}

/* clone(CLONE_VM | CLONE_VFORK), as some spawn implementations do. */
static volatile int clone_child_wrote;
static char clone_stack[64 * 1024] __attribute__((aligned(16)));

static int clone_child(void *arg)
{
	struct sigaction its = { .sa_handler = childs_handler };

	(void)arg;
	sigaction(SIGUSR1, &its, NULL);
	clone_child_wrote = 1;
	return 5;
}

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
		volatile int child_errno = 0;

		pid = vfork();
		if (pid == 0) {
			execl("/nonexistent/program", "program", (char *)NULL);
			child_errno = errno;
			_exit(127);
		}
		waitpid(pid, &st, 0);
		printf("vfork, failed exec: exit %d, the child's errno %d read by the parent\n", WEXITSTATUS(st),
		       child_errno);
	}

	{
		struct sigaction mine = { .sa_handler = parents_handler };
		char got_q[64] = "";
		volatile ssize_t k = 0;
		int q[2];

		if (sigaction(SIGUSR1, &mine, NULL) || pipe(q) || write(q[1], "before ", 7) != 7)
			return 1;
		pid = vfork();
		if (pid == 0) {
			struct sigaction its = { .sa_handler = childs_handler };

			sigaction(SIGUSR1, &its, NULL);
			close(q[0]);
			dup2(2, q[1]);
			close(q[1]);
			_exit(0);
		}
		waitpid(pid, &st, 0);
		if (write(q[1], "after", 5) != 5)
			return 1;
		close(q[1]);
		while ((n = read(q[0], got_q + k, sizeof(got_q) - 1 - (size_t)k)) > 0)
			k += n;
		close(q[0]);
		printf("a pipe whose ends a vfork child closed and replaced: \"%s\"\n", got_q);
		fflush(stdout);
		raise(SIGUSR1);
	}

	pid = clone(clone_child, clone_stack + sizeof(clone_stack), CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
	if (pid < 0)
		return 1;
	waitpid(pid, &st, 0);
	printf("clone(CLONE_VM | CLONE_VFORK): exit %d, the child's write read by the parent: %d\n", WEXITSTATUS(st),
	       clone_child_wrote);
	fflush(stdout);
	raise(SIGUSR1);

	{
		int r[2];

		if (pipe(r) || write(r[1], "bytes written before the vfork\n", 31) != 31)
			return 1;
		fflush(stdout);
		pid = vfork();
		if (pid == 0) {
			dup2(r[0], 0);
			close(r[0]);
			close(r[1]);
			execl("/bin/cat", "cat", (char *)NULL);
			_exit(127);
		}
		close(r[0]);
		close(r[1]);
		waitpid(pid, &st, 0);
		printf("cat on a pipe the parent closed at once: exit %d\n", WEXITSTATUS(st));
	}

	{
		char *argv[] = { "sh", "-c", "exit 9", NULL };

		if (posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ))
			return 2;
		waitpid(pid, &st, 0);
		printf("posix_spawn: exit %d\n", WEXITSTATUS(st));
	}
	return 0;
}
