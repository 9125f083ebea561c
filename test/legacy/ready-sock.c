/* SPDX-License-Identifier: MIT */
/* Legacy program: readiness of stream sockets (a socketpair and a
 * loopback TCP connection) around half closes, a send buffer that is
 * partly full, a server that speaks first to a client that polls
 * before its first read, and an event loop's connect (epoll for output,
 * then modified for input).  Prints what poll and epoll say; knows nothing
 * of xos (readiness.sh compares its output natively and on rings). */
#define _GNU_SOURCE
#include <poll.h>
#include <stdbool.h>
#include <sys/epoll.h>

#include "sock-pairs.h"

static void show(const char *what, unsigned ev)
{
	printf("%s:%s%s%s%s%s\n", what, ev & POLLIN ? " IN" : "", ev & POLLOUT ? " OUT" : "",
	       ev & POLLRDHUP ? " RDHUP" : "", ev & POLLHUP ? " HUP" : "", ev & POLLERR ? " ERR" : "");
}

static unsigned poll1(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };

	return poll(&p, 1, ms) == 1 ? (unsigned)p.revents : 0;
}

/* A set with @fd alone: what one epoll_wait says. */
static unsigned epoll1(int fd, unsigned events, int ms)
{
	struct epoll_event ev = { .events = events }, out;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	unsigned got = 0;

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
		perror("epoll");
		exit(94);
	}
	if (epoll_wait(ep, &out, 1, ms) == 1)
		got = out.events;
	close(ep);
	return got;
}

static void must_write(int fd, const char *buf, size_t len)
{
	if (write(fd, buf, len) != (ssize_t)len) {
		perror("write");
		exit(95);
	}
}

/* The peer wrote, then shut writing: input and the half close together. */
static void half_close(const char *kind)
{
	char b[8], what[64];
	int sv[2];
	ssize_t n;

	t_pair(kind, sv);
	must_write(sv[1], "x", 1);
	shutdown(sv[1], SHUT_WR);
	snprintf(what, sizeof(what), "%s bytes then shut: poll", kind);
	show(what, poll1(sv[0], POLLIN | POLLRDHUP, 2000));
	snprintf(what, sizeof(what), "%s bytes then shut: epoll", kind);
	show(what, epoll1(sv[0], EPOLLIN | EPOLLRDHUP, 2000));
	n = read(sv[0], b, sizeof(b));
	printf("%s read: %zd, then %zd\n", kind, n, read(sv[0], b, sizeof(b)));
	snprintf(what, sizeof(what), "%s at end of file: poll", kind);
	show(what, poll1(sv[0], POLLIN | POLLRDHUP, 2000));
	close(sv[0]);
	close(sv[1]);
}

/* 4 KiB unread by the peer: a socket still takes more. */
static void partly_full(const char *kind)
{
	static char buf[4096];
	char what[64];
	int sv[2];

	t_pair(kind, sv);
	memset(buf, 'a', sizeof(buf));
	must_write(sv[0], buf, sizeof(buf));
	snprintf(what, sizeof(what), "%s 4 KiB unread: poll", kind);
	show(what, poll1(sv[0], POLLOUT, 0));
	snprintf(what, sizeof(what), "%s 4 KiB unread: epoll", kind);
	show(what, epoll1(sv[0], EPOLLOUT, 0));
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	printf("%s non-blocking write of 4 KiB more: %zd\n", kind, write(sv[0], buf, sizeof(buf)));
	close(sv[0]);
	close(sv[1]);
}

/* A non-blocking client waits for the server's greeting with poll or
 * epoll before it reads or writes anything. */
static void speaks_first(bool use_epoll)
{
	struct sockaddr_in addr;
	const char *how = use_epoll ? "epoll" : "poll";
	int l = t_listen(&addr, 4), c, s;
	char b[16] = "";
	unsigned ev;

	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c < 0 || (connect(c, (struct sockaddr *)&addr, sizeof(addr)) && errno != EINPROGRESS)) {
		perror("connect");
		exit(92);
	}
	s = accept(l, NULL, NULL);
	if (s < 0) {
		perror("accept");
		exit(93);
	}
	must_write(s, "hello", 5);
	ev = use_epoll ? epoll1(c, EPOLLIN, 2000) : poll1(c, POLLIN, 2000);
	printf("server speaks first, client %s: %s", how, ev & POLLIN ? "readable" : "nothing");
	printf(", read %zd\n", read(c, b, sizeof(b) - 1));
	close(c);
	close(s);
	close(l);
}

/* An event loop's connect: the fd is registered for output while the
 * connect is in progress, then modified to wait for input once it is. */
static void out_then_in(void)
{
	struct sockaddr_in addr;
	struct epoll_event ev = { .events = EPOLLOUT }, out;
	int l = t_listen(&addr, 4), c, s, ep = epoll_create1(EPOLL_CLOEXEC), n;
	char b[16] = "";

	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (ep < 0 || c < 0 || (connect(c, (struct sockaddr *)&addr, sizeof(addr)) && errno != EINPROGRESS) ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev)) {
		perror("connect");
		exit(92);
	}
	n = epoll_wait(ep, &out, 1, 2000);
	printf("connect in progress, epoll for output: %d%s\n", n, n == 1 && (out.events & EPOLLOUT) ? " OUT" : "");
	s = accept(l, NULL, NULL);
	if (s < 0) {
		perror("accept");
		exit(93);
	}
	ev.events = EPOLLIN;
	if (epoll_ctl(ep, EPOLL_CTL_MOD, c, &ev)) {
		perror("epoll_ctl");
		exit(94);
	}
	must_write(s, "greetings", 9);
	n = epoll_wait(ep, &out, 1, 2000);
	printf("modified for input: %d%s", n, n == 1 && (out.events & EPOLLIN) ? " IN" : "");
	printf(", read %zd\n", read(c, b, sizeof(b) - 1));
	close(ep);
	close(c);
	close(s);
	close(l);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	half_close("unix");
	half_close("tcp");
	partly_full("unix");
	partly_full("tcp");
	speaks_first(false);
	speaks_first(true);
	out_then_in();
	return 0;
}
