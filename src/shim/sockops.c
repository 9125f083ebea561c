/* SPDX-License-Identifier: MIT */
/*
 * Socket operations on a socket whose bytes move on a ring, answered as
 * the kernel would without moving it back:
 *
 *  - shutdown: done on the kernel socket (which tells the peer, wakes its
 *    sleepers and makes later writes fail with EPIPE and SIGPIPE), then
 *    recorded in the ring so that the ring's readers see end of file after
 *    the bytes already written, and its writers go to the kernel for the
 *    refusal (see ring.c: write_shut, shim_ring_read);
 *  - FIONREAD (SIOCINQ): the bytes unread in the ring; SIOCOUTQ: on
 *    AF_UNIX, the bytes the peer has not read yet (the kernel counts its
 *    buffers' sizes instead, so only zero is exact); on TCP the kernel's
 *    answer, which is what loopback says natively once the peer's kernel
 *    has the bytes (they are acknowledged at once);
 *  - FIONBIO (any ring fd, a pipe's too): recorded like O_NONBLOCK
 *    (ready.c);
 *  - socket options, names and addresses (setsockopt, getsockopt,
 *    getsockname, getpeername) are not interposed: the kernel sockets
 *    stay real, so they answer natively, SO_ERROR included.
 * Every other ioctl moves the channel back to the kernel first.
 */
#include "config.h"

#include <linux/sockios.h>
#include <stdarg.h>
#include <sys/ioctl.h>

#include "shim_i.h"
#include "ready.h"

/* The fd's entry; a connecting fd joins its ring first if the server
 * accepted it (@settle: or stays on the kernel for good, see tcp.c). */
static struct shim_fd *sock_fd(int fd, bool settle)
{
	struct shim_fd *f = shim_fd_get(fd);

	if (f && f->pair) {
		SHIM_ERRNO_SAVE;
		if (settle)
			shim_tcp_settle(fd, f);
		else
			shim_tcp_try_settle(fd, f);
		SHIM_ERRNO_RESTORE();
	}
	return f;
}

static bool ring_socket(const struct shim_fd *f)
{
	return f && f->ring && !f->broken && shim.area->chan[f->chan - 1].kind != SHIM_CH_PIPE;
}

SHIM_EXPORT int shutdown(int fd, int how)
{
	SHIM_VFORK_PASS(REAL(shutdown)(fd, how));
	struct shim_fd *f;
	int rc;

	if (!shim.area)
		return REAL(shutdown)(fd, how);
	/* A half close before the ring: the kernel carries the connection. */
	f = sock_fd(fd, true);
	rc = REAL(shutdown)(fd, how);
	if (rc == 0 && ring_socket(f))
		shim_ring_shutdown(f, how);
	return rc;
}

/* The kernel answers first (EFAULT, EBADF, ENOTTY as natively, and the
 * value when the ring does not know it); the ring then corrects it. */
static int ring_count(int fd, struct shim_fd *f, unsigned long req, int *arg, bool outq)
{
	int rc = REAL(ioctl)(fd, req, arg);
	int64_t n;

	if (rc < 0)
		return rc;
	SHIM_ERRNO_SAVE;
	n = shim_ring_unread(f, outq);
	if (n >= 0)
		*arg = n > INT32_MAX ? INT32_MAX : (int)n;
	SHIM_ERRNO_RESTORE();
	return rc;
}

SHIM_EXPORT int ioctl(int fd, unsigned long req, ...)
{
	struct shim_fd *f;
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!shim.area)
		return REAL(ioctl)(fd, req, arg);
	f = sock_fd(fd, false);
	if (ring_socket(f)) {
		if (req == FIONREAD)
			return ring_count(fd, f, req, arg, false);
		if (req == SIOCOUTQ && shim.area->chan[f->chan - 1].kind == SHIM_CH_UNIX)
			return ring_count(fd, f, req, arg, true);
		if (req == SIOCOUTQ || req == SIOCOUTQNSD || req == SIOCATMARK)
			return REAL(ioctl)(fd, req, arg);
	}
	if (req == FIONBIO)
		return shim_ready_fionbio(fd, arg);
	if (f && f->ring)
		shim_ring_downgrade(fd, f, "ioctl", true);
	return REAL(ioctl)(fd, req, arg);
}
