/* SPDX-License-Identifier: MIT */
/*
 * epoll over fds on rings, next to any other fd of the epoll set.
 *
 * The kernel's epoll set holds every fd as the program asked, except that
 * a ring fd is registered for what its kernel object can tell (input:
 * bells and end of stream; hang-ups, errors), never for output (the
 * ring's), and with the address of the shim's own registration record as
 * its data.  The record keeps the program's events and data, and the
 * ring fd it stands for (its channel end and ring generation: epoll
 * follows open files, not fd numbers).  epoll_wait:
 *  - looks at the rings of the set first (sets of up to PRECHECK_MAX ring
 *    fds), and spins briefly on 2+ CPUs before sleeping;
 *  - arms the read side of every ring wanted for input (ready.c), looks
 *    at the rings once more, and sleeps in the real epoll_pwait2 with the
 *    caller's timeout and mask; disarms on waking.  A writer rings a bell
 *    only while its reader may sleep in the kernel: a server and its
 *    clients that keep each other busy exchange no system call at all;
 *  - (a set that something else waits on: the set inside another epoll
 *    set, or in poll or select, or larger than PRECHECK_MAX) its
 *    registrations wanting input arm their rings for as long as they
 *    exist, so that a bell is pending whenever bytes wait there;
 *  - turns each event of a ring fd into the program's event from the ring
 *    (dropping bell-only wake-ups, sleeping again for the time left), and
 *    merges the kernel's bits (hang-up, error) into what the rings said.
 * Edge-triggered: an edge is new bytes since the last report (the write
 * cursor moved), output becoming possible after the ring was full, or an
 * edge of the kernel object (end of stream, hang-up); bells of an
 * edge-triggered registration are drained when reported, so the next
 * write rings again.  EPOLLONESHOT: a reported registration is off until
 * EPOLL_CTL_MOD.  The records are this process's: a fork child inherits
 * them (and arms its copies), an exec converts every registration back to
 * the program's own data first.
 */
#include "config.h"

#include <dlfcn.h>
#include <limits.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>

#include "ready.h"

#define EP_MAX 16384
#define PRECHECK_MAX 256 /* larger sets rely on the bells alone */
#define HOW_MAX 16       /* peers asked how to wait */
/* A set with kernel fds: the kernel is asked at least this often while
 * the rings alone have events to return (rings_first). */
#define ASK_EVERY_NS 200000
#define ASK_SKIPS 64
#define EP_FLAGS (EPOLLET | EPOLLONESHOT | EPOLLEXCLUSIVE | EPOLLWAKEUP)

struct ep_reg {
	int32_t epfd;
	int32_t fd;
	int32_t next;         /* next of the same epfd, -1 */
	uint32_t events;      /* the program's */
	epoll_data_t data;    /* the program's */
	struct shim_fd fc;    /* the ring fd as it was registered */
	uint64_t seen;        /* edge-triggered: write cursor last reported */
	uint32_t stamp;       /* the wait call that reported it */
	int32_t slot;         /* where, in that call's array */
	uint8_t used, armed, off, out_edge;
	uint8_t native;       /* its fd went back to the kernel: registered as asked */
	uint8_t pend;         /* registered (as asked) while its fd was connecting */
	uint32_t kmask;       /* the events the kernel's registration holds */
	uint8_t gone;         /* deleted by the program, kept in the kernel's set (lazy) */
	uint8_t exact;        /* the kernel holds only what the program asks for */
	uint8_t nest;         /* fd is another epoll set of this process (no ring) */
	uint8_t late;         /* made or changed while a thread slept on the set */
};

static struct ep_reg ep[EP_MAX];
static int32_t ep_first[SHIM_FD_MAX]; /* per epfd: first record + 1 */
static uint32_t ep_hint, ep_stamp;
static int32_t ep_start[SHIM_FD_MAX]; /* per epfd: where the next look starts + 1 */
/* Per epfd made here: registrations of other fds than ring fds (+1; 0: an
 * epfd this process did not see made, whose set it does not know). */
static int32_t ep_foreign[SHIM_FD_MAX];
static uint32_t ep_skips[SHIM_FD_MAX];
/* Per epfd: when its kernel set was last asked (shim_now_ns). */
static uint64_t ep_asked[SHIM_FD_MAX];
static uint16_t ep_fdrefs[SHIM_FD_MAX]; /* per fd: its records */
static uint16_t ep_gone[SHIM_FD_MAX];   /* per fd: its records deleted by the program */
/* Per epfd: the set existed at a fork, so another process may wait on it
 * (with its own copies of the records): deletions go to the kernel. */
static uint8_t ep_shared[SHIM_FD_MAX];
/* Per epfd: the set is waited on elsewhere than in this process's
 * epoll_wait (nested in another set, in poll or select) or too large to
 * look at whole: its rings are armed for as long as it holds them. */
static uint8_t ep_always[SHIM_FD_MAX];
static uint32_t ep_nests; /* records of sets inside sets */
/* Per epfd: this process's threads asleep in the kernel on the set,
 * counted by process ep_sleepers_pid (a fork child starts with none). */
static uint16_t ep_sleepers[SHIM_FD_MAX];
static int32_t ep_sleepers_pid;
static int32_t ep_hi; /* every epfd seen is below this */

static int (*real_epoll_create)(int);
static int (*real_epoll_create1)(int);

/* The records are shared by the process's threads: a spin lock, never
 * held across a sleep. */
static atomic_flag ep_lock = ATOMIC_FLAG_INIT;

static void lock(void)
{
	while (atomic_flag_test_and_set_explicit(&ep_lock, memory_order_acquire))
		sched_yield();
}

static void unlock(void)
{
	atomic_flag_clear_explicit(&ep_lock, memory_order_release);
}

static int (*real_epoll_wait)(int, struct epoll_event *, int, int);
static int (*real_epoll_pwait)(int, struct epoll_event *, int, int, const sigset_t *);
static int (*real_epoll_pwait2)(int, struct epoll_event *, int, const struct timespec *, const sigset_t *);

static void resolve(void)
{
	if (!real_epoll_wait)
		real_epoll_wait = (int (*)(int, struct epoll_event *, int, int))dlsym(RTLD_NEXT, "epoll_wait");
	if (!real_epoll_pwait)
		real_epoll_pwait = (int (*)(int, struct epoll_event *, int, int, const sigset_t *))dlsym(RTLD_NEXT,
													"epoll_pwait");
	if (!real_epoll_create)
		real_epoll_create = (int (*)(int))dlsym(RTLD_NEXT, "epoll_create");
	if (!real_epoll_create1)
		real_epoll_create1 = (int (*)(int))dlsym(RTLD_NEXT, "epoll_create1");
	if (!real_epoll_pwait2)
		real_epoll_pwait2 = (int (*)(int, struct epoll_event *, int, const struct timespec *,
					     const sigset_t *))dlsym(RTLD_NEXT, "epoll_pwait2");
}

