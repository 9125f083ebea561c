/* SPDX-License-Identifier: MIT */
/* A plain legacy program: poll, ppoll, select and pselect on pipes and a
 * socketpair, next to an eventfd and a timerfd: readers woken by a child's
 * writes, timeouts, writers waiting for room in a full pipe, hang-ups at
 * the end, and signals (EINTR; a ppoll/pselect mask that lets one in).
 * Prints what each wait returned.  Deterministic output. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char buf[1 << 17];
static volatile sig_atomic_t got_sig;

static void on_sig(int sig)
{
	(void)sig;
	got_sig++;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *rev(short r)
{
	static char ring[8][80];
	static int next;
	char *s = ring[next++ % 8];

	s[0] = 0;
	if (r & POLLIN)
		strcat(s, "IN ");
	if (r & POLLOUT)
		strcat(s, "OUT ");
	if (r & POLLHUP)
		strcat(s, "HUP ");
	if (r & POLLERR)
		strcat(s, "ERR ");
	if (r & POLLNVAL)
		strcat(s, "NVAL ");
	if (r & POLLRDHUP)
		strcat(s, "RDHUP ");
	if (!s[0])
		strcat(s, "- ");
	s[strlen(s) - 1] = 0;
	return s;
}

/* A child that writes @msg to @fd after @ms milliseconds, then exits. */
static pid_t later(int fd, const char *msg, int ms)
{
	pid_t pid = fork();

	if (pid == 0) {
		usleep((useconds_t)ms * 1000);
		if (msg)
			write(fd, msg, strlen(msg));
		_exit(0);
	}
	return pid;
}

static void reap(pid_t pid)
{
	int st;

	waitpid(pid, &st, 0);
}

