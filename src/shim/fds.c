/* SPDX-License-Identifier: MIT */
/*
 * File descriptors: every pipe and socket becomes a channel record, and
 * the fd calls that move bytes or change what an fd is keep the record
 * (and, under --policy=perf, the ring) in step with the kernel's fd table:
 *
 *  - pipe/pipe2/socketpair(AF_UNIX, SOCK_STREAM) make a channel; blocking
 *    pipes and every such socketpair go on a ring under perf (both ends
 *    are born in a managed EF);
 *  - read, write, readv, writev, recv and send calls go through the ring while the
 *    channel is on one, and are counted otherwise;
 *  - dup*, fcntl(F_DUPFD*), close, close_range follow the fd numbers;
 *  - O_NONBLOCK and MSG_DONTWAIT stay on the ring, and so do poll,
 *    select and epoll (ready.c, poll.c, epoll.c); shutdown, MSG_PEEK,
 *    FIONREAD, SIOCOUTQ and FIONBIO on a socket's ring are answered in
 *    sockops.c;
 *  - anything the ring does not emulate (splice, tee, vmsplice, sendfile,
 *    copy_file_range, other ioctls, O_ASYNC, SCM_RIGHTS, MSG_OOB,
 *    addresses on recv/send, an fd number beyond the table) first moves
 *    the channel back to the kernel.
 *
 * Every interposer leaves errno as the real call leaves it.
 */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim_i.h"
#include "ready.h"

struct shim_fd *shim_fd_get(int fd)
{
	if (__builtin_expect(shim_vforked, 0))
		return shim_vfork_entry(fd);
	if (fd < 0 || fd >= SHIM_FD_MAX || !shim.fd[fd].chan)
		return NULL;
	return &shim.fd[fd];
}

/* The fd's entry, for a call that uses it: a connecting fd joins its
 * ring first if the server accepted it meanwhile (tcp.c). */
static struct shim_fd *fd_use(int fd)
{
	struct shim_fd *f = shim_fd_get(fd);

	if (f && f->pair) {
		SHIM_ERRNO_SAVE;
		shim_tcp_try_settle(fd, f);
		SHIM_ERRNO_RESTORE();
	}
	return f;
}

/* A write of @f is about to go to the kernel: true if it must be counted
 * for a ring its connection may join (end with shim_tcp_kwrite_end). */
static bool kwrite_begin(int fd, struct shim_fd *f)
{
	bool counted = false;

	if (f && f->pair && !f->ring) {
		SHIM_ERRNO_SAVE;
		counted = shim_tcp_kwrite_begin(fd, f);
		SHIM_ERRNO_RESTORE();
	}
	return counted;
}

static void kwrite_end(struct shim_fd *f, bool counted)
{
	if (counted) {
		SHIM_ERRNO_SAVE;
		shim_tcp_kwrite_end(f);
		SHIM_ERRNO_RESTORE();
	}
}

/* The same for a read through the kernel (what it takes is counted in
 * bytes_in before kread_end). */
static bool kread_begin(int fd, struct shim_fd *f)
{
	bool counted = false;

	if (f && f->pair && !f->ring) {
		SHIM_ERRNO_SAVE;
		counted = shim_tcp_kread_begin(fd, f);
		SHIM_ERRNO_RESTORE();
	}
	return counted;
}

static void kread_end(struct shim_fd *f, bool counted)
{
	if (counted) {
		SHIM_ERRNO_SAVE;
		shim_tcp_kread_end(f);
		SHIM_ERRNO_RESTORE();
	}
}

static struct shim_chan *chan(const struct shim_fd *f)
{
	return &shim.area->chan[f->chan - 1];
}

static void fd_track(int fd, int32_t ch, int end, int32_t slot)
{
	struct shim_fd *f;

	if (fd < 0 || ch < 0 || !shim_own_process())
		return;
	if (fd >= SHIM_FD_MAX) {
		/* Beyond the table: the fd is used natively, so no ring. */
		return;
	}
	f = &shim.fd[fd];
	f->chan = ch + 1;
	f->end = (uint8_t)end;
	f->ring = 0;
	f->broken = 0;
	if (slot >= 0) {
		f->ring = 1;
		f->gen = atomic_load(&shim.area->ring[slot].gen);
		shim_ring_hold(f, 1);
	}
	if (fd >= shim.fd_hi)
		shim.fd_hi = fd + 1;
}

void shim_fd_forget(int fd)
{
	if (fd >= 0 && fd < SHIM_FD_MAX && shim_own_process()) {
		if (shim.fd[fd].ring)
			shim_ring_hold(&shim.fd[fd], -1);
		memset(&shim.fd[fd], 0, sizeof(shim.fd[fd]));
	}
}

