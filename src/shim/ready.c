/* SPDX-License-Identifier: MIT */
/*
 * Readiness of fds on rings: one mechanism for non-blocking I/O, poll,
 * select and epoll.
 *
 * The kernel object under a ring fd (the pipe or socket) stays open and
 * already wakes a reader sleeping in read() with a bell byte.  Readiness
 * reuses it.  A direction of a ring counts its "armed" waiters: a poll in
 * progress, or an epoll registration wanting input.  While it is armed, a
 * writer keeps one bell pending in the kernel object whenever it publishes
 * bytes and none is pending yet (a compare-and-swap on the bell count, so
 * one system call per wake-up, not per write).  The real poll, select or
 * epoll_wait then sleeps on the kernel objects of ring fds next to any
 * other fd of the program (timerfd, eventfd, listening sockets, files) and
 * wakes when a bell arrives.  What the program is told always comes from
 * the ring: readable when it holds bytes (or the kernel says the writers
 * are gone), writable when a write would make progress.  A bell the kernel
 * reports on an empty ring is read and dropped, never shown as
 * readability; its drainer decrements the count before looking at the ring
 * again, and writers publish before looking at the count, so a wake-up is
 * never lost between the two.
 *
 * Writers waiting for room have no such bell: a pipe has no way back from
 * its reader, and a socket's way back is its peer's data stream.  While a
 * ring the caller waits to write is full, the wait is cut into short
 * slices (50 us, doubling up to 10 ms) after which the ring is looked at
 * again.  That costs wake-ups only while a writer is stuck on a full ring,
 * never while idle.
 */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>

#include "../prim/spin.h"
#include "ready.h"

#define FULL_STEP_MIN_NS 50000
#define FULL_STEP_MAX_NS 10000000

static struct shim_chan *chan_of(const struct shim_fd *f)
{
	return &shim.area->chan[f->chan - 1];
}

static uint32_t ndirs(const struct shim_ring *r)
{
	return r->ndirs > 2 ? 2 : r->ndirs;
}

bool shim_ready_of(const struct shim_fd *f, struct shim_ready *s)
{
	struct shim_ring *r;
	int rd, wr;

	memset(s, 0, sizeof(*s));
	if (!f || !f->ring || f->broken || !shim.area)
		return false;
	r = shim_ring_of(f);
	if (!r || atomic_load(&r->mode) != SHIM_RING_LIVE)
		return false;
	s->sock = chan_of(f)->kind != SHIM_CH_PIPE;
	if (s->sock) {
		rd = 1 - (f->end & 1);
		wr = f->end & 1;
	} else {
		rd = f->end == 0 ? 0 : -1;
		wr = f->end == 1 ? 0 : -1;
	}
	s->rdi = s->wri = -1;
	if (rd >= 0 && (uint32_t)rd < ndirs(r)) {
		s->rd = &r->dir[rd];
		s->rdi = rd;
	}
	/* Writers still on the kernel socket (loopback TCP before its client
	 * joined, tcp.c): the kernel says whether a write makes progress. */
	if (wr >= 0 && (uint32_t)wr < ndirs(r) && atomic_load(&r->dir[wr].pre) != SHIM_PRE_OPEN) {
		s->wr = &r->dir[wr];
		s->wri = wr;
	}
	s->r = r;
	s->f = f;
	shim_ready_update(s);
	return true;
}

/* Would a write make progress?  A pipe: one of its page buffers is free
 * (the kernel's pipe_poll); a socket: room for PIPE_BUF bytes, which any
 * write takes in part at least, now or once its ring grows (within the
 * rings' budget: shim_ring_room, asked only when the ring looks full).
 * Read without the write lock first: a hint that the write itself
 * settles. */
static bool dir_writable(const struct shim_ready *s)
{
	struct shim_dir *D = s->wr;
	uint64_t head = atomic_load(&D->head), tail = atomic_load(&D->tail);
	uint32_t cap = atomic_load(&D->cap), slots = *(volatile uint32_t *)&D->slots;
	uint32_t want = cap < PIPE_BUF ? 1 : PIPE_BUF;

	if (slots) {
		uint32_t bh = *(volatile uint32_t *)&D->bhead, bt = *(volatile uint32_t *)&D->btail, used = 0;

		if (head - tail >= cap)
			return false;
		if (slots > SHIM_PIPE_SLOTS || bh - bt > SHIM_PIPE_SLOTS)
			return true; /* let the write find out */
		for (uint32_t b = bt; b != bh; b++)
			if (*(volatile uint64_t *)&D->bend[b % SHIM_PIPE_SLOTS] > tail)
				used++;
		return used < slots;
	}
	if (head - tail <= cap && cap - (head - tail) >= want)
		return true;
	return cap < SHIM_RING_SIZE && shim_ring_room((struct shim_fd *)s->f, want);
}

