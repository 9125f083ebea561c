/* SPDX-License-Identifier: MIT */
/*
 * The tcp mechanism: a TCP connection, its sends and receives submitted
 * through io_uring (liburing).  Between EFs of one host the initiator
 * makes both sockets: listen on 127.0.0.1 with an ephemeral port, connect,
 * accept, close the listener.  Between hosts (the only mechanism that
 * crosses them, XOS_MECH_F_HOSTS) the runtime connects the hosts and each
 * attaches its side (remote.c).
 *
 * An io_uring instance belongs to the process that made it: each end
 * makes its own lazily, and again after a fork (a process EF inherits
 * the end, not the ring).  Every send and receive waits for its own
 * completion, so between calls nothing is in flight: handing an end over
 * (mutate process -> thread) is handing over its socket, and the
 * receiving side makes a ring of its own on first use.
 */
#include "config.h"

#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chan_i.h"

/* io_uring fills buffers behind valgrind's back: tell it (a no-op otherwise). */
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#endif
#endif
#ifndef VALGRIND_MAKE_MEM_DEFINED
#define VALGRIND_MAKE_MEM_DEFINED(addr, len) ((void)(addr), (void)(len))
#endif

struct tcp_end {
	struct xos_mech_link link;
	int sock;
	bool tx, rx;
	struct io_uring ring;
	unsigned int ring_gen; /* fork generation the ring was made in; 0: none */
};

/* Bumped in every forked child: rings made before belong to the parent. */
static unsigned int fork_gen = 1;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void fork_child(void)
{
	fork_gen++;
}

static void fork_hook(void)
{
	pthread_atfork(NULL, NULL, fork_child);
}