/* The fd is about to be used in a way the ring does not emulate. */
static void native_use(int fd, const char *why, bool kernel_view)
{
	struct shim_fd *f = shim_fd_get(fd);

	if (f && f->pair) {
		SHIM_ERRNO_SAVE;
		shim_tcp_settle(fd, f);
		SHIM_ERRNO_RESTORE();
	}
	if (f && f->ring)
		shim_ring_downgrade(fd, f, why, kernel_view);
}

static ssize_t ret_errno(ssize_t r)
{
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

/* ---- making pipes and sockets --------------------------------------------------- */

static void pipe_made(const int fds[2], int flags)
{
	SHIM_ERRNO_SAVE;
	int32_t ch, slot = -1;

	if (!shim_own_process() || !shim_area_need())
		goto out;
	ch = shim_chan_new(SHIM_CH_PIPE, fds[0], fds[1]);
	if (ch < 0)
		goto out;
	if (flags & O_NONBLOCK)
		atomic_store(&shim.area->chan[ch].nonblock, 3u);
	if (!shim.perf) {
		shim_chan_native(ch, "the policy is not perf");
	} else if (flags & O_DIRECT) {
		shim_chan_native(ch, "a packet pipe (O_DIRECT)");
	} else if (fds[0] >= SHIM_FD_MAX || fds[1] >= SHIM_FD_MAX) {
		shim_chan_native(ch, "an fd beyond the shim's table");
	} else {
		/* The ring blocks where this pipe would (its size in pages). */
		int size = REAL(fcntl)(fds[1], F_GETPIPE_SZ);

		if (size > 0 && size % SHIM_PIPE_PAGE == 0 && (uint32_t)size <= SHIM_PIPE_MAX &&
		    sysconf(_SC_PAGESIZE) == SHIM_PIPE_PAGE) {
			shim_area_lock();
			slot = shim_ring_attach(ch, 1, (uint32_t)size / SHIM_PIPE_PAGE);
			shim_area_unlock();
			if (slot < 0)
				shim_chan_native(ch, "no ring free (slots or memory budget)");
		} else {
			shim_chan_native(ch, "a pipe size the ring cannot keep");
		}
	}
	fd_track(fds[0], ch, 0, slot);
	fd_track(fds[1], ch, 1, slot);
out:
	SHIM_ERRNO_RESTORE();
}

SHIM_EXPORT int pipe(int fds[2])
{
	SHIM_VFORK_PASS(REAL(pipe)(fds));
	int rc = REAL(pipe)(fds);

	if (rc == 0)
		pipe_made(fds, 0);
	return rc;
}

SHIM_EXPORT int pipe2(int fds[2], int flags)
{
	SHIM_VFORK_PASS(REAL(pipe2)(fds, flags));
	int rc = REAL(pipe2)(fds, flags);

	if (rc == 0)
		pipe_made(fds, flags);
	return rc;
}

static uint32_t socket_kind(int domain, int type)
{
	type &= ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (domain == AF_UNIX)
		return type == SOCK_STREAM ? SHIM_CH_UNIX : SHIM_CH_UNIX_DGRAM;
	if (domain == AF_INET || domain == AF_INET6) {
		if (type == SOCK_STREAM)
			return SHIM_CH_TCP;
		if (type == SOCK_DGRAM)
			return SHIM_CH_UDP;
	}
	return SHIM_CH_SOCKET;
}

SHIM_EXPORT int socket(int domain, int type, int protocol)
{
	SHIM_VFORK_PASS(REAL(socket)(domain, type, protocol));
	int fd = REAL(socket)(domain, type, protocol);

	if (fd >= 0 && shim_own_process() && shim_area_need()) {
		SHIM_ERRNO_SAVE;
		uint32_t kind = socket_kind(domain, type);
		int32_t ch = shim_chan_new(kind, fd, -1);

		shim_chan_native(ch, !shim.perf ? "the policy is not perf"
				     : kind == SHIM_CH_TCP ? "not a loopback connection between managed EFs"
							   : "only stream sockets between managed EFs go on rings");
		fd_track(fd, ch, 0, -1);
		if (type & SOCK_NONBLOCK)
			shim_ready_set_nonblock(shim_fd_get(fd), true);
		SHIM_ERRNO_RESTORE();
	}
	return fd;
}

SHIM_EXPORT int socketpair(int domain, int type, int protocol, int sv[2])
{
	SHIM_VFORK_PASS(REAL(socketpair)(domain, type, protocol, sv));
	int rc = REAL(socketpair)(domain, type, protocol, sv);

	if (rc == 0 && shim_own_process() && shim_area_need()) {
		SHIM_ERRNO_SAVE;
		uint32_t kind = socket_kind(domain, type);
		int32_t ch = shim_chan_new(kind, sv[0], sv[1]), slot = -1;

		if (ch >= 0 && (type & SOCK_NONBLOCK))
			atomic_store(&shim.area->chan[ch].nonblock, 3u);
		if (ch >= 0 && shim.perf && kind == SHIM_CH_UNIX &&
		    sv[0] < SHIM_FD_MAX && sv[1] < SHIM_FD_MAX)
		{
			shim_area_lock();
			slot = shim_ring_attach(ch, 2, 0);
			shim_area_unlock();
		}
		if (slot < 0)
			shim_chan_native(ch, !shim.perf ? "the policy is not perf"
					     : kind != SHIM_CH_UNIX ? "not a stream socketpair"
					     : sv[0] >= SHIM_FD_MAX || sv[1] >= SHIM_FD_MAX ? "an fd beyond the shim's table"
											      : "no ring free (slots or memory budget)");
		fd_track(sv[0], ch, 0, slot);
		fd_track(sv[1], ch, 1, slot);
		SHIM_ERRNO_RESTORE();
	}
	return rc;
}

static void accepted(int lfd, int fd, int flags)
{
	struct shim_fd *l = shim_fd_get(lfd);

	if (fd < 0 || !shim.area || !shim_own_process())
		return;
	SHIM_ERRNO_SAVE;
	int32_t ch = shim_chan_new(l ? chan(l)->kind : SHIM_CH_SOCKET, fd, -1);

	fd_track(fd, ch, 0, -1);
	shim_tcp_accepted(fd, shim_fd_get(fd));
	/* After pairing: the flag belongs to the end the socket became. */
	if (flags & SOCK_NONBLOCK)
		shim_ready_set_nonblock(shim_fd_get(fd), true);
	shim_chan_native(ch, !shim.perf ? "the policy is not perf" : "not a loopback connection between managed EFs");
	SHIM_ERRNO_RESTORE();
}

SHIM_EXPORT int listen(int fd, int backlog)
{
	SHIM_VFORK_PASS(REAL(listen)(fd, backlog));
	int rc = REAL(listen)(fd, backlog);

	if (rc == 0 && shim.perf && shim.area) {
		SHIM_ERRNO_SAVE;
		shim_tcp_listening(fd);
		SHIM_ERRNO_RESTORE();
	}
	return rc;
}

SHIM_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	SHIM_VFORK_PASS(REAL(connect)(fd, addr, len));
	int entry = -1, rc;

	if (shim.perf && shim.area && shim_own_process()) {
		SHIM_ERRNO_SAVE;
		entry = shim_tcp_connecting(fd, shim_fd_get(fd), addr, len);
		SHIM_ERRNO_RESTORE();
	}
	rc = REAL(connect)(fd, addr, len);
	if (entry >= 0) {
		SHIM_ERRNO_SAVE;
		shim_tcp_connected(fd, shim_fd_get(fd), entry, rc == 0 || shim_saved_errno_ == EINPROGRESS);
		SHIM_ERRNO_RESTORE();
	}
	return rc;
}