/* A half close of direction @d recorded in the ring (shutdown). */
static bool dir_shut(const struct shim_ready *s, int d, uint32_t bits)
{
	return d >= 0 && (atomic_load(&s->r->shut) & (bits << d));
}

void shim_ready_update(struct shim_ready *s)
{
	/* End of file after a half close is readable too (POLLIN, and the
	 * kernel socket, shut as well, says POLLRDHUP). */
	s->readable = s->rd && (atomic_load(&s->rd->head) != atomic_load(&s->rd->tail) ||
				dir_shut(s, s->rdi, SHIM_SHUT_WR | SHIM_SHUT_RD));
	/* A direction shut for writing fails at once: writable, as natively. */
	s->writable = s->wr && (dir_shut(s, s->wri, SHIM_SHUT_WR) || dir_writable(s));
}

uint32_t shim_ready_kernel_events(const struct shim_ready *s, uint32_t events)
{
	uint32_t k = events & ~(uint32_t)(SHIM_IN_BITS | SHIM_OUT_BITS);

	if (!s->rd)
		k |= events & SHIM_IN_BITS;
	else if (events & SHIM_IN_BITS)
		k |= POLLIN | (s->sock ? POLLRDHUP : 0);
	/* The kernel object of a live ring is (nearly) empty, so always
	 * writable: the ring alone says whether a write makes progress. */
	if (!s->wr)
		k |= events & SHIM_OUT_BITS;
	return k;
}

ssize_t shim_ready_read_nowait(int fd, bool sock, char *b)
{
	ssize_t n;

	if (sock) {
		n = REAL(recv)(fd, b, 1, MSG_DONTWAIT);
	} else {
		struct iovec v = { b, 1 };

		n = preadv2(fd, &v, 1, -1, RWF_NOWAIT);
		if (n < 0 && errno == EOPNOTSUPP) {
			/* A kernel without RWF_NOWAIT on pipes: look first. */
			struct pollfd p = { .fd = fd, .events = POLLIN };

			if (REAL(poll)(&p, 1, 0) != 1)
				return -EAGAIN;
			if (!(p.revents & POLLIN))
				return (p.revents & POLLHUP) ? 0 : -EAGAIN;
			n = REAL(read)(fd, b, 1);
		}
	}
	return n < 0 ? -errno : n;
}

bool shim_ready_bells_owed(struct shim_dir *D)
{
	/* Bells before sleepers: a bell counted here was (or is about to be)
	 * sent for a reader already counted asleep. */
	uint32_t bells = atomic_load(&D->bells);

	return bells <= atomic_load(&D->rwait);
}

void shim_ready_drain(int fd, bool sock, struct shim_dir *D)
{
	uint32_t n;

	/* A bell taken from a reader asleep in read() would leave it asleep
	 * beside a ring full of data (its writer then waits for room forever):
	 * as many bells as there are sleepers are theirs. */
	/* Bytes the writers sent before the ring are in front of the bells. */
	if (shim_ring_prefix_pending(D))
		return;
	while ((n = atomic_load(&D->bells)) > 0 && !shim_ready_bells_owed(D)) {
		char b;

		if (shim_ready_read_nowait(fd, sock, &b) != 1)
			break;
		while (n && !atomic_compare_exchange_weak(&D->bells, &n, n - 1))
			;
	}
}

void shim_ready_yield_to_sleepers(void)
{
	/* A nap, not sched_yield: a sleeper of lower priority runs too. */
	struct timespec t = { 0, 50000 };

	nanosleep(&t, NULL);
}

bool shim_ready_kernel_bytes(int fd, struct shim_dir *D)
{
	int n = 0;

	if (fd < 0 || REAL(ioctl)(fd, FIONREAD, &n) != 0 || n <= 0)
		return false;
	/* Bells still pending (owed to sleepers, or counted before sent) are
	 * not bytes to read. */
	return (uint32_t)n > atomic_load(&D->bells);
}

