/* SPDX-License-Identifier: MIT */
/*
 * mech-loop: a channel mechanism plugged in from outside libxos, written
 * against <xos/vic.h> only.  "loop" carries a channel's bytes over a unix
 * stream socket pair it makes itself; the channel layer frames the stream.
 * One descriptor per end, so it survives fork and mutate like the
 * built-in mechanisms.
 *
 * The program registers it, checks that the runtime connected it between
 * the built-in ICFs (it needs only descriptors to cross), then runs an
 * echo EF in a process over a channel that starts on the ring and is
 * switched live to "loop" half-way: every message comes back, in order.
 * Exit status 0 when all of that held.
 */
#define XOS_USE_VERSION 1
#include <xos.h>
#include <xos/vic.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- the mechanism ------------------------------------------------------ */

struct loop_end {
	struct xos_mech_link link; /* to wait without outliving the peer */
	int fd;
};

static int loop_make(const struct xos_mech_params *p, int fds[2][XOS_MECH_MAX_FDS], unsigned int *ret_nfds)
{
	int sv[2];

	(void)p;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	fds[0][0] = sv[0];
	fds[1][0] = sv[1];
	*ret_nfds = 1;
	return 0;
}

static int loop_attach(const struct xos_mech_params *p, const struct xos_mech_link *link, int *fds,
		       unsigned int nfds, void **ret_st)
{
	struct loop_end *e;
	int type = 0;
	socklen_t len = sizeof(type);

	(void)p;
	/* The descriptor may come from the peer: accept only what make() made. */
	if (nfds != 1 || getsockopt(fds[0], SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM) {
		for (unsigned int i = 0; i < nfds; i++)
			close(fds[i]);
		return -EPROTO;
	}
	e = malloc(sizeof(*e));
	if (!e) {
		close(fds[0]);
		return -ENOMEM;
	}
	e->link = *link;
	e->fd = fds[0];
	*ret_st = e;
	return 0;
}

static void loop_detach(void *st)
{
	struct loop_end *e = st;

	close(e->fd);
	free(e);
}

static int loop_rx_fd(void *st)
{
	return ((struct loop_end *)st)->fd;
}

static ssize_t loop_writev(void *st, const struct iovec *iov, int iovcnt, bool nonblock)
{
	struct loop_end *e = st;
	struct msghdr mh = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };
	ssize_t n;

	(void)nonblock; /* never blocks: the layer waits with wait_writable */
	do {
		n = sendmsg(e->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == ECONNRESET ? -EPIPE : -errno;
	return n;
}

/* Receive into @iov (one buffer or several, in order): a message-mode
 * receive reads the frame header aside and the payload into the
 * caller's buffer with one call. */
static ssize_t loop_readv(void *st, const struct iovec *iov, int iovcnt, bool nonblock)
{
	struct loop_end *e = st;
	struct msghdr mh = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };

	for (;;) {
		ssize_t n = recvmsg(e->fd, &mh, MSG_DONTWAIT);
		int rc;

		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno == ECONNRESET)
			return 0;
		if (errno != EAGAIN)
			return -errno;
		if (nonblock)
			return -EAGAIN;
		/* Another process may hold the peer's socket too: ask the channel whether the peer lives. */
		rc = xos_mech_wait_fd(&e->link, e->fd, POLLIN);
		if (rc == -EPIPE) {
			n = recvmsg(e->fd, &mh, MSG_DONTWAIT);
			return n >= 0 ? n : 0; /* what is left, then EOF */
		}
		if (rc < 0)
			return rc;
	}
}

static ssize_t loop_read(void *st, void *buf, size_t len, bool nonblock)
{
	struct iovec iov = { buf, len };

	return loop_readv(st, &iov, 1, nonblock);
}

static int loop_wait_writable(void *st)
{
	struct loop_end *e = st;

	return xos_mech_wait_fd(&e->link, e->fd, POLLOUT);
}

static int loop_handover_fds(void *st, int fds[XOS_MECH_MAX_FDS], unsigned int *ret_nfds)
{
	fds[0] = ((struct loop_end *)st)->fd;
	*ret_nfds = 1;
	return 0;
}

