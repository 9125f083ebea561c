/* SPDX-License-Identifier: MIT */
/*
 * The generic channel layer: ends, framing, message and stream semantics,
 * blocking and non-blocking operation, the pollable descriptor, zero-copy
 * emulation for byte-stream mechanisms, close/EOF/EPIPE, statistics, and
 * the bookkeeping of which ends live in this process (forget/detach when
 * an EF moves to another process).
 *
 * An end is used by one flow of control at a time.
 */
#include "config.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "chan_i.h"

int xos__chan_mech_kernel(const char *name)
{
	const struct xos__mech *m = xos__mech_find(name);

	return m ? m->kernel : -ENOENT;
}

/* ---- the ends alive in this process ------------------------------------- */

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct xos_chan *reg_head;
static pthread_once_t reg_once = PTHREAD_ONCE_INIT;

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
static bool hold_drop(uint64_t ef_id, const struct xos_chan *end, bool all)
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

static void reg_atfork(void)
{
	pthread_atfork(reg_prefork, reg_postfork, reg_postfork);
}

static void reg_add(struct xos_chan *end)
{
	pthread_once(&reg_once, reg_atfork);
	pthread_mutex_lock(&reg_lock);
	end->reg_prev = NULL;
	end->reg_next = reg_head;
	if (reg_head)
		reg_head->reg_prev = end;
	reg_head = end;
	pthread_mutex_unlock(&reg_lock);
}

/* Caller holds reg_lock. */
static void reg_del_locked(struct xos_chan *end)
{
	if (end->reg_prev)
		end->reg_prev->reg_next = end->reg_next;
	else if (reg_head == end)
		reg_head = end->reg_next;
	if (end->reg_next)
		end->reg_next->reg_prev = end->reg_prev;
	end->reg_prev = end->reg_next = NULL;
}

bool xos__chan_valid(const struct xos_chan *end)
{
	return end && end->magic == XOS_CHAN_MAGIC && !end->parked;
}

/* ---- small helpers ------------------------------------------------------ */

void xos__close_fds(int *fds, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

static size_t round_pow2(size_t v)
{
	size_t p = XOS_CHAN_CAP_MIN;

	while (p < v)
		p <<= 1;
	return p;
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

#define MP_WORD_PAGE 4096u

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
	syscall(SYS_futex, (uint32_t *)&end->ctl->lock, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
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
		syscall(SYS_futex, (uint32_t *)lw, FUTEX_WAIT, w | CTL_LOCK_WAITERS, &tick, NULL, 0);
	}
}

void xos__chan_unlock(struct xos_chan *end)
{
	uint32_t w = atomic_exchange_explicit(&end->ctl->lock, 0, memory_order_release);

	if (w & CTL_LOCK_WAITERS)
		syscall(SYS_futex, (uint32_t *)&end->ctl->lock, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/*
 * A futex mutex (0 free, 1 held, 2 held with waiters) on a shared page of
 * end 0's own, inherited by every writing process and unmapped by every
 * other (an end forgotten in a new process goes with its page), so it
 * serialises writers in every process while the reader, which shares only
 * the control block, cannot take it from them.  A writer that dies holding
 * it blocks the others: multi-producer writers trust each other.
 */
void xos__chan_mp_lock(struct xos_chan *end)
{
	_Atomic uint32_t *w = end->mp_word;
	uint32_t c = 0;

	if (atomic_compare_exchange_strong_explicit(w, &c, 1, memory_order_acquire, memory_order_relaxed))
		return;
	if (c != 2)
		c = atomic_exchange_explicit(w, 2, memory_order_acquire);
	while (c != 0) {
		syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT, 2, NULL, NULL, 0);
		c = atomic_exchange_explicit(w, 2, memory_order_acquire);
	}
}

void xos__chan_mp_unlock(struct xos_chan *end)
{
	_Atomic uint32_t *w = end->mp_word;

	if (atomic_exchange_explicit(w, 0, memory_order_release) == 2)
		syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE, 1, NULL, NULL, 0);
}

void xos__chan_mp_share(struct xos_chan *end, bool same_process)
{
	if (!end->mp)
		return;
	if (same_process)
		end->users++;
	else
		atomic_fetch_add(&end->ctl->writers, 1);
}

/* ---- paths ---------------------------------------------------------------- */

static void path_free(struct xos__chan_path *p)
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
			path_free(p);
			return -ENOMEM;
		}
		if (end->can_rx) {
			p->rcap = 2 * (XOS_FRAME_HDR + end->params.max_msg) + 65536;
			p->rbuf = malloc(p->rcap);
		}
		if (!p->stage || (end->can_rx && !p->rbuf)) {
			path_free(p);
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
			path_free(p);
		} else {
			link = &p->next;
		}
	}
}