SHIM_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	SHIM_VFORK_PASS(REAL(accept)(fd, addr, len));
	int nfd = REAL(accept)(fd, addr, len);

	accepted(fd, nfd, 0);
	return nfd;
}

SHIM_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	SHIM_VFORK_PASS(REAL(accept4)(fd, addr, len, flags));
	int nfd = REAL(accept4)(fd, addr, len, flags);

	accepted(fd, nfd, flags);
	return nfd;
}

/* ---- fd numbers ----------------------------------------------------------------------- */

static void fd_closed(int fd, struct shim_fd *copy)
{
	if (copy->chan && copy->pair) {
		/* Never used: settle now, so that a server already paired
		 * hears of the close (its writes then fail as natively). */
		shim_tcp_settle(-1, copy);
		if (copy->ring) {
			shim_ring_closing(copy);
			shim_ring_hold(copy, -1);
		}
		return;
	}
	if (copy->chan && copy->ring)
		shim_ring_closing(copy);
	shim_epoll_fd_closed(fd, copy);
}

SHIM_EXPORT int close(int fd)
{
	if (shim_vforked) {
		if (fd >= 0)
			shim_vfork_closed((unsigned int)fd, (unsigned int)fd);
		return REAL(close)(fd);
	}
	struct shim_fd *f = shim_fd_get(fd), copy;
	int rc;

	if (shim.area) {
		SHIM_ERRNO_SAVE;
		shim_epoll_fd_closing(fd);
		SHIM_ERRNO_RESTORE();
	}
	if (!f) {
		shim_epoll_closing(fd);
		return REAL(close)(fd);
	}
	if (f->pair) {
		/* Joined while its fd is still open: a bell may go through it. */
		SHIM_ERRNO_SAVE;
		shim_tcp_settle(fd, f);
		SHIM_ERRNO_RESTORE();
	}
	copy = *f;
	if (f->ring) {
		SHIM_ERRNO_SAVE;
		shim_ready_closing(fd, f);
		SHIM_ERRNO_RESTORE();
	}
	shim_fd_forget(fd);
	rc = REAL(close)(fd);
	SHIM_ERRNO_SAVE;
	fd_closed(fd, &copy);
	SHIM_ERRNO_RESTORE();
	return rc;
}

