/* SPDX-License-Identifier: MIT */
/*
 * Shared primitive (see futex.h): the whole of a buffer onto or from a
 * stream socket, as the image streamer, the host protocol and a moving
 * channel end all need it.
 */
#ifndef XOS_PRIM_SENDALL_H
#define XOS_PRIM_SENDALL_H

#include <errno.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

/*
 * Send the @len bytes at @buf on the stream socket @fd, in as many send()s
 * as it takes (EINTR retried, no SIGPIPE).  0, -EPIPE if the socket takes
 * nothing, or -errno (-EAGAIN/-EWOULDBLOCK when a send timeout expired).
 */
static inline int xos__send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Receive exactly @len bytes from the stream socket @fd into @buf (EINTR
 * retried).  0, -ENODATA when the peer closes first, or -errno
 * (-EAGAIN/-EWOULDBLOCK when a receive timeout expired).
 */
static inline int xos__recv_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = recv(fd, p, len, MSG_WAITALL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -ENODATA;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

#endif
