/* SPDX-License-Identifier: MIT */
/*
 * The ends alive in this process, and what happens to them as EFs come
 * and go: handed to an EF, closed when it ends, forgotten in a new
 * process, detached when the EF lives elsewhere, parked for its return
 * (mutate), and freed.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "chan_i.h"
#include "../prim/forklist.h"

/* ---- the ends alive in this process ------------------------------------- */

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct xos_chan *reg_head;
static struct xos__fork_hook reg_hook = XOS__FORK_HOOK_INIT;

/*
 * Multi-producer ends handed to EFs of this process: one "hold" per EF
 * that counts as a user of the end (struct xos_chan.users), dropped when
 * that EF closes it, closed for it when it ends.  Lock order: reg_lock,
 * then hold_lock.
 */
struct mp_hold {
	struct mp_hold *next;
	uint64_t ef_id;
	struct xos_chan *end;
};

static pthread_mutex_t hold_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mp_hold *holds;

/* The two ends of a pair made in this process point at each other: the
 * link is cut under this lock, so two EFs closing the two ends at once
 * never read a freed peer.  Taken last. */
static pthread_mutex_t peer_lock = PTHREAD_MUTEX_INITIALIZER;

static void reg_prefork(void)
{
	pthread_mutex_lock(&reg_lock);
	pthread_mutex_lock(&hold_lock);
	pthread_mutex_lock(&peer_lock);
}

static void reg_postfork(void)
{
	pthread_mutex_unlock(&peer_lock);
	pthread_mutex_unlock(&hold_lock);
	pthread_mutex_unlock(&reg_lock);
}

/* Remove one hold of EF @ef_id on @end (any EF's if @ef_id is 0, every one if @all). */
bool xos__chan_hold_drop(uint64_t ef_id, const struct xos_chan *end, bool all)
{
	bool found = false;

	pthread_mutex_lock(&hold_lock);
	for (struct mp_hold **l = &holds; *l;) {
		struct mp_hold *h = *l;

		if (h->end == end && (!ef_id || h->ef_id == ef_id) && (all || !found)) {
			*l = h->next;
			free(h);
			found = true;
		} else {
			l = &h->next;
		}
	}
	pthread_mutex_unlock(&hold_lock);
	return found;
}

void xos__chan_reg_add(struct xos_chan *end)
{
	xos__fork_hook(&reg_hook, reg_prefork, reg_postfork, reg_postfork);
	pthread_mutex_lock(&reg_lock);
	XOS__DLIST_PUSH(reg_head, end, reg_prev, reg_next);
	pthread_mutex_unlock(&reg_lock);
}

/* Caller holds reg_lock. */
static void reg_del_locked(struct xos_chan *end)
{
	XOS__DLIST_UNLINK(reg_head, end, reg_prev, reg_next);
}

void xos__chan_reg_del(struct xos_chan *end)
{
	pthread_mutex_lock(&reg_lock);
	reg_del_locked(end);
	pthread_mutex_unlock(&reg_lock);
}

bool xos__chan_valid(const struct xos_chan *end)
{
	return xos__chan_live(end);
}

void xos__chan_release_local(struct xos_chan *end)
{
	while (end->paths) {
		struct xos__chan_path *p = end->paths;

		end->paths = p->next;
		xos__chan_path_free(p);
	}
	end->tx = end->rx = NULL;
	if (end->epfd >= 0)
		close(end->epfd);
	end->epfd = -1;
	if (end->link.ctl_sock >= 0)
		close(end->link.ctl_sock);
	end->link.ctl_sock = -1;
}

/* Free the end's memory; the control block stays mapped while the peer struct uses it. */
void xos__chan_end_free(struct xos_chan *end)
{
	struct xos_chan *peer;
	bool last;

	if (end->mp)
		xos__chan_hold_drop(0, end, true);
	if (end->mp_word)
		munmap((void *)end->mp_word, MP_WORD_PAGE);
	pthread_mutex_lock(&peer_lock);
	peer = end->peer;
	last = !(peer && peer->magic == XOS_CHAN_MAGIC && peer->peer == end);
	if (!last)
		peer->peer = NULL; /* the peer unmaps the control block when it goes */
	end->peer = NULL;
	end->magic = 0;
	pthread_mutex_unlock(&peer_lock);
	if (last)
		munmap(end->ctl, sizeof(*end->ctl));
	free(end);
}

/* A forgotten end: its descriptors are closed here, its peer is not told. */
static void end_forget(struct xos_chan *end)
{
	xos__chan_release_local(end);
	xos__chan_end_free(end);
}

static bool in_list(struct xos_chan *const *list, size_t n, const struct xos_chan *end)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == end)
			return true;
	return false;
}