uint32_t shim_ready_revents(int fd, struct shim_ready *s, uint32_t events, uint32_t kernel)
{
	uint32_t out;

	if (kernel & POLLNVAL)
		return POLLNVAL;
	out = kernel & (POLLERR | POLLHUP);
	out |= kernel & events & (POLLPRI | POLLRDBAND | POLLRDHUP);
	if (!s->r)
		return out | (kernel & events & (SHIM_IN_BITS | SHIM_OUT_BITS));
	shim_ready_update(s);
	if (!s->rd) {
		out |= kernel & events & SHIM_IN_BITS;
	} else if (events & SHIM_IN_BITS) {
		bool in = s->readable;

		if (!in && (kernel & POLLIN)) {
			if (shim_ring_prefix_pending(s->rd)) {
				in = true; /* the writers' bytes before the ring */
			} else if (s->sock && (kernel & (POLLRDHUP | POLLHUP))) {
				in = true; /* the peer is gone: EOF is readable */
			} else {
				if (atomic_load(&s->rd->bells)) {
					shim_ready_drain(fd, s->sock, s->rd);
					shim_ready_update(s);
				}
				/* Bytes in the kernel object itself (not bells): the
				 * read takes them. */
				in = s->readable || shim_ready_kernel_bytes(fd, s->rd);
			}
		}
		if (in)
			out |= events & SHIM_IN_BITS;
	}
	if (!s->wr)
		out |= kernel & events & SHIM_OUT_BITS;
	else if ((events & SHIM_OUT_BITS) && s->writable)
		out |= events & (s->sock ? SHIM_OUT_BITS : (POLLOUT | POLLWRNORM));
	else if ((events & SHIM_OUT_BITS) && (kernel & (POLLERR | POLLHUP)))
		out |= kernel & events & SHIM_OUT_BITS; /* writes fail at once */
	return out;
}

void shim_ready_arm(struct shim_dir *D, int delta)
{
	uint32_t n = atomic_load(&D->armed);

	if (delta > 0) {
		atomic_fetch_add(&D->armed, (uint32_t)delta);
		return;
	}
	/* Never below zero, whatever another process wrote. */
	while (n && !atomic_compare_exchange_weak(&D->armed, &n, n - 1))
		;
}

/* Per fd of this process: the channel and generation whose kernel socket
 * was set TCP_NODELAY (+1 on the channel; 0: none). */
static uint32_t nodelay_chan[SHIM_FD_MAX], nodelay_gen[SHIM_FD_MAX];

void shim_ready_nodelay(int fd, const struct shim_fd *f)
{
	static const int one = 1;

	if (fd < 0 || fd >= SHIM_FD_MAX || !f || !f->chan || !shim.area || chan_of(f)->kind != SHIM_CH_TCP)
		return;
	if (nodelay_chan[fd] == (uint32_t)f->chan && nodelay_gen[fd] == f->gen)
		return;
	/* A bell is one byte sent while the previous one may be unacknowledged:
	 * Nagle would hold it until the peer's delayed ACK (40 ms), once the
	 * kernel sees the bells go both ways (its ping-pong mode). */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0) {
		nodelay_chan[fd] = (uint32_t)f->chan;
		nodelay_gen[fd] = f->gen;
	}
}

