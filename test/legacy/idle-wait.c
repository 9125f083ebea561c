/* SPDX-License-Identifier: MIT */
/* A plain legacy program: a child waits on a pipe in poll, then in
 * epoll_wait, with nothing coming for a second each time; the parent reads
 * the child's CPU time (utime + stime in /proc/PID/stat) over that second,
 * then writes, and the child must wake (within 5 s: the machine may be
 * loaded).  Prints whether the idle waiter stayed under 2% of a CPU and
 * woke.  Deterministic output. */
#define _GNU_SOURCE
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f || !fgets(buf, sizeof(buf), f)) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	p = strrchr(buf, ')');
	/* after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (long)(ut + st);
}

static int run(int use_epoll)
{
	int p[2], st;
	long t0, t1, hz = sysconf(_SC_CLK_TCK);
	pid_t pid;

	if (pipe(p))
		return 2;
	pid = fork();
	if (pid == 0) {
		char b[16];

		close(p[1]);
		if (use_epoll) {
			int ep = epoll_create1(0);
			struct epoll_event ev = { .events = EPOLLIN };

			epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
			if (epoll_wait(ep, &ev, 1, 20000) != 1)
				_exit(3);
		} else {
			struct pollfd pf = { .fd = p[0], .events = POLLIN };

			if (poll(&pf, 1, 20000) != 1)
				_exit(3);
		}
		_exit(read(p[0], b, sizeof(b)) == 4 ? 0 : 4);
	}
	close(p[0]);
	usleep(200000); /* past any spin */
	t0 = cpu_ticks(pid);
	sleep(1);
	t1 = cpu_ticks(pid);
	write(p[1], "wake", 4);
	{
		struct timespec a, b;

		clock_gettime(CLOCK_MONOTONIC, &a);
		waitpid(pid, &st, 0);
		clock_gettime(CLOCK_MONOTONIC, &b);
		printf("%s: idle waiter used < 2%% of a CPU: %s; woke and read: %s; within 5 s: %s\n",
		       use_epoll ? "epoll_wait" : "poll", t0 >= 0 && (t1 - t0) * 50 < hz ? "yes" : "no",
		       WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "yes" : "no",
		       (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9 < 5.0 ? "yes" : "no");
		if (t0 < 0 || (t1 - t0) * 50 >= hz || !WIFEXITED(st) || WEXITSTATUS(st))
			fprintf(stderr, "idle-wait: ticks %ld -> %ld (hz %ld), status %d\n", t0, t1, hz, st);
	}
	close(p[1]);
	return 0;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	run(0);
	run(1);
	return 0;
}
