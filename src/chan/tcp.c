/* SPDX-License-Identifier: MIT */
/*
 * The tcp mechanism: a TCP connection.  Between EFs of one host the
 * initiator makes both sockets: listen on 127.0.0.1 with an ephemeral
 * port, connect, accept, close the listener.  Between hosts (the only
 * mechanism that crosses them, XOS_MECH_F_HOSTS) the runtime connects the
 * hosts and each attaches its side (remote.c).
 *
 * Every send and receive is one plain system call on a blocking socket
 * (sendmsg of header and payload together, recv into the frame buffer),
 * as for the unix mechanism.  Sends and receives used to go through
 * io_uring, one submission and one completion per call: the channel API
 * is synchronous, so there was never more than one request to batch, and
 * a receive that waits through io_uring took longer to wake than recv(2)
 * (bench-chan measured the round trip 0.6-0.75x raw TCP that way).
 * Measured again with the best io_uring offers such calls (a ring per
 * thread, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN): an
 * 8-byte round trip between two hosts 1.05x the time of these calls, on
 * one host 0.92-0.94x raw TCP against 0.97-1.01x, streams the same; and a
 * sandboxed EF may not use io_uring at all (its seccomp filter).
 * Between calls nothing is in flight: handing an end over (mutate) is
 * handing over its socket.
 */
#include "config.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chan_i.h"
#include "fdstream.h"

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
	bool tx = link->idx == 0 || p->dirs == 2, rx = link->idx == 1 || p->dirs == 2;
	int type = 0, domain = 0, rc;
	socklen_t len = sizeof(int);

	/* The descriptor may come from the peer: it must be a TCP socket. */
	if (nfds != 1 || getsockopt(fds[0], SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM ||
	    getsockopt(fds[0], SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 || domain != AF_INET) {
		xos__close_fds(fds, nfds);
		return -EPROTO;
	}
	rc = xos__fds_attach(link, rx ? fds[0] : -1, tx ? fds[0] : -1, true, ret_st);
	if (rc < 0)
		xos__close_fds(fds, nfds);
	return rc;
}

/* attach() took the one socket; no request is in flight between calls. */
static int tcp_handover_fds(void *st, int fds[XOS_MECH_MAX_FDS], unsigned int *ret_nfds)
{
	struct xos__fds_end *e = st;

	fds[0] = e->rfd >= 0 ? e->rfd : e->wfd;
	*ret_nfds = 1;
	return 0;
}

const struct xos_mech_ops xos__chan_tcp = {
	.make = tcp_make,
	.attach = tcp_attach,
	.detach = xos__fds_detach,
	.rx_fd = xos__fds_rx_fd,
	.writev = xos__fds_sendmsg,
	.read = xos__fds_read,
	.readv = xos__fds_readv,
	.wait_writable = xos__fds_wait_writable,
	.handover_fds = tcp_handover_fds,
};

const struct xos_mech xos__mech_tcp = {
	.name = "tcp",
	.description = "TCP connection",
	.flags = XOS_MECH_F_KERNEL | XOS_MECH_F_HOSTS,
	.needs = XOS_ICF_X_INHERITS_FDS | XOS_ICF_X_NETWORK,
	.cost = 70000, /* rough ns of an 8-byte round trip on the reference machine */
	XOS_MECH_OPS(xos__chan_tcp),
};
