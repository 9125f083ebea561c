/* SPDX-License-Identifier: MIT */
/*
 * The live switch protocol: moving a channel to a new mechanism instance
 * (a "path") while both ends send, without losing, duplicating or
 * reordering a byte.
 *
 * 1. The initiating end makes the new path, attaches its own side and
 *    sends the peer's side (descriptors with SCM_RIGHTS, plus the path's
 *    id and mechanism) over the channel's control socket, then bumps the
 *    peer's counter ctl->sent[peer] in the control block.  These steps
 *    run under the control block's lock, after the initiator has taken in
 *    every path the peer sent before: both ends see paths in one order.
 * 2. Each writer moves its direction to a new path by writing a SWITCH
 *    frame on the old path, carrying the new path's id and the number of
 *    data frames it wrote so far, then writing only on the new path.  The
 *    initiator does this at once; the peer at its next call of any
 *    channel function (one atomic load notices the counter).
 * 3. Each reader reads the old path up to the SWITCH frame, checks that
 *    it has read exactly the announced number of frames (-EPROTO
 *    otherwise), and continues on the named path, taking it from the
 *    control socket if it has not yet.
 * A path is freed by an end once it left it in both directions and
 * released everything it read from it.
 */
#include "config.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "chan_i.h"
#include "../prim/fdpass.h"

#define PATH_MSG_MAGIC 0x78707468u /* "xpth" */

/* How long a path the peer promised may take to arrive (the fuzzer shortens them). */
#ifndef XOS_PATH_WAIT_MS
#define XOS_PATH_WAIT_MS 500
#endif
#ifndef XOS_MARKER_WAIT_MS
#define XOS_MARKER_WAIT_MS 100
#endif
/* ... and while the peer's EF is on its way between two hosts (a move's own bound). */
#define XOS_MOVE_WAIT_MS 120000

/* What travels on the control socket with a path's descriptors. */
struct path_msg {
	uint32_t magic;
	uint32_t nfds;    /* slots, some of them may be absent (-1) */
	uint32_t present; /* bit i: slot i travels in SCM_RIGHTS */
	uint32_t unused;
	uint64_t id;
	char mech[XOS_CHAN_MECH_MAX];
};

int xos__switch_send_path(struct xos_chan *end, const struct xos__mech *mech, uint64_t id,
			  int *fds, unsigned int nfds)
{
	struct path_msg m = { .magic = PATH_MSG_MAGIC, .nfds = nfds, .id = id };
	int sent[XOS_MECH_MAX_FDS];
	unsigned int nsent = 0;
	ssize_t n;

	if (nfds > XOS_MECH_MAX_FDS)
		return -EINVAL;
	snprintf(m.mech, sizeof(m.mech), "%s", mech->name);
	for (unsigned int i = 0; i < nfds; i++) {
		if (fds[i] >= 0) {
			m.present |= 1u << i;
			sent[nsent++] = fds[i];
		}
	}
	n = xos__fds_send(end->link.ctl_sock, &m, sizeof(m), sent, nsent, 0);
	if (n < 0)
		return n == -EPIPE || n == -ECONNRESET ? -EPIPE : (int)n;
	return n == (ssize_t)sizeof(m) ? 0 : -EIO;
}

/* Receive one path from the control socket (blocking: the sender wrote it before telling us). */
static int recv_path(struct xos_chan *end, struct xos__chan_path **ret)
{
	struct path_msg m;
	int got[XOS_MECH_MAX_FDS], fds[XOS_MECH_MAX_FDS];
	size_t ngot = 0;
	unsigned int k = 0;
	const struct xos__mech *mech;
	struct pollfd pfd = { .fd = end->link.ctl_sock, .events = POLLIN };
	ssize_t n;

	/*
	 * The peer bumped our counter after sending, so the message is there;
	 * a peer that bumps it and sends nothing must not hang us.
	 */
	if (poll(&pfd, 1, XOS_PATH_WAIT_MS) != 1)
		return -EPROTO;
	n = xos__fds_recv(end->link.ctl_sock, &m, sizeof(m), got, XOS_MECH_MAX_FDS, &ngot,
			  MSG_WAITALL | MSG_DONTWAIT);
	if (n < 0)
		return (int)n; /* -EPROTO when the descriptors were cut: none kept */
	if (n == 0) {
		xos__close_fds(got, (unsigned int)ngot);
		return -EPIPE;
	}
	m.mech[sizeof(m.mech) - 1] = '\0';
	mech = xos__mech_find(m.mech);
	if (n != (ssize_t)sizeof(m) || m.magic != PATH_MSG_MAGIC || m.nfds > XOS_MECH_MAX_FDS ||
	    (size_t)__builtin_popcount(m.present) != ngot || (m.present >> m.nfds) || !mech) {
		xos__close_fds(got, (unsigned int)ngot);
		return -EPROTO;
	}
	for (unsigned int i = 0; i < m.nfds; i++)
		fds[i] = (m.present & (1u << i)) ? got[k++] : -1;
	return xos__chan_path_attach_fds(end, mech, m.id, fds, m.nfds, ret);
}

