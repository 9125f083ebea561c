/* SPDX-License-Identifier: MIT */
/*
 * The unix mechanism: an AF_UNIX stream socketpair, both directions on
 * one pair (a unidirectional channel shuts the unused half down).  The
 * kernel moves every byte; MSG_NOSIGNAL keeps SIGPIPE away.
 */
#include "config.h"

#include <sys/socket.h>
#include <unistd.h>

#include "chan_i.h"
#include "fdstream.h"

static int unix_make(const struct xos_mech_params *p, int fds[2][XOS_MECH_MAX_FDS], unsigned int *ret_nfds)
{
	int sv[2];
	int buf = (int)(p->capacity > (4u << 20) ? (4u << 20) : p->capacity);

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	/* Best effort: the default buffers only cost throughput. */
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	(void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	fds[0][0] = sv[0];
	fds[1][0] = sv[1];
	*ret_nfds = 1;
	return 0;
}

static int unix_attach(const struct xos_mech_params *p, const struct xos_mech_link *link, int *fds,
		       unsigned int nfds, void **ret_st)
{
	bool tx = link->idx == 0 || p->dirs == 2, rx = link->idx == 1 || p->dirs == 2;
	int type = 0, rc;
	socklen_t len = sizeof(type);

	/* The descriptor may come from the peer: it must be a stream socket. */
	if (nfds != 1 || getsockopt(fds[0], SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM) {
		xos__close_fds(fds, nfds);
		return -EPROTO;
	}
	rc = xos__fds_attach(link, rx ? fds[0] : -1, tx ? fds[0] : -1, true, ret_st);
	if (rc < 0)
		xos__close_fds(fds, nfds);
	return rc;
}

/* attach() took the one socket. */
static int unix_handover_fds(void *st, int fds[XOS_MECH_MAX_FDS], unsigned int *ret_nfds)
{
	struct xos__fds_end *e = st;

	fds[0] = e->rfd >= 0 ? e->rfd : e->wfd;
	*ret_nfds = 1;
	return 0;
}

const struct xos_mech_ops xos__chan_unix = {
	.make = unix_make,
	.attach = unix_attach,
	.detach = xos__fds_detach,
	.rx_fd = xos__fds_rx_fd,
	.writev = xos__fds_sendmsg,
	.read = xos__fds_read,
	.readv = xos__fds_readv,
	.wait_writable = xos__fds_wait_writable,
	.handover_fds = unix_handover_fds,
};

const struct xos_mech xos__mech_unix = {
	.name = "unix",
	.description = "unix stream socket pair",
	.flags = XOS_MECH_F_KERNEL,
	.needs = XOS_ICF_X_INHERITS_FDS,
	.cost = 55000, /* rough ns of an 8-byte round trip on the reference machine */
	XOS_MECH_OPS(xos__chan_unix),
};