SHIM_EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	if (shim_vforked) {
		if (!(flags & CLOSE_RANGE_CLOEXEC))
			shim_vfork_closed(first, last);
		return REAL(close_range)(first, last, flags);
	}
	int rc;

	if (shim.area && !(flags & CLOSE_RANGE_CLOEXEC)) {
		SHIM_ERRNO_SAVE;
		/* Deleted registrations are of ring fds, all below fd_hi. */
		for (unsigned int fd = first; fd <= last && fd < (unsigned int)shim.fd_hi; fd++)
			shim_epoll_fd_closing((int)fd);
		SHIM_ERRNO_RESTORE();
	}
	rc = REAL(close_range)(first, last, flags);

	if (rc == 0 && !(flags & CLOSE_RANGE_CLOEXEC)) {
		SHIM_ERRNO_SAVE;
		for (unsigned int fd = first; fd <= last && fd < (unsigned int)shim.fd_hi; fd++) {
			struct shim_fd *f = shim_fd_get((int)fd), copy;

			if (!f)
				continue;
			copy = *f;
			shim_fd_forget((int)fd);
			fd_closed((int)fd, &copy);
		}
		SHIM_ERRNO_RESTORE();
	}
	return rc;
}

/* @newfd now refers to what @oldfd refers to. */
static void fd_copied(int oldfd, int newfd)
{
	struct shim_fd *f, *g = shim_fd_get(newfd), copy;

	if (newfd < 0 || oldfd == newfd)
		return;
	f = fd_use(oldfd);
	SHIM_ERRNO_SAVE;
	if (g) {
		copy = *g;
		shim_fd_forget(newfd);
		fd_closed(newfd, &copy);
	}
	if (f) {
		if (newfd >= SHIM_FD_MAX) {
			native_use(oldfd, "dup to an fd beyond the shim's table", true);
		} else if (newfd <= 2 && f->ring && !shim_stdio_serve(newfd)) {
			/* stdio reaches 0, 1 and 2 through libc-internal calls. */
			native_use(oldfd, "dup onto stdin, stdout or stderr", true);
		}
		if (newfd < SHIM_FD_MAX && shim_own_process()) {
			shim.fd[newfd] = *f;
			if (f->ring)
				shim_ring_hold(&shim.fd[newfd], 1);
			if (newfd >= shim.fd_hi)
				shim.fd_hi = newfd + 1;
		}
	}
	SHIM_ERRNO_RESTORE();
}

/* In a vfork child: the copy is noted, the parent's table left alone. */
static int vfork_copy(int oldfd, int rc)
{
	if (rc >= 0)
		shim_vfork_copied(oldfd, rc);
	return rc;
}

SHIM_EXPORT int dup(int fd)
{
	if (shim_vforked)
		return vfork_copy(fd, REAL(dup)(fd));
	int nfd = REAL(dup)(fd);

	fd_copied(fd, nfd);
	return nfd;
}

SHIM_EXPORT int dup2(int oldfd, int newfd)
{
	if (shim_vforked)
		return vfork_copy(oldfd, REAL(dup2)(oldfd, newfd));
	int rc;

	if (shim.area && oldfd != newfd) {
		SHIM_ERRNO_SAVE;
		shim_epoll_fd_closing(newfd);
		SHIM_ERRNO_RESTORE();
	}
	rc = REAL(dup2)(oldfd, newfd);

	if (rc >= 0)
		fd_copied(oldfd, rc);
	return rc;
}

SHIM_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	if (shim_vforked)
		return vfork_copy(oldfd, REAL(dup3)(oldfd, newfd, flags));
	int rc;

	if (shim.area && oldfd != newfd) {
		SHIM_ERRNO_SAVE;
		shim_epoll_fd_closing(newfd);
		SHIM_ERRNO_RESTORE();
	}
	rc = REAL(dup3)(oldfd, newfd, flags);

	if (rc >= 0)
		fd_copied(oldfd, rc);
	return rc;
}

