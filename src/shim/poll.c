/* SPDX-License-Identifier: MIT */
/*
 * poll, ppoll, select and pselect over fds on rings and any other fds.
 *
 * A call that names no live ring fd goes to the kernel as it is.  Else:
 * the rings are looked at first (and, on 2+ CPUs, for a short spin); if
 * one is ready, one real ppoll with a zero timeout collects the kernel's
 * part (other fds, hang-ups, errors).  Otherwise the rings' read sides are
 * armed (ready.c) and the real ppoll sleeps on every kernel object with
 * the caller's timeout and signal mask, so signals, EINTR and timeouts
 * are the kernel's own.  Bells are dropped on the way out; a wake-up that
 * was only bells sleeps again for the time left.  select and pselect are
 * the same wait over a pollfd array built from the fd sets, with the
 * kernel's mapping of poll bits to the three sets.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

#include "ready.h"

#define POLL_RING_MAX 256 /* ring fds in one call (stack); more go back to the kernel */
#define POLL_SET_MAX 16   /* epoll sets of this process in one call, looked at */

struct pcall {
	struct pollfd *fds;
	nfds_t n;
	const sigset_t *mask;
	int nr;
	uint32_t idx[POLL_RING_MAX];
	short events[POLL_RING_MAX];
	struct shim_ready st[POLL_RING_MAX];
	bool leftover; /* a ring fd back on the kernel still has bytes in its ring */
	int nsets;
	uint32_t set_idx[POLL_SET_MAX]; /* entries that are epoll sets of this process */
};

/* An epoll set's readiness comes from its rings first (epoll.c). */
static bool sets_ready(struct pcall *c)
{
	for (int i = 0; i < c->nsets; i++) {
		struct pollfd *p = &c->fds[c->set_idx[i]];

		if ((p->events & SHIM_IN_BITS) && shim_epoll_readable(p->fd, 0))
			return true;
	}
	return false;
}

static bool rings_ready(void *arg)
{
	struct pcall *c = arg;

	if (c->nsets && sets_ready(c))
		return true;
	for (int i = 0; i < c->nr; i++) {
		struct shim_ready *s = &c->st[i];

		shim_ready_update(s);
		if (((c->events[i] & SHIM_IN_BITS) && s->readable) || ((c->events[i] & SHIM_OUT_BITS) && s->writable))
			return true;
	}
	return false;
}

/* How to wait before sleeping (ready.c), from the peers that write the
 * rings asked for input; spin if none is (output only). */
static enum shim_wait_how wait_how(struct pcall *c)
{
	enum shim_wait_how how = SHIM_WAIT_SLEEP;
	bool any = false;

	for (int i = 0; i < c->nr && how != SHIM_WAIT_SPIN; i++) {
		struct shim_ready *s = &c->st[i];
		enum shim_wait_how h;

		if (!(c->events[i] & SHIM_IN_BITS) || !s->rd)
			continue;
		any = true;
		h = shim_ready_how(s->rd, s->sock ? s->wr : NULL);
		if (h > how)
			how = h;
	}
	return any ? how : SHIM_WAIT_SPIN;
}

/* The read direction of the first ring asked for input that has bytes, or NULL. */
static struct shim_dir *woke_by(struct pcall *c)
{
	for (int i = 0; i < c->nr; i++) {
		struct shim_ready *s = &c->st[i];

		shim_ready_update(s);
		if ((c->events[i] & SHIM_IN_BITS) && s->rd && s->readable)
			return s->rd;
	}
	return NULL;
}

static bool out_blocked(struct pcall *c)
{
	for (int i = 0; i < c->nr; i++)
		if ((c->events[i] & SHIM_OUT_BITS) && c->st[i].wr && !c->st[i].writable)
			return true;
	return false;
}

static void arm(struct pcall *c, int delta)
{
	for (int i = 0; i < c->nr; i++)
		if ((c->events[i] & SHIM_IN_BITS) && c->st[i].rd)
			shim_ready_arm(c->st[i].rd, delta);
}

/* Every entry a ring fd whose other ends are all held: the rings alone
 * answer (no hang-up or error can be pending), without a system call. */
