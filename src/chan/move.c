/* SPDX-License-Identifier: MIT */
/*
 * Channel ends that follow their EF to another host (xos_ef_migrate).
 *
 * The EF is parked while it moves, so its ends are still; the other end
 * of each channel stays where it is (its creator's process) and goes on being
 * used.  Each end is re-bound with the live-switch protocol (switch.c),
 * its two directions handled as a switch handles them:
 *
 *  - the moving end's writes: it writes a SWITCH marker on its current
 *    path (target: the path the peer continues on, count: frames written),
 *    and from the destination only on the new path.  The peer reads the
 *    old path up to the marker, then the new path, which it takes from the
 *    channel's control socket like any switched path.
 *  - the peer's writes: the peer is given the new path through the control
 *    socket and moves its writes there at its next call, with a marker on
 *    the old path.  What it wrote before the marker is on a path the
 *    destination cannot reach (a ring here, or a socket of the host left),
 *    so the host left forwards it, frame by frame and the marker last, on
 *    a "drain" connection; at the destination the end reads the drain
 *    first, meets the forwarded marker (count checked as usual), and
 *    continues on the new path.
 *
 * A ring becomes tcp when the EF leaves the peer's host (the new path is a
 * TCP connection between the two hosts), and tcp becomes a ring when it
 * comes back (the new path is a ring made there).  Nothing is lost,
 * repeated or reordered: each direction is a switch.
 *
 * The end the EF's code knows by address: on its creator's host the
 * struct stays (parked, its control socket open: the peer's way to its new
 * paths) for the EF's return; elsewhere a new end stands in for it and the
 * runtime rewrites the address in the EF's domain (image.c).
 */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../prim/sendall.h"
#include "chan_i.h"

static void paths_free(struct xos_chan *end)
{
	while (end->paths) {
		struct xos__chan_path *p = end->paths;

		end->paths = p->next;
		xos__chan_path_free(p);
	}
	end->tx = end->rx = NULL;
}

/* ---- leaving ---------------------------------------------------------------------- */

struct forward {
	struct xos_chan *g; /* what reads: a copy of the parked end, or the end itself */
	bool copy;          /* g is a copy: free its paths and itself, nothing of the end's */
	int sock;           /* the drain, or -1: nothing to forward */
	int hold;           /* keeps the end's peer looking alive until done, or -1 */
	uint64_t target;
	struct xos__chan_path *tx; /* the old path, when its end of writing could not go at once */
	bool marker_due;           /* the marker itself is still to write, not only the rest before it */
	struct xos__switch_marker mk;
};

/*
 * What the end wrote and could not get out at once goes first, as the
 * peer reads: the rest of a frame a cut send left (stream.c), then the
 * marker.  Then the peer's frames up to its marker for @target are
 * forwarded as they are, and that marker last.
 */