static int do_fcntl(int fd, int cmd, void *arg)
{
	if (shim_vforked) {
		if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
			return vfork_copy(fd, REAL(fcntl)(fd, cmd, arg));
		return REAL(fcntl)(fd, cmd, arg);
	}
	int rc;

	if (cmd == F_SETPIPE_SZ && shim_fd_get(fd) && shim_fd_get(fd)->ring) {
		rc = shim_ring_pipe_size(fd, shim_fd_get(fd), (int)(long)arg);
		if (rc != SHIM_USE_KERNEL)
			return rc < 0 ? (int)ret_errno(rc) : rc;
	}
	if (shim_fd_get(fd)) {
		switch (cmd) {
		case F_SETFL:
			if ((long)arg & O_ASYNC)
				native_use(fd, "fcntl O_ASYNC", true);
			break;
		case F_SETOWN:
		case F_SETOWN_EX:
		case F_SETSIG:
			native_use(fd, "fcntl signal-driven I/O", true);
			break;
		default:
			break;
		}
	}
	rc = REAL(fcntl)(fd, cmd, arg);
	if (rc == 0 && cmd == F_SETFL && shim_fd_get(fd)) {
		/* The ring's reads and writes follow the open file's flag. */
		SHIM_ERRNO_SAVE;
		shim_ready_set_nonblock(shim_fd_get(fd), ((long)arg & O_NONBLOCK) != 0);
		SHIM_ERRNO_RESTORE();
	}
	if (rc >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
		fd_copied(fd, rc);
	return rc;
}

SHIM_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return do_fcntl(fd, cmd, arg);
}

SHIM_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return do_fcntl(fd, cmd, arg);
}

/* ---- moving bytes ---------------------------------------------------------------------- */

static void count(struct shim_fd *f, ssize_t n, bool out)
{
	if (n > 0 && f && out)
		shim_chan_count_out(chan(f), (uint64_t)n);
	else if (n > 0 && f)
		atomic_fetch_add(&chan(f)->bytes_in, (uint64_t)n);
}

/* Read through the ring if on one: > 0 or 0 (EOF) or -errno; SHIM_USE_KERNEL. */
static ssize_t ring_read(int fd, struct shim_fd *f, void *buf, size_t len, int flags)
{
	ssize_t r, total = 0;

	if (!f || !f->ring)
		return SHIM_USE_KERNEL;
	do {
		r = shim_ring_read(fd, f, (char *)buf + total, len - (size_t)total,
				   flags & (MSG_DONTWAIT | MSG_PEEK | MSG_WAITALL));
		if (r == SHIM_USE_KERNEL && total == 0)
			return r;
		if (r <= 0)
			break;
		total += r;
	} while ((flags & MSG_WAITALL) && !(flags & MSG_PEEK) && (size_t)total < len);
	if (r < 0 && r != SHIM_USE_KERNEL && total == 0)
		return r;
	return total;
}

SHIM_EXPORT ssize_t read(int fd, void *buf, size_t len)
{
	struct shim_fd *f = fd_use(fd);
	ssize_t r;
	bool kr;

	if (!f)
		return REAL(read)(fd, buf, len);
	kr = kread_begin(fd, f);
	if (f->ring) {
		SHIM_ERRNO_SAVE;
		r = ring_read(fd, f, buf, len, 0);
		if (r != SHIM_USE_KERNEL)
			return r >= 0 ? (SHIM_ERRNO_RESTORE(), r) : ret_errno(r);
	}
	r = REAL(read)(fd, buf, len);
	count(f, r, false);
	kread_end(f, kr);
	return r;
}

SHIM_EXPORT ssize_t write(int fd, const void *buf, size_t len)
{
	struct shim_fd *f = fd_use(fd);
	ssize_t r;
	bool kw;

	if (!f)
		return REAL(write)(fd, buf, len);
	kw = kwrite_begin(fd, f);
	if (f->ring) {
		SHIM_ERRNO_SAVE;
		r = shim_ring_write(fd, f, buf, len);
		if (r != SHIM_USE_KERNEL)
			return r >= 0 ? (SHIM_ERRNO_RESTORE(), r) : ret_errno(r);
	}
	r = REAL(write)(fd, buf, len);
	count(f, r, true);
	kwrite_end(f, kw);
	return r;
}

static bool recv_flags_emulated(int flags)
{
	return !(flags & ~(MSG_DONTWAIT | MSG_WAITALL | MSG_PEEK | MSG_NOSIGNAL | MSG_CMSG_CLOEXEC));
}


