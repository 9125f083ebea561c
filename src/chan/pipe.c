/* SPDX-License-Identifier: MIT */
/*
 * The pipe mechanism: one pipe per direction, sized to the channel's
 * capacity.  The kernel moves every byte, so the peers share no memory.
 *
 * A write to a pipe whose reader is gone raises SIGPIPE; the program must
 * never see it, so a write blocks SIGPIPE in the calling thread and, when
 * it failed with EPIPE, consumes the signal it raised before unblocking.
 */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "chan_i.h"
#include "fdstream.h"

static int pipe_make(const struct xos_mech_params *p, int fds[2][XOS_MECH_MAX_FDS], unsigned int *ret_nfds)
{
	int pp[2][2] = { { -1, -1 }, { -1, -1 } };

	for (unsigned int d = 0; d < p->dirs; d++) {
		if (pipe2(pp[d], O_CLOEXEC) < 0) {
			int rc = -errno;

			for (unsigned int k = 0; k < d; k++) {
				close(pp[k][0]);
				close(pp[k][1]);
			}
			return rc;
		}
		/* Best effort: a smaller pipe only costs throughput. */
		(void)fcntl(pp[d][1], F_SETPIPE_SZ, (int)(p->capacity > (1u << 20) ? (1u << 20) : p->capacity));
	}
	/* fds[i] = { write end of direction i, read end of direction !i } */
	fds[0][0] = pp[0][1];
	fds[1][1] = pp[0][0];
	fds[1][0] = p->dirs == 2 ? pp[1][1] : -1;
	fds[0][1] = p->dirs == 2 ? pp[1][0] : -1;
	*ret_nfds = 2;
	return 0;
}

static int pipe_attach(const struct xos_mech_params *p, const struct xos_mech_link *link, int *fds,
		       unsigned int nfds, void **ret_st)
{
	bool tx = link->idx == 0 || p->dirs == 2, rx = link->idx == 1 || p->dirs == 2;
	int rc;

	if (nfds != 2 || (tx != (fds[0] >= 0)) || (rx != (fds[1] >= 0))) {
		xos__close_fds(fds, nfds);
		return -EPROTO;
	}
	rc = xos__fds_attach(link, fds[1], fds[0], false, ret_st);
	if (rc < 0)
		xos__close_fds(fds, nfds);
	return rc;
}

static ssize_t pipe_writev(void *st, const struct iovec *iov, int iovcnt, bool nonblock)
{
	struct xos__fds_end *e = st;
	sigset_t pipe_set, old;
	ssize_t n;

	(void)nonblock; /* never blocks: the generic layer waits with wait_writable */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	do {
		n = e->nowait ? pwritev2(e->wfd, iov, iovcnt, -1, RWF_NOWAIT) : writev(e->wfd, iov, iovcnt);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EPIPE) {
		static const struct timespec zero = { 0, 0 };
		sigset_t pending;

		/* Consume our SIGPIPE unless one was already pending before. */
		sigpending(&pending);
		if (!sigismember(&old, SIGPIPE) && sigismember(&pending, SIGPIPE))
			sigtimedwait(&pipe_set, NULL, &zero);
		errno = EPIPE;
	}
	n = n < 0 ? -errno : n;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return n;
}

/* attach() took { write end, read end }. */
static int pipe_handover_fds(void *st, int fds[XOS_MECH_MAX_FDS], unsigned int *ret_nfds)
{
	struct xos__fds_end *e = st;

	fds[0] = e->wfd;
	fds[1] = e->rfd;
	*ret_nfds = 2;
	return 0;
}

const struct xos_mech_ops xos__chan_pipe = {
	.make = pipe_make,
	.attach = pipe_attach,
	.detach = xos__fds_detach,
	.rx_fd = xos__fds_rx_fd,
	.writev = pipe_writev,
	.read = xos__fds_read,
	.wait_writable = xos__fds_wait_writable,
	.handover_fds = pipe_handover_fds,
};

const struct xos_mech xos__mech_pipe = {
	.name = "pipe",
	.description = "a pipe per direction",
	.flags = XOS_MECH_F_KERNEL,
	.needs = XOS_ICF_X_INHERITS_FDS,
	.cost = 60000, /* rough ns of an 8-byte round trip on the reference machine */
	XOS_MECH_OPS(xos__chan_pipe),
};