static void *forward_run(void *arg)
{
	struct forward *fw = arg;
	struct xos_chan *g = fw->g;
	int rc = 0;

	if (fw->tx) {
		g->tx = fw->tx;
		if (fw->marker_due)
			rc = (int)xos__chan_tx_frame(g, XOS_FRAME_SWITCH, &fw->mk, sizeof(fw->mk), false);
		else
			rc = xos__stream_flush(g->tx, false);
		g->tx = NULL;
		if (rc < 0)
			xos__chan_log(XOS__CHAN_LOG_DEBUG, "chan \"%s\": the end's last writes before its move: %s",
				      g->name, strerror(-rc));
		rc = 0; /* the peer's writes are forwarded all the same */
	}
	while (fw->sock >= 0 && rc == 0) {
		struct xos_mech_frame f;
		struct xos__frame_hdr h;
		struct xos__switch_marker mk;

		if (!g->rx || xos__switch_pending(g)) {
			/* A path the peer sent before its marker: the control socket is the end's. */
			rc = xos__chan_ensure_path(g, false);
			if (rc < 0)
				break;
		}
		rc = xos__chan_path_peek(g, g->rx, &f, false);
		if (rc <= 0)
			break; /* EOF (the peer closed): the drain closes too */
		h.len = (uint32_t)f.len;
		h.type = f.type;
		if (f.type == XOS_FRAME_SWITCH && f.len == sizeof(mk)) {
			memcpy(&mk, f.data, sizeof(mk));
			if (mk.target != fw->target) {
				rc = xos__switch_rx_marker(g, &f); /* an older switch: follow it */
				continue;
			}
		}
		rc = xos__send_all(fw->sock, &h, sizeof(h));
		if (rc == 0 && f.len)
			rc = xos__send_all(fw->sock, f.data, f.len);
		if (rc < 0 || f.type != XOS_FRAME_DATA)
			break;
		xos__chan_path_advance(g->rx);
		xos__chan_path_release(g->rx);
		g->rx_seq++;
	}
	if (fw->sock >= 0)
		close(fw->sock);
	if (fw->hold >= 0)
		close(fw->hold);
	if (fw->copy) {
		paths_free(g);
		free(g);
	} else {
		xos_chan_close(g);
	}
	free(fw);
	return NULL;
}

int xos__chan_move_check(const struct xos_chan *end)
{
	if (!xos__chan_valid(end))
		return -EINVAL;
	if (end->mp || (end->params.flags & XOS_CHAN_F_MULTI_PRODUCER))
		return -EOPNOTSUPP; /* its writers' copies cannot all follow */
	return 0;
}

int xos__chan_move_prepare(struct xos_chan *end, struct xos__chan_move *mv)
{
	int rc = xos__chan_move_check(end);

	if (rc < 0)
		return rc;
	/* Parked at a safe point: what it holds now it holds until released. */
	if (end->reserved || end->peeked || end->unreleased || end->view_off || end->epfd >= 0)
		return -EBUSY;
	/* Bound, and every path the peer sent taken in: the count below is final. */
	if (!xos__chan_bound(end) || !end->paths) {
		rc = xos__chan_ensure_path(end, end->can_tx);
		if (rc < 0)
			return rc;
	}
	rc = xos__switch_poll(end);
	if (rc < 0)
		return rc;
	memset(mv, 0, sizeof(*mv));
	mv->addr = (uint64_t)(uintptr_t)end;
	mv->drain_id = end->rx ? end->rx->id : 0;
	mv->tx_seq = end->tx_seq;
	mv->rx_seq = end->rx_seq;
	mv->idx = (uint32_t)end->idx;
	mv->flags = end->params.flags;
	mv->capacity = end->params.capacity;
	mv->max_msg = end->params.max_msg;
	mv->can_rx = end->can_rx;
	mv->can_tx = end->can_tx;
	mv->nonblock = end->nonblock;
	snprintf(mv->name, sizeof(mv->name), "%s", end->name);
	if (!end->remote)
		mv->next_id = atomic_fetch_add(&end->ctl->next_id, 1) + 1;
	return 0;
}

uint64_t xos__chan_move_begin(struct xos_chan *end)
{
	atomic_fetch_add(&end->ctl->moving, 1);
	return atomic_fetch_add(&end->ctl->next_id, 1) + 1;
}

void xos__chan_move_end(struct xos_chan *end)
{
	atomic_fetch_sub(&end->ctl->moving, 1);
}

int xos__chan_move_give_peer(struct xos_chan *end, uint64_t id, int sock)
{
	const struct xos__mech *m = xos__mech_find("tcp");
	int rc;

	if (!m) {
		close(sock);
		return -EOPNOTSUPP;
	}
	rc = xos__chan_lock(end);
	if (rc == 0) {
		rc = xos__switch_send_path(end, m, id, &sock, 1);
		if (rc == 0) {
			snprintf(end->ctl->mech, sizeof(end->ctl->mech), "%s", m->name);
			atomic_fetch_add_explicit(&end->ctl->sent[!end->idx], 1, memory_order_release);
		}
		xos__chan_unlock(end);
	}
	close(sock);
	return rc;
}