static int ring_pass(struct pcall *c)
{
	int count = 0;

	if ((nfds_t)c->nr != c->n || c->leftover)
		return -1;
	for (int i = 0; i < c->nr; i++)
		if (!shim_ready_quiet(&c->st[i]))
			return -1;
	for (int i = 0; i < c->nr; i++) {
		struct pollfd *p = &c->fds[c->idx[i]];

		p->revents = (short)shim_ready_revents(p->fd, &c->st[i], (uint16_t)c->events[i], 0);
		if (p->revents)
			count++;
	}
	return count;
}

/* Bells left pending by an earlier wake-up, on rings still empty: drop
 * them before sleeping, or the sleep would end at once. */
static void drop_stale_bells(struct pcall *c)
{
	for (int i = 0; i < c->nr; i++) {
		struct shim_ready *s = &c->st[i];

		if ((c->events[i] & SHIM_IN_BITS) && s->rd && atomic_load(&s->rd->bells) && !s->readable)
			shim_ready_drain(c->fds[c->idx[i]].fd, s->sock, s->rd);
	}
}

/* Bells pending that belong to readers asleep in read(): the kernel
 * object stays readable until they run. */
static bool bells_owed(struct pcall *c)
{
	for (int i = 0; i < c->nr; i++) {
		struct shim_dir *D = c->st[i].rd;

		if ((c->events[i] & SHIM_IN_BITS) && D && atomic_load(&D->bells) && shim_ready_bells_owed(D))
			return true;
	}
	return false;
}

/* One real ppoll over everything; the ring fds' revents from their rings. */
static int kernel_pass(struct pcall *c, const struct timespec *t)
{
	int rc, err, count = 0;

	for (int i = 0; i < c->nr; i++)
		c->fds[c->idx[i]].events = (short)shim_ready_kernel_events(&c->st[i], (uint16_t)c->events[i]);
	rc = REAL(ppoll)(c->fds, c->n, t, c->mask);
	err = errno;
	for (int i = 0; i < c->nr; i++) {
		struct pollfd *p = &c->fds[c->idx[i]];
		uint32_t k = rc > 0 ? (uint16_t)p->revents : 0;

		p->events = c->events[i];
		if (rc >= 0)
			p->revents = (short)shim_ready_revents(p->fd, &c->st[i], (uint16_t)c->events[i], k);
	}
	if (rc < 0) {
		errno = err;
		return -1;
	}
	for (int i = 0; i < c->nsets; i++) {
		struct pollfd *p = &c->fds[c->set_idx[i]];

		if (!(p->events & SHIM_IN_BITS) || (p->revents & POLLNVAL))
			continue;
		if (shim_epoll_readable(p->fd, rc > 0 ? (uint16_t)p->revents : 0))
			p->revents |= p->events & SHIM_IN_BITS;
		else
			p->revents &= ~SHIM_IN_BITS;
	}
	for (nfds_t i = 0; i < c->n; i++) {
		struct shim_fd *f;

		if (c->leftover && c->fds[i].fd >= 0 && (c->fds[i].events & POLLIN) &&
		    (f = shim_fd_get(c->fds[i].fd)) && f->ring && shim_ring_readable(f))
			c->fds[i].revents |= POLLIN;
		if (c->fds[i].revents)
			count++;
	}
	return count;
}

