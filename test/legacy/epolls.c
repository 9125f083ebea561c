/* SPDX-License-Identifier: MIT */
/* A plain legacy program: epoll over pipes and socketpairs next to a
 * timerfd, an eventfd and a listening socket in one set: level- and
 * edge-triggered input and output, EPOLLONESHOT and its re-arming by
 * EPOLL_CTL_MOD, EPOLLRDHUP and EPOLLHUP at the end, epoll_pwait with a
 * mask that lets a signal in, epoll_pwait2's timeout, an fd in two sets,
 * and EPOLLEXCLUSIVE waiters in two processes.  Prints what each wait
 * returned, sorted by the registrations' data.  Deterministic output. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
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

static const char *name[] = { "pipe", "sock", "timer", "event", "listen", "wpipe", "sock1", "inner", "npipe" };

static int cmp(const void *a, const void *b)
{
	const struct epoll_event *x = a, *y = b;

	return (int)x->data.u32 - (int)y->data.u32;
}

static void show(const char *what, int n, struct epoll_event *ev)
{
	printf("%s: %d", what, n);
	if (n < 0)
		printf(" %s", errno == EINTR ? "EINTR" : strerror(errno));
	if (n > 0)
		qsort(ev, (size_t)n, sizeof(*ev), cmp);
	for (int i = 0; i < n; i++) {
		uint32_t e = ev[i].events;

		printf(" %s[%s%s%s%s%s]", name[ev[i].data.u32], e & EPOLLIN ? "I" : "", e & EPOLLOUT ? "O" : "",
		       e & EPOLLRDHUP ? "R" : "", e & EPOLLHUP ? "H" : "", e & EPOLLERR ? "E" : "");
	}
	printf("\n");
}

static void add(int ep, int fd, uint32_t events, uint32_t id)
{
	struct epoll_event ev = { .events = events, .data.u32 = id };

	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
		printf("epoll_ctl ADD %s: %s\n", name[id], strerror(errno));
}

static void mod(int ep, int fd, uint32_t events, uint32_t id)
{
	struct epoll_event ev = { .events = events, .data.u32 = id };

	if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev))
		printf("epoll_ctl MOD %s: %s\n", name[id], strerror(errno));
}

static pid_t later(int fd, const char *msg, int ms)
{
	pid_t pid = fork();

	if (pid == 0) {
		usleep((useconds_t)ms * 1000);
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
	struct epoll_event ev[16];
	int p[2], w[2], s[2], ep, ep2, tfd, efd, l, n;
	struct itimerspec its = { .it_value = { 0, 100 * 1000000L } };
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct sigaction sa;
	sigset_t block, empty;
	struct timespec ts;
	uint64_t v;
	pid_t pid;

	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sig;
	sigaction(SIGUSR1, &sa, NULL);
	if (pipe(p) || pipe(w) || socketpair(AF_UNIX, SOCK_STREAM, 0, s))
		return 2;
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	efd = eventfd(0, EFD_NONBLOCK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 4))
		return 2;
	{
		socklen_t len = sizeof(a);

		getsockname(l, (struct sockaddr *)&a, &len);
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	add(ep, p[0], EPOLLIN, 0);
	add(ep, s[0], EPOLLIN | EPOLLRDHUP, 1);
	add(ep, tfd, EPOLLIN, 2);
	add(ep, efd, EPOLLIN, 3);
	add(ep, l, EPOLLIN, 4);

	/* Level-triggered: nothing, then each source in turn wakes the wait. */
	show("LT idle, 50 ms", epoll_wait(ep, ev, 16, 50), ev);
	pid = later(p[1], "abc", 30);
	show("LT pipe write", epoll_wait(ep, ev, 16, 5000), ev);
	reap(pid);
	show("LT unread stays ready", epoll_wait(ep, ev, 16, 0), ev);
	read(p[0], buf, 1);
	show("LT part read stays ready", epoll_wait(ep, ev, 16, 0), ev);
	read(p[0], buf, sizeof(buf));
	show("LT all read", epoll_wait(ep, ev, 16, 0), ev);
	pid = later(s[1], "sock", 30);
	show("LT socket write", epoll_wait(ep, ev, 16, 5000), ev);
	read(s[0], buf, sizeof(buf));
	reap(pid);
	timerfd_settime(tfd, 0, &its, NULL);
	show("LT timerfd", epoll_wait(ep, ev, 16, 5000), ev);
	read(tfd, &v, sizeof(v));
	pid = fork();
	if (pid == 0) {
		usleep(30000);
		v = 1;
		write(efd, &v, sizeof(v));
		_exit(0);
	}
	show("LT eventfd", epoll_pwait(ep, ev, 16, 5000, NULL), ev);
	read(efd, &v, sizeof(v));
	reap(pid);
	pid = fork();
	if (pid == 0) {
		int c = socket(AF_INET, SOCK_STREAM, 0);

		usleep(30000);
		connect(c, (struct sockaddr *)&a, sizeof(a));
		_exit(0);
	}
	show("LT listening socket", epoll_wait(ep, ev, 16, 5000), ev);
	close(accept(l, NULL, NULL));
	reap(pid);
	write(p[1], "x", 1);
	write(s[1], "y", 1);
	show("LT two rings at once", epoll_wait(ep, ev, 16, 0), ev);
	/* One at a time: each is reported in turn (epoll's ready list rotates). */
	n = epoll_wait(ep, ev, 1, 0);
	n += epoll_wait(ep, ev + 1, 1, 0);
	show("LT maxevents 1, twice", n, ev);
	read(p[0], buf, sizeof(buf));
	read(s[0], buf, sizeof(buf));

	/* Edge-triggered. */
	mod(ep, p[0], EPOLLIN | EPOLLET, 0);
	show("ET nothing", epoll_wait(ep, ev, 16, 0), ev);
	write(p[1], "1", 1);
	show("ET first write", epoll_wait(ep, ev, 16, 1000), ev);
	show("ET no new data", epoll_wait(ep, ev, 16, 50), ev);
	pid = later(p[1], "2", 30);
	show("ET new data, not read", epoll_wait(ep, ev, 16, 5000), ev);
	reap(pid);
	read(p[0], buf, sizeof(buf));
	show("ET read all", epoll_wait(ep, ev, 16, 0), ev);
	mod(ep, p[0], EPOLLIN | EPOLLET, 0);
	show("ET after MOD, empty", epoll_wait(ep, ev, 16, 0), ev);
	write(p[1], "3", 1);
	mod(ep, p[0], EPOLLIN | EPOLLET, 0);
	show("ET after MOD, data", epoll_wait(ep, ev, 16, 0), ev);
	read(p[0], buf, sizeof(buf));

	/* One-shot. */
	mod(ep, p[0], EPOLLIN | EPOLLONESHOT, 0);
	write(p[1], "4", 1);
	show("ONESHOT first", epoll_wait(ep, ev, 16, 1000), ev);
	show("ONESHOT off", epoll_wait(ep, ev, 16, 50), ev);
	mod(ep, p[0], EPOLLIN | EPOLLONESHOT, 0);
	show("ONESHOT re-armed", epoll_wait(ep, ev, 16, 1000), ev);
	read(p[0], buf, sizeof(buf));
	mod(ep, p[0], EPOLLIN, 0);

	/* Output: level on a pipe's write end, edge after it was full. */
	fcntl(w[1], F_SETFL, O_NONBLOCK);
	ep2 = epoll_create(4);
	add(ep2, w[1], EPOLLOUT, 5);
	show("OUT empty pipe", epoll_wait(ep2, ev, 16, 0), ev);
	while (write(w[1], buf, 4096) > 0)
		;
	show("OUT full pipe, 50 ms", epoll_wait(ep2, ev, 16, 50), ev);
	pid = fork();
	if (pid == 0) {
		usleep(40000);
		read(w[0], buf, 4096);
		_exit(0);
	}
	show("OUT room again", epoll_wait(ep2, ev, 16, 5000), ev);
	reap(pid);
	mod(ep2, w[1], EPOLLOUT | EPOLLET, 5);
	show("OUT ET", epoll_wait(ep2, ev, 16, 0), ev);
	show("OUT ET again", epoll_wait(ep2, ev, 16, 0), ev);
	while (write(w[1], buf, 4096) > 0)
		;
	pid = fork();
	if (pid == 0) {
		usleep(40000);
		read(w[0], buf, 8192);
		_exit(0);
	}
	show("OUT ET after full", epoll_wait(ep2, ev, 16, 5000), ev);
	reap(pid);

	/* The same socket in a second set, both ways, with pwait2's timeout. */
	add(ep2, s[1], EPOLLIN | EPOLLOUT, 6);
	ts = (struct timespec){ 0, 30 * 1000000L };
	show("pwait2 socket writable", epoll_pwait2(ep2, ev, 16, &ts, NULL), ev);
	epoll_ctl(ep2, EPOLL_CTL_DEL, w[1], NULL);
	mod(ep2, s[1], EPOLLIN, 6);
	show("pwait2 30 ms", epoll_pwait2(ep2, ev, 16, &ts, NULL), ev);
	write(s[0], "z", 1);
	show("pwait2 data", epoll_pwait2(ep2, ev, 16, &ts, NULL), ev);
	read(s[1], buf, sizeof(buf));

	/* Signals: EINTR, and a mask that lets a blocked one in. */
	pid = fork();
	if (pid == 0) {
		usleep(40000);
		kill(getppid(), SIGUSR1);
		_exit(0);
	}
	show("interrupted", epoll_wait(ep, ev, 16, 5000), ev);
	reap(pid);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigemptyset(&empty);
	sigprocmask(SIG_BLOCK, &block, NULL);
	kill(getpid(), SIGUSR1);
	got_sig = 0;
	show("pwait, SIGUSR1 let in", epoll_pwait(ep, ev, 16, 5000, &empty), ev);
	printf("handler ran %d\n", got_sig);
	sigprocmask(SIG_UNBLOCK, &block, NULL);

	/* A child waits on the inherited set; the parent writes. */
	pid = fork();
	if (pid == 0) {
		n = epoll_wait(ep, ev, 16, 5000);
		_exit(n == 1 && ev[0].data.u32 == 0 ? 0 : 1);
	}
	usleep(30000);
	write(p[1], "c", 1);
	{
		int st;

		waitpid(pid, &st, 0);
		printf("child woken through the inherited set: %s\n", WIFEXITED(st) && !WEXITSTATUS(st) ? "yes" : "no");
	}
	read(p[0], buf, sizeof(buf));

	/* EPOLLEXCLUSIVE: two processes wait on one pipe through their own sets. */
	{
		int st, woke = 0;
		pid_t k[2];

		for (int i = 0; i < 2; i++) {
			k[i] = fork();
			if (k[i] == 0) {
				int e = epoll_create1(0);
				struct epoll_event x = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.u32 = 0 };

				epoll_ctl(e, EPOLL_CTL_ADD, p[0], &x);
				n = epoll_wait(e, ev, 16, 2000);
				_exit(n == 1 ? 1 : 0);
			}
		}
		usleep(50000);
		write(p[1], "e", 1);
		for (int i = 0; i < 2; i++) {
			waitpid(k[i], &st, 0);
			woke += WEXITSTATUS(st);
		}
		printf("EPOLLEXCLUSIVE: at least one waiter woken: %s\n", woke >= 1 ? "yes" : "no");
		read(p[0], buf, sizeof(buf));
	}

	/* Deleted and added again around each request, as event loops do:
	 * a deleted registration reports nothing, deleting or modifying it
	 * again fails with ENOENT, adding it twice with EEXIST, and once
	 * added again it reports what is there and wakes a sleeping wait. */
	{
		int d[2], ep3 = epoll_create1(EPOLL_CLOEXEC), rc;

		if (ep3 < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, d))
			return 2;
		add(ep3, d[0], EPOLLIN, 6);
		write(d[1], "x", 1);
		show("DEL/ADD: a byte", epoll_wait(ep3, ev, 16, 1000), ev);
		rc = epoll_ctl(ep3, EPOLL_CTL_DEL, d[0], NULL);
		printf("DEL/ADD: deleted: %d\n", rc);
		show("DEL/ADD: deleted, the byte unread", epoll_wait(ep3, ev, 16, 50), ev);
		write(d[1], "y", 1);
		show("DEL/ADD: deleted, another byte", epoll_wait(ep3, ev, 16, 50), ev);
		rc = epoll_ctl(ep3, EPOLL_CTL_DEL, d[0], NULL);
		printf("DEL/ADD: deleted again: %d %s\n", rc, rc ? strerror(errno) : "");
		mod(ep3, d[0], EPOLLIN, 6);
		add(ep3, d[0], EPOLLOUT, 6);
		show("DEL/ADD: added for output", epoll_wait(ep3, ev, 16, 1000), ev);
		add(ep3, d[0], EPOLLOUT, 6);
		mod(ep3, d[0], EPOLLIN, 6);
		show("DEL/ADD: modified for input", epoll_wait(ep3, ev, 16, 1000), ev);
		read(d[0], buf, 2);
		show("DEL/ADD: all read", epoll_wait(ep3, ev, 16, 50), ev);
		epoll_ctl(ep3, EPOLL_CTL_DEL, d[0], NULL);
		add(ep3, d[0], EPOLLIN, 6);
		pid = later(d[1], "z", 30);
		show("DEL/ADD: added again, a byte later", epoll_wait(ep3, ev, 16, 5000), ev);
		reap(pid);
		read(d[0], buf, 1);
		epoll_ctl(ep3, EPOLL_CTL_DEL, d[0], NULL);
		/* Closed while a dup keeps the file open: nothing either. */
		{
			int keep = dup(d[0]);

			close(d[0]);
			write(d[1], "w", 1);
			show("DEL/ADD: deleted, closed, a dup left, a byte", epoll_wait(ep3, ev, 16, 50), ev);
			d[0] = keep;
		}
		/* A set shared with a child (fork): deleted here, the child's
		 * wait hears nothing of it either. */
		read(d[0], buf, sizeof(buf));
		add(ep3, d[0], EPOLLIN, 6);
		{
			pid_t k = fork();
			int st;

			if (k == 0) {
				n = epoll_wait(ep3, ev, 16, 300);
				_exit(n == 0 ? 0 : 1);
			}
			usleep(50000);
			epoll_ctl(ep3, EPOLL_CTL_DEL, d[0], NULL);
			write(d[1], "v", 1);
			waitpid(k, &st, 0);
			printf("DEL/ADD: deleted in a set a child waits on, the child woken: %s\n",
			       WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "no" : "yes");
			read(d[0], buf, sizeof(buf));
		}
		close(d[1]);
		show("DEL/ADD: deleted, peer closed", epoll_wait(ep3, ev, 16, 50), ev);
		close(d[0]);
		close(ep3);
	}

	/* A set waited on from outside: in poll, and inside another set.  A
	 * byte written while the outer waiter sleeps wakes it, and so does
	 * one already waiting when the set is first polled. */
	{
		int np[2], inner, outer;
		struct pollfd pf;

		if (pipe(np))
			return 2;
		inner = epoll_create1(0);
		add(inner, np[0], EPOLLIN, 8);
		show("nested: inner set, nothing yet", epoll_wait(inner, ev, 16, 0), ev);
		write(np[1], "a", 1);
		pf = (struct pollfd){ .fd = inner, .events = POLLIN };
		n = poll(&pf, 1, 5000);
		printf("nested: poll of the inner set, a byte already there: %d revents %s\n", n,
		       pf.revents & POLLIN ? "IN" : "-");
		show("nested: inner set after poll", epoll_wait(inner, ev, 16, 0), ev);
		read(np[0], buf, 1);
		pid = later(np[1], "b", 30);
		pf.revents = 0;
		n = poll(&pf, 1, 5000);
		printf("nested: poll of the inner set, a byte later: %d revents %s\n", n, pf.revents & POLLIN ? "IN" : "-");
		reap(pid);
		show("nested: inner set after the later byte", epoll_wait(inner, ev, 16, 0), ev);
		read(np[0], buf, 1);
		outer = epoll_create1(0);
		add(outer, inner, EPOLLIN, 7);
		show("nested: outer set, nothing", epoll_wait(outer, ev, 16, 0), ev);
		pid = later(np[1], "c", 30);
		show("nested: outer set, a byte later", epoll_wait(outer, ev, 16, 5000), ev);
		reap(pid);
		show("nested: inner set then", epoll_wait(inner, ev, 16, 0), ev);
		read(np[0], buf, 1);
		close(outer);
		close(inner);
		close(np[0]);
		close(np[1]);
	}

	/* The ends. */
	write(s[1], "bye", 3);
	close(s[1]);
	show("socket peer closed, RDHUP", epoll_wait(ep, ev, 16, 1000), ev);
	read(s[0], buf, sizeof(buf));
	show("socket EOF stays readable", epoll_wait(ep, ev, 16, 0), ev);
	epoll_ctl(ep, EPOLL_CTL_DEL, s[0], NULL);
	close(p[1]);
	show("pipe writer gone, HUP", epoll_wait(ep, ev, 16, 1000), ev);
	close(w[0]);
	add(ep, w[1], EPOLLOUT, 5);
	show("pipe readers gone, ERR", epoll_wait(ep, ev, 16, 1000), ev);
	return 0;
}
