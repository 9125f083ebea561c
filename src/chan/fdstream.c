/* SPDX-License-Identifier: MIT */
/*
 * What the descriptor-based byte-stream mechanisms (pipe, unix) share:
 * an end holds one descriptor to read and one to write (the same one for
 * a socket), kept O_NONBLOCK; blocking is a poll(2) that also watches the
 * control socket, so a peer that vanished ends the wait.
 */
#include "config.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "chan_i.h"
#include "fdstream.h"

int xos__fds_attach(const struct xos__chan_link *link, int rfd, int wfd, void **ret_st)
{
	struct xos__fds_end *e = calloc(1, sizeof(*e));

	if (!e)
		return -ENOMEM;
	e->link = *link;
	e->rfd = rfd;
	e->wfd = wfd;
	if ((rfd >= 0 && fcntl(rfd, F_SETFL, fcntl(rfd, F_GETFL) | O_NONBLOCK) < 0) ||
	    (wfd >= 0 && fcntl(wfd, F_SETFL, fcntl(wfd, F_GETFL) | O_NONBLOCK) < 0)) {
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
	free(e);
}

int xos__fds_rx_fd(void *st)
{
	return ((struct xos__fds_end *)st)->rfd;
}

ssize_t xos__fds_read(void *st, void *buf, size_t len, bool nonblock)
{
	struct xos__fds_end *e = st;

	for (;;) {
		ssize_t n = read(e->rfd, buf, len);
		int rc;

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
		rc = xos__chan_wait_fd(&e->link, e->rfd, POLLIN);
		if (rc == -EPIPE)
			continue; /* drain what is left, then read() says EOF */
		if (rc < 0)
			return rc;
	}
}

int xos__fds_wait_writable(void *st)
{
	struct xos__fds_end *e = st;

	return xos__chan_wait_fd(&e->link, e->wfd, POLLOUT);
}
