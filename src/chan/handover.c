/* SPDX-License-Identifier: MIT */
/*
 * Handing an EF's channel ends back from its process host to its creator
 * (mutate process -> thread).
 *
 * An end's state is in the runtime's private memory, not in the EF's
 * domain: what the EF did with it in process form (frames sent and read,
 * paths taken in by a live switch, bytes a stream path buffered) exists
 * only in the process.  So the process host, at the safe point where the
 * EF leaves, writes each live end's state into a blob in the domain heap
 * and adds the end's descriptors to the SCM_RIGHTS message that hands the
 * EF's fds over.  The creator kept each end's struct at its address
 * (parked, see xos__chans_park) because the EF's code holds pointers to
 * it; it rebuilds every path from the descriptors (so mappings made in
 * process form, e.g. a ring taken in by a switch, are mapped anew here)
 * and restores the private state the descriptors do not carry: sequence
 * counters, ring positions, received-but-unread and written-but-unsent
 * stream bytes.
 *
 * Refused (-EBUSY, the EF stays a process): an end in the middle of a
 * zero-copy operation (reserved, peeked, consumed but not released), an
 * end whose pollable descriptor (xos_chan_fd) is in use, an end the EF
 * opened in process form; -EOPNOTSUPP for a mechanism without handover
 * (every mechanism built in has one).  The blob comes from another process: the creator checks every
 * count, length and index before use.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chan_i.h"

#define HANDOVER_MAGIC 0x78686f31u /* "xho1" */
#define HANDOVER_MAX_PATHS 16

struct ho_hdr {
	uint32_t magic;
	uint32_t nends;
};

struct ho_end {
	uint64_t addr;          /* the struct's address: the same in both processes */
	int32_t ctl_fd;         /* index in the handed-over fds */
	uint32_t npaths;
	uint32_t recv_paths;
	uint8_t nonblock, tx_broken, pad[2];
	uint64_t tx_seq, rx_seq;
	struct xos_chan_stats stats;
};

struct ho_path {
	uint64_t id;
	char mech[XOS_CHAN_MECH_MAX];
	uint8_t tx_left, rx_left, is_tx, is_rx;
	uint32_t nfds;
	int32_t fd[XOS_MECH_MAX_FDS]; /* index in the handed-over fds, or -1 */
	uint64_t ms[XOS_MECH_MSTATE];
	uint64_t rlen, plen;          /* then rlen received bytes, plen unsent bytes (8-aligned) */
};

static size_t al8(size_t v)
{
	return (v + 7) & ~(size_t)7;
}

/* ---- process host: save ---------------------------------------------------------- */

static int end_check(const struct xos_chan *end, size_t *size)
{
	unsigned int np = 0;

	if (end->reserved || end->peeked || end->unreleased || end->view_off || end->epfd >= 0)
		return -EBUSY;
	*size += sizeof(struct ho_end);
	for (const struct xos__chan_path *p = end->paths; p; p = p->next, np++) {
		if (!p->ops->handover_fds)
			return -EOPNOTSUPP;
		if (p->rbuf_old || p->rcur)
			return -EBUSY;
		*size += sizeof(struct ho_path) + al8(p->rend - p->rstart) + al8(p->pend_len - p->pend_off);
	}
	return np > HANDOVER_MAX_PATHS ? -EBUSY : 0;
}

static int fd_add(int fd, int *fds, int max, int *n)
{
	if (fd < 0)
		return -1;
	if (*n == max)
		return -2;
	fds[*n] = fd;
	return (*n)++;
}

