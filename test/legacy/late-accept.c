/* SPDX-License-Identifier: MIT */
/*
 * Description: loopback TCP connections whose server accepts 200 ms after
 * its client connected and wrote (far past any pairing wait).  The client
 * (a fork child) writes a request and signals the server through a pipe;
 * the server sleeps, accepts, reads it and answers, and both exchange 200
 * more messages each way.  One connection is blocking on both sides; on
 * the other the client connects without blocking and waits in epoll, and
 * the server waits in poll.  On a third, a client thread already waits
 * in read() when another thread writes the request after the accept, and
 * the answers come in two writes.  Prints what each side received (a checksum)
 * and whether every byte was the one sent, in order: the same natively and
 * under the shim, where (sock-ring.sh) --stats shows both connections on
 * rings to the end, with the request counted as written before the ring.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REQ 5000
#define MSG 100
#define ROUNDS 200

static void die(const char *what)
{
	perror(what);
	exit(99);
}

static unsigned char pat(unsigned conn, unsigned i)
{
	return (unsigned char)(i * 7 + conn * 13 + 1);
}

/* Wait for @fd to be readable (@in) or writable: poll, or @ep if >= 0. */
static void wait_fd(int fd, int ep, bool in)
{
	if (ep >= 0) {
		struct epoll_event ev;
		int n;

		while ((n = epoll_wait(ep, &ev, 1, -1)) < 0 && errno == EINTR)
			;
		if (n != 1 || ev.data.fd != fd)
			die("epoll_wait");
		return;
	} else {
		struct pollfd p = { .fd = fd, .events = in ? POLLIN : POLLOUT };

		while (poll(&p, 1, -1) < 0)
			if (errno != EINTR)
				die("poll");
	}
}

/* Exactly @len bytes, waiting in poll/epoll on a non-blocking fd. */
static void get(int fd, int ep, bool nb, unsigned char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n;

		if (nb)
			wait_fd(fd, ep, true);
		n = read(fd, buf + got, len - got);
		if (n < 0 && nb && (errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (n <= 0)
			die("read");
		got += (size_t)n;
	}
}

static void put(int fd, int ep, bool nb, const unsigned char *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, buf + done, len - done);

		if (n < 0 && nb && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			wait_fd(fd, ep, false);
			continue;
		}
		if (n <= 0)
			die("write");
		done += (size_t)n;
	}
}

static void client(unsigned conn, uint16_t port, int signal_fd)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	unsigned char buf[REQ];
	bool nb = conn == 1;
	int fd = socket(AF_INET, SOCK_STREAM | (nb ? SOCK_NONBLOCK : 0), 0), ep = -1;
	unsigned long sum = 0;
	bool same = true;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		die("socket");
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 && !(nb && errno == EINPROGRESS))
		die("connect");
	if (nb) {
		struct epoll_event ev = { .events = EPOLLOUT, .data.fd = fd };
		int err = 0;
		socklen_t l = sizeof(err);

		ep = epoll_create1(EPOLL_CLOEXEC);
		if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
			die("epoll_ctl");
		wait_fd(fd, ep, false);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) != 0 || err)
			die("SO_ERROR");
		ev.events = EPOLLIN;
		if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) != 0)
			die("epoll_ctl MOD");
	}
	for (unsigned i = 0; i < REQ; i++)
		buf[i] = pat(conn, i);
	put(fd, ep, nb, buf, REQ);
	/* Written: the server accepts 200 ms from now. */
	if (write(signal_fd, "w", 1) != 1)
		die("signal");
	get(fd, ep, nb, buf, REQ);
	for (unsigned i = 0; i < REQ; i++) {
		same &= buf[i] == (unsigned char)(pat(conn, i) + 1);
		sum += buf[i];
	}
	for (unsigned r = 0; r < ROUNDS; r++) {
		for (unsigned i = 0; i < MSG; i++)
			buf[i] = pat(conn, r * MSG + i + 3);
		put(fd, ep, nb, buf, MSG);
		get(fd, ep, nb, buf, MSG);
		for (unsigned i = 0; i < MSG; i++) {
			same &= buf[i] == (unsigned char)(pat(conn, r * MSG + i + 3) + 1);
			sum += buf[i];
		}
	}
	printf("client %u: got %d bytes, sum %lu, %s\n", conn, REQ + ROUNDS * MSG, sum,
	       same ? "every byte as sent" : "BYTES DIFFER");
	fflush(stdout);
	close(fd);
	if (ep >= 0)
		close(ep);
}

struct reader {
	int fd;
	unsigned char buf[2 * REQ];
};