static int kwait(int epfd, struct epoll_event *ev, int max, const struct timespec *t, const sigset_t *mask)
{
	int rc, err;

	resolve();
	if (real_epoll_pwait2)
		rc = real_epoll_pwait2(epfd, ev, max, t, mask);
	else /* No epoll_pwait2 in this libc: milliseconds, rounded up. */
		rc = real_epoll_pwait(epfd, ev, max,
				      t ? (int)(t->tv_sec * 1000 + (t->tv_nsec + 999999) / 1000000) : -1, mask);
	err = errno;
	ep_asked[epfd] = shim_now_ns();
	errno = err;
	return rc;
}

static struct ep_reg *of_tag(uint64_t tag)
{
	uintptr_t base = (uintptr_t)ep, p = (uintptr_t)tag;

	if (p < base || p >= base + sizeof(ep) || (p - base) % sizeof(ep[0]))
		return NULL;
	return ep[(p - base) / sizeof(ep[0])].used ? &ep[(p - base) / sizeof(ep[0])] : NULL;
}

static struct ep_reg *find(int epfd, int fd)
{
	if (epfd < 0 || epfd >= SHIM_FD_MAX)
		return NULL;
	for (int32_t i = ep_first[epfd] - 1; i >= 0; i = ep[i].next)
		if (ep[i].fd == fd)
			return &ep[i];
	return NULL;
}

static struct ep_reg *alloc(int epfd, int fd)
{
	for (uint32_t k = 0; k < EP_MAX; k++) {
		uint32_t i = (ep_hint + k) % EP_MAX;

		if (ep[i].used)
			continue;
		memset(&ep[i], 0, sizeof(ep[i]));
		ep[i].used = 1;
		ep[i].epfd = epfd;
		ep[i].fd = fd;
		ep[i].next = ep_first[epfd] - 1;
		ep_first[epfd] = (int32_t)i + 1;
		if (epfd >= ep_hi)
			ep_hi = epfd + 1;
		ep_hint = i + 1;
		shim.ep_used++;
		if (fd >= 0 && fd < SHIM_FD_MAX)
			ep_fdrefs[fd]++;
		return &ep[i];
	}
	return NULL;
}

static void set_arm(struct ep_reg *e, bool want)
{
	struct shim_ready s;

	if (want == (e->armed != 0))
		return;
	/* The ring may be back on the kernel or reused: its generation says. */
	if (shim_ready_of(&e->fc, &s) && s.rd)
		shim_ready_arm(s.rd, want ? 1 : -1);
	e->armed = want;
}

static void make_always(int epfd);

/* Arm @e's ring for as long as it exists, if it wants input and
 *  - its set is always armed;
 *  - it is one-shot or exclusive: a thread pool re-arms it with
 *    EPOLL_CTL_MOD while others sleep on the set, and bytes that came
 *    meanwhile must wake one of them (a bell pending, as natively the
 *    kernel wakes a sleeper when a ready fd is re-armed);
 *  - it was made or changed while another thread slept on the set (that
 *    sleep did not arm it): until the next sleep arms it.
 * Else only around sleeps (arm_for_sleep). */
static void rearm(struct ep_reg *e)
{
	bool keep = ep_always[e->epfd] || (e->events & (EPOLLONESHOT | EPOLLEXCLUSIVE)) || e->late;

	set_arm(e, keep && (e->events & SHIM_IN_BITS) != 0);
}

static bool reg_ready(struct ep_reg *e, int depth);

/*
 * Wake the threads asleep in the kernel on @e's set, which looked at its
 * ring before the registration was made (natively the kernel wakes one
 * when a ready fd is added or re-armed).  Their kernel must see @e's
 * kernel object ready: a pipe's read end gets a bell, written through a
 * write end opened on it (/proc/self/fd); any other (a socket, a pipe's
 * write end) is asked for output too, which its nearly empty kernel
 * object has, and reconcile asks for what it held again.
 */
static void kick_sleepers(struct ep_reg *e)
{
	struct shim_ready s;
	struct epoll_event kev;

	if (!shim_ready_of(&e->fc, &s))
		return;
	if (!s.sock && s.rd) {
		char path[40];
		int w;

		if (atomic_load(&s.rd->bells))
			return; /* a bell is pending already */
		snprintf(path, sizeof(path), "/proc/self/fd/%d", e->fd);
		w = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (w >= 0) {
			shim_ready_bell(w, &e->fc, s.rd); /* as a writer would */
			REAL(close)(w);
		}
		return;
	}
	if (e->events & EPOLLEXCLUSIVE)
		return; /* cannot be modified */
	kev.events = e->kmask | EPOLLOUT;
	kev.data.u64 = (uint64_t)(uintptr_t)e;
	if (REAL(epoll_ctl)(e->epfd, EPOLL_CTL_MOD, e->fd, &kev) == 0)
		e->kmask = kev.events;
}

/* The program made or changed registration @e. */
static void ctl_rearm(struct ep_reg *e)
{
	if (!ep_sleepers[e->epfd]) {
		rearm(e);
		return;
	}
	e->late = 1;
	rearm(e);
	if (reg_ready(e, 0))
		kick_sleepers(e);
}

/* Unlink @e from its epfd's list and free it. */
static void drop(struct ep_reg *e)
{
	int32_t i = (int32_t)(e - ep), epfd = e->epfd;

	set_arm(e, false);
	if (ep_first[epfd] - 1 == i) {
		ep_first[epfd] = e->next + 1;
	} else {
		for (int32_t j = ep_first[epfd] - 1; j >= 0; j = ep[j].next) {
			if (ep[j].next == i) {
				ep[j].next = e->next;
				break;
			}
		}
	}
	if (ep_start[epfd] - 1 == i)
		ep_start[epfd] = e->next + 1;
	if (e->gone && e->fd >= 0 && e->fd < SHIM_FD_MAX && ep_gone[e->fd])
		ep_gone[e->fd]--;
	e->gone = 0;
	if (e->nest && ep_nests)
		ep_nests--;
	e->nest = 0;
	e->used = 0;
	shim.ep_used--;
	if (e->fd >= 0 && e->fd < SHIM_FD_MAX && ep_fdrefs[e->fd])
		ep_fdrefs[e->fd]--;
}

/* What to ask the kernel object of ring fd registration @e for, given the
 * program's @events: a level-triggered one asks for input (bells, end of
 * stream) whether the program does or not, so that an event loop turning
 * input and output on and off around each request changes nothing the
 * kernel holds (mod_in_record); its writers ring only while some
 * registration wants input (armed), and one that wakes it for nothing
 * makes the registration exact (reg_revents). */
