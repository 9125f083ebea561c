/* SPDX-License-Identifier: MIT */
/*
 * Binding a channel to mechanism paths: the control lock that serialises
 * binding and switch initiation between the ends, making and attaching
 * paths, binding an unbound channel, switching a bound one, and what the
 * runtime reads and records about a channel when it binds it (chan_host.h).
 */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "chan_i.h"
#include "../prim/futex.h"

int xos__chan_mech_kernel(const char *name)
{
	const struct xos__mech *m = xos__mech_find(name);

	return m ? m->kernel : -ENOENT;
}

/*
 * The control lock is owner-tagged, so that a holder that dies (or never
 * lets go) cannot wedge the other end.  The word says who holds it:
 *
 *   bit 31     a waiter sleeps on the word (unlock wakes it)
 *   bit 30     the holder's end (0 or 1)
 *   bits 22-29 a generation, bumped per acquisition in each process, so a
 *              recycled pid is not taken for the holder that died
 *   bits 0-21  the holder's process id (pid_max is at most 2^22), 0: none
 *
 * 0 is free; CTL_LOCK_DEAD (no pid, every generation bit) marks a channel
 * whose holder died: every later lock fails with -EPIPE at once.  The
 * holder also writes its pid namespace into ctl->lock_ns[end] before it
 * takes the word, so a waiter only trusts the pid when it names a process
 * of its own namespace.  Everything here reads shared memory and so
 * treats any value as possible.
 */
#define CTL_LOCK_WAITERS (1u << 31)
#define CTL_LOCK_IDX (1u << 30)
#define CTL_LOCK_GEN_SHIFT 22
#define CTL_LOCK_GEN_MASK (0xffu << CTL_LOCK_GEN_SHIFT)
#define CTL_LOCK_PID_MASK ((1u << CTL_LOCK_GEN_SHIFT) - 1)
#define CTL_LOCK_DEAD CTL_LOCK_GEN_MASK
#define CTL_LOCK_SPINS 256
#ifndef CTL_LOCK_TIMEOUT_NS /* the fuzzer shortens both */
#define CTL_LOCK_TICK_NS (5 * 1000 * 1000)        /* liveness checks while asleep */
#define CTL_LOCK_TIMEOUT_NS (2000ull * 1000 * 1000) /* a live holder that never lets go */
#endif

static _Atomic uint32_t lock_gen;

