// SPDX-License-Identifier: MIT
/*
 * A waiter in epoll_wait or poll goes back to spinning once answers are
 * fast again.
 *
 * Under the shim a wait for a ring spins a while before it sleeps in the
 * kernel, with a per-process budget that every missed spin halves.  A
 * phase of slow answers brings it to nothing; before this test, only a
 * short probe every 64 waits could raise it again, so once the answers
 * were fast again every wait still slept and was woken: redis with one
 * client made 1.5x the requests of native instead of 11x.  A sleep that
 * a ring ended soon, its writer on another CPU, now raises the budget to
 * what would have caught it.
 *
 * A requester and a responder (a forked child) on a socketpair: 2000 fast
 * round trips (warm; the responder works 10 us per request, as a server
 * does, longer than a probe's spin), 60 slow ones (400 us of work),
 * 2000 fast ones again, waiting in epoll_wait, then (in a process of its
 * own: the budget is per process) the same in poll.  The responder never
 * sleeps, so the requester's waits face a peer running on another CPU:
 * in both fast phases most must end without a sleep (voluntary context
 * switches of the requester); the slow and fast phases are tried twice
 * when the second fast phase sleeps (a neighbour may have had the CPU).
 * Counted, not timed; where the answers take
 * long even to a requester spinning on non-blocking reads (one CPU, or a
 * machine too loaded to give the responder one), no spin could catch
 * them and the test says so (77).
 *
 * Without arguments: runs itself under $XOS_RUN --policy=perf.
 * Exit 0: passed; 1: failed; 77: skipped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "self-under-shim.h"

#define FAST 2000
#define SLOW 60
#define SLOW_FLAG (1ull << 62)
#define END UINT64_MAX

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* @n bytes from @fd; on a non-blocking @fd it spins on EAGAIN (never sleeps). */
static int read_full(int fd, void *b, size_t n)
{
	for (size_t got = 0; got < n;) {
		ssize_t k = read(fd, (char *)b + got, n - got);

		if (k < 0 && errno == EAGAIN)
			continue;
		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	return 0;
}

/* Echo every number after 10 us of work (a server's request: longer than
 * a probe's spin), a slow one after 400 us. */
static void respond(int fd)
{
	uint64_t v;

	/* Never asleep in the kernel: the requester's waits see a peer that
	 * runs on another CPU (they would yield to a sleeping one instead). */
	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (read_full(fd, &v, sizeof(v)) == 0 && v != END) {
		uint64_t work = v & SLOW_FLAG ? 400000 : 10000;

		for (uint64_t t0 = now_ns(); now_ns() - t0 < work;)
			;
		if (write(fd, &v, sizeof(v)) != sizeof(v))
			break;
	}
	_exit(0);
}

static long sleeps(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_nvcsw;
}

/* @n round trips, waiting in epoll_wait (@ep >= 0) or poll; the sleeps they took, or -1. */
static long trips(int fd, int ep, uint64_t n, uint64_t flag)
{
	long s0 = sleeps();

	for (uint64_t i = 0; i < n; i++) {
		uint64_t v = i | flag, back;
		int rc;

		if (write(fd, &v, sizeof(v)) != sizeof(v))
			return -1;
		if (ep >= 0) {
			struct epoll_event ev;

			rc = epoll_wait(ep, &ev, 1, 10000);
		} else {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			rc = poll(&p, 1, 10000);
		}
		if (rc != 1 || read_full(fd, &back, sizeof(back)) < 0 || back != v)
			return -1;
	}
	return sleeps() - s0;
}

/*
 * The same round trips with the requester spinning on non-blocking reads:
 * their median in us.  Where it is long, the responder does not get a CPU
 * of its own (a loaded machine) and no spin could catch an answer.
 */
static double spun_rtt_us(int fd)
{
	double t[201], x;
	int fl = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	for (int i = 0; i < 201; i++) {
		uint64_t v = (uint64_t)i, back, t0 = now_ns();

		if (write(fd, &v, sizeof(v)) != sizeof(v) || read_full(fd, &back, sizeof(back)) < 0 || back != v)
			return -1;
		t[i] = (double)(now_ns() - t0) / 1e3;
	}
	fcntl(fd, F_SETFL, fl);
	for (int i = 0; i < 201; i++)
		for (int j = i + 1; j < 201; j++)
			if (t[j] < t[i])
				x = t[i], t[i] = t[j], t[j] = x;
	return t[100];
}

static int run(int fd, const char *how, int ep)
{
	long warm, after;
	double spun = spun_rtt_us(fd);

	if (spun < 0)
		return 1;
	if (spun > 40) {
		printf("SKIP: %s: a round trip takes %.0f us even spinning: the responder has no CPU of its own here\n",
		       how, spun);
		return 77;
	}
	warm = trips(fd, ep, FAST, 0);
	if (warm < 0 || trips(fd, ep, SLOW, SLOW_FLAG) < 0 || (after = trips(fd, ep, FAST, 0)) < 0) {
		printf("FAIL: %s: a round trip failed\n", how);
		return 1;
	}
	printf("%s: round trip %.0f us spinning; %ld sleeps in %d round trips, %ld in %d after %d slow ones\n",
	       how, spun, warm, FAST, after, FAST, SLOW);
	if (warm <= FAST / 2 && after > FAST / 2) {
		/*
		 * Once more: another program (a parallel make check) may have taken the
		 * responder's CPU during that phase.  A waiter that does not recover
		 * sleeps through both tries.
		 */
		if (trips(fd, ep, SLOW, SLOW_FLAG) < 0 || (after = trips(fd, ep, FAST, 0)) < 0) {
			printf("FAIL: %s: a round trip failed\n", how);
			return 1;
		}
		printf("%s: once more: %ld sleeps in %d after %d slow ones\n", how, after, FAST, SLOW);
	}
	if (warm > FAST / 2 || after > FAST / 2) {
		printf("FAIL: %s: the waits kept sleeping with answers that spinning catches\n", how);
		return 1;
	}
	return 0;
}

static int under_shim(const char *mode)
{
	int sv[2], ep = -1, st, rc;
	struct epoll_event ev = { .events = EPOLLIN };
	uint64_t end = END;
	pid_t pid;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		printf("SKIP: one CPU: a waiter never spins\n");
		return 77;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 1;
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		respond(sv[1]);
	}
	close(sv[1]);
	if (!strcmp(mode, "epoll") &&
	    ((ep = epoll_create1(0)) < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev) < 0))
		return 1;
	rc = run(sv[0], ep >= 0 ? "epoll_wait" : "poll", ep);
	if (write(sv[0], &end, sizeof(end)) != sizeof(end) || waitpid(pid, &st, 0) != pid)
		return 1;
	return rc;
}

int main(int argc, char **argv)
{
	int a, b;

	if (argc == 3 && !strcmp(argv[1], "--under-shim"))
		return under_shim(argv[2]);
	/* Each mode in a process of its own: the spin budget is per process. */
	a = self_under_shim("epoll");
	b = self_under_shim("poll");
	/* A failure counts over a skip. */
	return a == 1 || b == 1 ? 1 : a ? a : b;
}