static void *read_answers(void *arg)
{
	struct reader *rd = arg;

	get(rd->fd, -1, false, rd->buf, sizeof(rd->buf));
	return NULL;
}

/* A thread waits in read() before the accept; another writes after it. */
static void threaded_client(uint16_t port, int signal_fd)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timespec after = { 0, 300000000 };
	static struct reader rd;
	unsigned char req[MSG];
	unsigned long sum = 0;
	bool same = true;
	pthread_t t;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	rd.fd = socket(AF_INET, SOCK_STREAM, 0);
	if (rd.fd < 0 || connect(rd.fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		die("connect");
	if (pthread_create(&t, NULL, read_answers, &rd) != 0)
		die("pthread_create");
	if (write(signal_fd, "w", 1) != 1)
		die("signal");
	nanosleep(&after, NULL);
	for (unsigned i = 0; i < MSG; i++)
		req[i] = pat(2, i);
	put(rd.fd, -1, false, req, MSG);
	pthread_join(t, NULL);
	for (unsigned i = 0; i < 2 * REQ; i++) {
		same &= rd.buf[i] == (unsigned char)(pat(2, i % MSG) + 1);
		sum += rd.buf[i];
	}
	printf("client 2: got %d bytes, sum %lu, %s\n", 2 * REQ, sum, same ? "every byte as sent" : "BYTES DIFFER");
	fflush(stdout);
	close(rd.fd);
}

static void threaded_server(int lfd, int signal_fd)
{
	struct timespec late = { 0, 200000000 };
	unsigned char buf[REQ];
	unsigned long sum = 0;
	bool same = true;
	char c;
	int fd;

	if (read(signal_fd, &c, 1) != 1)
		die("wait for the client");
	nanosleep(&late, NULL);
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		die("accept");
	get(fd, -1, false, buf, MSG);
	for (unsigned i = 0; i < MSG; i++) {
		same &= buf[i] == pat(2, i);
		sum += buf[i];
	}
	for (unsigned i = 0; i < REQ; i++)
		buf[i] = (unsigned char)(pat(2, i % MSG) + 1);
	put(fd, -1, false, buf, REQ);
	nanosleep(&late, NULL);
	put(fd, -1, false, buf, REQ);
	if (read(fd, buf, 1) != 0)
		same = false;
	printf("server 2: got %d bytes, sum %lu, %s\n", MSG, sum, same ? "every byte as sent" : "BYTES DIFFER");
	fflush(stdout);
	close(fd);
}

static void server(unsigned conn, int lfd, int signal_fd)
{
	struct timespec late = { 0, 200000000 };
	unsigned char buf[REQ];
	unsigned long sum = 0;
	bool same = true, nb = conn == 1;
	char c;
	int fd;

	if (read(signal_fd, &c, 1) != 1)
		die("wait for the client");
	nanosleep(&late, NULL);
	fd = accept4(lfd, NULL, NULL, nb ? SOCK_NONBLOCK : 0);
	if (fd < 0)
		die("accept");
	get(fd, -1, nb, buf, REQ);
	for (unsigned i = 0; i < REQ; i++) {
		same &= buf[i] == pat(conn, i);
		sum += buf[i];
		buf[i]++;
	}
	put(fd, -1, nb, buf, REQ);
	for (unsigned r = 0; r < ROUNDS; r++) {
		get(fd, -1, nb, buf, MSG);
		for (unsigned i = 0; i < MSG; i++) {
			same &= buf[i] == pat(conn, r * MSG + i + 3);
			sum += buf[i];
			buf[i]++;
		}
		put(fd, -1, nb, buf, MSG);
	}
	/* The client closes: end of file after everything. */
	if (nb)
		wait_fd(fd, -1, true);
	if (read(fd, buf, 1) != 0)
		same = false;
	printf("server %u: got %d bytes, sum %lu, %s\n", conn, REQ + ROUNDS * MSG, sum,
	       same ? "every byte as sent" : "BYTES DIFFER");
	fflush(stdout);
	close(fd);
}

int main(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t l = sizeof(a);
	int lfd = socket(AF_INET, SOCK_STREAM, 0), sig[2], status;
	pid_t pid;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(lfd, 8) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &l) != 0)
		die("listen");
	if (pipe(sig) != 0)
		die("pipe");
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(lfd);
		close(sig[0]);
		for (unsigned conn = 0; conn < 2; conn++)
			client(conn, ntohs(a.sin_port), sig[1]);
		threaded_client(ntohs(a.sin_port), sig[1]);
		_exit(0);
	}
	close(sig[1]);
	for (unsigned conn = 0; conn < 2; conn++)
		server(conn, lfd, sig[0]);
	threaded_server(lfd, sig[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		return 1;
	return 0;
}