int xos__switch_tx_to(struct xos_chan *end, struct xos__chan_path *path)
{
	struct xos__switch_marker mk = { .target = path->id, .seq = end->tx_seq };
	ssize_t rc;

	if (!end->tx) {
		end->tx = path;
		return 0;
	}
	if (end->tx == path)
		return 0;
	rc = xos__chan_tx_frame(end, XOS_FRAME_SWITCH, &mk, sizeof(mk), false);
	if (rc < 0)
		return (int)rc;
	end->tx->tx_left = true;
	end->tx = path;
	xos__chan_paths_gc(end);
	return 0;
}

int xos__switch_poll(struct xos_chan *end)
{
	while (xos__switch_pending(end)) {
		struct xos__chan_path *p;
		int rc = recv_path(end, &p);

		if (rc < 0)
			return rc;
		end->recv_paths++;
		if (end->tx || end->rx)
			end->stats.switches++;
		if (end->can_tx) {
			rc = xos__switch_tx_to(end, p);
			if (rc < 0)
				return rc;
		}
		if (end->can_rx && !end->rx) {
			end->rx = p;
			xos__chan_rx_adopted(end);
		}
	}
	return 0;
}

static struct xos__chan_path *find_path(struct xos_chan *end, uint64_t id)
{
	for (struct xos__chan_path *p = end->paths; p; p = p->next)
		if (p->id == id)
			return p;
	return NULL;
}

/*
 * A marker named a path not counted yet: wait until it is.  A path is
 * written to the control socket before it is counted, so the socket may be
 * readable a moment before: taking the path then would leave the count
 * behind, and the next call would wait for a path that never comes.
 * Written by a peer that then died before counting it?  Wait briefly.
 * Longer while the peer's EF moves between two other hosts: the host it
 * left writes the marker, this host gives the path once the other one has
 * the EF running.
 */
static int wait_promised(struct xos_chan *end)
{
	struct pollfd pfd = { .fd = end->link.ctl_sock, .events = POLLIN };
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!xos__switch_pending(end)) {
		long ms;

		clock_gettime(CLOCK_MONOTONIC, &t);
		ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms >= (atomic_load(&end->ctl->moving) ? XOS_MOVE_WAIT_MS : XOS_MARKER_WAIT_MS))
			return -EPROTO;
		if (poll(&pfd, 1, 10) == 1)
			usleep(50); /* written, about to be counted */
	}
	return 0;
}

int xos__switch_rx_marker(struct xos_chan *end, const struct xos_mech_frame *f)
{
	struct xos__switch_marker mk;
	struct xos__chan_path *old = end->rx, *next;
	int rc;

	if (f->len != sizeof(mk))
		return -EPROTO;
	memcpy(&mk, f->data, sizeof(mk));
	if (mk.seq != end->rx_seq || mk.target == old->id)
		return -EPROTO;
	next = find_path(end, mk.target);
	while (!next) {
		/* The writer sent the path before the marker: it is on the control socket. */
		struct xos__chan_path *p;

		if (!xos__switch_pending(end)) {
			rc = wait_promised(end);
			if (rc < 0)
				return rc;
		}
		rc = recv_path(end, &p);
		if (rc < 0)
			return rc;
		end->recv_paths++;
		end->stats.switches++;
		if (end->can_tx) {
			rc = xos__switch_tx_to(end, p);
			if (rc < 0)
				return rc;
		}
		next = find_path(end, mk.target);
	}
	if (next->rx_left)
		return -EPROTO; /* a path is read once, in order */
	xos__chan_path_advance(old);
	xos__chan_path_release(old);
	old->rx_left = true;
	end->rx = next;
	xos__chan_rx_adopted(end);
	xos__chan_paths_gc(end);
	return 0;
}