void xos__chans_forget_others(struct xos_chan *const *keep, size_t n)
{
	struct xos_chan *end, *next;

	pthread_mutex_lock(&reg_lock);
	for (end = reg_head; end; end = next) {
		next = end->reg_next;
		if (in_list(keep, n, end)) {
			xos__chan_mp_forked(end); /* the flows that shared it stayed behind */
			continue;
		}
		reg_del_locked(end);
		end_forget(end);
	}
	pthread_mutex_unlock(&reg_lock);
}

static int fds_add(int *fds, size_t max, size_t *n, int fd)
{
	if (fd < 0)
		return 0;
	if (*n == max)
		return -ENOSPC;
	fds[(*n)++] = fd;
	return 0;
}

int xos__chans_fds(struct xos_chan *const *ends, size_t n, int *fds, size_t max)
{
	size_t k = 0;
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		struct xos_chan *end = ends[i];

		if (!xos__chan_valid(end))
			continue;
		rc = fds_add(fds, max, &k, end->link.ctl_sock);
		if (rc == 0)
			rc = fds_add(fds, max, &k, end->epfd);
		for (struct xos__chan_path *p = end->paths; p && rc == 0; p = p->next) {
			int pf[XOS_MECH_MAX_FDS];
			unsigned int pn = 0;

			/* Every mechanism lists its live descriptors for hand-over. */
			if (!p->ops->handover_fds)
				return -EOPNOTSUPP;
			rc = p->ops->handover_fds(p->st, pf, &pn);
			for (unsigned int j = 0; rc == 0 && j < pn && j < XOS_MECH_MAX_FDS; j++)
				rc = fds_add(fds, max, &k, pf[j]);
		}
	}
	return rc < 0 ? rc : (int)k;
}

void xos__chans_detach(struct xos_chan *const *ends, size_t n)
{
	pthread_mutex_lock(&reg_lock);
	for (size_t i = 0; i < n; i++) {
		struct xos_chan *end = ends[i];

		if (!xos__chan_valid(end) || end->mp)
			continue; /* a multi-producer end stays with its creator too */
		reg_del_locked(end);
		end_forget(end);
	}
	pthread_mutex_unlock(&reg_lock);
}

static bool listed_locked(const struct xos_chan *head, const struct xos_chan *end, bool parked);

void xos__chans_hand(struct xos_chan *const *ends, size_t n, uint64_t ef_id)
{
	pthread_mutex_lock(&reg_lock);
	for (size_t i = 0; i < n; i++) {
		struct xos_chan *end = ends[i];
		struct mp_hold *h;

		if (!xos__chan_valid(end))
			continue;
		if (!end->mp) {
			end->owner_ef = ef_id;
			continue;
		}
		/* A multi-producer end is shared: the EF holds one of its users. */
		if (!ef_id || !(h = malloc(sizeof(*h))))
			continue; /* without memory: the EF must close it itself */
		*h = (struct mp_hold){ .ef_id = ef_id, .end = end };
		pthread_mutex_lock(&hold_lock);
		h->next = holds;
		holds = h;
		pthread_mutex_unlock(&hold_lock);
	}
	pthread_mutex_unlock(&reg_lock);
}

/* Undo xos__chans_hand(@ends, @ef_id) for an EF that was never made. */
void xos__chans_unhand(struct xos_chan *const *ends, size_t n, uint64_t ef_id, uint64_t back_to)
{
	for (size_t i = 0; i < n; i++) {
		if (!xos__chan_valid(ends[i]))
			continue;
		if (ends[i]->mp)
			xos__chan_hold_drop(ef_id, ends[i], false);
		else
			ends[i]->owner_ef = back_to;
	}
}

/* The next end EF @ef_id left open here (its hold dropped), or NULL. */
static struct xos_chan *owned_next(uint64_t ef_id)
{
	struct xos_chan *end;

	pthread_mutex_lock(&reg_lock);
	for (end = reg_head; end; end = end->reg_next)
		if (!end->mp && end->owner_ef == ef_id)
			break;
	if (!end) {
		pthread_mutex_lock(&hold_lock);
		for (struct mp_hold **l = &holds; *l; l = &(*l)->next) {
			struct mp_hold *h = *l;

			if (h->ef_id == ef_id && listed_locked(reg_head, h->end, false)) {
				end = h->end;
				*l = h->next;
				free(h);
				break;
			}
		}
		pthread_mutex_unlock(&hold_lock);
	}
	pthread_mutex_unlock(&reg_lock);
	return end;
}

