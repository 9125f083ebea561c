/* SPDX-License-Identifier: MIT */
/*
 * The pipe mechanism: one pipe per direction, sized to the channel's
 * capacity.  The kernel moves every byte, so the peers share no memory.
 *
 * A write to a pipe whose readers are all gone raises SIGPIPE, which the
 * program must never see.  Rather than block the signal around every
 * write (two more system calls per send), the writing end keeps a read
 * descriptor of the pipe it writes (never read from): the pipe always has
 * a reader, so a write never fails with EPIPE and never raises SIGPIPE.
 * A peer that closed its end is seen in the control block (the send is
 * -EPIPE before any write); one that died without closing is seen by
 * wait_writable() once the pipe is full, as a ring writer sees it.
 */
#include "config.h"

#include <fcntl.h>
#include <sys/stat.h>
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
	/*
	 * fds[i] = { write end of direction i, read end of direction !i,
	 *            a spare read end of direction i (keeps the pipe i writes readable) }
	 */
	fds[0][0] = pp[0][1];
	fds[1][1] = pp[0][0];
	fds[1][0] = p->dirs == 2 ? pp[1][1] : -1;
	fds[0][1] = p->dirs == 2 ? pp[1][0] : -1;
	fds[0][2] = fcntl(pp[0][0], F_DUPFD_CLOEXEC, 0);
	fds[1][2] = p->dirs == 2 ? fcntl(pp[1][0], F_DUPFD_CLOEXEC, 0) : -1;
	if (fds[0][2] < 0 || (p->dirs == 2 && fds[1][2] < 0)) {
		int rc = -errno;

		xos__close_fds(fds[0], 3);
		xos__close_fds(fds[1], 3);
		return rc;
	}
	*ret_nfds = 3;
	return 0;
}

/* Are @a and @b descriptors of the same pipe? (The kernel gives both ends one inode.) */
static bool same_pipe(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && S_ISFIFO(sa.st_mode) && S_ISFIFO(sb.st_mode) &&
	       sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int pipe_attach(const struct xos_mech_params *p, const struct xos_mech_link *link, int *fds,
		       unsigned int nfds, void **ret_st)
{
	bool tx = link->idx == 0 || p->dirs == 2, rx = link->idx == 1 || p->dirs == 2;
	int rc;

	/* The descriptors may come from the peer: the spare must read the pipe we write. */
	if (nfds != 3 || (tx != (fds[0] >= 0)) || (rx != (fds[1] >= 0)) || (tx != (fds[2] >= 0)) ||
	    (tx && ((fcntl(fds[2], F_GETFL) & O_ACCMODE) != O_RDONLY || !same_pipe(fds[0], fds[2])))) {
		xos__close_fds(fds, nfds);
		return -EPROTO;
	}
	rc = xos__fds_attach(link, fds[1], fds[0], false, ret_st);
	if (rc < 0) {
		xos__close_fds(fds, nfds);
		return rc;
	}
	((struct xos__fds_end *)*ret_st)->spare = fds[2];
	return 0;
}

static ssize_t pipe_writev(void *st, const struct iovec *iov, int iovcnt, bool nonblock)
{
	struct xos__fds_end *e = st;
	ssize_t n;

	(void)nonblock; /* never blocks (the write end is O_NONBLOCK): the generic layer waits with wait_writable */
	do {
		n = iovcnt == 1 ? write(e->wfd, iov[0].iov_base, iov[0].iov_len) : writev(e->wfd, iov, iovcnt);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/* attach() took { write end, read end, spare read end }. */
static int pipe_handover_fds(void *st, int fds[XOS_MECH_MAX_FDS], unsigned int *ret_nfds)
{
	struct xos__fds_end *e = st;

	fds[0] = e->wfd;
	fds[1] = e->rfd;
	fds[2] = e->spare;
	*ret_nfds = 3;
	return 0;
}

const struct xos_mech_ops xos__chan_pipe = {
	.make = pipe_make,
	.attach = pipe_attach,
	.detach = xos__fds_detach,
	.rx_fd = xos__fds_rx_fd,
	.writev = pipe_writev,
	.read = xos__fds_read,
	.readv = xos__fds_readv,
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
