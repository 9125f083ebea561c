/* SPDX-License-Identifier: MIT */
/*
 * A move's domain bytes between a memfd and a socket without passing
 * through user space (an unkeyed migration's data, dump.c).
 *
 * The source hands the memfd's pages to the socket with sendfile(2); the
 * arrival splices them from the socket into a pipe (page references, no
 * copy) and from the pipe into its new memfd (the one copy of the move).
 * Through a buffer, as a keyed move goes, each byte is copied four times
 * (memfd to buffer, buffer to socket, socket to buffer, buffer to memfd):
 * 64 MiB between two network namespaces took 41 ms that way against 22 ms
 * spliced, and 34 ms for raw TCP between two hot buffers (bench/MEASUREMENTS.md).
 *
 * sendfile(2) has no MSG_NOSIGNAL: a receiver gone would raise SIGPIPE in
 * the sending thread, which the program may not ignore.  So it is blocked
 * around the call and a SIGPIPE the call raised is taken back, leaving
 * one the thread already had pending.
 */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/sendfile.h>
#include <time.h>
#include <unistd.h>

#include "image_i.h"

/* Per call, at most this much: sendfile and splice take a size_t but stop at 2 GiB anyway. */
#define STEP (1u << 30)

/* Bytes [@off, @off+@len) of @fd onto @sock. */
static int send_extent(int sock, int fd, uint64_t off, uint64_t len)
{
	while (len) {
		off_t at = (off_t)off;
		ssize_t n = sendfile(sock, fd, &at, len < STEP ? (size_t)len : STEP);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO; /* 0: the memfd ended early (cut under us) */
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

int xos__image_sendfile(int sock, int fd, const struct img_ext *ext, uint32_t n)
{
	sigset_t pipe, old, pending;
	bool had;
	int rc = 0;

	/* Once for all extents: a sparse domain may have thousands. */
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, &old);
	had = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
	for (uint32_t i = 0; i < n && rc == 0; i++)
		rc = send_extent(sock, fd, ext[i].off, ext[i].len);
	if (rc == -EPIPE && !had) {
		const struct timespec none = { 0, 0 };

		while (sigtimedwait(&pipe, NULL, &none) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/* @len bytes from the pipe's read end @in into @fd at @off. */
static int drain(int in, int fd, uint64_t off, size_t len)
{
	while (len) {
		loff_t at = (loff_t)off;
		ssize_t n = splice(in, NULL, fd, &at, len, SPLICE_F_MOVE);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int xos__image_splice_in(int sock, const int pipefd[2], int fd, uint64_t off, uint64_t len)
{
	while (len) {
		ssize_t n = splice(sock, NULL, pipefd[1], NULL, len < STEP ? (size_t)len : STEP, SPLICE_F_MOVE);
		int rc;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -ENODATA; /* the sender closed: the stream is cut */
		rc = drain(pipefd[0], fd, off, (size_t)n);
		if (rc < 0)
			return rc;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}