void shim_ready_bell(int fd, const struct shim_fd *f, struct shim_dir *D)
{
	static const char bell;
	uint32_t zero = 0;
	ssize_t n;

	if (!atomic_load(&D->armed) || atomic_load(&D->bells) ||
	    !atomic_compare_exchange_strong(&D->bells, &zero, 1))
		return;
	if (chan_of(f)->kind == SHIM_CH_PIPE) {
		n = REAL(write)(fd, &bell, 1);
	} else {
		shim_ready_nodelay(fd, f);
		n = REAL(send)(fd, &bell, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	if (n != 1)
		atomic_fetch_sub(&D->bells, 1);
}

bool shim_ready_nonblock(const struct shim_fd *f)
{
	return f->chan && shim.area && (atomic_load(&chan_of(f)->nonblock) & (1u << (f->end & 1)));
}

void shim_ready_set_nonblock(const struct shim_fd *f, bool on)
{
	uint32_t bit;

	if (!f || !f->chan || !shim.area)
		return;
	bit = 1u << (f->end & 1);
	/* Written only if it changes: each image that inherits the channel
	 * says so as it starts, and an atomic write takes the line from the
	 * processes that read it. */
	if (!(atomic_load(&chan_of(f)->nonblock) & bit) == !on)
		return;
	if (on)
		atomic_fetch_or(&chan_of(f)->nonblock, bit);
	else
		atomic_fetch_and(&chan_of(f)->nonblock, ~bit);
}

/* Per process (prim/spin.h). */
static _Atomic uint32_t spin_ns = XOS__SPIN_START_NS;

/* The calling thread's EF record, or NULL. */
static struct shim_ef *self_ef(void)
{
	int32_t e = shim_current_ef();

	return shim.area && e >= 0 && e < SHIM_MAX_EF ? &shim.area->ef[e] : NULL;
}

static uint32_t cpu_now(void)
{
	int cpu = sched_getcpu();

	return cpu >= 0 ? (uint32_t)cpu + 1 : 0;
}

void shim_ready_sleeping(int delta)
{
	struct shim_ef *e = self_ef();
	uint32_t n, cpu;
	int err = errno;

	if (!e)
		return;
	if (delta > 0) {
		atomic_fetch_add(&e->kwait, 1);
		return;
	}
	n = atomic_load(&e->kwait);
	while (n && !atomic_compare_exchange_weak(&e->kwait, &n, n - 1))
		;
	cpu = cpu_now();
	if (atomic_load_explicit(&e->cpu, memory_order_relaxed) != cpu)
		atomic_store_explicit(&e->cpu, cpu, memory_order_relaxed);
	errno = err;
}

void shim_ready_wrote(struct shim_dir *D)
{
	uint32_t cpu = cpu_now(), me = (uint32_t)shim_current_ef() + 1;
	struct shim_ef *e = self_ef();

	if (cpu && atomic_load_explicit(&D->wcpu, memory_order_relaxed) != cpu)
		atomic_store_explicit(&D->wcpu, cpu, memory_order_relaxed);
	if (!e)
		return;
	if (atomic_load_explicit(&D->wef, memory_order_relaxed) != me)
		atomic_store_explicit(&D->wef, me, memory_order_relaxed);
	if (cpu && atomic_load_explicit(&e->cpu, memory_order_relaxed) != cpu)
		atomic_store_explicit(&e->cpu, cpu, memory_order_relaxed);
}

/*
 * Whether the peer that writes @in can answer while we wait, and where:
 *  - nobody wrote @in yet: the writer may not even run yet (sleep);
 *  - it sleeps in the kernel and no bell of ours is pending for it: it
 *    waits for something else than us, so nothing comes soon (sleep; an
 *    idle server whose clients are idle spins not at all);
 *  - it runs, or was just woken by our bell, on our CPU (or may land on
 *    it: a loopback bell wakes its reader on the writer's CPU): it can
 *    only answer if we step aside, and a runnable waiter beside it lets
 *    an idle CPU take one of the two (yield);
 *  - it runs on another CPU: spin.
 * A writer not known yet: spin unless it last ran on our CPU (with one
 * CPU: sleep, as it may not be runnable at all).
 */
enum shim_wait_how shim_ready_how(struct shim_dir *in, struct shim_dir *out)
{
	uint32_t w, cpu, pcpu;
	struct shim_ef *p;

	if (!in || !shim.area)
		return SHIM_WAIT_SLEEP;
	w = atomic_load_explicit(&in->wef, memory_order_relaxed);
	if (!w || w > SHIM_MAX_EF) {
		if (!shim_multi_cpu())
			return SHIM_WAIT_SLEEP;
		pcpu = atomic_load_explicit(&in->wcpu, memory_order_relaxed);
		/* Nothing was ever written this way: its writer may not have
		 * started yet (the exec'd child of Python's subprocess.run
		 * takes milliseconds), so nothing comes soon. */
		if (!pcpu)
			return SHIM_WAIT_SLEEP;
		cpu = cpu_now();
		return cpu && pcpu == cpu ? SHIM_WAIT_YIELD : SHIM_WAIT_SPIN;
	}
	p = &shim.area->ef[w - 1];
	if (atomic_load(&p->kwait))
		return out && atomic_load(&out->bells) ? SHIM_WAIT_YIELD : SHIM_WAIT_SLEEP;
	/* One CPU to run on: an awake peer can only run once we step aside. */
	if (!shim_multi_cpu())
		return SHIM_WAIT_YIELD;
	cpu = cpu_now();
	pcpu = atomic_load_explicit(&p->cpu, memory_order_relaxed);
	return cpu && pcpu == cpu ? SHIM_WAIT_YIELD : SHIM_WAIT_SPIN;
}

bool shim_ready_spin(bool (*check)(void *), void *arg, enum shim_wait_how how)
{
	switch (how) {
	case SHIM_WAIT_SPIN:
		return xos__spin_until(&spin_ns, check, arg);
	case SHIM_WAIT_YIELD:
		return xos__yield_until(&spin_ns, check, arg);
	default:
		return false;
	}
}

/*
 * The budget spin_ns is halved by every spin that missed, so a phase of
 * slow answers (a client that thinks, a burst of load) brings it to
 * nothing, and only a probe every 64 waits could raise it again: a probe
 * of 4 us rarely catches a round trip of 10-20 us, so the waits of
 * poll and epoll went on sleeping once answers were fast again: a kernel
 * sleep and wake-up per request (test/legacy/spin-recovers: 1994-1999
 * sleeps in 2000 fast round trips after 60 slow ones, 0-6 with this).
 * A sleep that a ring ended soon,
 * with its writer answering from another CPU (a spin cannot catch one
 * on ours), says what spin would have caught it: the budget becomes that
 * (prim/spin.h), as a blocking read's does (ring.c).
 */
void shim_ready_woke(struct shim_dir *rd, uint64_t slept_ns)
{
	uint32_t w, cpu;

	if (!rd || !shim_multi_cpu())
		return;
	w = atomic_load_explicit(&rd->wcpu, memory_order_relaxed);
	cpu = cpu_now();
	if (w && cpu && w != cpu)
		xos__spin_slept(&spin_ns, slept_ns);
}

int64_t shim_ready_full_step(int64_t *step)
{
	int64_t s = *step < FULL_STEP_MIN_NS ? FULL_STEP_MIN_NS : *step;

	*step = s * 2 > FULL_STEP_MAX_NS ? FULL_STEP_MAX_NS : s * 2;
	return s;
}

int64_t shim_ready_deadline(const struct timespec *ts)
{
	if (!ts)
		return -1;
	if (ts->tv_sec < 0 || ts->tv_nsec < 0)
		return 0;
	if (ts->tv_sec > INT64_MAX / 2000000000)
		return -1;
	return (int64_t)shim_now_ns() + ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

bool shim_ready_left(int64_t deadline, struct timespec *out)
{
	int64_t left = deadline - (int64_t)shim_now_ns();

	if (left <= 0) {
		*out = (struct timespec){ 0, 0 };
		return false;
	}
	out->tv_sec = left / 1000000000LL;
	out->tv_nsec = left % 1000000000LL;
	return true;
}

void shim_ready_closing(int fd, const struct shim_fd *f)
{
	struct shim_ready s;

	/* A socket closed with unread bytes resets its peer (ECONNRESET, or a
	 * TCP RST instead of a FIN): no bell may be left behind. */
	if (shim_ready_of(f, &s) && s.sock && s.rd && !s.readable && atomic_load(&s.rd->bells))
		shim_ready_drain(fd, true, s.rd);
}

void shim_ready_reset(struct shim_dir *D)
{
	atomic_store(&D->armed, 0);
}

bool shim_ready_quiet(const struct shim_ready *s)
{
	/* The end the fd faces: its peer's count (a pipe's other end, the
	 * socket's peer) in the ring's ends[]. */
	int peer = 1 - (s->f->end & 1);

	if (!s->r)
		return false;
	/* A half close: the kernel socket reports RDHUP, HUP. */
	if (atomic_load(&s->r->shut))
		return false;
	if (atomic_load(&s->r->ends[peer]) <= 0)
		return false;
	if (s->wr && atomic_load(&s->wr->reader_gone))
		return false;
	return true;
}

struct shim_fd *shim_ready_fd(int fd, bool input)
{
	struct shim_fd *f = shim_fd_get(fd);

	/* Not accepted yet: the kernel socket carries both directions until
	 * this process joins the ring, so the kernel's answer is exact. */
	if (f && f->pair) {
		SHIM_ERRNO_SAVE;
		shim_tcp_try_settle(fd, f);
		SHIM_ERRNO_RESTORE();
	}
	(void)input;
	return f;
}

int shim_ready_fionbio(int fd, void *arg)
{
	int rc = REAL(ioctl)(fd, FIONBIO, arg);

	if (rc == 0 && arg) {
		SHIM_ERRNO_SAVE;
		shim_ready_set_nonblock(shim_fd_get(fd), *(int *)arg != 0);
		SHIM_ERRNO_RESTORE();
	}
	return rc;
}