static const struct xos_mech_ops loop_ops = {
	.make = loop_make,
	.attach = loop_attach,
	.detach = loop_detach,
	.rx_fd = loop_rx_fd,
	.writev = loop_writev,
	.read = loop_read,
	.wait_writable = loop_wait_writable,
	.handover_fds = loop_handover_fds,
	.readv = loop_readv,
};

static const struct xos_mech loop_mech = {
	.name = "loop",
	.description = "unix stream socket pair (examples/mech-loop.c)",
	.flags = XOS_MECH_F_KERNEL,
	.needs = XOS_ICF_X_INHERITS_FDS,
	.cost = 50000,
	XOS_MECH_OPS(loop_ops),
};

/* ---- a program that uses it ------------------------------------------------- */

#define MSGS 2000

static int fail(const char *what, long rc)
{
	fprintf(stderr, "mech-loop: %s: %s\n", what, rc < 0 ? strerror((int)-rc) : "unexpected");
	return 1;
}

static int echo(void *arg)
{
	struct xos_chan *end = *(struct xos_chan **)arg;
	char buf[4096]; /* >= 1 KiB: received through loop_readv */
	ssize_t n;

	while ((n = xos_chan_recv(end, buf, sizeof(buf))) > 0)
		if (xos_chan_send(end, buf, (size_t)n) != n)
			return 1;
	xos_chan_close(end);
	return n == 0 ? 0 : 2;
}

static bool connects(const char *a, const char *b)
{
	struct xos_com_info com[32];
	int n = xos_com_list(a, b, com, 32);

	for (int i = 0; i < n && i < 32; i++)
		if (strcmp(com[i].mechanism, "loop") == 0)
			return true;
	return false;
}

int main(void)
{
	const struct xos_mech *mechs[32];
	struct xos_chan_attr attr;
	struct xos_ef_attr eattr;
	struct xos_chan *ends[2];
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	bool listed = false;
	int rc, n;

	rc = xos_mech_register(&loop_mech);
	if (rc < 0)
		return fail("xos_mech_register", rc);
	if (xos_mech_register(&loop_mech) != -EBUSY)
		return fail("a second registration", 0);
	n = xos_mech_list(mechs, 32);
	for (int i = 0; i < n && i < 32; i++)
		listed |= mechs[i] == &loop_mech;
	if (!listed)
		return fail("xos_mech_list does not list it", 0);
	/* Threads and processes both inherit descriptors: the runtime connected them with it. */
	if (!connects("thread", "process") || !connects("process", "process"))
		return fail("not in the register_com table", 0);

	xos_chan_attr_init(&attr);
	attr.flags = XOS_CHAN_F_BIDIR;
	attr.name = "loop-demo";
	attr.mechanism = "ring";
	rc = xos_chan_open(ends, &attr);
	if (rc < 0)
		return fail("xos_chan_open", rc);
	xos_ef_attr_init(&eattr);
	eattr.icf = "process";
	eattr.chans = &ends[1];
	eattr.nchans = 1;
	rc = xos_ef_create(&ef, &eattr, echo, &ends[1], sizeof(ends[1]));
	if (rc < 0)
		return fail("xos_ef_create", rc);
	for (int i = 0; i < MSGS; i++) {
		char out[32], in[4096];
		ssize_t len;

		if (i == MSGS / 2 && (rc = xos_chan_switch(ends[0], "loop")) < 0)
			return fail("xos_chan_switch to loop", rc);
		len = snprintf(out, sizeof(out), "message %d", i);
		if ((rc = (int)xos_chan_send(ends[0], out, (size_t)len)) != len)
			return fail("xos_chan_send", rc);
		if ((rc = (int)xos_chan_recv(ends[0], in, sizeof(in))) != len || memcmp(in, out, (size_t)len))
			return fail("echo", rc);
	}
	if (strcmp(xos_chan_mechanism(ends[0]), "loop") != 0)
		return fail("the channel is not on loop", 0);
	xos_chan_close(ends[0]);
	rc = xos_ef_join(ef, &ex);
	if (rc < 0 || ex.how != XOS_EF_EXITED || ex.status != 0)
		return fail("the echo EF", rc);
	printf("mech-loop: %d messages echoed, switched from ring to loop half-way\n", MSGS);
	return 0;
}
