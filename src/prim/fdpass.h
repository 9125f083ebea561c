/* SPDX-License-Identifier: MIT */
/*
 * Shared primitives of libxos and libxos-shim.so (see futex.h): passing
 * descriptors over a unix socket with SCM_RIGHTS, one message at a time.
 */
#ifndef XOS_PRIM_FDPASS_H
#define XOS_PRIM_FDPASS_H

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

/* The kernel's limit of descriptors in one message (SCM_MAX_FD). */
#define XOS__FDPASS_MAX 253

/*
 * Send @len bytes of @data and the descriptors @fds[0..@n) in one message
 * on @sock (MSG_NOSIGNAL added to @flags; EINTR retried).  Bytes sent, or
 * -errno (-EINVAL: more than XOS__FDPASS_MAX descriptors).
 */
static inline ssize_t xos__fds_send(int sock, const void *data, size_t len, const int *fds,
				    size_t n, int flags)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * XOS__FDPASS_MAX)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { (void *)data, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t rc;

	if (n > XOS__FDPASS_MAX)
		return -EINVAL;
	if (n) {
		struct cmsghdr *c;

		memset(u.buf, 0, CMSG_SPACE(sizeof(int) * n));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	do {
		rc = sendmsg(sock, &mh, flags | MSG_NOSIGNAL);
	} while (rc < 0 && errno == EINTR);
	return rc < 0 ? -errno : rc;
}

/*
 * Receive one message of at most @len bytes into @data from @sock, and the
 * descriptors it carries (close-on-exec) into @fds, at most @max of them;
 * their count in *@ret_n.  Descriptors beyond @max are closed.  Bytes
 * received, or -errno: -EPROTO when the kernel truncated the descriptors
 * (MSG_CTRUNC), and then none is kept.  EINTR is retried.
 */
static inline ssize_t xos__fds_recv(int sock, void *data, size_t len, int *fds, size_t max,
				    size_t *ret_n, int flags)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * XOS__FDPASS_MAX)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { data, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	size_t n = 0;
	ssize_t rc;

	*ret_n = 0;
	do {
		rc = recvmsg(sock, &mh, flags | MSG_CMSG_CLOEXEC);
	} while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		size_t cnt;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < cnt; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (n < max)
				fds[n++] = fd;
			else
				close(fd);
		}
	}
	if (mh.msg_flags & MSG_CTRUNC) {
		while (n)
			close(fds[--n]);
		return -EPROTO;
	}
	*ret_n = n;
	return rc;
}

#endif /* XOS_PRIM_FDPASS_H */