static uint32_t ring_kernel_want(const struct ep_reg *e, uint32_t events)
{
	uint32_t want = events & ~(uint32_t)EP_FLAGS;

	if (!e->exact && !(events & (EPOLLET | EPOLLONESHOT | EPOLLEXCLUSIVE)))
		want |= EPOLLIN;
	return want;
}

/* The kernel's registration for record @e (op ADD or MOD). */
static int kernel_ctl(int op, struct ep_reg *e)
{
	struct shim_ready s;
	struct epoll_event kev;

	if (!e->native && shim_ready_of(&e->fc, &s))
		kev.events = shim_ready_kernel_events(&s, ring_kernel_want(e, e->events)) | (e->events & EP_FLAGS);
	else
		kev.events = e->events; /* back on the kernel: the kernel answers */
	kev.data.u64 = (uint64_t)(uintptr_t)e;
	if (REAL(epoll_ctl)(e->epfd, op, e->fd, &kev) < 0)
		return -1;
	e->kmask = kev.events;
	return 0;
}

/* EPOLL_CTL_MOD of a ring fd's level-triggered registration that changes
 * nothing the kernel holds (the program turning EPOLLOUT on and off, as
 * event loops do around every answer: the ring says output, not the
 * kernel): done in the record alone, without a system call.  False if
 * the kernel must be asked. */
static bool mod_in_record(int epfd, int fd, const struct epoll_event *ev)
{
	struct ep_reg *e = find(epfd, fd);
	struct shim_ready s;
	uint32_t flags = EPOLLET | EPOLLONESHOT | EPOLLEXCLUSIVE | EPOLLWAKEUP;
	const struct shim_fd *f;

	if (!e || !ev || e->native || e->pend || e->gone || ((ev->events | e->events) & flags))
		return false;
	f = shim_fd_get(fd);
	if (!f || f->pair || f->chan != e->fc.chan || f->end != e->fc.end || f->gen != e->fc.gen ||
	    !shim_ready_of(&e->fc, &s))
		return false;
	if (shim_ready_kernel_events(&s, ring_kernel_want(e, ev->events)) != e->kmask)
		return false;
	/* As the kernel: a modified registration reports what is ready now. */
	e->events = ev->events;
	e->data = ev->data;
	e->seen = UINT64_MAX;
	e->out_edge = 1;
	e->off = 0;
	ctl_rearm(e);
	return true;
}

/* EPOLL_CTL_DEL of such a registration: the kernel keeps it (nothing it
 * holds wakes anybody: its writers stop ringing), and an EPOLL_CTL_ADD of
 * the same open file brings it back without a system call (event loops
 * delete and add again around every request).  A kernel event for a
 * deleted registration deletes it from the kernel's set for good. */
static bool del_in_record(struct ep_reg *e, int fd)
{
	struct shim_ready s;
	const struct shim_fd *f = shim_fd_get(fd);

	if (!e || e->gone || e->native || e->pend || e->off || (e->events & EP_FLAGS) || ep_shared[e->epfd] || !f || f->pair ||
	    f->chan != e->fc.chan || f->end != e->fc.end || f->gen != e->fc.gen || !shim_ready_of(&e->fc, &s))
		return false;
	set_arm(e, false);
	e->events = 0;
	e->gone = 1;
	ep_gone[fd]++;
	return true;
}

/* EPOLL_CTL_ADD of a file whose deleted registration @e the kernel keeps:
 * back, asking the kernel only if what it holds must change.  False: the
 * record is dropped from the kernel's set and the add made afresh. */
static bool add_in_record(struct ep_reg *e, int fd, const struct epoll_event *ev)
{
	struct shim_ready s;
	const struct shim_fd *f = shim_fd_get(fd);

	if (ev && f && !f->pair && f->chan == e->fc.chan && f->end == e->fc.end && f->gen == e->fc.gen &&
	    !(ev->events & EP_FLAGS) && shim_ready_of(&e->fc, &s)) {
		e->events = ev->events;
		e->data = ev->data;
		e->gone = 0;
		if (ep_gone[fd])
			ep_gone[fd]--;
		e->seen = UINT64_MAX;
		e->out_edge = 1;
		e->off = 0;
		if (shim_ready_kernel_events(&s, ring_kernel_want(e, ev->events)) == e->kmask ||
		    kernel_ctl(EPOLL_CTL_MOD, e) == 0) {
			ctl_rearm(e);
			return true;
		}
	}
	REAL(epoll_ctl)(e->epfd, EPOLL_CTL_DEL, e->fd, NULL);
	drop(e);
	return false;
}

/* A registration made while its fd was connecting (tcp.c: on the kernel
 * socket until the server accepts and this process uses the fd): once
 * the fd is on its ring, the shim takes it as if made there.  A one-shot
 * registration already reported waits for its EPOLL_CTL_MOD. */
static void adopt(struct ep_reg *e)
{
	struct shim_fd *f;
	struct shim_ready s;
	int fd = e->fd, rc;

	if (fd < 0 || fd >= SHIM_FD_MAX || shim.fd[fd].chan != e->fc.chan || shim.fd[fd].end != e->fc.end) {
		e->pend = 0;
		return;
	}
	f = &shim.fd[fd];
	if (f->pair)
		shim_tcp_try_settle(fd, f);
	if (f->pair || e->off)
		return;
	e->pend = 0;
	if (!f->ring || !shim_ready_of(f, &s))
		return; /* stays on TCP: the kernel answers, as registered */
	e->fc = *f;
	e->native = 0;
	if (e->events & EPOLLEXCLUSIVE) {
		/* An exclusive registration cannot be modified: made again. */
		REAL(epoll_ctl)(e->epfd, EPOLL_CTL_DEL, fd, NULL);
		rc = kernel_ctl(EPOLL_CTL_ADD, e);
	} else {
		rc = kernel_ctl(EPOLL_CTL_MOD, e);
	}
	if (rc < 0) {
		e->native = 1;
		return;
	}
	e->seen = UINT64_MAX;
	e->out_edge = 1;
	ctl_rearm(e);
}

/* A record for the program's registration @ev of @fd in @epfd (@old, a
 * stale one, dropped first); NULL if none is free. */
static struct ep_reg *new_record(int epfd, int fd, const struct epoll_event *ev, struct ep_reg *old)
{
	struct ep_reg *e;

	if (old)
		drop(old);
	e = alloc(epfd, fd);
	if (e) {
		e->events = ev->events;
		e->data = ev->data;
	}
	return e;
}

/* The kernel's registration for new record @e (@op: ADD, or MOD of one it
 * holds already); the record goes if the kernel refuses. */
static int kernel_take(int op, struct ep_reg *e)
{
	int rc = kernel_ctl(op, e);

	if (rc < 0) {
		int err = errno;

		drop(e);
		errno = err;
	}
	return rc;
}

