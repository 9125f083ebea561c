/* SPDX-License-Identifier: MIT */
/*
 * What the descriptor-based byte-stream mechanisms (pipe, unix, tcp) share:
 * an end holds one descriptor to read and one to write (the same one for
 * a socket).  Read descriptors stay blocking, so a blocking read is one
 * system call (a peer that dies closes its descriptors: EOF); a read that
 * must not block says so per call (MSG_DONTWAIT on sockets, RWF_NOWAIT on
 * pipes).  Writes never block (the generic layer waits for room, a wait a
 * safe point may cut): MSG_DONTWAIT on sockets, and a pipe's write end is
 * O_NONBLOCK, so a frame is one plain write(2).  On a kernel whose pipes
 * refuse RWF_NOWAIT the read descriptors are O_NONBLOCK too and blocking
 * is a poll(2) that also watches the control socket.
 */
#include "config.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "chan_i.h"
#include "fdstream.h"

static bool pipe_nowait;
static pthread_once_t pipe_nowait_once = PTHREAD_ONCE_INIT;

/* Kernels without it answer EOPNOTSUPP (never block): probe on an empty pipe. */
static void probe_pipe_nowait(void)
{
	int p[2];
	char c;
	struct iovec iov = { &c, 1 };

	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	pipe_nowait = preadv2(p[0], &iov, 1, -1, RWF_NOWAIT) < 0 && errno == EAGAIN;
	close(p[0]);
	close(p[1]);
}

bool xos__fds_pipe_nowait(void)
{
	pthread_once(&pipe_nowait_once, probe_pipe_nowait);
	return pipe_nowait;
}

int xos__fds_attach(const struct xos_mech_link *link, int rfd, int wfd, bool sock, void **ret_st)
{
	struct xos__fds_end *e = calloc(1, sizeof(*e));
	int rflags = 0, wflags = 0;

	if (!e)
		return -ENOMEM;
	e->link = *link;
	e->rfd = rfd;
	e->wfd = wfd;
	e->spare = -1;
	e->sock = sock;
	e->nowait = !sock && xos__fds_pipe_nowait();
	if (!sock && !e->nowait)
		rflags = O_NONBLOCK;
	/* A pipe is written only without blocking (the generic layer waits): plain write(2), never RWF_NOWAIT. */
	if (!sock)
		wflags = O_NONBLOCK;
	/* Descriptors may come from the peer: set their mode to ours. */
	if ((rfd >= 0 && fcntl(rfd, F_SETFL, (fcntl(rfd, F_GETFL) & ~O_NONBLOCK) | rflags) < 0) ||
	    (wfd >= 0 && fcntl(wfd, F_SETFL, (fcntl(wfd, F_GETFL) & ~O_NONBLOCK) | wflags) < 0)) {
		int rc = -errno;

		free(e);
		return rc;
	}
	*ret_st = e;
	return 0;
}

void xos__fds_detach(void *st)
{
	struct xos__fds_end *e = st;

	if (e->rfd >= 0)
		close(e->rfd);
	if (e->wfd >= 0 && e->wfd != e->rfd)
		close(e->wfd);
	if (e->spare >= 0)
		close(e->spare);
	free(e);
}

int xos__fds_rx_fd(void *st)
{
	return ((struct xos__fds_end *)st)->rfd;
}

/*
 * A blocking read whose wait a safe point may cut (xos__chan_wait_cut):
 * -ERESTART when cut before any byte was read.  A socket reads blocking
 * with a receive timeout (set once: one system call a read, as without a
 * cut; a reader that does not cut treats the timeout as a wait and goes
 * on); a pipe reads without blocking and waits in poll(2), both looking
 * at @cut every CUT_CHECK_MS.
 */