int xos__chan_move_leave(struct xos_chan *end, uint64_t target, int drain, bool keep, int hold)
{
	struct xos__switch_marker mk = { .target = target, .seq = end->tx_seq };
	struct xos__chan_path *tx = NULL;
	struct forward *fw = NULL;
	bool marker_due = false;
	pthread_attr_t ta;
	pthread_t t;
	int rc = 0;

	if (!end->can_rx && drain >= 0) {
		close(drain);
		drain = -1;
	}
	/*
	 * The marker, without waiting: a peer that reads only after the move
	 * (the caller of xos_ef_migrate, say) must not hold it up.  What does
	 * not go now (a full ring or socket, the rest of a frame before it)
	 * goes from the forwarding thread.
	 */
	if (end->can_tx && end->tx) {
		rc = (int)xos__chan_tx_frame(end, XOS_FRAME_SWITCH, &mk, sizeof(mk), true);
		marker_due = rc == -EAGAIN;
		rc = rc < 0 && !marker_due ? rc : 0;
		end->tx->tx_left = true;
		if (marker_due || end->tx->pend_len) {
			tx = end->tx;
			size_t rest = tx->pend_len - tx->pend_off;

			if (rest)
				xos__chan_log(XOS__CHAN_LOG_EXPLAIN,
					      "chan \"%s\": %zu bytes of the end's last frame%s go out behind its move, "
					      "as the peer reads",
					      end->name, rest, marker_due ? " and its marker" : "");
			else
				xos__chan_log(XOS__CHAN_LOG_EXPLAIN,
					      "chan \"%s\": the end's marker goes out behind its move, as the peer reads",
					      end->name);
		}
	}
	end->tx = NULL;
	if (!tx && drain < 0) {
		if (hold >= 0)
			close(hold);
		if (keep)
			paths_free(end);
		else
			xos_chan_close(end);
		return rc;
	}
	fw = calloc(1, sizeof(*fw));
	if (!fw) {
		if (drain >= 0)
			close(drain);
		if (hold >= 0)
			close(hold);
		return -ENOMEM;
	}
	fw->sock = drain;
	fw->hold = hold;
	fw->target = target;
	fw->tx = tx;
	fw->marker_due = marker_due;
	fw->mk = mk;
	fw->g = end;
	if (keep) {
		/* The struct stays for the EF's return; its paths go with a copy that reads them. */
		fw->g = malloc(sizeof(*end));
		if (!fw->g) {
			free(fw);
			if (drain >= 0)
				close(drain);
			if (hold >= 0)
				close(hold);
			return -ENOMEM;
		}
		*fw->g = *end;
		fw->copy = true;
		end->paths = end->tx = end->rx = NULL;
	}
	pthread_attr_init(&ta);
	pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
	rc = -pthread_create(&t, &ta, forward_run, fw);
	pthread_attr_destroy(&ta);
	if (rc < 0) {
		if (drain >= 0)
			close(drain);
		if (hold >= 0)
			close(hold);
		if (fw->copy) {
			paths_free(fw->g);
			free(fw->g);
		}
		free(fw);
	}
	return rc;
}

/* ---- arriving --------------------------------------------------------------------- */

/* Attach the drain (@drain, frames the peer wrote before its marker) and make it @end's rx. */
/* @end sends (and, if it has no receive path yet, receives) on @p, counting on from @mv. */
static void adopt_path(struct xos_chan *end, struct xos__chan_path *p, const struct xos__chan_move *mv)
{
	if (end->can_tx)
		end->tx = p;
	if (end->can_rx && !end->rx) {
		end->rx = p;
		xos__chan_rx_adopted(end);
	}
	end->tx_seq = mv->tx_seq;
	end->rx_seq = mv->rx_seq;
}