static int tcp_make(const struct xos_mech_params *p, int fds[2][XOS_MECH_MAX_FDS], unsigned int *ret_nfds)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int lsock, c = -1, s = -1, one = 1, rc;

	lsock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lsock < 0)
		return -errno;
	if (bind(lsock, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lsock, 1) < 0 ||
	    getsockname(lsock, (struct sockaddr *)&a, &alen) < 0)
		goto fail;
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) < 0)
		goto fail;
	do {
		s = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
	} while (s < 0 && errno == EINTR);
	if (s < 0)
		goto fail;
	close(lsock);
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* Buffer about the channel's capacity, as the other mechanisms do (no autotuning to MiBs). */
	{
		int buf = (int)(p->capacity > (4u << 20) ? (4u << 20) : p->capacity);

		setsockopt(c, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
		setsockopt(s, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
		setsockopt(s, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
		setsockopt(c, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	}
	fds[0][0] = c;
	fds[1][0] = s;
	*ret_nfds = 1;
	return 0;
fail:
	rc = -errno;
	close(lsock);
	if (c >= 0)
		close(c);
	return rc;
}

static int tcp_attach(const struct xos_mech_params *p, const struct xos_mech_link *link, int *fds,
		      unsigned int nfds, void **ret_st)
{
	struct tcp_end *t;
	int type = 0, domain = 0;
	socklen_t len = sizeof(int);

	pthread_once(&fork_once, fork_hook);
	if (nfds != 1 || getsockopt(fds[0], SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM ||
	    getsockopt(fds[0], SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 || domain != AF_INET) {
		xos__close_fds(fds, nfds);
		return -EPROTO;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		xos__close_fds(fds, nfds);
		return -ENOMEM;
	}
	t->link = *link;
	t->sock = fds[0];
	t->tx = link->idx == 0 || p->dirs == 2;
	t->rx = link->idx == 1 || p->dirs == 2;
	*ret_st = t;
	return 0;
}

static void tcp_detach(void *st)
{
	struct tcp_end *t = st;

	/* An inherited ring is unmapped and closed here only; its maker keeps it. */
	if (t->ring_gen)
		io_uring_queue_exit(&t->ring);
	close(t->sock);
	free(t);
}

static int ring_ready(struct tcp_end *t)
{
	int rc;

	if (t->ring_gen == fork_gen)
		return 0;
	/* A ring inherited from the parent is the parent's: drop our view of it. */
	if (t->ring_gen)
		io_uring_queue_exit(&t->ring);
	t->ring_gen = 0;
	rc = io_uring_queue_init(4, &t->ring, 0);
	if (rc < 0)
		return rc;
	t->ring_gen = fork_gen;
	return 0;
}

/* Submit one prepared SQE and wait for its completion; returns cqe->res. */
static int submit_one(struct tcp_end *t)
{
	struct io_uring_cqe *cqe;
	int rc, res;

	rc = io_uring_submit_and_wait(&t->ring, 1);
	while (rc == -EINTR)
		rc = io_uring_submit_and_wait(&t->ring, 1);
	if (rc < 0)
		return rc;
	do {
		rc = io_uring_wait_cqe(&t->ring, &cqe);
	} while (rc == -EINTR);
	if (rc < 0)
		return rc;
	res = cqe->res;
	io_uring_cqe_seen(&t->ring, cqe);
	return res;
}

static ssize_t tcp_writev(void *st, const struct iovec *iov, int iovcnt, bool nonblock)
{
	struct tcp_end *t = st;
	struct msghdr mh = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };
	struct io_uring_sqe *sqe;
	int rc = ring_ready(t);

	if (rc < 0)
		return rc;
	sqe = io_uring_get_sqe(&t->ring);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_sendmsg(sqe, t->sock, &mh, MSG_NOSIGNAL | (nonblock ? MSG_DONTWAIT : 0));
	do {
		rc = submit_one(t);
	} while (rc == -EINTR);
	if (rc == -ECONNRESET)
		return -EPIPE;
	return rc;
}

static ssize_t tcp_read(void *st, void *buf, size_t len, bool nonblock)
{
	struct tcp_end *t = st;
	struct io_uring_sqe *sqe;
	int rc = ring_ready(t);

	if (rc < 0)
		return rc;
	if (len > INT32_MAX)
		len = INT32_MAX;
	sqe = io_uring_get_sqe(&t->ring);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_recv(sqe, t->sock, buf, len, nonblock ? MSG_DONTWAIT : 0);
	do {
		rc = submit_one(t);
	} while (rc == -EINTR);
	if (rc == -ECONNRESET)
		return 0; /* the peer died: EOF */
	if (rc > 0)
		VALGRIND_MAKE_MEM_DEFINED(buf, (size_t)rc);
	return rc;
}

static int tcp_rx_fd(void *st)
{
	return ((struct tcp_end *)st)->sock;
}

static int tcp_wait_writable(void *st)
{
	struct tcp_end *t = st;

	return xos__chan_wait_fd(&t->link, t->sock, POLLOUT);
}

/* attach() took the one socket; no request is in flight between calls. */
static int tcp_handover_fds(void *st, int fds[XOS_MECH_MAX_FDS], unsigned int *ret_nfds)
{
	fds[0] = ((struct tcp_end *)st)->sock;
	*ret_nfds = 1;
	return 0;
}

const struct xos_mech_ops xos__chan_tcp = {
	.make = tcp_make,
	.attach = tcp_attach,
	.detach = tcp_detach,
	.rx_fd = tcp_rx_fd,
	.writev = tcp_writev,
	.read = tcp_read,
	.wait_writable = tcp_wait_writable,
	.handover_fds = tcp_handover_fds,
};

const struct xos_mech xos__mech_tcp = {
	.name = "tcp",
	.description = "loopback TCP connection through io_uring",
	.flags = XOS_MECH_F_KERNEL | XOS_MECH_F_HOSTS,
	.needs = XOS_ICF_X_INHERITS_FDS | XOS_ICF_X_NETWORK,
	.cost = 70000, /* rough ns of an 8-byte round trip on the reference machine */
	XOS_MECH_OPS(xos__chan_tcp),
};
