/* SPDX-License-Identifier: MIT */
/*
 * sendfile onto a ring fd.  Servers send a file's bytes with sendfile(2)
 * (nginx with `sendfile on`, under the name sendfile64, as every program
 * built with 64-bit file offsets calls it): when the socket or pipe it
 * writes to is on a ring, the file's bytes are read with pread and written
 * through the shim's own write(), so they take the ring in order with the
 * bytes before and after them, blocking or not as the fd does; the file
 * offset moves exactly as the kernel would move it.  Any other sendfile is
 * the kernel's, and its bytes are counted on the channel it writes to; a
 * ring fd it reads from first moves back to the kernel.
 */
#include "config.h"

#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim_i.h"

/* What the ring copies between two cursor updates. */
#define PIECE 16384u

/* The interposers share the 64-bit signature: sendfile64 is sendfile here. */
_Static_assert(sizeof(off_t) == sizeof(off64_t), "sendfile and sendfile64 differ on this ABI");

static bool regular_file(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

/* @len bytes of @in from *@off (or its file offset) through write(@out):
 * bytes written, or -errno when nothing was. */
static ssize_t through_write(int out, int in, off_t *off, size_t len)
{
	char buf[PIECE];
	size_t done = 0;
	int err = 0;
	off_t pos = off ? *off : lseek(in, 0, SEEK_CUR);

	if (pos < 0)
		return off ? -EINVAL : -errno;
	while (done < len) {
		size_t want = len - done < PIECE ? len - done : PIECE;
		ssize_t n = pread(in, buf, want, pos), w;

		if (n <= 0) {
			err = n < 0 ? errno : 0;
			break;
		}
		/* The shim's write: the ring, or the kernel if the channel
		 * moved back meanwhile; blocking as the fd is. */
		w = write(out, buf, (size_t)n);
		if (w < 0) {
			err = errno;
			break;
		}
		pos += w;
		done += (size_t)w;
		if (w < n)
			break;
	}
	if (!done && err)
		return -err;
	if (off)
		*off = pos;
	else if (done)
		lseek(in, pos, SEEK_SET);
	return (ssize_t)done;
}

static ssize_t shim_sendfile(int out, int in, off_t *off, size_t len)
{
	struct shim_fd *o = shim_fd_get(out), *i = shim_fd_get(in);
	ssize_t r;

	if (!o && !i)
		return REAL(sendfile)(out, in, off, len);
	SHIM_ERRNO_SAVE;
	if (i && i->pair)
		shim_tcp_settle(in, i);
	if (i && i->ring)
		shim_ring_downgrade(in, i, "sendfile from it", true);
	if (o && o->pair)
		shim_tcp_try_settle(out, o);
	/* A connecting fd not accepted yet too: its bytes are counted for the
	 * ring it joins later (write's interposer). */
	/* Tried first without asking what @in is (a system call per
	 * request for a web server): what pread cannot read says so. */
	if (o && (o->ring || o->pair) && !i) {
		r = through_write(out, in, off, len);
		if (r >= 0 || (r != -ESPIPE && r != -EINVAL && r != -EISDIR && r != -ENXIO && r != -EOPNOTSUPP)) {
			if (r < 0) {
				errno = (int)-r;
				return -1;
			}
			SHIM_ERRNO_RESTORE();
			return r;
		}
	}
	if (o && (o->ring || o->pair) && i != o && regular_file(in)) {
		r = through_write(out, in, off, len);
		if (r < 0) {
			errno = (int)-r;
			return -1;
		}
		SHIM_ERRNO_RESTORE();
		return r;
	}
	if (o && o->pair)
		shim_tcp_settle(out, o);
	if (o && o->ring)
		shim_ring_downgrade(out, o, "sendfile from a non-file", true);
	SHIM_ERRNO_RESTORE();
	r = REAL(sendfile)(out, in, off, len);
	if (r > 0 && o)
		shim_chan_count_out(&shim.area->chan[o->chan - 1], (uint64_t)r);
	return r;
}

SHIM_EXPORT ssize_t sendfile(int out, int in, off_t *off, size_t len)
{
	return shim_sendfile(out, in, off, len);
}

SHIM_EXPORT ssize_t sendfile64(int out, int in, off64_t *off, size_t len)
{
	return shim_sendfile(out, in, (off_t *)off, len);
}