static ssize_t readv_cuttable_(struct xos__fds_end *e, const struct iovec *iov, int iovcnt,
			       const _Atomic uint32_t *cut)
{
	if (e->sock && !e->cut_timeo) {
		struct timeval tv = { 0, CUT_CHECK_MS * 1000 };

		e->cut_timeo = setsockopt(e->rfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0;
	}
	while (e->sock && e->cut_timeo) {
		struct msghdr mh = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };
		ssize_t n;

		if (xos__chan_cut(cut))
			return -ERESTART;
		n = iovcnt == 1 ? recv(e->rfd, iov[0].iov_base, iov[0].iov_len, 0) : recvmsg(e->rfd, &mh, 0);
		if (n >= 0)
			return n;
		if (errno == ECONNRESET)
			return 0; /* the peer died: EOF */
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
	}
	for (;;) {
		struct pollfd pfd = { .fd = e->rfd, .events = POLLIN };
		ssize_t n = xos__fds_readv(e, iov, iovcnt, true);

		if (n != -EAGAIN)
			return n;
		if (xos__chan_cut(cut))
			return -ERESTART;
		if (poll(&pfd, 1, CUT_CHECK_MS) < 0 && errno != EINTR)
			return -errno;
	}
}

/* The same, its sleeps interruptible by the host that cuts it (EINTR: it looks again). */
static ssize_t readv_cuttable(struct xos__fds_end *e, const struct iovec *iov, int iovcnt,
			      const _Atomic uint32_t *cut)
{
	ssize_t n;

	xos__chan_wait_sleeping(cut, true);
	n = readv_cuttable_(e, iov, iovcnt, cut);
	xos__chan_wait_sleeping(cut, false);
	return n;
}

ssize_t xos__fds_readv(void *st, const struct iovec *iov, int iovcnt, bool nonblock)
{
	struct xos__fds_end *e = st;

	if (!nonblock && (e->sock || e->nowait)) {
		const _Atomic uint32_t *cut = xos__chan_wait_cut();

		if (cut)
			return readv_cuttable(e, iov, iovcnt, cut);
	}
	for (;;) {
		ssize_t n;
		int rc;

		if (e->sock) {
			struct msghdr mh = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };

			n = iovcnt == 1 ? recv(e->rfd, iov[0].iov_base, iov[0].iov_len, nonblock ? MSG_DONTWAIT : 0)
					: recvmsg(e->rfd, &mh, nonblock ? MSG_DONTWAIT : 0);
		} else if (e->nowait && nonblock) {
			n = preadv2(e->rfd, iov, iovcnt, -1, RWF_NOWAIT);
		} else {
			n = iovcnt == 1 ? read(e->rfd, iov[0].iov_base, iov[0].iov_len) : readv(e->rfd, iov, iovcnt);
		}
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno == ECONNRESET)
			return 0; /* the peer died: EOF */
		if (errno != EAGAIN)
			return -errno;
		if (nonblock)
			return -EAGAIN;
		/* Only with O_NONBLOCK descriptors (old kernels): wait here. */
		rc = xos__chan_wait_fd(&e->link, e->rfd, POLLIN);
		if (rc == -EPIPE)
			continue; /* drain what is left, then read() says EOF */
		if (rc < 0)
			return rc;
	}
}

ssize_t xos__fds_read(void *st, void *buf, size_t len, bool nonblock)
{
	struct iovec iov = { buf, len };

	return xos__fds_readv(st, &iov, 1, nonblock);
}

/*
 * Wait for room.  Before the first byte of a frame (xos__stream_write_frame
 * allows no cut after it) a safe point may cut the wait, as a ring's:
 * -ERESTART.
 */
int xos__fds_wait_writable(void *st)
{
	struct xos__fds_end *e = st;

	return xos__chan_wait_fd_cut(&e->link, e->wfd, POLLOUT, xos__chan_wait_cut());
}

/* Sockets: one sendmsg of the whole frame; never blocks (the generic layer waits), never SIGPIPE. */
ssize_t xos__fds_sendmsg(void *st, const struct iovec *iov, int iovcnt, bool nonblock)
{
	struct xos__fds_end *e = st;
	struct msghdr mh = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };
	ssize_t n;

	(void)nonblock;
	do {
		n = iovcnt == 1 ? send(e->wfd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL | MSG_DONTWAIT)
				: sendmsg(e->wfd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && errno == ECONNRESET)
		return -EPIPE;
	return n < 0 ? -errno : n;
}