SHIM_EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	struct shim_fd *f = fd_use(fd);
	ssize_t r;
	bool kr;

	if (!f)
		return REAL(recv)(fd, buf, len, flags);
	kr = kread_begin(fd, f);
	if (f->ring) {
		SHIM_ERRNO_SAVE;
		if (recv_flags_emulated(flags)) {
			r = ring_read(fd, f, buf, len, flags);
			if (r != SHIM_USE_KERNEL)
				return r >= 0 ? (SHIM_ERRNO_RESTORE(), r) : ret_errno(r);
		} else {
			shim_ring_downgrade(fd, f, "recv flags (MSG_PEEK, MSG_OOB...)", true);
		}
		SHIM_ERRNO_RESTORE();
	}
	r = REAL(recv)(fd, buf, len, flags);
	if (!(flags & MSG_PEEK))
		count(f, r, false);
	kread_end(f, kr);
	return r;
}

SHIM_EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr, socklen_t *alen)
{
	struct shim_fd *f = fd_use(fd);
	ssize_t r;

	if (!f)
		return REAL(recvfrom)(fd, buf, len, flags, addr, alen);
	if (!addr)
		return recv(fd, buf, len, flags);
	native_use(fd, "recvfrom with an address", true);
	r = REAL(recvfrom)(fd, buf, len, flags, addr, alen);
	count(f, r, false);
	return r;
}

SHIM_EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	struct shim_fd *f = fd_use(fd);
	ssize_t r;
	bool kw;

	if (!f)
		return REAL(send)(fd, buf, len, flags);
	kw = kwrite_begin(fd, f);
	if (f->ring) {
		SHIM_ERRNO_SAVE;
		if (!(flags & ~(MSG_NOSIGNAL | MSG_MORE | MSG_DONTWAIT))) {
			r = shim_ring_write_flags(fd, f, buf, len, flags);
			if (r != SHIM_USE_KERNEL)
				return r >= 0 ? (SHIM_ERRNO_RESTORE(), r) : ret_errno(r);
		} else {
			shim_ring_downgrade(fd, f, "send flags (MSG_OOB...)", false);
		}
		SHIM_ERRNO_RESTORE();
	}
	r = REAL(send)(fd, buf, len, flags);
	count(f, r, true);
	kwrite_end(f, kw);
	return r;
}

SHIM_EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *addr,
			   socklen_t alen)
{
	struct shim_fd *f = fd_use(fd);
	ssize_t r;

	if (!f)
		return REAL(sendto)(fd, buf, len, flags, addr, alen);
	if (!addr)
		return send(fd, buf, len, flags);
	native_use(fd, "sendto with an address", false);
	r = REAL(sendto)(fd, buf, len, flags, addr, alen);
	count(f, r, true);
	return r;
}

static size_t iov_total(const struct iovec *iov, int n)
{
	size_t t = 0;

	for (int i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

/* Scatter a ring read: block for the first bytes, take what is there next. */
static ssize_t ring_readv(int fd, struct shim_fd *f, const struct iovec *iov, int n, int flags)
{
	ssize_t total = 0;

	for (int i = 0; i < n; i++) {
		ssize_t r;

		if (!iov[i].iov_len)
			continue;
		r = ring_read(fd, f, iov[i].iov_base, iov[i].iov_len, total ? (flags | MSG_DONTWAIT) & ~MSG_WAITALL : flags);
		if (r == SHIM_USE_KERNEL)
			return total ? total : r;
		if (r < 0)
			return total ? total : r;
		total += r;
		if ((size_t)r < iov[i].iov_len || r == 0)
			break;
	}
	return total;
}

/* Gather a ring write: small ones in one piece (PIPE_BUF atomicity). */
static ssize_t ring_writev(int fd, struct shim_fd *f, const struct iovec *iov, int n, int flags)
{
	size_t len = iov_total(iov, n);
	ssize_t total = 0;

	if (len <= PIPE_BUF) {
		char buf[PIPE_BUF];
		size_t off = 0;

		for (int i = 0; i < n; i++) {
			memcpy(buf + off, iov[i].iov_base, iov[i].iov_len);
			off += iov[i].iov_len;
		}
		return shim_ring_write_flags(fd, f, buf, len, flags);
	}
	for (int i = 0; i < n; i++) {
		ssize_t r;

		if (!iov[i].iov_len)
			continue;
		r = shim_ring_write_flags(fd, f, iov[i].iov_base, iov[i].iov_len, flags);
		if (r == SHIM_USE_KERNEL) {
			if (!total)
				return r;
			r = REAL(write)(fd, iov[i].iov_base, iov[i].iov_len);
			if (r < 0)
				r = -errno;
		}
		if (r < 0)
			return total ? total : r;
		total += r;
		if ((size_t)r < iov[i].iov_len)
			break;
	}
	return total;
}

SHIM_EXPORT ssize_t readv(int fd, const struct iovec *iov, int n)
{
	struct shim_fd *f = fd_use(fd);
	ssize_t r;
	bool kr;

	if (!f)
		return REAL(readv)(fd, iov, n);
	kr = kread_begin(fd, f);
	if (f->ring && n > 0) {
		SHIM_ERRNO_SAVE;
		r = ring_readv(fd, f, iov, n, 0);
		if (r != SHIM_USE_KERNEL)
			return r >= 0 ? (SHIM_ERRNO_RESTORE(), r) : ret_errno(r);
	}
	r = REAL(readv)(fd, iov, n);
	count(f, r, false);
	kread_end(f, kr);
	return r;
}

SHIM_EXPORT ssize_t writev(int fd, const struct iovec *iov, int n)
{
	struct shim_fd *f = fd_use(fd);
	ssize_t r;
	bool kw;

	if (!f)
		return REAL(writev)(fd, iov, n);
	kw = kwrite_begin(fd, f);
	if (f->ring && n > 0 && n <= IOV_MAX) {
		SHIM_ERRNO_SAVE;
		r = ring_writev(fd, f, iov, n, 0);
		if (r != SHIM_USE_KERNEL)
			return r >= 0 ? (SHIM_ERRNO_RESTORE(), r) : ret_errno(r);
	}
	r = REAL(writev)(fd, iov, n);
	count(f, r, true);
	kwrite_end(f, kw);
	return r;
}

/* fds passed with SCM_RIGHTS may land in an unmanaged process. */
static void passing_fds(const struct msghdr *msg)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)msg); c; c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int pfd;

			memcpy(&pfd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			native_use(pfd, "fd passed with SCM_RIGHTS", true);
		}
	}
}