/*
 * An EF that ends without closing the ends it was given would leave its
 * peers waiting forever where its flow goes on (a thread): close them as
 * its process's exit would.  One at a time, as xos_chan_close() takes
 * reg_lock itself.
 */
void xos__chans_close_owned(uint64_t ef_id)
{
	struct xos_chan *end;

	if (!ef_id)
		return;
	while ((end = owned_next(ef_id)) != NULL) {
		if (end->reserved)
			(void)xos_chan_commit(end, 0); /* a reservation it never committed: cancelled */
		xos__chan_log(XOS__CHAN_LOG_DEBUG, "chan \"%s\": end %d closed at the end of EF %llu",
			      end->name, end->idx, (unsigned long long)ef_id);
		end->owner_ef = 0;
		xos_chan_close(end);
	}
}

/*
 * The ends an EF owns when it leaves for another process (mutate thread ->
 * process): their descriptors and paths go, the struct stays at its
 * address (the EF's code holds pointers to it) and the control block stays
 * mapped, so the ends can be rebuilt here when the EF comes back.  Parked
 * ends are listed (under reg_lock) so that the EF's list of ends is only
 * ever compared with, never read through: an end the EF closed is freed.
 */
static struct xos_chan *parked_head;

static bool listed_locked(const struct xos_chan *head, const struct xos_chan *end, bool parked)
{
	for (const struct xos_chan *e = head; e; e = parked ? e->parked_next : e->reg_next)
		if (e == end)
			return true;
	return false;
}

static void parked_del_locked(struct xos_chan *end)
{
	for (struct xos_chan **link = &parked_head; *link; link = &(*link)->parked_next) {
		if (*link == end) {
			*link = end->parked_next;
			end->parked_next = NULL;
			return;
		}
	}
}

void xos__chans_park(struct xos_chan *const *ends, size_t n)
{
	pthread_mutex_lock(&reg_lock);
	for (size_t i = 0; i < n; i++) {
		struct xos_chan *end = ends[i];

		if (!end || !listed_locked(reg_head, end, false))
			continue;
		reg_del_locked(end);
		xos__chan_release_local(end);
		end->parked = true;
		end->parked_next = parked_head;
		parked_head = end;
	}
	pthread_mutex_unlock(&reg_lock);
}

void xos__chan_park_keep(struct xos_chan *end)
{
	pthread_mutex_lock(&reg_lock);
	if (listed_locked(reg_head, end, false)) {
		reg_del_locked(end);
		end->parked = true;
		end->parked_next = parked_head;
		parked_head = end;
	}
	pthread_mutex_unlock(&reg_lock);
}

/* Free the parked ends among @ends (their EF ended elsewhere, or dropped them). */
void xos__chans_drop_parked(struct xos_chan **ends, size_t n)
{
	pthread_mutex_lock(&reg_lock);
	for (size_t i = 0; i < n; i++) {
		struct xos_chan *end = ends[i];

		if (end && listed_locked(parked_head, end, true)) {
			parked_del_locked(end);
			if (end->link.ctl_sock >= 0) /* kept by a migration for the EF's return */
				close(end->link.ctl_sock);
			xos__chan_end_free(end);
			ends[i] = NULL;
		}
	}
	pthread_mutex_unlock(&reg_lock);
}

/* The parked end at address @addr, or NULL. */
struct xos_chan *xos__chan_parked_find(uint64_t addr)
{
	struct xos_chan *found = NULL;

	pthread_mutex_lock(&reg_lock);
	for (struct xos_chan *e = parked_head; e && !found; e = e->parked_next)
		if ((uint64_t)(uintptr_t)e == addr)
			found = e;
	pthread_mutex_unlock(&reg_lock);
	return found;
}

/* Is @end alive here (live: in use; else parked)?  Compares, never reads @end. */
bool xos__chan_here(const struct xos_chan *end, bool live)
{
	bool here;

	pthread_mutex_lock(&reg_lock);
	here = listed_locked(live ? reg_head : parked_head, end, !live);
	pthread_mutex_unlock(&reg_lock);
	return here;
}

/* A parked end whose state was rebuilt (handover.c) is live here again. */
void xos__chan_unpark(struct xos_chan *end)
{
	pthread_mutex_lock(&reg_lock);
	parked_del_locked(end);
	end->parked = false;
	pthread_mutex_unlock(&reg_lock);
	xos__chan_reg_add(end);
}

/* How many ends are alive in this process. */
size_t xos__chans_live(void)
{
	size_t n = 0;

	pthread_mutex_lock(&reg_lock);
	for (struct xos_chan *end = reg_head; end; end = end->reg_next)
		n++;
	pthread_mutex_unlock(&reg_lock);
	return n;
}