static int poll_core(struct pcall *c, const struct timespec *ts)
{
	static const struct timespec zero;
	int64_t deadline = shim_ready_deadline(ts), step = 0;
	bool now_only = deadline == 0 || (ts && ts->tv_sec == 0 && ts->tv_nsec == 0);
	uint64_t t_sleep;

	if (!now_only && !c->leftover && !rings_ready(c))
		shim_ready_spin(rings_ready, c, wait_how(c));
	for (;;) {
		struct timespec left, *wait = NULL;
		int rc;

		if (now_only || c->leftover || rings_ready(c)) {
			rc = c->leftover ? -1 : ring_pass(c);
			return rc > 0 ? rc : kernel_pass(c, &zero);
		}
		arm(c, 1);
		drop_stale_bells(c);
		if (rings_ready(c)) {
			arm(c, -1);
			continue;
		}
		if (deadline >= 0) {
			if (!shim_ready_left(deadline, &left))
				left = zero;
			wait = &left;
		}
		if (out_blocked(c)) {
			int64_t s = shim_ready_full_step(&step);

			if (!wait || (int64_t)left.tv_sec * 1000000000LL + left.tv_nsec > s) {
				left = (struct timespec){ s / 1000000000LL, s % 1000000000LL };
				wait = &left;
			}
		}
		t_sleep = shim_now_ns();
		shim_ready_sleeping(1);
		rc = kernel_pass(c, wait);
		shim_ready_sleeping(-1);
		{
			int err = errno;

			arm(c, -1);
			if (rc > 0)
				shim_ready_woke(woke_by(c), shim_now_ns() - t_sleep);
			errno = err;
		}
		if (rc != 0)
			return rc;
		if (deadline >= 0 && (int64_t)shim_now_ns() >= deadline)
			return 0;
		if (bells_owed(c))
			shim_ready_yield_to_sleepers();
	}
}

/* Which entries are ring fds; false if none (the kernel answers alone). */
static bool pcall_init(struct pcall *c, struct pollfd *fds, nfds_t n, const sigset_t *mask)
{
	c->fds = fds;
	c->n = n;
	c->mask = mask;
	c->nr = 0;
	c->nsets = 0;
	c->leftover = false;
	/* No getpid here (a system call): a vfork child's ring fds are its
	 * parent's open files, the same rings. */
	if (!shim.area || !shim.fd_hi || !fds || n > SHIM_FD_MAX * 16)
		return false; /* the kernel says EFAULT or EINVAL */
	for (nfds_t i = 0; i < n; i++) {
		struct shim_fd *f = shim_ready_fd(fds[i].fd, fds[i].events & ~SHIM_OUT_BITS);

		if (!f || !f->ring) {
			/* An epoll set of this process, its rings: looked at too. */
			if (!f && c->nsets < POLL_SET_MAX && shim_epoll_nested(fds[i].fd))
				c->set_idx[c->nsets++] = (uint32_t)i;
			continue;
		}
		if (c->nr == POLL_RING_MAX) {
			shim_ring_downgrade(fds[i].fd, f, "poll of too many ring fds at once", true);
		} else if (shim_ready_of(f, &c->st[c->nr])) {
			c->idx[c->nr] = (uint32_t)i;
			c->events[c->nr] = fds[i].events;
			c->nr++;
			continue;
		}
		/* Back on the kernel, bytes left in its ring (a socket's). */
		if (f->ring && shim_ring_readable(f))
			c->leftover = true;
	}
	return c->nr > 0 || c->leftover || c->nsets > 0;
}

static int do_poll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask, bool is_poll,
		   int ms)
{
	SHIM_ERRNO_SAVE;
	struct pcall call;
	int rc;

	if (!pcall_init(&call, fds, n, mask)) {
		SHIM_ERRNO_RESTORE();
		return is_poll ? REAL(poll)(fds, n, ms) : REAL(ppoll)(fds, n, ts, mask);
	}
	rc = poll_core(&call, ts);
	if (rc >= 0)
		SHIM_ERRNO_RESTORE();
	return rc;
}

SHIM_EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	struct timespec ts = { timeout / 1000, (timeout % 1000) * 1000000L };

	return do_poll(fds, n, timeout < 0 ? NULL : &ts, NULL, true, timeout);
}

SHIM_EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
	return do_poll(fds, n, ts, mask, false, 0);
}

/* The kernel's sets (fs/select.c): what each set reports. */
#define SEL_IN (POLLIN | POLLRDNORM | POLLRDBAND | POLLHUP | POLLERR)
#define SEL_OUT (POLLOUT | POLLWRNORM | POLLWRBAND | POLLERR)
#define SEL_EX (POLLPRI)