int xos__chan_handover_save(struct xos_chan *const *ends, size_t nends, const struct xos__chan_alloc *a,
			    void **ret_blob, size_t *ret_len, int *fds, int max, int *ret_nfds)
{
	size_t size = sizeof(struct ho_hdr), live = 0;
	struct ho_hdr *hdr;
	uint8_t *w;
	int n = 0, rc;

	*ret_blob = NULL;
	*ret_len = 0;
	*ret_nfds = 0;
	for (size_t i = 0; i < nends; i++) {
		if (!xos__chan_here(ends[i], true))
			continue; /* closed in process form: the creator frees its struct */
		/*
		 * Take in paths the peer sent meanwhile (their fds are ours to hand
		 * over) before sizing the blob: a path taken in later would not fit.
		 */
		if (xos__switch_pending(ends[i]) && (rc = xos__switch_poll(ends[i])) < 0)
			return rc;
		rc = end_check(ends[i], &size);
		if (rc < 0)
			return rc;
		live++;
	}
	/* An end opened in process form has no struct in the creator to come back to. */
	if (xos__chans_live() != live)
		return -EBUSY;
	if (!live)
		return 0;
	hdr = a->alloc(a->ctx, size);
	if (!hdr)
		return -ENOMEM;
	memset(hdr, 0, size);
	hdr->magic = HANDOVER_MAGIC;
	w = (uint8_t *)(hdr + 1);
	for (size_t i = 0; i < nends; i++) {
		struct xos_chan *end = ends[i];
		struct ho_end *he = (struct ho_end *)(void *)w;

		if (!xos__chan_here(end, true))
			continue;
		w += sizeof(*he);
		he->addr = (uint64_t)(uintptr_t)end;
		he->ctl_fd = fd_add(end->link.ctl_sock, fds, max, &n);
		he->recv_paths = end->recv_paths;
		he->nonblock = end->nonblock;
		he->tx_broken = end->tx_broken;
		he->tx_seq = end->tx_seq;
		he->rx_seq = end->rx_seq;
		he->stats = end->stats;
		for (struct xos__chan_path *p = end->paths; p; p = p->next) {
			struct ho_path *hp = (struct ho_path *)(void *)w;
			int pf[XOS_MECH_MAX_FDS] = { -1, -1, -1, -1 };
			unsigned int nf = 0;

			w += sizeof(*hp);
			he->npaths++;
			rc = p->ops->handover_fds(p->st, pf, &nf);
			if (rc < 0)
				goto fail;
			hp->id = p->id;
			snprintf(hp->mech, sizeof(hp->mech), "%s", p->mech->name);
			hp->tx_left = p->tx_left;
			hp->rx_left = p->rx_left;
			hp->is_tx = p == end->tx;
			hp->is_rx = p == end->rx;
			hp->nfds = nf;
			for (unsigned int k = 0; k < XOS_MECH_MAX_FDS; k++) {
				hp->fd[k] = k < nf ? fd_add(pf[k], fds, max, &n) : -1;
				if (hp->fd[k] == -2) {
					rc = -EMFILE;
					goto fail;
				}
			}
			if (p->ops->handover_save)
				p->ops->handover_save(p->st, hp->ms);
			hp->rlen = p->rend - p->rstart;
			hp->plen = p->pend_len - p->pend_off;
			if (hp->rlen)
				memcpy(w, p->rbuf + p->rstart, hp->rlen);
			w += al8(hp->rlen);
			if (hp->plen)
				memcpy(w, p->pend + p->pend_off, hp->plen);
			w += al8(hp->plen);
		}
		if (he->ctl_fd < 0) {
			rc = -EMFILE;
			goto fail;
		}
		hdr->nends++;
	}
	*ret_blob = hdr;
	*ret_len = size;
	*ret_nfds = n;
	return 0;
fail:
	a->free(a->ctx, hdr);
	return rc;
}

/* ---- creator: load ----------------------------------------------------------------- */

/* Take fd number @idx of the handed-over ones (each is taken once). */
static int fd_take(int *fds, int nfds, int32_t idx)
{
	int fd;

	if (idx < 0 || idx >= nfds)
		return -1;
	fd = fds[idx];
	fds[idx] = -1;
	return fd;
}

static struct xos_chan *parked_end(struct xos_chan **ends, size_t nends, uint64_t addr)
{
	/* Only an end the EF owns, and parked here for its return. */
	for (size_t i = 0; i < nends; i++)
		if ((uint64_t)(uintptr_t)ends[i] == addr)
			return xos__chan_parked_find(addr);
	return NULL;
}