/* This process's pid namespace (the inode of /proc/self/ns/pid), 0 if unknown; cached per pid. */
static uint64_t pidns_self(void)
{
	static _Atomic uint64_t cached; /* pid << 40 | (ino & 2^40-1) */
	uint64_t c = atomic_load_explicit(&cached, memory_order_relaxed);
	uint64_t pid = (uint64_t)getpid();
	struct stat st;

	if (c && c >> 40 == pid)
		return c & ((1ull << 40) - 1);
	if (stat("/proc/self/ns/pid", &st) < 0)
		return 0;
	c = pid << 40 | ((uint64_t)st.st_ino & ((1ull << 40) - 1));
	atomic_store_explicit(&cached, c, memory_order_relaxed);
	return c & ((1ull << 40) - 1);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Is process @pid (of our namespace) gone?  A zombie is gone: it holds nothing any more. */
static bool pid_gone(pid_t pid)
{
	char path[64], buf[256], *p;
	ssize_t n;
	int fd;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the command name may hold anything but not after its ')' */
	return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

/* Is the holder recorded in lock word @w gone (so it will never unlock)? */
static bool holder_gone(struct xos_chan *end, uint32_t w)
{
	int hidx = (w & CTL_LOCK_IDX) ? 1 : 0;
	pid_t pid = (pid_t)(w & CTL_LOCK_PID_MASK);
	uint64_t ns;

	/* The peer end's holder: its process closing the control socket says it died. */
	if (hidx != end->idx && xos__chan_peer_gone(&end->link))
		return true;
	if (pid == 0)
		return false; /* forged: no owner to ask; the deadline decides */
	ns = atomic_load_explicit(&end->ctl->lock_ns[hidx], memory_order_acquire);
	if (!ns || ns != pidns_self())
		return false; /* a pid of another namespace means nothing here */
	if (pid == getpid())
		return false; /* another flow of this process */
	return pid_gone(pid);
}

/*
 * Mark the channel broken after its lock holder died: the word becomes
 * CTL_LOCK_DEAD (only if it still names that holder), and a dead peer end
 * counts as closed, so this end's readers see EOF and its writers -EPIPE.
 */
static void holder_buried(struct xos_chan *end, uint32_t w)
{
	uint32_t want = w;
	int hidx = (w & CTL_LOCK_IDX) ? 1 : 0;

	if (!atomic_compare_exchange_strong(&end->ctl->lock, &want, CTL_LOCK_DEAD) &&
	    want != CTL_LOCK_DEAD)
		return; /* it moved on: not dead after all */
	if (hidx != end->idx)
		atomic_store_explicit(&end->ctl->closed[hidx], 1, memory_order_release);
	xos__futex_wake(&end->ctl->lock, INT_MAX);
}

int xos__chan_lock(struct xos_chan *end)
{
	_Atomic uint32_t *lw = &end->ctl->lock;
	pid_t pid = getpid();
	uint32_t gen = (atomic_fetch_add_explicit(&lock_gen, 1, memory_order_relaxed) % 255u) + 1u;
	uint32_t me = (end->idx ? CTL_LOCK_IDX : 0) | gen << CTL_LOCK_GEN_SHIFT |
		      ((uint32_t)pid & CTL_LOCK_PID_MASK);
	uint64_t deadline = 0;
	unsigned int spins = 0;

	if (pid <= 0 || (uint32_t)pid > CTL_LOCK_PID_MASK)
		me = (me & ~CTL_LOCK_PID_MASK); /* cannot be named: never judged dead by pid */
	if ((me & ~CTL_LOCK_IDX) == CTL_LOCK_DEAD)
		me ^= 1u << CTL_LOCK_GEN_SHIFT; /* never looks like the dead mark */
	atomic_store_explicit(&end->ctl->lock_ns[end->idx], pidns_self(), memory_order_release);
	for (;;) {
		uint32_t w = 0;
		struct timespec tick = { 0, CTL_LOCK_TICK_NS };
		uint64_t now;

		if (atomic_compare_exchange_weak_explicit(lw, &w, me, memory_order_acquire,
							  memory_order_relaxed))
			return 0;
		if (w == CTL_LOCK_DEAD)
			return -EPIPE;
		if (++spins < CTL_LOCK_SPINS) {
			if (spins > 64)
				sched_yield();
			continue;
		}
		/* Held for long: sleep on the word, waking now and then to ask whether the holder lives. */
		now = mono_ns();
		if (!deadline)
			deadline = now + CTL_LOCK_TIMEOUT_NS;
		if (w == 0)
			continue;
		if (holder_gone(end, w)) {
			holder_buried(end, w);
			return -EPIPE;
		}
		if (now >= deadline)
			return -ETIMEDOUT;
		if (!(w & CTL_LOCK_WAITERS) &&
		    !atomic_compare_exchange_strong(lw, &w, w | CTL_LOCK_WAITERS))
			continue;
		xos__futex_wait(lw, w | CTL_LOCK_WAITERS, &tick);
	}
}

void xos__chan_unlock(struct xos_chan *end)
{
	uint32_t w = atomic_exchange_explicit(&end->ctl->lock, 0, memory_order_release);

	if (w & CTL_LOCK_WAITERS)
		xos__futex_wake(&end->ctl->lock, INT_MAX);
}

/* ---- paths ---------------------------------------------------------------- */

void xos__chan_path_free(struct xos__chan_path *p)
{
	if (p->st)
		p->ops->detach(p->st);
	if (p->mech)
		xos__mech_put(p->mech);
	free(p->rbuf);
	free(p->rbuf_old);
	free(p->stage);
	free(p->pend);
	free(p);
}

/* Wrap the state of an attached mechanism end into a path of @end. */
static int path_wrap(struct xos_chan *end, const struct xos__mech *m, uint64_t id, void *st,
		     struct xos__chan_path **ret)
{
	const struct xos_mech_ops *ops = &m->ops;
	struct xos__chan_path *p = calloc(1, sizeof(*p));

	if (!p) {
		ops->detach(st);
		return -ENOMEM;
	}
	p->id = id;
	p->mech = m;
	p->ops = ops;
	xos__mech_get(m);
	p->st = st;
	p->tx_left = !end->can_tx;
	p->rx_left = !end->can_rx;
	if (!ops->tx_reserve) {
		p->stage_len = XOS_FRAME_HDR + end->params.max_msg;
		p->stage = malloc(p->stage_len);
		p->pend = malloc(p->stage_len);
		if (!p->pend) {
			xos__chan_path_free(p);
			return -ENOMEM;
		}
		if (end->can_rx) {
			p->rcap = 2 * (XOS_FRAME_HDR + end->params.max_msg) + 65536;
			p->rbuf = malloc(p->rcap);
		}
		if (!p->stage || (end->can_rx && !p->rbuf)) {
			xos__chan_path_free(p);
			return -ENOMEM;
		}
	}
	/* Keep the list in arrival order: the switch protocol follows it. */
	{
		struct xos__chan_path **tail = &end->paths;

		while (*tail)
			tail = &(*tail)->next;
		*tail = p;
	}
	*ret = p;
	return 0;
}

/* Attach this end's side of fds (owned by us from here) into a new path. */
static int path_attach(struct xos_chan *end, const struct xos__mech *m, uint64_t id, int *fds,
		       unsigned int nfds, struct xos__chan_path **ret)
{
	void *st = NULL;
	int rc = m->ops.attach(&end->params, &end->link, fds, nfds, &st);

	if (rc < 0)
		return rc;
	return path_wrap(end, m, id, st, ret);
}

int xos__chan_path_attach_fds(struct xos_chan *end, const struct xos__mech *m, uint64_t id,
			      int *fds, unsigned int nfds, struct xos__chan_path **ret)
{
	return path_attach(end, m, id, fds, nfds, ret);
}

int xos__chan_path_new(struct xos_chan *end, const struct xos__mech *m, struct xos__chan_path **ret)
{
	int fds[2][XOS_MECH_MAX_FDS];
	unsigned int nfds = 0;
	uint64_t id;
	int rc;

	for (int i = 0; i < 2; i++)
		for (int j = 0; j < XOS_MECH_MAX_FDS; j++)
			fds[i][j] = -1;
	rc = m->ops.make(&end->params, fds, &nfds);
	if (rc < 0)
		return rc;
	id = atomic_fetch_add(&end->ctl->next_id, 1) + 1;
	rc = path_attach(end, m, id, fds[end->idx], nfds, ret);
	if (rc < 0) {
		xos__close_fds(fds[!end->idx], nfds);
		return rc;
	}
	rc = xos__switch_send_path(end, m, id, fds[!end->idx], nfds);
	xos__close_fds(fds[!end->idx], nfds);
	if (rc < 0)
		return rc; /* the path stays listed, unused; freed with the end */
	snprintf(end->ctl->mech, sizeof(end->ctl->mech), "%s", m->name);
	atomic_fetch_add_explicit(&end->ctl->sent[!end->idx], 1, memory_order_release);
	end->stats.switches += end->tx || end->rx;
	return 0;
}

void xos__chan_paths_gc(struct xos_chan *end)
{
	struct xos__chan_path **link = &end->paths;

	if (end->unreleased)
		return;
	while (*link) {
		struct xos__chan_path *p = *link;

		if (p->tx_left && p->rx_left && p != end->tx && p != end->rx) {
			*link = p->next;
			xos__chan_path_free(p);
		} else {
			link = &p->next;
		}
	}
}

/* ---- binding --------------------------------------------------------------- */

bool xos__chan_bound(const struct xos_chan *end)
{
	return atomic_load_explicit(&end->ctl->bound, memory_order_acquire) != 0;
}

/* Take the first path if the peer bound the channel. */
static int adopt_pending(struct xos_chan *end)
{
	if (xos__switch_pending(end))
		return xos__switch_poll(end);
	return 0;
}

int xos__chan_adopt(struct xos_chan *end)
{
	int rc;

	if (!end->mp)
		return adopt_pending(end);
	xos__chan_mp_lock(end);
	rc = adopt_pending(end);
	xos__chan_mp_unlock(end);
	return rc;
}

int xos__chan_bind_to(struct xos_chan *end, const struct xos__mech *m)
{
	struct xos__chan_path *p;
	int rc = 0, bound_here = 0;

	rc = xos__chan_lock(end);
	if (rc < 0)
		return rc;
	if (!xos__chan_bound(end)) {
		rc = xos__chan_path_new(end, m, &p);
		if (rc == 0) {
			if (end->can_tx)
				end->tx = p;
			if (end->can_rx) {
				end->rx = p;
				xos__chan_rx_adopted(end);
			}
			atomic_store_explicit(&end->ctl->bound, 1, memory_order_release);
			bound_here = 1;
		}
	}
	xos__chan_unlock(end);
	if (rc < 0)
		return rc;
	rc = adopt_pending(end);
	return rc < 0 ? rc : bound_here;
}

int xos__chan_bind(struct xos_chan *end, const char *mech)
{
	const struct xos__mech *m = xos__mech_find(mech);

	return m ? xos__chan_bind_to(end, m) : -ENOENT;
}

int xos__chan_switch(struct xos_chan *end, const char *mech)
{
	const struct xos__mech *m = xos__mech_find(mech);

	return m ? xos__chan_switch_to(end, m) : -ENOENT;
}

void xos__chan_mech_newest(const struct xos_chan *end, char *buf, size_t len)
{
	char tmp[sizeof(end->ctl->mech)];

	if (!xos__chan_bound(end)) {
		snprintf(buf, len, "%s", "");
		return;
	}
	memcpy(tmp, end->ctl->mech, sizeof(tmp));
	tmp[sizeof(tmp) - 1] = '\0';
	snprintf(buf, len, "%s", tmp);
}

const char *xos__chan_name(const struct xos_chan *end)
{
	return end->name;
}

struct xos_chan *xos__chan_peer_here(const struct xos_chan *end)
{
	return end->peer && xos__chan_valid(end->peer) ? end->peer : NULL;
}

void xos__chan_set_icf(struct xos_chan *end, const char *icf)
{
	snprintf(end->ctl->icf[end->idx], sizeof(end->ctl->icf[0]), "%s", icf);
}

void xos__chan_peer_icf(const struct xos_chan *end, char *buf, size_t len)
{
	char tmp[sizeof(end->ctl->icf[0])];

	memcpy(tmp, end->ctl->icf[!end->idx], sizeof(tmp));
	tmp[sizeof(tmp) - 1] = '\0';
	snprintf(buf, len, "%s", tmp);
}

/* Make sure the end has a path for @tx (or rx). */
int xos__chan_ensure_path(struct xos_chan *end, bool tx)
{
	int rc;

	if (xos__switch_pending(end)) {
		rc = xos__switch_poll(end);
		if (rc < 0)
			return rc;
	}
	if (tx ? end->tx != NULL : end->rx != NULL)
		return 0;
	if (!xos__chan_bound(end)) {
		/* Used before any binding: the host binds it between this end's ICF and itself. */
		if (xos__chan_host->bind_default)
			rc = xos__chan_host->bind_default(end);
		else
			rc = xos__chan_bind(end, "ring");
		if (rc < 0)
			return rc;
	}
	rc = adopt_pending(end);
	if (rc < 0)
		return rc;
	return (tx ? end->tx != NULL : end->rx != NULL) ? 0 : -EIO;
}

int xos__chan_switch_to(struct xos_chan *end, const struct xos__mech *m)
{
	struct xos__chan_path *p;
	int rc;

	if (end->remote)
		return -EOPNOTSUPP; /* one tcp path to another host: nothing to switch to */
	if (end->reserved || end->peeked)
		return -EBUSY;
	if (end->params.flags & XOS_CHAN_F_MULTI_PRODUCER && xos__chan_bound(end))
		return -EOPNOTSUPP; /* the writers' copies cannot all be told */
	if (!xos__chan_bound(end)) {
		rc = xos__chan_bind_to(end, m);
		return rc < 0 ? rc : 0;
	}
	/* Take in what the peer sent first, so both ends agree on the order of paths. */
	for (;;) {
		rc = xos__switch_poll(end);
		if (rc < 0)
			return rc;
		rc = xos__chan_lock(end);
		if (rc < 0)
			return rc;
		if (!xos__switch_pending(end))
			break;
		xos__chan_unlock(end);
	}
	rc = xos__chan_path_new(end, m, &p);
	xos__chan_unlock(end);
	if (rc < 0)
		return rc;
	if (end->can_tx) {
		rc = xos__switch_tx_to(end, p);
		if (rc < 0)
			return rc;
	}
	if (!end->rx && end->can_rx) {
		end->rx = p;
		xos__chan_rx_adopted(end);
	}
	return 0;
}
