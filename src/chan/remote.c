/* SPDX-License-Identifier: MIT */
/*
 * Channels whose two ends are on different hosts.
 *
 * Locally both ends of a channel share a control block and a control
 * socket, over which the paths of a live switch travel.  Across hosts
 * nothing is shared: the runtime connects the two hosts with one TCP
 * socket (authenticated by the launch, src/runtime/hosts.c) and each host
 * binds its end to a tcp path on it.  The end that went away is forgotten
 * here, except for its control socket, which the runtime holds while the
 * remote EF lives: the end that stays sees its peer gone when the runtime
 * lets go of it, and meanwhile EOF and EPIPE come from the TCP connection
 * itself.  Such a channel is never switched.
 */
#include "config.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chan_i.h"

int xos__chan_bind_remote(struct xos_chan *away, int sock, int *ret_hold)
{
	const struct xos__mech *m = xos__mech_find("tcp");
	struct xos__chan_path *p;
	struct xos_chan *stay;
	int rc, hold, one = 1;
	uint64_t id;

	if (!xos__chan_valid(away) || !m) {
		close(sock);
		return -EINVAL;
	}
	stay = xos__chan_peer_here(away);
	if (!stay || away->mp || stay->mp) {
		close(sock);
		return -EOPNOTSUPP;
	}
	rc = xos__chan_lock(stay);
	if (rc < 0) {
		close(sock);
		return rc;
	}
	if (xos__chan_bound(stay)) {
		xos__chan_unlock(stay);
		close(sock);
		return -EBUSY;
	}
	hold = fcntl(away->link.ctl_sock, F_DUPFD_CLOEXEC, 0);
	if (hold < 0) {
		rc = -errno;
		xos__chan_unlock(stay);
		close(sock);
		return rc;
	}
	setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	id = atomic_fetch_add(&stay->ctl->next_id, 1) + 1;
	rc = xos__chan_path_attach_fds(stay, m, id, &sock, 1, &p); /* takes sock */
	if (rc < 0) {
		xos__chan_unlock(stay);
		close(hold);
		return rc;
	}
	if (stay->can_tx)
		stay->tx = p;
	if (stay->can_rx) {
		stay->rx = p;
		xos__chan_rx_adopted(stay);
	}
	stay->remote = true;
	snprintf(stay->ctl->mech, sizeof(stay->ctl->mech), "%s", m->name);
	atomic_store_explicit(&stay->ctl->bound, 1, memory_order_release);
	xos__chan_unlock(stay);
	xos__chans_detach(&away, 1);
	*ret_hold = hold;
	return 0;
}

bool xos__chan_remote(const struct xos_chan *end)
{
	return end->remote;
}

void xos__chan_shape(const struct xos_chan *end, struct xos_chan_attr *ret)
{
	*ret = (struct xos_chan_attr){
		.name = end->name,
		.flags = end->params.flags,
		.capacity = end->params.capacity,
		.max_msg = end->params.max_msg,
	};
}

int xos__chan_idx(const struct xos_chan *end)
{
	return end->idx;
}