/* Rebuild one path of @end from record @hp (and the bytes after it, @data). */
static int path_load(struct xos_chan *end, const struct ho_path *hp, const uint8_t *data, int *fds,
		     int nfds)
{
	const struct xos__mech *m;
	struct xos__chan_path *p;
	char mech[XOS_CHAN_MECH_MAX];
	int pf[XOS_MECH_MAX_FDS];
	int rc;

	memcpy(mech, hp->mech, sizeof(mech));
	mech[sizeof(mech) - 1] = '\0';
	m = xos__mech_find(mech);
	for (unsigned int k = 0; k < XOS_MECH_MAX_FDS; k++)
		pf[k] = fd_take(fds, nfds, hp->fd[k]);
	if (!m || !m->ops.handover_fds || hp->nfds > XOS_MECH_MAX_FDS) {
		xos__close_fds(pf, XOS_MECH_MAX_FDS);
		return -EPROTO;
	}
	xos__close_fds(pf + hp->nfds, XOS_MECH_MAX_FDS - hp->nfds);
	rc = xos__chan_path_attach_fds(end, m, hp->id, pf, hp->nfds, &p);
	if (rc < 0)
		return rc;
	p->tx_left = hp->tx_left || !end->can_tx;
	p->rx_left = hp->rx_left || !end->can_rx;
	if (hp->is_tx && end->can_tx)
		end->tx = p;
	if (hp->is_rx && end->can_rx)
		end->rx = p;
	if (m->ops.handover_load && (rc = m->ops.handover_load(p->st, hp->ms)) < 0)
		return rc;
	if (hp->rlen) {
		if (!p->rbuf || hp->rlen > p->rcap)
			return -EPROTO;
		memcpy(p->rbuf, data, hp->rlen);
	}
	p->rrel = p->rstart = p->rcur = 0;
	p->rend = hp->rlen;
	if (hp->plen) {
		if (!p->pend || hp->plen > p->stage_len)
			return -EPROTO;
		memcpy(p->pend, data + al8(hp->rlen), hp->plen);
	}
	p->pend_off = 0;
	p->pend_len = hp->plen;
	return 0;
}

int xos__chan_handover_load(struct xos_chan **ends, size_t nends, const void *blob, size_t len,
			    int *fds, int nfds)
{
	const uint8_t *r = blob, *lim = r + len;
	const struct ho_hdr *hdr = blob;
	int rc = 0;

	if (len) {
		if (len < sizeof(*hdr) || hdr->magic != HANDOVER_MAGIC) {
			rc = -EPROTO;
			goto out;
		}
		r += sizeof(*hdr);
		for (uint32_t e = 0; e < hdr->nends && rc == 0; e++) {
			struct ho_end he;
			struct xos_chan *end;

			if ((size_t)(lim - r) < sizeof(he)) {
				rc = -EPROTO;
				break;
			}
			memcpy(&he, r, sizeof(he));
			r += sizeof(he);
			end = parked_end(ends, nends, he.addr);
			if (!end || he.npaths > HANDOVER_MAX_PATHS) {
				rc = -EPROTO;
				break;
			}
			end->link.ctl_sock = fd_take(fds, nfds, he.ctl_fd);
			end->recv_paths = he.recv_paths;
			end->nonblock = he.nonblock;
			end->tx_broken = he.tx_broken;
			end->tx_seq = he.tx_seq;
			end->rx_seq = he.rx_seq;
			end->stats = he.stats;
			end->tx = end->rx = NULL;
			if (end->link.ctl_sock < 0)
				rc = -EPROTO;
			for (uint32_t k = 0; k < he.npaths && rc == 0; k++) {
				struct ho_path hp;

				if ((size_t)(lim - r) < sizeof(hp)) {
					rc = -EPROTO;
					break;
				}
				memcpy(&hp, r, sizeof(hp));
				r += sizeof(hp);
				if (hp.rlen > (size_t)(lim - r) || hp.plen > (size_t)(lim - r) ||
				    al8(hp.rlen) + al8(hp.plen) > (size_t)(lim - r)) {
					rc = -EPROTO;
					break;
				}
				rc = path_load(end, &hp, r, fds, nfds);
				r += al8(hp.rlen) + al8(hp.plen);
			}
			if (rc < 0) {
				/* The end stays parked: every call on it is -EINVAL. */
				xos__chan_release_local(end);
				break;
			}
			xos__chan_unpark(end);
		}
	}
out:
	/* Ends the EF closed in process form; after a failure the rest stay parked. */
	if (rc == 0)
		xos__chans_drop_parked(ends, nends);
	for (int i = 0; i < nfds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return rc;
}