SHIM_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct shim_fd *f = fd_use(fd);
	ssize_t r;
	bool kr;

	if (!f)
		return REAL(recvmsg)(fd, msg, flags);
	kr = kread_begin(fd, f);
	if (f->ring && msg && !msg->msg_name && !msg->msg_control && recv_flags_emulated(flags)) {
		SHIM_ERRNO_SAVE;
		r = ring_readv(fd, f, msg->msg_iov, (int)msg->msg_iovlen, flags);
		if (r != SHIM_USE_KERNEL) {
			if (r >= 0)
				msg->msg_flags = 0;
			return r >= 0 ? (SHIM_ERRNO_RESTORE(), r) : ret_errno(r);
		}
	} else if (f->ring) {
		native_use(fd, "recvmsg with an address or control data", true);
	}
	r = REAL(recvmsg)(fd, msg, flags);
	if (!(flags & MSG_PEEK))
		count(f, r, false);
	kread_end(f, kr);
	return r;
}

SHIM_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct shim_fd *f = fd_use(fd);
	ssize_t r;
	bool kw;

	if (msg && msg->msg_control && msg->msg_controllen) {
		SHIM_ERRNO_SAVE;
		passing_fds(msg);
		native_use(fd, "sendmsg with control data", false);
		SHIM_ERRNO_RESTORE();
	}
	if (!f)
		return REAL(sendmsg)(fd, msg, flags);
	kw = kwrite_begin(fd, f);
	if (f->ring && msg && !msg->msg_name && !(flags & ~(MSG_NOSIGNAL | MSG_MORE | MSG_DONTWAIT)) &&
	    msg->msg_iovlen <= IOV_MAX) {
		SHIM_ERRNO_SAVE;
		r = ring_writev(fd, f, msg->msg_iov, (int)msg->msg_iovlen, flags);
		if (r != SHIM_USE_KERNEL)
			return r >= 0 ? (SHIM_ERRNO_RESTORE(), r) : ret_errno(r);
	} else if (f->ring) {
		native_use(fd, "sendmsg with an address or flags", false);
	}
	r = REAL(sendmsg)(fd, msg, flags);
	count(f, r, true);
	kwrite_end(f, kw);
	return r;
}

/* ---- uses the ring does not emulate ---------------------------------------------------- */

static void two_native(int a, int b, const char *why)
{
	SHIM_ERRNO_SAVE;
	native_use(a, why, true);
	native_use(b, why, true);
	SHIM_ERRNO_RESTORE();
}

SHIM_EXPORT ssize_t splice(int in, loff_t *oin, int out, loff_t *oout, size_t len, unsigned int flags)
{
	two_native(in, out, "splice");
	return REAL(splice)(in, oin, out, oout, len, flags);
}

SHIM_EXPORT ssize_t tee(int in, int out, size_t len, unsigned int flags)
{
	two_native(in, out, "tee");
	return REAL(tee)(in, out, len, flags);
}