/* ---- poll ----------------------------------------------------------------- */

void xos__chan_rx_adopted(struct xos_chan *end)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int fd;

	if (end->epfd < 0 || !end->rx)
		return;
	fd = end->rx->ops->rx_fd(end->rx->st);
	if (end->ep_rx_fd >= 0 && end->ep_rx_fd != fd)
		epoll_ctl(end->epfd, EPOLL_CTL_DEL, end->ep_rx_fd, NULL);
	if (end->ep_rx_fd != fd) {
		ev.data.fd = fd;
		epoll_ctl(end->epfd, EPOLL_CTL_ADD, fd, &ev);
		end->ep_rx_fd = fd;
	}
	if (end->ep_ctl_in) {
		/* From now on the control socket only says whether the peer is gone. */
		ev.events = EPOLLRDHUP;
		ev.data.fd = end->link.ctl_sock;
		epoll_ctl(end->epfd, EPOLL_CTL_MOD, end->link.ctl_sock, &ev);
		end->ep_ctl_in = false;
	}
	if (end->rx->ops->poll_arm)
		end->rx->ops->poll_arm(end->rx->st);
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
static int ensure_path(struct xos_chan *end, bool tx)
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

static int stream_flush(struct xos__chan_path *p, bool nonblock);

/* ---- open / close ----------------------------------------------------------- */

void xos_chan_attr_init(struct xos_chan_attr *attr)
{
	if (attr)
		*attr = (struct xos_chan_attr){ 0 };
}