int main(void)
{
	int p[2], q[2], s[2], efd, tfd, rc;
	struct pollfd pf[5];
	struct itimerspec its = { .it_value = { 0, 150 * 1000000L } };
	struct sigaction sa;
	sigset_t block, empty;
	fd_set rs, ws;
	struct timeval tv;
	struct timespec ts;
	double t0;
	pid_t pid;

	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sig;
	sigaction(SIGUSR1, &sa, NULL);
	if (pipe(p) || pipe(q) || socketpair(AF_UNIX, SOCK_STREAM, 0, s))
		return 2;
	efd = eventfd(0, EFD_NONBLOCK);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);

	/* 1. poll: timeout on an empty pipe, then woken by a child's write. */
	pf[0] = (struct pollfd){ .fd = p[0], .events = POLLIN };
	t0 = now();
	rc = poll(pf, 1, 100);
	printf("poll empty pipe, 100 ms: %d (%s), waited >= 90 ms: %d\n", rc, rev(pf[0].revents), now() - t0 >= 0.09);
	pid = later(p[1], "hello", 50);
	rc = poll(pf, 1, 5000);
	printf("poll woken by a write: %d (%s), read %zd\n", rc, rev(pf[0].revents), read(p[0], buf, sizeof(buf)));
	reap(pid);

	/* 2. poll over a pipe, a socketpair, an eventfd and a timerfd at once. */
	pf[0] = (struct pollfd){ .fd = p[0], .events = POLLIN };
	pf[1] = (struct pollfd){ .fd = s[0], .events = POLLIN };
	pf[2] = (struct pollfd){ .fd = efd, .events = POLLIN };
	pf[3] = (struct pollfd){ .fd = tfd, .events = POLLIN };
	pf[4] = (struct pollfd){ .fd = -1, .events = POLLIN };
	for (int round = 0; round < 3; round++) {
		uint64_t v;

		if (round == 0) {
			pid = later(s[1], "sock", 30);
		} else if (round == 1) {
			pid = fork();
			if (pid == 0) {
				usleep(30000);
				v = 7;
				write(efd, &v, sizeof(v));
				_exit(0);
			}
		} else {
			pid = -1; /* the timer, only now: no race with the children */
			timerfd_settime(tfd, 0, &its, NULL);
		}
		rc = poll(pf, 5, 5000);
		printf("mixed poll round %d: %d: pipe %s, sock %s, eventfd %s, timerfd %s, -1 %s\n", round, rc,
		       rev(pf[0].revents), rev(pf[1].revents), rev(pf[2].revents), rev(pf[3].revents),
		       rev(pf[4].revents));
		if (pf[1].revents & POLLIN)
			printf("  sock read %zd\n", read(s[0], buf, sizeof(buf)));
		if (pf[2].revents & POLLIN)
			printf("  eventfd read %zd\n", read(efd, &v, sizeof(v)));
		if (pf[3].revents & POLLIN)
			printf("  timerfd read %zd\n", read(tfd, &v, sizeof(v)));
		if (pid > 0)
			reap(pid);
	}

	/* 3. ppoll: its timeout, then its signal mask lets SIGUSR1 in. */
	ts = (struct timespec){ 0, 60 * 1000000L };
	pf[0] = (struct pollfd){ .fd = p[0], .events = POLLIN };
	printf("ppoll 60 ms: %d\n", ppoll(pf, 1, &ts, NULL));
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sigemptyset(&empty);
	kill(getpid(), SIGUSR1);
	got_sig = 0;
	rc = ppoll(pf, 1, NULL, &empty);
	printf("ppoll with SIGUSR1 let in: %d %s, handler ran %d\n", rc, rc < 0 && errno == EINTR ? "EINTR" : "?",
	       got_sig);
	sigprocmask(SIG_UNBLOCK, &block, NULL);

	/* 4. poll interrupted by a signal from a child: EINTR, never restarted. */
	pid = fork();
	if (pid == 0) {
		usleep(50000);
		kill(getppid(), SIGUSR1);
		_exit(0);
	}
	rc = poll(pf, 1, 5000);
	printf("poll interrupted: %d %s\n", rc, rc < 0 && errno == EINTR ? "EINTR" : "?");
	reap(pid);

	/* 5. select: reader on a socketpair and a pipe, then a writer on a full pipe. */
	pid = later(s[1], "x", 30);
	FD_ZERO(&rs);
	FD_SET(p[0], &rs);
	FD_SET(s[0], &rs);
	tv = (struct timeval){ 5, 0 };
	rc = select((p[0] > s[0] ? p[0] : s[0]) + 1, &rs, NULL, NULL, &tv);
	printf("select: %d, pipe %d, sock %d, time left < 5 s: %d\n", rc, FD_ISSET(p[0], &rs), FD_ISSET(s[0], &rs),
	       tv.tv_sec < 5);
	read(s[0], buf, sizeof(buf));
	reap(pid);
	fcntl(q[1], F_SETFL, O_NONBLOCK);
	{
		long put = 0;
		ssize_t r;

		while ((r = write(q[1], buf, 4096)) > 0)
			put += r;
		printf("filled a pipe with %ld bytes\n", put);
	}
	FD_ZERO(&ws);
	FD_SET(q[1], &ws);
	tv = (struct timeval){ 0, 80000 };
	printf("select writable on a full pipe, 80 ms: %d\n", select(q[1] + 1, NULL, &ws, NULL, &tv));
	pid = fork();
	if (pid == 0) {
		usleep(50000);
		read(q[0], buf, 8192);
		_exit(0);
	}
	FD_ZERO(&ws);
	FD_SET(q[1], &ws);
	rc = select(q[1] + 1, NULL, &ws, NULL, NULL);
	printf("select writable once a child read 8192: %d %d\n", rc, FD_ISSET(q[1], &ws));
	reap(pid);
	pf[0] = (struct pollfd){ .fd = q[1], .events = POLLOUT };
	rc = poll(pf, 1, 0);
	printf("poll writable: %d (%s)\n", rc, rev(pf[0].revents));

	/* 6. pselect: timeout, then a mask that lets a pending signal in. */
	FD_ZERO(&rs);
	FD_SET(p[0], &rs);
	ts = (struct timespec){ 0, 40 * 1000000L };
	printf("pselect 40 ms: %d\n", pselect(p[0] + 1, &rs, NULL, NULL, &ts, NULL));
	sigprocmask(SIG_BLOCK, &block, NULL);
	kill(getpid(), SIGUSR1);
	got_sig = 0;
	FD_ZERO(&rs);
	FD_SET(p[0], &rs);
	rc = pselect(p[0] + 1, &rs, NULL, NULL, NULL, &empty);
	printf("pselect with SIGUSR1 let in: %d %s, handler ran %d\n", rc, rc < 0 && errno == EINTR ? "EINTR" : "?",
	       got_sig);
	sigprocmask(SIG_UNBLOCK, &block, NULL);
	pid = later(p[1], "ps", 30);
	FD_ZERO(&rs);
	FD_SET(p[0], &rs);
	rc = pselect(p[0] + 1, &rs, NULL, NULL, NULL, &empty);
	printf("pselect woken by a write: %d %d, read %zd\n", rc, FD_ISSET(p[0], &rs), read(p[0], buf, sizeof(buf)));
	reap(pid);

	/* 7. the ends: data then hang-up on a pipe, a closed socket peer, readers gone. */
	write(p[1], "last", 4);
	close(p[1]);
	pf[0] = (struct pollfd){ .fd = p[0], .events = POLLIN };
	rc = poll(pf, 1, 1000);
	printf("pipe with data, writer gone: %d (%s)", rc, rev(pf[0].revents));
	printf(", read %zd", read(p[0], buf, sizeof(buf)));
	rc = poll(pf, 1, 1000);
	printf(", then %d (%s)\n", rc, rev(pf[0].revents));
	close(s[1]);
	pf[0] = (struct pollfd){ .fd = s[0], .events = POLLIN | POLLOUT | POLLRDHUP };
	rc = poll(pf, 1, 1000);
	printf("socket, peer closed: %d (%s)\n", rc, rev(pf[0].revents));
	close(q[0]);
	pf[0] = (struct pollfd){ .fd = q[1], .events = POLLOUT };
	rc = poll(pf, 1, 1000);
	printf("pipe writer, readers gone: %d (%s)\n", rc, rev(pf[0].revents));
	close(p[0]);
	pf[0] = (struct pollfd){ .fd = p[0], .events = POLLIN };
	rc = poll(pf, 1, 0);
	printf("closed fd: %d (%s)\n", rc, rev(pf[0].revents));
	return 0;
}