/* Another set of this process, @fd, into @epfd: its rings ring whenever
 * they hold bytes (the kernel then wakes us through it), and a record
 * here answers for what they hold already. */
static int add_nest(int epfd, int fd, struct epoll_event *ev, struct ep_reg *old)
{
	struct ep_reg *e;

	make_always(fd);
	e = new_record(epfd, fd, ev, old);
	if (!e)
		return REAL(epoll_ctl)(epfd, EPOLL_CTL_ADD, fd, ev);
	e->nest = 1;
	ep_nests++;
	return kernel_take(EPOLL_CTL_ADD, e) < 0 ? -1 : 0;
}

static int ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	SHIM_ERRNO_SAVE;
	struct shim_fd *f;
	struct shim_ready s;
	struct ep_reg *e;
	int rc;

	if (!shim.area || epfd < 0 || epfd >= SHIM_FD_MAX)
		return REAL(epoll_ctl)(epfd, op, fd, ev);
	/* The records of a deleted registration and of one deleted now change
	 * nothing but this process's records (a vfork child shares them and
	 * the epoll set with its parent), so no look at who calls first. */
	e = find(epfd, fd);
	if (e && e->gone) {
		/* Deleted by the program: as the kernel, unless added again. */
		if (op != EPOLL_CTL_ADD) {
			errno = ENOENT;
			return -1;
		}
		if (add_in_record(e, fd, ev)) {
			SHIM_ERRNO_RESTORE();
			return 0;
		}
		e = NULL;
	}
	if (op == EPOLL_CTL_DEL && del_in_record(e, fd)) {
		SHIM_ERRNO_RESTORE();
		return 0;
	}
	if (!shim_own_process())
		return REAL(epoll_ctl)(epfd, op, fd, ev);
	f = op == EPOLL_CTL_DEL ? shim_fd_get(fd) : shim_ready_fd(fd, !ev || (ev->events & ~(uint32_t)(SHIM_OUT_BITS | EP_FLAGS)));
	/* The kernel holds a registration of a ring fd made while it was
	 * not on its ring yet (a connect settled since): the shim takes it. */
	if (op == EPOLL_CTL_MOD && !e && ev && f && shim_ready_of(f, &s))
		goto add;
	switch (op) {
	case EPOLL_CTL_ADD:
		if (ev && f && f->pair && !f->ring) {
			/* Connecting: the kernel answers until the fd joins its ring. */
			e = new_record(epfd, fd, ev, e);
			if (!e)
				return REAL(epoll_ctl)(epfd, op, fd, ev);
			e->fc = *f;
			e->native = 1;
			e->pend = 1;
			rc = kernel_take(op, e);
			if (rc < 0)
				return rc;
			SHIM_ERRNO_RESTORE();
			return 0;
		}
		if (ev && fd >= 0 && fd < SHIM_FD_MAX && fd != epfd && (ep_first[fd] || ep_foreign[fd]))
			return add_nest(epfd, fd, ev, e);
		if (!ev || !f || !shim_ready_of(f, &s)) {
			rc = REAL(epoll_ctl)(epfd, op, fd, ev);
			if (rc == 0 && e)
				drop(e); /* a stale record (the fd was closed since) */
			if (rc == 0 && ep_foreign[epfd])
				ep_foreign[epfd]++;
			return rc;
		}
add:
		e = new_record(epfd, fd, ev, e);
		if (!e) {
			/* No room for one more record: the kernel carries it. */
			shim_ring_downgrade(fd, f, "epoll: too many registrations", true);
			return REAL(epoll_ctl)(epfd, op, fd, ev);
		}
		e->fc = *f;
		e->seen = UINT64_MAX;
		e->out_edge = 1;
		rc = kernel_take(op, e);
		if (rc < 0)
			return rc;
		ctl_rearm(e);
		SHIM_ERRNO_RESTORE();
		return 0;
	case EPOLL_CTL_MOD:
		if (!e || !ev)
			return REAL(epoll_ctl)(epfd, op, fd, ev);
		{
			struct ep_reg old = *e;

			e->events = ev->events;
			e->data = ev->data;
			rc = kernel_ctl(op, e);
			if (rc < 0) {
				int err = errno;

				e->events = old.events;
				e->data = old.data;
				errno = err;
				return rc;
			}
		}
		/* As the kernel: a modified registration reports what is ready now. */
		e->seen = UINT64_MAX;
		e->out_edge = 1;
		e->off = 0;
		if (e->pend) {
			adopt(e);
			SHIM_ERRNO_RESTORE();
			return 0;
		}
		ctl_rearm(e);
		SHIM_ERRNO_RESTORE();
		return 0;
	case EPOLL_CTL_DEL:
		rc = REAL(epoll_ctl)(epfd, op, fd, ev);
		if (rc == 0 && !e && ep_foreign[epfd] > 1)
			ep_foreign[epfd]--;

		if (e && (rc == 0 || errno == ENOENT)) {
			int err = errno;

			drop(e);
			errno = err;
		}
		return rc;
	default:
		return REAL(epoll_ctl)(epfd, op, fd, ev);
	}
}

SHIM_EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	SHIM_VFORK_PASS(REAL(epoll_ctl)(epfd, op, fd, ev));
	int rc;

	if (!shim.area || epfd < 0 || epfd >= SHIM_FD_MAX)
		return REAL(epoll_ctl)(epfd, op, fd, ev);
	lock();
	if (op == EPOLL_CTL_MOD && mod_in_record(epfd, fd, ev)) {
		unlock();
		return 0;
	}
	rc = ctl(epfd, op, fd, ev);
	unlock();
	return rc;
}

static bool set_ready(int epfd, int depth);
static bool drop_stale_bells(int epfd);

/* Is the set @epfd readable for its outer waiter, whose kernel says
 * @kernel (poll bits, 0: not asked)?  Its rings say first; a kernel
 * readiness without them may be bells left pending on rings read empty
 * since: dropped, then the kernel asked again. */
