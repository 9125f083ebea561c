/* SPDX-License-Identifier: MIT */
/*
 * Framing over byte-stream mechanisms (pipe, unix, tcp, and any without
 * the frame members): each frame is written whole, finished later when a
 * non-blocking write stops half-way, and read back into a buffer that
 * keeps frames in place until they are released.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "chan_i.h"

/* ---- sending ---------------------------------------------------------------- */

/*
 * Push out the rest of a frame a non-blocking send left behind.  Returns
 * 0 when nothing is pending any more, -EAGAIN (only if @nonblock) or -errno.
 */
int xos__stream_flush(struct xos__chan_path *p, bool nonblock)
{
	while (p->pend_len > p->pend_off) {
		struct iovec iov = { p->pend + p->pend_off, p->pend_len - p->pend_off };
		ssize_t w = p->ops->writev(p->st, &iov, 1, true);

		if (w == -EAGAIN) {
			int rc;

			if (nonblock)
				return -EAGAIN;
			rc = p->ops->wait_writable(p->st);
			if (rc < 0)
				return rc;
			continue;
		}
		if (w < 0)
			return (int)w;
		p->pend_off += (size_t)w;
	}
	p->pend_off = p->pend_len = 0;
	return 0;
}

/* Keep the rest of a frame a non-blocking send could not finish, for the next call. */
static ssize_t keep_rest(struct xos__chan_path *p, const struct iovec *iov, int n, size_t total)
{
	size_t off = 0;

	for (int i = 0; i < n; i++) {
		memcpy(p->pend + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	p->pend_off = 0;
	p->pend_len = off;
	return (ssize_t)total;
}

/*
 * Write one frame (all of @iov) on a stream path.  A frame once started
 * is finished: when a non-blocking write stops half-way, the rest is kept
 * and pushed out before the next frame (or by close or a switch).
 *
 * A blocking send (xos__chan_cut_ok) may be cut by a safe point in its
 * wait for room even after part of the frame is out: the rest is then
 * kept the same way and the frame counts as sent.  The rest is the end's
 * state from there (a mutate hands it over, a move's host left writes it
 * before its marker), and the caller finishes it after its safe point
 * (xos_chan_send).  So an EF asleep in such a send moves without waiting
 * for a reader.
 */
ssize_t xos__stream_write_frame(struct xos__chan_path *p, struct iovec *iov, int n, size_t total,
				  bool nonblock)
{
	size_t done = 0;
	bool cut_ok = xos__chan_cut_ok;
	int rc;

	/* The rest of a frame left half-way goes first (a cut here: nothing of this frame is out). */
	if (p->pend_len) {
		rc = xos__stream_flush(p, nonblock);
		if (rc < 0)
			return rc;
	}
	while (done < total) {
		ssize_t w = p->ops->writev(p->st, iov, n, true);

		if (w >= 0 && (size_t)w == total - done)
			return (ssize_t)total; /* the common case: all of it in one call */
		if (w >= 0) {
			/* Part of the frame is out: it is finished before anything else. */
			done += (size_t)w;
			if (total - done > p->stage_len)
				xos__chan_cut_ok = cut_ok = false; /* a rest the end could not keep: no cut */
			while (n > 0 && (size_t)w >= iov->iov_len) {
				w -= (ssize_t)iov->iov_len;
				iov++;
				n--;
			}
			if (n > 0) {
				iov->iov_base = (char *)iov->iov_base + w;
				iov->iov_len -= (size_t)w;
			}
		} else if (w != -EAGAIN) {
			return w;
		} else if (done == 0 && nonblock) {
			return -EAGAIN;
		}
		/* The object is full (a try now would only say EAGAIN again). */
		if (nonblock && total - done <= p->stage_len)
			return keep_rest(p, iov, n, total);
		rc = p->ops->wait_writable(p->st);
		/* Cut with part of the frame out: the rest goes with the end (before any, the call starts again). */
		if (rc == -ERESTART && done && cut_ok)
			return keep_rest(p, iov, n, total);
		if (rc < 0)
			return rc;
	}
	return (ssize_t)total;
}

/* ---- receiving -------------------------------------------------------------- */

/* The frame at the cursor of a stream path: 1, 0 at EOF, -errno. */
int xos__stream_peek(struct xos_chan *end, struct xos__chan_path *p, struct xos_mech_frame *f,
		       bool nonblock)
{
	for (;;) {
		size_t have = p->rend - p->rstart;
		ssize_t n;

		if (have >= XOS_FRAME_HDR) {
			struct xos__frame_hdr h;

			memcpy(&h, p->rbuf + p->rstart, sizeof(h));
			if ((h.type != XOS_FRAME_DATA && h.type != XOS_FRAME_SWITCH) ||
			    h.len > end->params.max_msg)
				return -EPROTO;
			if (have >= XOS_FRAME_HDR + h.len) {
				f->data = p->rbuf + p->rstart + XOS_FRAME_HDR;
				f->len = h.len;
				f->type = h.type;
				p->rcur = XOS_FRAME_HDR + h.len;
				return 1;
			}
		}
		if (p->rend == p->rcap) {
			if (p->rstart == 0)
				return -EPROTO; /* a whole buffer and no complete frame: cannot be */
			if (p->rrel == p->rstart) {
				memmove(p->rbuf, p->rbuf + p->rstart, have);
			} else {
				/* Consumed frames are still in use: move the rest to a new buffer. */
				uint8_t *nb;

				if (p->rbuf_old)
					return -ENOBUFS; /* release what you consumed */
				nb = malloc(p->rcap);
				if (!nb)
					return -ENOMEM;
				memcpy(nb, p->rbuf + p->rstart, have);
				p->rbuf_old = p->rbuf;
				p->rbuf = nb;
			}
			p->rrel = p->rstart = 0;
			p->rend = have;
		}
		n = p->ops->read(p->st, p->rbuf + p->rend, p->rcap - p->rend, nonblock);
		if (n < 0)
			return (int)n;
		if (n == 0)
			return 0; /* EOF; a frame cut by a dying writer was never sent */
		p->rend += (size_t)n;
	}
}