static int attach_drain(struct xos_chan *end, const struct xos__chan_move *mv, int drain)
{
	const struct xos__mech *m = xos__mech_find("tcp");
	struct xos__chan_path *p;
	int rc;

	if (drain < 0)
		return 0;
	if (!m) {
		close(drain);
		return -EOPNOTSUPP;
	}
	rc = xos__chan_path_attach_fds(end, m, mv->drain_id, &drain, 1, &p);
	if (rc < 0)
		return rc;
	p->tx_left = true;
	end->rx = p;
	xos__chan_rx_adopted(end);
	return 0;
}

int xos__chan_move_arrive(const struct xos__chan_move *mv, int next, int drain,
			  struct xos_chan **ret, int *ret_hold)
{
	const struct xos__mech *m = xos__mech_find("tcp");
	struct xos_chan_attr a;
	struct xos_chan *pair[2], *end, *away;
	struct xos__chan_path *p;
	int rc, hold;

	xos_chan_attr_init(&a);
	a.name = mv->name;
	a.flags = mv->flags & ~(unsigned int)XOS_CHAN_F_NONBLOCK;
	a.capacity = mv->capacity;
	a.max_msg = mv->max_msg;
	if (!m || mv->idx > 1 || (mv->flags & XOS_CHAN_F_MULTI_PRODUCER)) {
		rc = -EPROTO;
		goto fail_socks;
	}
	rc = xos__chan_open_unbound(pair, &a);
	if (rc < 0)
		goto fail_socks;
	end = pair[mv->idx];
	away = pair[!mv->idx];
	if (end->can_rx != !!mv->can_rx || end->can_tx != !!mv->can_tx) {
		rc = -EPROTO;
		goto fail_pair;
	}
	hold = fcntl(away->link.ctl_sock, F_DUPFD_CLOEXEC, 0);
	if (hold < 0) {
		rc = -errno;
		goto fail_pair;
	}
	rc = xos__chan_path_attach_fds(end, m, mv->next_id, &next, 1, &p); /* takes next */
	next = -1;
	if (rc == 0)
		rc = attach_drain(end, mv, drain); /* takes drain */
	drain = -1;
	if (rc < 0) {
		close(hold);
		goto fail_pair;
	}
	adopt_path(end, p, mv);
	end->remote = true;
	end->nonblock = mv->nonblock;
	snprintf(end->ctl->mech, sizeof(end->ctl->mech), "%s", m->name);
	atomic_store_explicit(&end->ctl->bound, 1, memory_order_release);
	xos__chans_detach(&away, 1);
	*ret = end;
	*ret_hold = hold;
	return 0;

fail_pair:
	xos_chan_close(pair[0]);
	xos_chan_close(pair[1]);
fail_socks:
	if (next >= 0)
		close(next);
	if (drain >= 0)
		close(drain);
	return rc;
}

int xos__chan_move_home(struct xos_chan *end, const struct xos__chan_move *mv, const char *mech,
			int drain, uint64_t *ret_id)
{
	const struct xos__mech *m = xos__mech_find(mech);
	struct xos__chan_path *p;
	int rc;

	if (!m) {
		if (drain >= 0)
			close(drain);
		return -ENOENT;
	}
	paths_free(end);
	end->remote = false;
	rc = xos__chan_lock(end);
	if (rc == 0) {
		/* A new path between the end and its peer: the peer takes it from the control socket. */
		rc = xos__chan_path_new(end, m, &p);
		xos__chan_unlock(end);
	}
	if (rc < 0) {
		if (drain >= 0)
			close(drain);
		return rc;
	}
	*ret_id = p->id;
	rc = attach_drain(end, mv, drain);
	if (rc < 0)
		return rc;
	adopt_path(end, p, mv);
	xos__chan_unpark(end);
	return 0;
}