static bool nested_readable(int epfd, uint32_t kernel)
{
	struct pollfd p = { .fd = epfd, .events = POLLIN };

	if (set_ready(epfd, 0))
		return true;
	if (!(kernel & POLLIN))
		return false;
	if (drop_stale_bells(epfd))
		return true;
	return REAL(poll)(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* A set inside this one (a record without a ring): readable as its rings
 * or its kernel part say; the kernel's other bits as they are. */
static uint32_t nest_revents(struct ep_reg *e, uint32_t k, bool kernel_edge)
{
	uint32_t want = e->events & ~(uint32_t)EP_FLAGS, rev = kernel_edge ? k & (want | EPOLLERR | EPOLLHUP) : 0;

	/* Edge-triggered: the kernel's edges (every byte on its rings rings). */
	if (e->events & EPOLLET)
		return rev;
	rev &= ~(uint32_t)EPOLLIN;
	if ((want & EPOLLIN) && nested_readable(e->fd, kernel_edge ? k : 0))
		rev |= EPOLLIN;
	return rev;
}

/* The program's event for record @e, from its ring and the kernel's bits
 * @k (0: none); 0 if nothing to report.  @kernel_edge: the kernel reported it. */
static uint32_t reg_revents(struct ep_reg *e, uint32_t k, bool kernel_edge)
{
	struct shim_ready s;
	uint32_t want = e->events & ~(uint32_t)EP_FLAGS, rev;
	bool et = (e->events & EPOLLET) != 0;
	int fd = e->fd;

	if (e->nest)
		return nest_revents(e, k, kernel_edge);
	if (e->pend)
		adopt(e);
	/* The fd number may name something else now: then no bells to drain. */
	if (fd < 0 || fd >= SHIM_FD_MAX || shim.fd[fd].chan != e->fc.chan || shim.fd[fd].end != e->fc.end)
		fd = -1;
	if (e->native || !shim_ready_of(&e->fc, &s)) {
		/* Back on the kernel: registered as the program asked, the
		 * kernel answers. */
		if (!e->native) {
			e->native = 1;
			set_arm(e, false);
			if (kernel_ctl(EPOLL_CTL_MOD, e) < 0)
				e->native = 0;
		}
		return kernel_edge ? (k & (want | EPOLLERR | EPOLLHUP)) : 0;
	}
	/* Registered while the fd's writers were on the kernel socket (it
	 * then answered for output): the ring does now. */
	if (kernel_edge && !e->exact && (k & (EPOLLIN | EPOLLRDHUP)) && !(want & SHIM_IN_BITS))
		e->exact = 1; /* woken for input nobody wanted: ask the kernel for less */
	if (kernel_edge && !(e->events & (EPOLLEXCLUSIVE | EPOLLONESHOT)) &&
	    shim_ready_kernel_events(&s, ring_kernel_want(e, e->events)) != (e->kmask & ~(uint32_t)EP_FLAGS))
		kernel_ctl(EPOLL_CTL_MOD, e);
	if (et && s.rd && (k & EPOLLIN) && atomic_load(&s.rd->bells)) {
		/* The next write rings a new edge; this one's bells are spent. */
		shim_ready_drain(fd, s.sock, s.rd);
		/* Bytes in the ring are reported from it: the kernel's own
		 * bytes matter only when there are none. */
		shim_ready_update(&s);
		if (!s.readable && !shim_ready_kernel_bytes(fd, s.rd))
			k &= ~(uint32_t)EPOLLIN;
	}
	rev = shim_ready_revents(fd, &s, want, k);
	if (s.wr && (want & SHIM_OUT_BITS) && !s.writable)
		e->out_edge = 1;
	if (et) {
		bool edge = false;
		uint64_t head = s.rd ? atomic_load(&s.rd->head) : 0;

		if ((rev & SHIM_IN_BITS) && s.rd && (head != e->seen || !s.readable))
			edge = true; /* new bytes, or the end of the stream */
		if ((rev & SHIM_OUT_BITS) && e->out_edge)
			edge = true;
		if (kernel_edge && (k & (EPOLLHUP | EPOLLERR | EPOLLRDHUP | EPOLLPRI)))
			edge = true;
		if (!s.rd && kernel_edge && (rev & SHIM_IN_BITS))
			edge = true;
		if (!edge)
			return 0;
		if (s.rd)
			e->seen = head;
		if (rev & SHIM_OUT_BITS)
			e->out_edge = 0;
	}
	return rev;
}

/* Rings of @epfd's registrations that are ready now: into @evs (at most
 * @max), each record stamped with the call.  Returns how many. */
static int precheck(int epfd, struct epoll_event *evs, int max, uint32_t stamp, bool *out_blocked)
{
	int n = 0, count = 0;
	int32_t first = ep_first[epfd] - 1, start = ep_start[epfd] - 1;

	if (start < 0 || ep[start].epfd != epfd)
		start = first;
	/* From where the last full look stopped, round the list once. */
	for (int32_t i = start, pass = 0; n < max;) {
		if (i < 0) {
			if (pass++ || start == first)
				break;
			i = first;
		}
		if (pass && i == start)
			break;
		if (++count > PRECHECK_MAX)
			break;
		struct ep_reg *e = &ep[i];

		if (!e->off && !e->gone) {
			uint32_t rev = reg_revents(e, 0, false);
			struct shim_ready s;

			if (rev) {
				evs[n].events = rev;
				evs[n].data = e->data;
				e->stamp = stamp;
				e->slot = n++;
				if (e->events & EPOLLONESHOT)
					e->off = 1;
				if (n == max) {
					ep_start[epfd] = e->next + 1;
					break;
				}
			} else if ((e->events & SHIM_OUT_BITS) && shim_ready_of(&e->fc, &s) && s.wr && !s.writable) {
				*out_blocked = true;
			}
		}
		i = e->next;
	}
	return n;
}

/* Turn the kernel's @k events at @evs into the program's, merging those
 * of records already reported by this call (at [0, @base)). */
static int reconcile(struct epoll_event *evs, int base, int k, uint32_t stamp, struct shim_dir **woke)
{
	int n = base;

	for (int j = 0; j < k; j++) {
		struct epoll_event ke = evs[base + j];
		struct ep_reg *e = of_tag(ke.data.u64);
		uint32_t rev;

		if (!e) {
			evs[n++] = ke; /* not a ring fd: the kernel's event as it is */
			continue;
		}
		if (e->stamp == stamp && e->slot < base) {
			/* Already reported from its ring: add the kernel's bits. */
			evs[e->slot].events |= ke.events & (EPOLLERR | EPOLLHUP | (e->events & (EPOLLRDHUP | EPOLLPRI)));
			if ((e->events & EPOLLET) && (ke.events & EPOLLIN)) {
				struct shim_ready s;

				if (shim_ready_of(&e->fc, &s) && s.rd && e->fd >= 0 && e->fd < SHIM_FD_MAX &&
				    shim.fd[e->fd].chan == e->fc.chan)
					shim_ready_drain(e->fd, s.sock, s.rd);
			}
			continue;
		}
		if (e->gone) {
			/* Deleted by the program, kept by the kernel, which woke
			 * us for it: out of the kernel's set now (the fd still
			 * names it: shim_epoll_fd_closing). */
			if (REAL(epoll_ctl)(e->epfd, EPOLL_CTL_DEL, e->fd, NULL) == 0)
				drop(e);
			continue;
		}
		rev = e->off ? 0 : reg_revents(e, ke.events, true);
		if (!rev) {
			/* A bell only.  The kernel turned a one-shot registration
			 * off: turn it on again, it reported nothing. */
			if ((e->events & EPOLLONESHOT) && !e->off)
				kernel_ctl(EPOLL_CTL_MOD, e);
			continue;
		}
		if (e->events & EPOLLONESHOT)
			e->off = 1;
		if (woke && !*woke && (rev & SHIM_IN_BITS)) {
			struct shim_ready s;

			if (shim_ready_of(&e->fc, &s))
				*woke = s.rd;
		}
		e->stamp = stamp;
		e->slot = n;
		evs[n].events = rev;
		evs[n].data = e->data;
		n++;
	}
	return n;
}

/* Every slot of @evs was filled from the rings, so the kernel's part was
 * not asked for: a ring whose kernel object may say more (a half close,
 * a hang-up) gets it from a poll of its fd, as reconcile adds it. */
static void kernel_bits_full(struct epoll_event *evs, int n, int epfd, uint32_t stamp)
{
	int count = 0;

	for (int32_t i = ep_first[epfd] - 1; i >= 0 && ++count <= PRECHECK_MAX; i = ep[i].next) {
		struct ep_reg *e = &ep[i];
		struct shim_ready s;
		struct pollfd p;

		if (e->stamp != stamp || e->slot >= n || e->native || !shim_ready_of(&e->fc, &s) ||
		    shim_ready_quiet(&s))
			continue;
		if (e->fd < 0 || e->fd >= SHIM_FD_MAX || shim.fd[e->fd].chan != e->fc.chan)
			continue;
		p = (struct pollfd){ .fd = e->fd, .events = POLLRDHUP | POLLPRI };
		if (REAL(poll)(&p, 1, 0) == 1)
			evs[e->slot].events |= (uint32_t)p.revents & (EPOLLERR | EPOLLHUP | (e->events & (EPOLLRDHUP | EPOLLPRI)));
	}
}

/* May the rings answer without the kernel?  The set holds ring fds only
 * (as far as this process made it), every end they face is held (no
 * hang-up or error pending), and the kernel was asked not long ago (a
 * set changed by another process is still served). */
static bool rings_alone(int epfd)
{
	int count = 0;

	if (ep_foreign[epfd] != 1 || ++ep_skips[epfd] % 64 == 0)
		return false;
	for (int32_t i = ep_first[epfd] - 1; i >= 0; i = ep[i].next) {
		struct shim_ready s;

		if (++count > PRECHECK_MAX || ep[i].native || !shim_ready_of(&ep[i].fc, &s) || !shim_ready_quiet(&s))
			return false;
	}
	return true;
}

/* A set that also holds fds the kernel answers for (a listening socket,
 * a timerfd): may the events the rings gave (the records stamped @stamp)
 * be returned without asking the kernel for the rest?  Yes if the kernel was asked less than
 * ASK_EVERY_NS ago and for at most ASK_SKIPS calls since, and no ring
 * reported has kernel bits to add (a hang-up, an error, a half close).
 * A kernel fd ready meanwhile is reported that much later, as if it had
 * become ready then: a busy server answering its connections from the
 * rings makes one system call per ASK_EVERY_NS for the rest, not one per
 * request. */
static bool rings_first(int epfd, uint32_t stamp)
{
	int count = 0;

	if (ep_foreign[epfd] < 1 || ++ep_skips[epfd] % ASK_SKIPS == 0 ||
	    shim_now_ns() - ep_asked[epfd] > ASK_EVERY_NS)
		return false;
	for (int32_t i = ep_first[epfd] - 1; i >= 0 && ++count <= PRECHECK_MAX; i = ep[i].next) {
		struct shim_ready s;

		if (ep[i].stamp == stamp && (!shim_ready_of(&ep[i].fc, &s) || !shim_ready_quiet(&s)))
			return false;
	}
	return true;
}

struct look {
	int epfd;
};

/* The kernel nests epoll sets at most this deep (EP_MAX_NESTS); a record
 * left of a set closed since stops here too. */
#define NEST_MAX 5

/* Would precheck report @e from its ring (or the rings of the set it is)? */
static bool reg_ready(struct ep_reg *e, int depth)
{
	struct shim_ready s;
	bool et = (e->events & EPOLLET) != 0;

	if (e->nest && !e->off && !e->gone && !et && (e->events & EPOLLIN) && set_ready(e->fd, depth + 1))
		return true;
	if (e->off || e->gone || e->native || !shim_ready_of(&e->fc, &s))
		return false;
	if ((e->events & SHIM_IN_BITS) && s.readable && (!et || atomic_load(&s.rd->head) != e->seen))
		return true;
	return (e->events & SHIM_OUT_BITS) && s.writable && (!et || e->out_edge);
}

/* Would precheck find something in @epfd's rings (and those of the sets
 * inside it)?  Changes nothing. */
static bool set_ready(int epfd, int depth)
{
	int count = 0;

	if (epfd < 0 || epfd >= SHIM_FD_MAX || depth > NEST_MAX)
		return false;
	for (int32_t i = ep_first[epfd] - 1; i >= 0 && ++count <= PRECHECK_MAX; i = ep[i].next)
		if (reg_ready(&ep[i], depth))
			return true;
	return false;
}

static bool any_ready(void *arg)
{
	const struct look *a = arg;

	return set_ready(a->epfd, 0);
}

/* How to wait before sleeping (ready.c): spin if a peer that writes a
 * ring of the set may answer from another CPU, yield if one may answer
 * from ours, sleep at once if every such peer sleeps itself. */
static enum shim_wait_how wait_how(int epfd)
{
	enum shim_wait_how how = SHIM_WAIT_SLEEP;
	int count = 0;

	for (int32_t i = ep_first[epfd] - 1; i >= 0 && how != SHIM_WAIT_SPIN && ++count <= HOW_MAX; i = ep[i].next) {
		struct shim_ready s;
		enum shim_wait_how h;

		if (ep[i].off || ep[i].gone || ep[i].native || !(ep[i].events & SHIM_IN_BITS) ||
		    !shim_ready_of(&ep[i].fc, &s) || !s.rd)
			continue;
		h = shim_ready_how(s.rd, s.sock ? s.wr : NULL);
		if (h > how)
			how = h;
	}
	return how;
}

/* Bells left pending by an earlier wake-up, on rings still empty: drop
 * them before sleeping, or the sleep would end at once.  True if a ring
 * turned out ready meanwhile (look again). */
static bool drop_stale_bells(int epfd)
{
	int count = 0;
	bool ready = false;

	for (int32_t i = ep_first[epfd] - 1; i >= 0 && ++count <= PRECHECK_MAX; i = ep[i].next) {
		struct ep_reg *e = &ep[i];
		struct shim_ready s;
		int fd = e->fd;

		/* The kernel asked for input: wanted, or kept for an event loop
		 * that turns it on and off (and deleted registrations). */
		if (e->off || e->native || !(e->kmask & EPOLLIN) || !shim_ready_of(&e->fc, &s) || !s.rd ||
		    s.readable || !atomic_load(&s.rd->bells))
			continue;
		if (fd < 0 || fd >= SHIM_FD_MAX || shim.fd[fd].chan != e->fc.chan || shim.fd[fd].end != e->fc.end)
			continue;
		shim_ready_drain(fd, s.sock, s.rd);
		shim_ready_update(&s);
		ready |= s.readable;
	}
	return ready;
}

/* From now on, @epfd's registrations wanting input arm their rings for
 * as long as they exist.  Bytes that waited there before ring no bell:
 * the outer waiter looks at the rings itself (nest_revents, poll.c). */
static void make_always(int epfd)
{
	if (ep_always[epfd])
		return;
	ep_always[epfd] = 1;
	for (int32_t i = ep_first[epfd] - 1; i >= 0; i = ep[i].next)
		rearm(&ep[i]);
}

bool shim_epoll_nested(int fd)
{
	if (fd < 0 || fd >= SHIM_FD_MAX || (!ep_first[fd] && !ep_foreign[fd]))
		return false;
	if (!ep_always[fd]) {
		lock();
		make_always(fd);
		unlock();
	}
	return true;
}

bool shim_epoll_readable(int fd, uint32_t kernel)
{
	bool r;

	lock();
	r = nested_readable(fd, kernel);
	unlock();
	return r;
}

/* The rings one wait armed for its sleep, to disarm on waking (the
 * records may be gone by then: each ring fd as it was registered). */
struct sleep_arms {
	int epfd;
	int n;
	struct shim_fd fc[PRECHECK_MAX];
};

/* Arm the read side of every ring of @epfd that a registration wants
 * input from, before a sleep in the kernel; true if, armed, a ring turns
 * out ready (disarmed again: look once more instead of sleeping).  The
 * writer publishes bytes and then reads the count; we count and then look
 * at the bytes: one of the two sees the other. */
static bool arm_for_sleep(int epfd, struct sleep_arms *a)
{
	struct look l = { epfd };
	int32_t pid = shim_getpid();
	int count = 0;
	bool first;

	/* Counted by the parent of a fork (its sleepers are not here): none.
	 * One getpid per sleep in the kernel, which costs far more: a count
	 * of 0 may be the parent's too, and the child's first sleeper must
	 * claim the counts before a second one trusts them. */
	if (ep_sleepers_pid != pid) {
		memset(ep_sleepers, 0, sizeof(ep_sleepers[0]) * (size_t)ep_hi);
		ep_sleepers_pid = pid;
	}
	first = ep_sleepers[epfd]++ == 0;

	a->epfd = epfd;
	a->n = 0;
	for (int32_t i = ep_first[epfd] - 1; i >= 0 && !ep_always[epfd]; i = ep[i].next) {
		struct ep_reg *e = &ep[i];
		struct shim_ready s;

		if (++count > PRECHECK_MAX) {
			make_always(epfd); /* the look before sleeping stops short of the rest */
			break;
		}
		if (e->off || e->gone || e->native || !(e->events & SHIM_IN_BITS) || !shim_ready_of(&e->fc, &s) || !s.rd)
			continue;
		if (e->late && first) {
			e->late = 0; /* armed by this sleep from now on */
			rearm(e);
		}
		if (e->armed)
			continue; /* armed for good */
		shim_ready_arm(s.rd, 1);
		a->fc[a->n++] = e->fc;
	}
	return any_ready(&l);
}

static void disarm_after_sleep(struct sleep_arms *a)
{
	for (int i = 0; i < a->n; i++) {
		struct shim_ready s;

		/* Back on the kernel or another life of the slot: nothing of ours. */
		if (shim_ready_of(&a->fc[i], &s) && s.rd)
			shim_ready_arm(s.rd, -1);
	}
	a->n = 0;
	if (ep_sleepers[a->epfd])
		ep_sleepers[a->epfd]--;
}

static int ep_wait(int epfd, struct epoll_event *evs, int max, const struct timespec *ts, const sigset_t *mask)
{
	struct sleep_arms arms;
	static const struct timespec zero;
	int64_t deadline = shim_ready_deadline(ts), step = 0;
	bool now_only = deadline == 0 || (ts && ts->tv_sec == 0 && ts->tv_nsec == 0);
	bool spun = false;
	uint64_t t_sleep;
	struct shim_dir *woke;

	for (;;) {
		uint32_t stamp;
		bool blocked = false;
		struct timespec left, *wait = NULL;
		int n, k;

		lock();
		stamp = ++ep_stamp;
		if (!stamp)
			stamp = ++ep_stamp;
		n = precheck(epfd, evs, max, stamp, &blocked);
		if (n > 0 && (rings_alone(epfd) || rings_first(epfd, stamp))) {
			unlock();
			return n;
		}
		if (n > 0 || now_only) {
			if (n < max) {
				k = kwait(epfd, evs + n, max - n, &zero, mask);
				n = k < 0 ? (n ? n : -1) : reconcile(evs, n, k, stamp, NULL);
			} else {
				kernel_bits_full(evs, n, epfd, stamp);
			}
			unlock();
			return n;
		}
		if (!spun && !blocked) {
			struct look a = { epfd };
			enum shim_wait_how how = wait_how(epfd);

			spun = true;
			unlock();
			if (shim_ready_spin(any_ready, &a, how))
				continue;
			lock();
		}
		if (arm_for_sleep(epfd, &arms) || drop_stale_bells(epfd)) {
			disarm_after_sleep(&arms);
			unlock();
			continue;
		}
		unlock();
		if (deadline >= 0) {
			if (!shim_ready_left(deadline, &left))
				left = zero;
			wait = &left;
		}
		if (blocked) {
			int64_t s = shim_ready_full_step(&step);

			if (!wait || (int64_t)left.tv_sec * 1000000000LL + left.tv_nsec > s) {
				left = (struct timespec){ s / 1000000000LL, s % 1000000000LL };
				wait = &left;
			}
		}
		t_sleep = shim_now_ns();
		shim_ready_sleeping(1);
		k = kwait(epfd, evs, max, wait, mask);
		shim_ready_sleeping(-1);
		lock();
		if (k < 0) {
			int err = errno;

			disarm_after_sleep(&arms);
			unlock();
			errno = err;
			return -1;
		}
		disarm_after_sleep(&arms);
		woke = NULL;
		n = reconcile(evs, 0, k, stamp, &woke);
		if (woke)
			shim_ready_woke(woke, shim_now_ns() - t_sleep);
		unlock();
		if (n > 0)
			return n;
		if (deadline >= 0 && (int64_t)shim_now_ns() >= deadline)
			return 0;
		/* Readable for bells only: stale ones were dropped, the rest are
		 * owed to readers asleep in read() that have not run yet. */
		if (k > 0)
			shim_ready_yield_to_sleepers();
	}
}

static bool managed_set(int epfd, const struct epoll_event *evs, int max)
{
	/* Bad arguments: the kernel's errors (EINVAL, EFAULT) as they are. */
	return shim.area && epfd >= 0 && epfd < SHIM_FD_MAX && ep_first[epfd] && evs && max > 0 &&
	       max <= (int)(INT_MAX / sizeof(struct epoll_event));
}

static int wait_ts(int epfd, struct epoll_event *evs, int max, const struct timespec *ts, const sigset_t *mask)
{
	SHIM_ERRNO_SAVE;
	int rc = ep_wait(epfd, evs, max, ts, mask);

	if (rc >= 0)
		SHIM_ERRNO_RESTORE();
	return rc;
}

SHIM_EXPORT int epoll_wait(int epfd, struct epoll_event *evs, int max, int timeout)
{
	struct timespec ts = { timeout / 1000, (timeout % 1000) * 1000000L };

	if (!managed_set(epfd, evs, max)) {
		resolve();
		return real_epoll_wait(epfd, evs, max, timeout);
	}
	return wait_ts(epfd, evs, max, timeout < 0 ? NULL : &ts, NULL);
}

SHIM_EXPORT int epoll_pwait(int epfd, struct epoll_event *evs, int max, int timeout, const sigset_t *mask)
{
	struct timespec ts = { timeout / 1000, (timeout % 1000) * 1000000L };

	if (!managed_set(epfd, evs, max)) {
		resolve();
		return real_epoll_pwait(epfd, evs, max, timeout, mask);
	}
	return wait_ts(epfd, evs, max, timeout < 0 ? NULL : &ts, mask);
}

SHIM_EXPORT int epoll_pwait2(int epfd, struct epoll_event *evs, int max, const struct timespec *ts,
			     const sigset_t *mask)
{
	if (!managed_set(epfd, evs, max) || (ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L))) {
		resolve();
		return real_epoll_pwait2(epfd, evs, max, ts, mask);
	}
	return wait_ts(epfd, evs, max, ts, mask);
}

void shim_epoll_closing(int epfd)
{
	if (epfd < 0 || epfd >= SHIM_FD_MAX || (!ep_first[epfd] && !ep_foreign[epfd]) || !shim_own_process())
		return;
	lock();
	ep_foreign[epfd] = 0;
	while (ep_first[epfd])
		drop(&ep[ep_first[epfd] - 1]);
	ep_start[epfd] = 0;
	ep_always[epfd] = 0;
	/* The kernel forgets the set's registrations in other sets with it. */
	for (int i = 0; i < EP_MAX && ep_nests; i++)
		if (ep[i].used && ep[i].nest && ep[i].fd == epfd)
			drop(&ep[i]);
	unlock();
}

void shim_epoll_fd_closing(int fd)
{
	if (fd < 0 || fd >= SHIM_FD_MAX || !ep_gone[fd] || !shim_own_process())
		return;
	/* A registration the program deleted is still in the kernel's sets
	 * under this fd number: out before the number means another file (or
	 * none, while a dup keeps the file and its registration alive). */
	lock();
	for (int i = 0; i < EP_MAX && ep_gone[fd]; i++) {
		if (ep[i].used && ep[i].fd == fd && ep[i].gone) {
			REAL(epoll_ctl)(ep[i].epfd, EPOLL_CTL_DEL, fd, NULL);
			drop(&ep[i]);
		}
	}
	unlock();
}

void shim_epoll_fd_closed(int fd, const struct shim_fd *copy)
{
	if (fd < 0 || fd >= SHIM_FD_MAX || !ep_fdrefs[fd] || !copy->chan || !shim_own_process())
		return;
	/* Another fd of this process on the same open file keeps it in the sets. */
	for (int g = 0; g < shim.fd_hi; g++)
		if (g != fd && shim.fd[g].chan == copy->chan && shim.fd[g].end == copy->end)
			return;
	lock();
	for (int i = 0; i < EP_MAX && ep_fdrefs[fd]; i++)
		if (ep[i].used && ep[i].fd == fd && ep[i].fc.chan == copy->chan)
			drop(&ep[i]);
	unlock();
}

void shim_epoll_hold_all(int delta)
{
	/* A fork: every set known now may be waited on by both processes. */
	if (delta > 0)
		for (int i = 0; i < ep_hi; i++)
			if (ep_first[i] || ep_foreign[i])
				ep_shared[i] = 1;
	if (!shim.ep_used)
		return;
	lock();
	for (int i = 0; i < EP_MAX; i++) {
		struct shim_ready s;

		if (ep[i].used && ep[i].armed && shim_ready_of(&ep[i].fc, &s) && s.rd)
			shim_ready_arm(s.rd, delta);
	}
	unlock();
}

void shim_epoll_before_exec(void)
{
	if (!shim.ep_used)
		return;
	for (int i = 0; i < EP_MAX; i++) {
		struct epoll_event kev;

		if (!ep[i].used)
			continue;
		if (ep[i].gone) {
			REAL(epoll_ctl)(ep[i].epfd, EPOLL_CTL_DEL, ep[i].fd, NULL);
			continue;
		}
		kev.events = ep[i].events;
		kev.data = ep[i].data;
		/* An exclusive registration cannot be modified: made again. */
		if (kev.events & EPOLLEXCLUSIVE) {
			REAL(epoll_ctl)(ep[i].epfd, EPOLL_CTL_DEL, ep[i].fd, NULL);
			REAL(epoll_ctl)(ep[i].epfd, EPOLL_CTL_ADD, ep[i].fd, &kev);
		} else {
			REAL(epoll_ctl)(ep[i].epfd, EPOLL_CTL_MOD, ep[i].fd, &kev);
		}
	}
}

static int made(int epfd)
{
	if (epfd >= 0 && epfd < SHIM_FD_MAX && shim.area) {
		shim_epoll_closing(epfd); /* whatever this number was before */
		ep_foreign[epfd] = 1;
		ep_shared[epfd] = 0;
		ep_always[epfd] = 0;
		ep_sleepers[epfd] = 0;
		ep_asked[epfd] = 0;
		if (epfd >= ep_hi)
			ep_hi = epfd + 1;
	}
	return epfd;
}

SHIM_EXPORT int epoll_create(int size)
{
	resolve();
	SHIM_VFORK_PASS(real_epoll_create(size));
	return made(real_epoll_create(size));
}

SHIM_EXPORT int epoll_create1(int flags)
{
	resolve();
	SHIM_VFORK_PASS(real_epoll_create1(flags));
	return made(real_epoll_create1(flags));
}
