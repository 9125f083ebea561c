/* SPDX-License-Identifier: MIT */
/* Legacy program: request and response over loopback TCP between two
 * processes, each an event loop as redis-benchmark and redis-server are.
 * The client keeps input registered and turns output on and off with
 * EPOLL_CTL_MOD around every request; the server waits for input and
 * writes its answer at once.  Every wait has the programs' own timeout
 * (1 s), so a lost or delayed wake-up shows as a slow wait (> 20 ms: an
 * answer takes microseconds).  Prints the rounds made and whether waits
 * were slow; knows nothing of xos (readiness.sh compares its output
 * natively and on rings). */
#define _GNU_SOURCE
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>

#include "sock-pairs.h"

#define ROUNDS 2000
#define SLOW_NS 20000000LL
#define SLOW_MAX 10

static const char req[] = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n", resp[] = "+OK\r\n";

static long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void ctl(int ep, int op, int fd, unsigned events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	if (epoll_ctl(ep, op, fd, &ev)) {
		perror("epoll_ctl");
		exit(91);
	}
}

/* One wait for @want on @fd; counts it in *slow if it took too long. */
static void wait_for(int ep, int fd, unsigned want, int *slow)
{
	struct epoll_event ev;
	long long t0 = now_ns();
	int n;

	do {
		n = epoll_wait(ep, &ev, 1, 1000);
		if (n < 0 && errno != EINTR) {
			perror("epoll_wait");
			exit(92);
		}
	} while (n != 1 || ev.data.fd != fd || !(ev.events & want));
	if (now_ns() - t0 > SLOW_NS)
		(*slow)++;
}

static void server(int l)
{
	int ep = epoll_create1(EPOLL_CLOEXEC), c, slow = 0;
	char buf[256];

	c = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (ep < 0 || c < 0) {
		perror("server");
		exit(93);
	}
	ctl(ep, EPOLL_CTL_ADD, c, EPOLLIN);
	for (;;) {
		ssize_t n;

		wait_for(ep, c, EPOLLIN, &slow);
		n = read(c, buf, sizeof(buf));
		if (n == 0)
			break;
		if (n < 0 && errno == EAGAIN)
			continue;
		/* One request per round: the client waits for its answer. */
		if (n != (ssize_t)sizeof(req) - 1 || write(c, resp, sizeof(resp) - 1) != (ssize_t)sizeof(resp) - 1) {
			perror("server read/write");
			exit(94);
		}
	}
	exit(0);
}

int main(void)
{
	struct sockaddr_in addr;
	int l = t_listen(&addr, 1), c, ep, slow = 0, round, status;
	char buf[64];
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 95;
	}
	if (pid == 0)
		server(l);
	close(l);
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&addr, sizeof(addr)) ||
	    fcntl(c, F_SETFL, fcntl(c, F_GETFL) | O_NONBLOCK)) {
		perror("client");
		return 96;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	ctl(ep, EPOLL_CTL_ADD, c, EPOLLIN);
	for (round = 0; round < ROUNDS && slow < SLOW_MAX; round++) {
		size_t got = 0;

		ctl(ep, EPOLL_CTL_MOD, c, EPOLLIN | EPOLLOUT);
		wait_for(ep, c, EPOLLOUT, &slow);
		if (write(c, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1) {
			perror("client write");
			return 97;
		}
		ctl(ep, EPOLL_CTL_MOD, c, EPOLLIN);
		while (got < sizeof(resp) - 1) {
			ssize_t n;

			wait_for(ep, c, EPOLLIN, &slow);
			n = read(c, buf + got, sizeof(buf) - got);
			if (n <= 0 && !(n < 0 && errno == EAGAIN)) {
				perror("client read");
				return 98;
			}
			got += n > 0 ? (size_t)n : 0;
		}
	}
	close(c);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "server failed\n");
		return 99;
	}
	printf("rounds: %d%s\n", round, round == ROUNDS ? " (all)" : " (stopped)");
	printf("client waits slower than 20 ms: %s\n", slow < SLOW_MAX ? "fewer than 10" : "10 or more");
	return 0;
}