static bool sets_name_ring(int n, fd_set *r, fd_set *w, fd_set *e)
{
	if (!shim.area || !shim.fd_hi)
		return false;
	for (int fd = 0; fd < n && fd < shim.fd_hi && fd < FD_SETSIZE; fd++) {
		struct shim_fd *f;

		if (!((r && FD_ISSET(fd, r)) || (w && FD_ISSET(fd, w)) || (e && FD_ISSET(fd, e))))
			continue;
		if ((f = shim_ready_fd(fd, (r && FD_ISSET(fd, r)) || (e && FD_ISSET(fd, e)))) && f->ring)
			return true;
	}
	return false;
}

static int select_core(int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *ts, const sigset_t *mask)
{
	struct pollfd pf[FD_SETSIZE];
	struct pcall call;
	nfds_t np = 0;
	int rc, count = 0;

	if (n > FD_SETSIZE)
		n = FD_SETSIZE;
	for (int fd = 0; fd < n; fd++) {
		short ev = 0;

		if (r && FD_ISSET(fd, r))
			ev |= POLLIN | POLLRDNORM | POLLRDBAND;
		if (w && FD_ISSET(fd, w))
			ev |= POLLOUT | POLLWRNORM | POLLWRBAND;
		if (e && FD_ISSET(fd, e))
			ev |= POLLPRI;
		if (ev)
			pf[np++] = (struct pollfd){ .fd = fd, .events = ev };
	}
	pcall_init(&call, pf, np, mask);
	rc = poll_core(&call, ts);
	if (rc < 0)
		return -1;
	for (nfds_t i = 0; i < np; i++) {
		if (pf[i].revents & POLLNVAL) {
			errno = EBADF;
			return -1;
		}
	}
	for (nfds_t i = 0; i < np; i++) {
		int fd = pf[i].fd;
		short ev = pf[i].events, re = pf[i].revents;

		if (r && FD_ISSET(fd, r) && !(re & SEL_IN))
			FD_CLR(fd, r);
		else if (r && FD_ISSET(fd, r))
			count++;
		if (w && FD_ISSET(fd, w) && !(re & SEL_OUT))
			FD_CLR(fd, w);
		else if (w && FD_ISSET(fd, w))
			count++;
		if (e && FD_ISSET(fd, e) && !(re & SEL_EX))
			FD_CLR(fd, e);
		else if (e && FD_ISSET(fd, e))
			count++;
		(void)ev;
	}
	return count;
}

SHIM_EXPORT int select(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
	SHIM_ERRNO_SAVE;
	struct timespec ts;
	int64_t deadline;
	int rc;

	if (n < 0 || n > FD_SETSIZE || !sets_name_ring(n, r, w, e) ||
	    (tv && (tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= 1000000)))
		return REAL(select)(n, r, w, e, tv);
	if (tv)
		ts = (struct timespec){ tv->tv_sec, tv->tv_usec * 1000 };
	deadline = shim_ready_deadline(tv ? &ts : NULL);
	rc = select_core(n, r, w, e, tv ? &ts : NULL, NULL);
	if (tv) {
		/* Linux writes the time left back. */
		struct timespec left;

		shim_ready_left(deadline, &left);
		tv->tv_sec = left.tv_sec;
		tv->tv_usec = left.tv_nsec / 1000;
	}
	if (rc >= 0)
		SHIM_ERRNO_RESTORE();
	return rc;
}

SHIM_EXPORT int pselect(int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *ts, const sigset_t *mask)
{
	SHIM_ERRNO_SAVE;
	int rc;

	if (n < 0 || n > FD_SETSIZE || !sets_name_ring(n, r, w, e) ||
	    (ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L)))
		return REAL(pselect)(n, r, w, e, ts, mask);
	rc = select_core(n, r, w, e, ts, mask);
	if (rc >= 0)
		SHIM_ERRNO_RESTORE();
	return rc;
}

/* The _FORTIFY_SOURCE entry points: the same calls, with the array's size checked. */
int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen);
int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask, size_t fdslen);

SHIM_EXPORT int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen)
{
	if (fdslen / sizeof(*fds) < n)
		abort();
	return poll(fds, n, timeout);
}

SHIM_EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask,
			    size_t fdslen)
{
	if (fdslen / sizeof(*fds) < n)
		abort();
	return ppoll(fds, n, ts, mask);
}
