/* SPDX-License-Identifier: MIT */
/*
 * The _FORTIFY_SOURCE entry points that read from an fd.  A program built
 * with -D_FORTIFY_SOURCE (Debian builds everything so) calls __read_chk
 * instead of read when the compiler knows the buffer's size, __recv_chk
 * for recv, __recvfrom_chk for recvfrom; glibc's versions check the size
 * and then call its internal read, which no interposer sees.  These check
 * the size the same way (__chk_fail, as glibc) and go on through the
 * shim's own read, recv and recvfrom, so a fortified program's ring fds
 * are read as a plain one's.  (__poll_chk and __ppoll_chk live with poll.)
 */
#include "config.h"

#include <sys/socket.h>
#include <unistd.h>

#include "shim_i.h"

/* glibc declares these only to fortified code, which this is not. */
extern void __chk_fail(void) __attribute__((noreturn));
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *addr,
		       socklen_t *alen);

SHIM_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	if (n > buflen)
		__chk_fail();
	return read(fd, buf, n);
}

SHIM_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	if (n > buflen)
		__chk_fail();
	return recv(fd, buf, n, flags);
}

SHIM_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *addr,
				   socklen_t *alen)
{
	if (n > buflen)
		__chk_fail();
	return recvfrom(fd, buf, n, flags, addr, alen);
}