SHIM_EXPORT ssize_t vmsplice(int fd, const struct iovec *iov, unsigned long n, unsigned int flags)
{
	two_native(fd, -1, "vmsplice");
	return REAL(vmsplice)(fd, iov, n, flags);
}

SHIM_EXPORT ssize_t copy_file_range(int in, loff_t *oin, int out, loff_t *oout, size_t len, unsigned int flags)
{
	two_native(in, out, "copy_file_range");
	return REAL(copy_file_range)(in, oin, out, oout, len, flags);
}

/* A FILE's reads and writes are libc-internal: the kernel must carry them. */
SHIM_EXPORT FILE *fdopen(int fd, const char *mode)
{
	SHIM_VFORK_PASS(REAL(fdopen)(fd, mode));
	SHIM_ERRNO_SAVE;
	native_use(fd, "fdopen (stdio)", true);
	SHIM_ERRNO_RESTORE();
	return REAL(fdopen)(fd, mode);
}

/* ---- process-wide ----------------------------------------------------------------------- */

void shim_fds_closing_all(void)
{
	shim_spawn_release_all();
	for (int fd = 0; fd < shim.fd_hi; fd++)
		if (shim.fd[fd].chan && shim.fd[fd].pair)
			shim_tcp_settle(fd, &shim.fd[fd]);
	for (int fd = 0; fd < shim.fd_hi; fd++) {
		if (shim.fd[fd].chan && shim.fd[fd].ring) {
			shim_ready_closing(fd, &shim.fd[fd]);
			shim_ring_closing(&shim.fd[fd]);
		}
	}
	shim_fds_hold_all(-1);
}

void shim_fds_hold_all(int delta)
{
	shim_fds_hold_all_except(delta, 0);
}

void shim_fds_hold_all_except(int delta, uint64_t keep)
{
	if (delta < 0 && shim.holds_dropped)
		return;
	if (delta > 0 && shim.holds_dropped && !shim_own_process())
		return;
	shim.holds_dropped = false;
	for (int fd = 0; fd < shim.fd_hi; fd++)
		if (shim.fd[fd].chan && shim.fd[fd].ring &&
		    !(fd < SHIM_EXEC_KEEP_FDS && (keep >> fd & 1)))
			shim_ring_hold(&shim.fd[fd], delta);
	shim_epoll_hold_all(delta);
	if (delta < 0)
		shim.holds_dropped = true;
}

bool shim_fd_is(int fd, const struct shim_fd *f)
{
	struct stat st;
	const struct shim_chan *c = chan(f);

	return fstat(fd, &st) == 0 && (uint64_t)st.st_dev == c->dev &&
	       ((uint64_t)st.st_ino == c->ino[0] || (uint64_t)st.st_ino == c->ino[1]);
}

bool shim_fds_any_ring(void)
{
	for (int fd = 0; fd < shim.fd_hi; fd++)
		if (shim.fd[fd].chan && shim.fd[fd].ring)
			return true;
	return false;
}

uint64_t shim_fds_before_exec(bool target_managed, bool foreign, bool spawning)
{
	uint64_t keep = 0;

	shim_epoll_before_exec();
	if (foreign && shim_vforked)
		return shim_vfork_before_exec(target_managed && !spawning);
	for (int fd = 0; fd < shim.fd_hi; fd++) {
		struct shim_fd *f = &shim.fd[fd];

		if (f->chan && f->pair && !shim_vforked)
			shim_tcp_settle(fd, f);
		if (!f->chan || !f->ring)
			continue;
		if (foreign && !shim_fd_is(fd, f))
			continue;
		/* Moved back already: nothing left to move, and a raw clone
		 * child holds nothing. */
		if (foreign && !shim_ring_live(f))
			continue;
		if (!spawning) {
			int fl = REAL(fcntl)(fd, F_GETFD);

			/* Closed by the exec: our copy lets its ring go; a vfork
			 * or clone child's copy held nothing. */
			if (fl >= 0 && (fl & FD_CLOEXEC)) {
				if (!foreign)
					shim_ring_closing(f);
				continue;
			}
		}
		/* A managed image finds the fd again by inode and serves its
		 * stdio through the shim (stdio.c); its ring holds pass to it. */
		if (target_managed && !foreign && !spawning && fd < SHIM_EXEC_KEEP_FDS) {
			keep |= 1ull << fd;
			continue;
		}
		shim_ring_downgrade(fd, f, spawning ? "spawn of another program" :
					   foreign ? "exec from a vfork child" :
					   target_managed ? "exec with the fd beyond the first 64" :
							    "exec into an unmanaged program",
				    true);
	}
	return keep;
}