static void end_release_local(struct xos_chan *end)
{
	while (end->paths) {
		struct xos__chan_path *p = end->paths;

		end->paths = p->next;
		path_free(p);
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
static void end_free(struct xos_chan *end)
{
	struct xos_chan *peer;
	bool last;

	if (end->mp)
		hold_drop(0, end, true);
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
	end_release_local(end);
	end_free(end);
}

/* The mechanism the operator forces on every channel (the host knows), or NULL. */
static int read_forced(const char **ret)
{
	*ret = NULL;
	return xos__chan_host->forced_mech ? xos__chan_host->forced_mech(ret) : 0;
}

int xos_chan_open(struct xos_chan *ret_ends[2], const struct xos_chan_attr *attr)
{
	static const struct xos_chan_attr defaults;
	const struct xos__mech *forced = NULL;
	const char *env;
	struct xos__chan_ctl *ctl;
	struct xos_chan *ends[2] = { NULL, NULL };
	int sv[2], rc;

	if (!ret_ends)
		return -EINVAL;
	if (!attr)
		attr = &defaults;
	if (attr->flags & ~(unsigned int)(XOS_CHAN_F_BIDIR | XOS_CHAN_F_STREAM | XOS_CHAN_F_NONBLOCK |
					  XOS_CHAN_F_MULTI_PRODUCER))
		return -EINVAL;
	for (size_t i = 0; i < XOS_ARRAY_SIZE(attr->reserved); i++)
		if (attr->reserved[i])
			return -EINVAL;
	if (attr->capacity && (attr->capacity < XOS_CHAN_CAP_MIN || attr->capacity > XOS_CHAN_CAP_MAX))
		return -EINVAL;
	if (attr->name && strlen(attr->name) >= XOS_CHAN_NAME_MAX)
		return -ENAMETOOLONG;
	/* The host registers the mechanisms: before any is looked up. */
	rc = xos__chan_host->init ? xos__chan_host->init() : 0;
	if (rc < 0)
		return rc;
	if (attr->mechanism) {
		forced = xos__mech_find(attr->mechanism);
		if (!forced)
			return -ENOENT;
	}
	if ((attr->flags & XOS_CHAN_F_MULTI_PRODUCER) && (attr->flags & XOS_CHAN_F_BIDIR))
		return -EINVAL; /* several producers, but one consumer */
	if (!forced) {
		rc = read_forced(&env);
		if (rc < 0)
			return rc;
		forced = xos__mech_find(env);
	}

	ctl = mmap(NULL, sizeof(*ctl), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ctl == MAP_FAILED)
		return -errno;
	ctl->magic = XOS_CHAN_MAGIC;
	ctl->cpu[0] = ctl->cpu[1] = -1;
	ctl->writers = 1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		rc = -errno;
		munmap(ctl, sizeof(*ctl));
		return rc;
	}
	for (int i = 0; i < 2; i++) {
		struct xos_chan *e = calloc(1, sizeof(*e));

		if (!e) {
			free(ends[0]);
			close(sv[0]);
			close(sv[1]);
			munmap(ctl, sizeof(*ctl));
			return -ENOMEM;
		}
		ends[i] = e;
	}
	for (int i = 0; i < 2; i++) {
		struct xos_chan *e = ends[i];
		size_t cap = round_pow2(attr->capacity ? attr->capacity : XOS_CHAN_CAP_DEFAULT);

		e->magic = XOS_CHAN_MAGIC;
		e->idx = i;
		e->ctl = ctl;
		e->link = (struct xos_mech_link){ .ctl = ctl, .idx = i, .ctl_sock = sv[i] };
		e->params = (struct xos_mech_params){
			.flags = attr->flags,
			.dirs = (attr->flags & XOS_CHAN_F_BIDIR) ? 2 : 1,
			.capacity = cap,
			.max_msg = attr->max_msg ? attr->max_msg : cap / 4,
		};
		snprintf(e->name, sizeof(e->name), "%s", attr->name ? attr->name : "chan");
		e->can_tx = i == 0 || (attr->flags & XOS_CHAN_F_BIDIR);
		e->can_rx = i == 1 || (attr->flags & XOS_CHAN_F_BIDIR);
		e->nonblock = attr->flags & XOS_CHAN_F_NONBLOCK;
		e->stream = attr->flags & XOS_CHAN_F_STREAM;
		e->mp = i == 0 && (attr->flags & XOS_CHAN_F_MULTI_PRODUCER);
		e->users = 1;
		e->epfd = e->ep_rx_fd = -1;
		e->peer = ends[!i];
		snprintf(ctl->icf[i], sizeof(ctl->icf[i]), "%s", xos__chan_host_icf());
	}
	if (ends[0]->params.max_msg > ends[0]->params.capacity / 4) {
		rc = -EINVAL;
		goto fail;
	}
	if (ends[0]->mp) {
		/* The writers' lock, on a page of its own: the reader's process never maps it. */
		void *w = mmap(NULL, MP_WORD_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

		if (w == MAP_FAILED) {
			rc = -errno;
			goto fail;
		}
		ends[0]->mp_word = w;
	}
	if (forced) {
		rc = xos__chan_bind_to(ends[0], forced);
		if (rc < 0)
			goto fail;
		xos__chan_log(XOS__CHAN_LOG_EXPLAIN, "chan \"%s\" (%s <-> %s, at open) -> %s: forced (%s=%s)",
			      ends[0]->name, xos__chan_host_icf(), xos__chan_host_icf(), forced->name,
			      attr->mechanism ? "attr.mechanism" : "XOS_CHAN", forced->name);
	}
	reg_add(ends[0]);
	reg_add(ends[1]);
	ret_ends[0] = ends[0];
	ret_ends[1] = ends[1];
	return 0;
fail:
	end_release_local(ends[0]);
	end_release_local(ends[1]);
	if (ends[0]->mp_word)
		munmap((void *)ends[0]->mp_word, MP_WORD_PAGE);
	free(ends[0]);
	free(ends[1]);
	munmap(ctl, sizeof(*ctl));
	return rc;
}

int xos_chan_close(struct xos_chan *end)
{
	bool last = true;

	if (!xos__chan_valid(end))
		return -EINVAL;
	if (end->mp && xos__chan_host->ef_id) {
		uint64_t ef_id = xos__chan_host->ef_id();

		if (ef_id)
			hold_drop(ef_id, end, false); /* its EF closed it: nothing to do at its end */
	}
	if (end->mp) {
		/* Other flows of this process still use this end: only count it. */
		xos__chan_mp_lock(end);
		if (--end->users > 0) {
			xos__chan_mp_unlock(end);
			return 0;
		}
		if (end->tx && end->tx->pend_len)
			(void)stream_flush(end->tx, false);
		xos__chan_mp_unlock(end);
		/* The reader sees EOF when the last writing process closes. */
		last = atomic_fetch_sub(&end->ctl->writers, 1) == 1;
	} else if (end->tx && end->tx->pend_len) {
		/* What a non-blocking send left half-way goes out before the EOF. */
		(void)stream_flush(end->tx, false);
	}
	if (last) {
		atomic_store_explicit(&end->ctl->closed[end->idx], 1, memory_order_release);
		for (struct xos__chan_path *p = end->paths; p; p = p->next)
			if (p->ops->closing)
				p->ops->closing(p->st);
	}
	pthread_mutex_lock(&reg_lock);
	reg_del_locked(end);
	pthread_mutex_unlock(&reg_lock);
	end_release_local(end);
	end_free(end);
	return 0;
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
			end->users = 1; /* the flows that shared it stayed behind */
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
			hold_drop(ef_id, ends[i], false);
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
		end_release_local(end);
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
			end_free(end);
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
	reg_add(end);
}

/* Drop what a failed rebuild left on a parked end. */
void xos__chan_release_local(struct xos_chan *end)
{
	end_release_local(end);
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

/* ---- sending ------------------------------------------------------------------ */

/*
 * Push out the rest of a frame a non-blocking send left behind.  Returns
 * 0 when nothing is pending any more, -EAGAIN (only if @nonblock) or -errno.
 */
static int stream_flush(struct xos__chan_path *p, bool nonblock)
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

/*
 * Write one frame (all of @iov) on a stream path.  A frame once started
 * is finished: when a non-blocking write stops half-way, the rest is kept
 * and pushed out before the next frame (or by close or a switch).
 */
static ssize_t stream_write_frame(struct xos__chan_path *p, struct iovec *iov, int n, size_t total,
				  bool nonblock)
{
	size_t done = 0;
	int rc = stream_flush(p, nonblock);

	if (rc < 0)
		return rc;
	while (done < total) {
		ssize_t w = p->ops->writev(p->st, iov, n, true);

		if (w == -EAGAIN) {
			if (done == 0 && nonblock)
				return -EAGAIN;
			if (nonblock && total - done <= p->stage_len) {
				size_t off = 0;

				for (int i = 0; i < n; i++) {
					memcpy(p->pend + off, iov[i].iov_base, iov[i].iov_len);
					off += iov[i].iov_len;
				}
				p->pend_off = 0;
				p->pend_len = off;
				return (ssize_t)total;
			}
			rc = p->ops->wait_writable(p->st);
			if (rc < 0)
				return rc;
			continue;
		}
		if (w < 0)
			return w;
		done += (size_t)w;
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return (ssize_t)total;
}

ssize_t xos__chan_tx_frame(struct xos_chan *end, uint32_t type, const void *buf, size_t len,
			   bool nonblock)
{
	struct xos__chan_path *p = end->tx;
	ssize_t rc;

	if (p->ops->writev) {
		struct xos__frame_hdr h = { .len = (uint32_t)len, .type = type };
		struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)buf, len } };

		rc = stream_write_frame(p, iov, len ? 2 : 1, sizeof(h) + len, nonblock);
		return rc < 0 ? rc : (ssize_t)len;
	} else {
		void *dst;

		rc = p->ops->tx_reserve(p->st, len, &dst, nonblock);
		if (rc < 0)
			return rc;
		memcpy(dst, buf, len);
		rc = p->ops->tx_commit(p->st, len, type);
		return rc < 0 ? rc : (ssize_t)len;
	}
}

static int tx_prepare(struct xos_chan *end)
{
	int rc;

	if (!xos__chan_valid(end))
		return -EINVAL;
	if (!end->can_tx)
		return -EBADF;
	if (end->reserved)
		return -EBUSY;
	if (!end->tx || xos__switch_pending(end)) {
		rc = ensure_path(end, true);
		if (rc < 0)
			return rc;
	}
	if (end->tx_broken || atomic_load_explicit(&end->ctl->closed[!end->idx], memory_order_relaxed))
		return -EPIPE;
	return 0;
}

static ssize_t chan_send(struct xos_chan *end, const void *buf, size_t len);

ssize_t xos_chan_send(struct xos_chan *end, const void *buf, size_t len)
{
	ssize_t rc;

	if (!xos__chan_valid(end))
		return -EINVAL;
	if (xos__chan_host->safe_point)
		xos__chan_host->safe_point(); /* mutate/dump may happen here (xos_ef_yield) */
	if (!end->mp)
		return chan_send(end, buf, len);
	xos__chan_mp_lock(end);
	rc = chan_send(end, buf, len);
	xos__chan_mp_unlock(end);
	return rc;
}

static ssize_t chan_send(struct xos_chan *end, const void *buf, size_t len)
{
	ssize_t rc = tx_prepare(end);

	if (rc < 0)
		return rc;
	if (!buf && len)
		return -EINVAL;
	if (len > end->params.max_msg)
		return -EMSGSIZE;
	if (len == 0 && end->stream)
		return 0;
	/* Several writers: a frame is finished by the one who started it. */
	rc = xos__chan_tx_frame(end, XOS_FRAME_DATA, buf, len, end->nonblock && !(end->mp && end->tx->ops->writev));
	if (rc < 0) {
		end->tx_broken |= rc == -EPIPE;
		return rc;
	}
	end->tx_seq++;
	end->stats.msgs_sent++;
	end->stats.bytes_sent += len;
	return rc;
}

static int chan_reserve(struct xos_chan *end, size_t len, void **ret_buf);

int xos_chan_reserve(struct xos_chan *end, size_t len, void **ret_buf)
{
	int rc;

	if (!xos__chan_valid(end))
		return -EINVAL;
	if (!end->mp)
		return chan_reserve(end, len, ret_buf);
	/* Held until commit: the reservation is this writer's alone. */
	xos__chan_mp_lock(end);
	rc = chan_reserve(end, len, ret_buf);
	if (rc < 0)
		xos__chan_mp_unlock(end);
	return rc;
}

static int chan_reserve(struct xos_chan *end, size_t len, void **ret_buf)
{
	struct xos__chan_path *p;
	int rc = tx_prepare(end);

	if (rc < 0)
		return rc;
	if (!ret_buf || len == 0)
		return -EINVAL;
	if (len > end->params.max_msg)
		return -EMSGSIZE;
	p = end->tx;
	if (p->ops->tx_reserve) {
		rc = p->ops->tx_reserve(p->st, len, ret_buf, end->nonblock);
		if (rc < 0) {
			end->tx_broken |= rc == -EPIPE;
			return rc;
		}
	} else {
		*ret_buf = p->stage + XOS_FRAME_HDR;
	}
	end->reserved = true;
	end->resv_len = len;
	return 0;
}

static int chan_commit(struct xos_chan *end, size_t len);

int xos_chan_commit(struct xos_chan *end, size_t len)
{
	int rc;

	if (!xos__chan_valid(end))
		return -EINVAL;
	if (!end->mp || !end->reserved)
		return chan_commit(end, len);
	rc = chan_commit(end, len);
	if (!end->reserved)
		xos__chan_mp_unlock(end);
	return rc;
}

static int chan_commit(struct xos_chan *end, size_t len)
{
	struct xos__chan_path *p;
	ssize_t rc;

	if (!xos__chan_valid(end))
		return -EINVAL;
	if (!end->reserved)
		return -EINVAL;
	if (len > end->resv_len)
		return -EINVAL;
	p = end->tx;
	end->reserved = false;
	if (len == 0) {
		if (p->ops->tx_commit)
			p->ops->tx_commit(p->st, 0, 0);
		return 0;
	}
	if (p->ops->tx_commit) {
		rc = p->ops->tx_commit(p->st, len, XOS_FRAME_DATA);
	} else {
		struct xos__frame_hdr h = { .len = (uint32_t)len, .type = XOS_FRAME_DATA };
		struct iovec iov[1] = { { p->stage, XOS_FRAME_HDR + len } };

		memcpy(p->stage, &h, sizeof(h));
		rc = stream_write_frame(p, iov, 1, XOS_FRAME_HDR + len, false);
	}
	if (rc < 0) {
		end->tx_broken |= rc == -EPIPE;
		return (int)rc;
	}
	end->tx_seq++;
	end->stats.msgs_sent++;
	end->stats.bytes_sent += len;
	return 0;
}

/* ---- receiving ------------------------------------------------------------------ */

/* The frame at the cursor of a stream path: 1, 0 at EOF, -errno. */
static int stream_peek(struct xos_chan *end, struct xos__chan_path *p, struct xos_mech_frame *f,
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

static int path_peek(struct xos_chan *end, struct xos__chan_path *p, struct xos_mech_frame *f,
		     bool nonblock)
{
	if (p->ops->rx_peek)
		return p->ops->rx_peek(p->st, f, nonblock);
	return stream_peek(end, p, f, nonblock);
}

static void path_advance(struct xos__chan_path *p)
{
	if (p->ops->rx_advance) {
		p->ops->rx_advance(p->st);
	} else {
		p->rstart += p->rcur;
		p->rcur = 0;
	}
}

int xos__chan_path_release(struct xos__chan_path *p)
{
	if (p->ops->rx_release)
		return p->ops->rx_release(p->st);
	p->rrel = p->rstart;
	if (p->rrel == p->rend)
		p->rrel = p->rstart = p->rend = 0;
	free(p->rbuf_old);
	p->rbuf_old = NULL;
	return 0;
}

void xos__chan_path_advance(struct xos__chan_path *p)
{
	path_advance(p);
}

/* The next DATA frame at the end's cursor, following switch markers: 1, 0 at EOF, -errno. */
static int rx_next_(struct xos_chan *end, bool nonblock);

static int rx_next(struct xos_chan *end, bool nonblock)
{
	int rc;

	if (end->rx_broken)
		return -EPROTO;
	rc = rx_next_(end, nonblock);
	end->rx_broken |= rc == -EPROTO;
	return rc;
}

static int rx_next_(struct xos_chan *end, bool nonblock)
{
	int rc;

	if (end->peeked)
		return 1;
	for (;;) {
		if (!end->rx || xos__switch_pending(end)) {
			rc = ensure_path(end, false);
			if (rc < 0)
				return rc;
		}
		rc = path_peek(end, end->rx, &end->view, nonblock);
		if (rc <= 0)
			return rc;
		if (end->view.type == XOS_FRAME_DATA) {
			end->peeked = true;
			end->view_off = 0;
			return 1;
		}
		if (end->view.type != XOS_FRAME_SWITCH)
			return -EPROTO;
		rc = xos__switch_rx_marker(end, &end->view);
		if (rc < 0)
			return rc;
	}
}

static int rx_check(struct xos_chan *end)
{
	if (!xos__chan_valid(end))
		return -EINVAL;
	if (!end->can_rx)
		return -EBADF;
	return 0;
}

ssize_t xos_chan_recv(struct xos_chan *end, void *buf, size_t len)
{
	size_t got = 0;
	int rc;

	if (xos__chan_host->safe_point)
		xos__chan_host->safe_point(); /* mutate/dump may happen here (xos_ef_yield) */
	rc = rx_check(end);

	if (rc < 0)
		return rc;
	if (!buf && len)
		return -EINVAL;
	for (;;) {
		size_t n;

		rc = rx_next(end, end->nonblock || got > 0);
		if (rc <= 0) {
			if (got > 0)
				break;
			return rc;
		}
		n = end->view.len - end->view_off;
		if (!end->stream) {
			if (n > len)
				return -EMSGSIZE;
			memcpy(buf, end->view.data, n);
			got = n;
		} else {
			if (n > len - got)
				n = len - got;
			memcpy((char *)buf + got, end->view.data + end->view_off, n);
			got += n;
			end->view_off += n;
			end->stats.bytes_received += n;
			if (end->view_off < end->view.len)
				break;
		}
		path_advance(end->rx);
		end->peeked = false;
		end->rx_seq++;
		end->stats.msgs_received++;
		if (!end->unreleased) {
			xos__chan_path_release(end->rx);
			if (end->paths != end->rx || end->rx->next)
				xos__chan_paths_gc(end);
		}
		if (!end->stream) {
			end->stats.bytes_received += got;
			break;
		}
		if (got == len)
			break;
	}
	return (ssize_t)got;
}

ssize_t xos_chan_peek(struct xos_chan *end, const void **ret_buf)
{
	int rc = rx_check(end);

	if (rc < 0)
		return rc;
	if (!ret_buf)
		return -EINVAL;
	rc = rx_next(end, end->nonblock);
	if (rc <= 0)
		return rc;
	*ret_buf = end->view.data + end->view_off;
	return (ssize_t)(end->view.len - end->view_off);
}

int xos_chan_consume(struct xos_chan *end, size_t len)
{
	int rc = rx_check(end);
	size_t left;

	if (rc < 0)
		return rc;
	if (!end->peeked)
		return -EINVAL;
	left = end->view.len - end->view_off;
	if (len > left || (!end->stream && len != left) || len == 0)
		return -EINVAL;
	end->view_off += len;
	end->stats.bytes_received += len;
	if (end->view_off < end->view.len)
		return 0;
	path_advance(end->rx);
	end->unreleased += end->view.len + XOS_FRAME_HDR;
	end->peeked = false;
	end->rx_seq++;
	end->stats.msgs_received++;
	return 0;
}

int xos_chan_release(struct xos_chan *end)
{
	int rc = rx_check(end);

	if (rc < 0)
		return rc;
	for (struct xos__chan_path *p = end->paths; p; p = p->next)
		if (!p->rx_left || p == end->rx)
			xos__chan_path_release(p);
	end->unreleased = 0;
	xos__chan_paths_gc(end);
	return 0;
}

/* ---- poll, modes, getters -------------------------------------------------------- */

int xos_chan_fd(struct xos_chan *end)
{
	struct epoll_event ev;
	int rc = rx_check(end);

	if (rc < 0)
		return rc;
	if (end->epfd >= 0)
		return end->epfd;
	end->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (end->epfd < 0)
		return -errno;
	/* Until a path exists, the control socket says when one arrives. */
	ev.events = EPOLLIN | EPOLLRDHUP;
	ev.data.fd = end->link.ctl_sock;
	if (epoll_ctl(end->epfd, EPOLL_CTL_ADD, end->link.ctl_sock, &ev) < 0) {
		rc = -errno;
		close(end->epfd);
		end->epfd = -1;
		return rc;
	}
	end->ep_ctl_in = true;
	if (end->rx)
		xos__chan_rx_adopted(end);
	return end->epfd;
}

int xos_chan_set_nonblock(struct xos_chan *end, bool nonblock)
{
	if (!xos__chan_valid(end))
		return -EINVAL;
	end->nonblock = nonblock;
	return 0;
}

const char *xos_chan_mechanism(const struct xos_chan *end)
{
	const struct xos__mech *m;
	char name[XOS_CHAN_MECH_MAX];

	if (!xos__chan_valid(end))
		return "";
	if (end->tx)
		return end->tx->mech->name;
	if (end->rx)
		return end->rx->mech->name;
	if (!xos__chan_bound(end))
		return "";
	memcpy(name, end->ctl->mech, sizeof(name));
	name[sizeof(name) - 1] = '\0';
	m = xos__mech_find(name);
	return m ? m->name : "";
}

const char *xos_chan_name(const struct xos_chan *end)
{
	return xos__chan_valid(end) ? end->name : "";
}

int xos_chan_stats(const struct xos_chan *end, struct xos_chan_stats *ret_stats)
{
	if (!xos__chan_valid(end) || !ret_stats)
		return -EINVAL;
	*ret_stats = end->stats;
	return 0;
}

int xos_chan_switch(struct xos_chan *end, const char *mechanism)
{
	const struct xos__mech *m;
	int rc;

	if (!xos__chan_valid(end) || !mechanism)
		return -EINVAL;
	m = xos__mech_find(mechanism);
	if (!m)
		return -ENOENT;
	rc = xos__chan_switch_to(end, m);
	if (rc >= 0)
		xos__chan_log(XOS__CHAN_LOG_EXPLAIN, "chan \"%s\" -> %s: xos_chan_switch() by end %d",
			      end->name, m->name, end->idx);
	return rc;
}

int xos__chan_switch_to(struct xos_chan *end, const struct xos__mech *m)
{
	struct xos__chan_path *p;
	int rc;

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
