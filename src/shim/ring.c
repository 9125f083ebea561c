/* SPDX-License-Identifier: MIT */
/*
 * The shim's private ring and its live switch back to the kernel.
 *
 * Why not the channel layer's ring (src/chan/ring.c): that ring is single
 * producer, single consumer, with each end's cursors in its own process
 * and a control socket per channel, and it sleeps on a timed futex.  A
 * legacy fd is different: after fork any number of processes hold the
 * same end and may read or write it, EOF and EPIPE depend on which of
 * them still hold it (only the kernel knows), and a sleeping read must be
 * interrupted or restarted by a signal exactly as the kernel would.  So
 * this ring keeps every cursor in shared memory under per-direction locks
 * (any number of readers and writers), leaves liveness and signals to the
 * kernel object under the fd, and lives in the run's shared area so that
 * a loopback TCP peer, which is not a fork relative, reaches it too.  It
 * is kept small: a byte-stream ring per direction, in the run's shared
 * area, usable by every managed process that holds an end.
 *
 * The kernel pipe or socket stays open under every fd: it carries bells
 * (one byte that wakes a reader sleeping in read()) and tells the ring
 * about EOF, EPIPE and signals exactly as it would natively.  Modes:
 *   LIVE    data goes through the ring;
 *   KERNEL  writers write to the kernel; readers first drain what is left
 *           in the ring (older bytes), then the bells, then read the kernel.
 * Switching LIVE -> KERNEL holds every lock of the ring, so no byte is
 * lost, duplicated or reordered.  When the kernel itself must see every
 * unread byte (the reader execs an unmanaged program, polls, splices), the
 * downgrade also pushes the ring's bytes into the kernel pipe.
 *
 * Every process of the run can write the area, so nothing read from it is
 * trusted with memory: the slot is checked against the table, the data
 * offset is a constant of the build, and the cursors are validated as the
 * channel ring validates its own (written - read within the capacity,
 * neither going back) before any copy.  A violation breaks the ring: each
 * end then fails with EIO, since its bytes can no longer be trusted.
 */
#include "config.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../prim/cursor.h"
#include "../prim/futex.h"
#include "../prim/spin.h"
#include "shim_i.h"
#include "ready.h"

#define COPY_PIECE 16384u /* bytes copied between two cursor updates */
#define WRITER_CHECK_NS 73000000L /* a full ring's writer checks its readers this often */

static long futex(_Atomic uint32_t *word, int op, uint32_t val)
{
	return xos__futex(word, op, val, NULL);
}

/* A writer's wait for space: timed, so that a reader killed without
 * closing (SIGKILL) is noticed through the kernel object. */
static long futex_wait(_Atomic uint32_t *word, uint32_t val)
{
	struct timespec ts = { 0, WRITER_CHECK_NS };

	return xos__futex_wait(word, val, &ts);
}

/* A futex wait, published as a sleep (ready.c); errno kept from it. */
static long slept_futex(_Atomic uint32_t *word, uint32_t val)
{
	long rc;
	int err;

	shim_ready_sleeping(1);
	rc = futex_wait(word, val);
	err = errno;
	shim_ready_sleeping(-1);
	errno = err;
	return rc;
}

/* A timed wait always fails with EINTR when a handler runs; a blocking
 * pipe write that wrote nothing yet is restarted if the handler has
 * SA_RESTART.  The handler that ran is not known here: restart only if
 * every installed handler has SA_RESTART (a program with one that has not
 * must expect EINTR from any blocking call). */
static bool handlers_restart(void)
{
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;

		if (sig == SIGKILL || sig == SIGSTOP || sigaction(sig, NULL, &sa) != 0)
			continue;
		if (sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN && !(sa.sa_flags & SA_RESTART))
			return false;
	}
	return true;
}

/* Did a handler run in this thread since @seen (when the call began or
 * last went on)?  Then the call ends as the kernel's would, had the
 * signal come while it waited: true with a short count once something
 * moved, with EINTR before, unless the handler asked for a restart
 * (false: the call goes on, as restarted). */
static bool interrupted(uint32_t *seen, size_t done)
{
	if (shim_signals_handled == *seen)
		return false;
	*seen = shim_signals_handled;
	return done > 0 || !shim_signal_restarts();
}

static void lk(pthread_mutex_t *m)
{
	/* The last holder died inside: the ring is still consistent, because
	 * cursors move only after the bytes are copied. */
	if (pthread_mutex_lock(m) == EOWNERDEAD)
		pthread_mutex_consistent(m);
}

static void unlk(pthread_mutex_t *m)
{
	pthread_mutex_unlock(m);
}

static bool lock_free(pthread_mutex_t *m)
{
	int rc = pthread_mutex_trylock(m);

	if (rc == EOWNERDEAD)
		pthread_mutex_consistent(m);
	if (rc == 0 || rc == EOWNERDEAD) {
		pthread_mutex_unlock(m);
		return true;
	}
	return false;
}

/* Direction @d's bytes of ring @slot (both checked by the callers). */
static char *dir_data(int32_t slot, int d)
{
	return (char *)shim.area + shim_ring_data_off() + ((uint64_t)slot * 2 + (uint64_t)d) * SHIM_RING_SIZE;
}

/* @r is an element of the area's table: shim_ring_of checked the index. */
static int32_t slot_of(const struct shim_ring *r)
{
	return (int32_t)(r - shim.area->ring);
}

/* At most the two directions a ring has, whatever the area says. */
static uint32_t ndirs_of(const struct shim_ring *r)
{
	uint32_t n = r->ndirs;

	return n > 2 ? 2 : n;
}

/* The cursors this process saw last, per ring, direction and side (0: read
 * under the read lock, 1: written under the write lock).  Each entry is
 * used under its lock only, so the cursors seen through it never go back. */
static struct {
	uint32_t gen;
	uint64_t head, tail;
} cursors_seen[SHIM_MAX_RING][2][2];

/* Direction @d's size as the area says, if possible (a power of two
 * within the slot), else 0.  Stable under either lock of the direction. */
static uint32_t dir_size(const struct shim_ring *r, int d)
{
	uint32_t size = atomic_load(&r->size[d]);

	if (size < SHIM_RING_MIN || size > SHIM_RING_SIZE || (size & (size - 1)))
		return 0;
	return size;
}

/* Are @head and @tail, read from direction @d of @r under the @side lock,
 * possible?  Bytes unread within the capacity (which also catches a head
 * behind the tail), the capacity within the direction's size, that within
 * the slot, and neither cursor going back since this process last looked
 * at this generation of the ring. */
static bool cursors_ok(const struct shim_ring *r, int d, int side, uint64_t head, uint64_t tail, uint32_t cap)
{
	uint32_t gen = atomic_load(&r->gen), size = dir_size(r, d);
	__typeof__(cursors_seen[0][0][0]) *s = &cursors_seen[slot_of(r)][d][side];

	if (cap == 0 || size == 0 || cap > size || !xos__ring_cursors_ok(head, tail, cap))
		return false;
	if (s->gen == gen && (head < s->head || tail < s->tail))
		return false;
	s->gen = gen;
	s->head = head;
	s->tail = tail;
	return true;
}

/* This process moved a cursor to @head / @tail (after cursors_ok). */
static void cursors_moved(const struct shim_ring *r, int d, int side, uint64_t head, uint64_t tail)
{
	cursors_seen[slot_of(r)][d][side].head = head;
	cursors_seen[slot_of(r)][d][side].tail = tail;
}

static struct shim_chan *chan_of(const struct shim_fd *f)
{
	return &shim.area->chan[f->chan - 1];
}

struct shim_ring *shim_ring_of(const struct shim_fd *f)
{
	struct shim_ring *r;
	int32_t slot;

	if (!f->ring || !f->chan || !shim.area)
		return NULL;
	/* Read once: another process may change it between check and use. */
	slot = atomic_load((_Atomic int32_t *)&chan_of(f)->ring);
	if (slot < 0 || slot >= SHIM_MAX_RING)
		return NULL;
	r = &shim.area->ring[slot];
	if (atomic_load(&r->gen) != f->gen || atomic_load(&r->mode) == SHIM_RING_FREE)
		return NULL;
	return r;
}

/* Bytes copied between two cursor updates.  A pipe holds only 64 KiB
 * (as the kernel's), so its two sides must overlap their copies to
 * stream: 16 KiB pieces made a 1 GiB stream 1.5x faster.  A socket's ring
 * is larger and streams faster in one piece (fewer shared-line updates). */
static size_t copy_piece(const struct shim_dir *D)
{
	return D->slots ? COPY_PIECE : SIZE_MAX;
}

static void wake(_Atomic uint32_t *seq);
static void ring_bell(int fd, const struct shim_fd *f, struct shim_dir *D, uint32_t n);
static void ring_to_kernel(int fd, struct shim_fd *f, const char *why, bool kernel_view, bool peer_closed);

/* Every fd of this process on channel @chan fails from now on. */
static void break_local(int32_t chan)
{
	for (int fd = 0; fd < shim.fd_hi && fd < SHIM_FD_MAX; fd++)
		if (shim.fd[fd].chan == chan && shim.fd[fd].ring)
			shim.fd[fd].broken = 1;
}

/* The ring's shared state is impossible: declare it broken for every
 * process (they fail with EIO on their next use; sleepers are woken to see
 * it) and return -EIO.  Called without the ring's locks. */
static ssize_t ring_broken(int fd, struct shim_fd *f, struct shim_ring *r, const char *why)
{
	struct shim_chan *c = chan_of(f);
	uint32_t mode = atomic_exchange(&r->mode, SHIM_RING_BROKEN);

	break_local(f->chan);
	if (mode != SHIM_RING_BROKEN) {
		atomic_fetch_add(&c->downgraded, 1);
		snprintf(c->why, sizeof(c->why), "ring corrupted: %s", why);
	}
	for (uint32_t i = 0; i < ndirs_of(r); i++) {
		struct shim_dir *D = &r->dir[i];

		wake(&D->rseq);
		wake(&D->wseq);
		/* A reader asleep in read() on the kernel object wakes on a byte. */
		if (atomic_load(&D->rwait))
			ring_bell(fd, f, D, 1);
	}
	return -EIO;
}

static bool is_pipe(const struct shim_fd *f)
{
	return chan_of(f)->kind == SHIM_CH_PIPE;
}

/* The direction @f reads from / writes to; -1 if it cannot (pipe's other end). */
static int read_dir(const struct shim_fd *f)
{
	if (is_pipe(f))
		return f->end == 0 ? 0 : -1;
	return 1 - f->end;
}

static int write_dir(const struct shim_fd *f)
{
	if (is_pipe(f))
		return f->end == 1 ? 0 : -1;
	return f->end;
}

bool shim_ring_live(const struct shim_fd *f)
{
	struct shim_ring *r = shim_ring_of(f);

	return r && atomic_load(&r->mode) == SHIM_RING_LIVE;
}

void shim_ring_hold(struct shim_fd *f, int delta)
{
	struct shim_ring *r;

	if (delta < 0 && shim.holds_dropped)
		return;
	r = shim_ring_of(f);
	if (r) {
		atomic_fetch_add(&r->holders, delta);
		atomic_fetch_add(&r->ends[f->end & 1], delta);
	}
}

/* A ring is free when nobody holds it any more (whatever is left in it has
 * no reader), or when it is back on the kernel with nothing left in it. */
static bool ring_reclaimable(struct shim_ring *r)
{
	if (atomic_load(&r->mode) == SHIM_RING_FREE)
		return true;
	/* A broken ring is never reused: its holders must keep failing. */
	if (atomic_load(&r->mode) == SHIM_RING_BROKEN)
		return false;
	if (atomic_load(&r->mode) == SHIM_RING_LIVE && atomic_load(&r->holders) > 0)
		return false;
	for (uint32_t d = 0; d < ndirs_of(r); d++) {
		struct shim_dir *D = &r->dir[d];

		if (atomic_load(&r->mode) == SHIM_RING_KERNEL &&
		    (atomic_load(&D->head) != atomic_load(&D->tail) || atomic_load(&D->bells)))
			return false;
		if (!lock_free(&D->wlock) || !lock_free(&D->rlock) || atomic_load(&D->rwait) ||
		    atomic_load(&D->wwait))
			return false;
	}
	return true;
}

void shim_area_lock(void)
{
	lk(&shim.area->ring_lock);
}

void shim_area_unlock(void)
{
	unlk(&shim.area->ring_lock);
}

/* The area's budget for ring data, never more than the build allows. */
static uint64_t ring_budget(void)
{
	uint64_t b = shim.area->ring_budget;

	return b > SHIM_RING_BUDGET ? SHIM_RING_BUDGET : b;
}

/* Take @bytes more of the budget (false: it has no room). */
static bool budget_take(uint64_t bytes)
{
	uint64_t used = atomic_fetch_add(&shim.area->ring_used, bytes);

	if (used + bytes > ring_budget()) {
		atomic_fetch_sub(&shim.area->ring_used, bytes);
		return false;
	}
	return true;
}

static void budget_give(uint64_t bytes)
{
	uint64_t used = atomic_load(&shim.area->ring_used);

	/* Never below zero, whatever a process of the run wrote there. */
	while (!atomic_compare_exchange_weak(&shim.area->ring_used, &used, used > bytes ? used - bytes : 0))
		;
}

/* The first size of a direction: a pipe's whole capacity (it holds what
 * the kernel pipe would), a socket's smallest ring. */
static uint32_t first_size(uint32_t pipe_slots)
{
	uint32_t size = SHIM_RING_MIN;

	while (size < pipe_slots * SHIM_PIPE_PAGE && size < SHIM_RING_SIZE)
		size *= 2;
	return size;
}

/* A slot taken for a new channel: the pages its last user grew into go
 * back to the system (and to the budget) before its first size is taken. */
static bool slot_reset(struct shim_ring *r, int32_t slot, uint32_t ndirs, uint32_t size)
{
	for (int d = 0; d < 2; d++) {
		uint32_t old = atomic_load(&r->size[d]);

		if (!old)
			continue;
		if (dir_size(r, d) == 0)
			old = SHIM_RING_SIZE;
		if (old > SHIM_RING_MIN)
			madvise(dir_data(slot, d) + SHIM_RING_MIN, old - SHIM_RING_MIN, MADV_REMOVE);
		budget_give(old);
		atomic_store(&r->size[d], 0);
	}
	if (!budget_take((uint64_t)size * ndirs))
		return false;
	for (uint32_t d = 0; d < ndirs; d++)
		atomic_store(&r->size[d], size);
	return true;
}

/* Put channel @chan on a free ring slot; returns the slot or -1 (none
 * free, or the budget is spent).  Called with the area lock held. */
int32_t shim_ring_attach(int32_t chan, uint32_t ndirs, uint32_t pipe_slots)
{
	struct shim_area *a = shim.area;
	int32_t slot = -1;
	uint32_t start, size = first_size(pipe_slots);

	if (!a || chan < 0 || ndirs < 1 || ndirs > 2)
		return -1;
	if (atomic_load(&a->ring_used) + (uint64_t)size * ndirs > ring_budget())
		return -1;
	/* From where the last search ended: slots in use are skipped in one
	 * look each, and fresh ones are taken in order. */
	start = atomic_load(&a->ring_next) % SHIM_MAX_RING;
	for (int32_t k = 0; k < SHIM_MAX_RING; k++) {
		int32_t i = (int32_t)((start + (uint32_t)k) % SHIM_MAX_RING);
		struct shim_ring *r = &a->ring[i];

		if (!ring_reclaimable(r))
			continue;
		if (!slot_reset(r, i, ndirs, size))
			return -1;
		for (int d = 0; d < 2; d++) {
			struct shim_dir *D = &r->dir[d];

			if (atomic_load(&r->mode) == SHIM_RING_FREE) {
				shim_lock_init(&D->wlock);
				shim_lock_init(&D->rlock);
			}
			atomic_store(&D->head, 0);
			atomic_store(&D->tail, 0);
			atomic_store(&D->bells, 0);
			atomic_store(&D->reader_gone, 0);
			atomic_store(&D->wcpu, 0);
			atomic_store(&D->rcpu, 0);
			atomic_store(&D->wef, 0);
			atomic_store(&D->spin_ns, XOS__SPIN_START_NS);
			atomic_store(&D->cap, pipe_slots ? pipe_slots * SHIM_PIPE_PAGE : size);
			D->slots = pipe_slots;
			D->bhead = D->btail = 0;
			atomic_store(&D->pre, SHIM_PRE_NONE);
			atomic_store(&D->pre_len, 0);
			atomic_store(&D->pre_read, 0);
			atomic_store(&D->rjoined, 0);
			atomic_store(&D->rready, 0);
			shim_ready_reset(D);
			memset(&cursors_seen[i][d], 0, sizeof(cursors_seen[i][d]));
		}
		r->chan = chan;
		r->ndirs = ndirs;
		atomic_store(&r->holders, 0);
		atomic_store(&r->ends[0], 0);
		atomic_store(&r->ends[1], 0);
		atomic_store(&r->shut, 0);
		atomic_fetch_add(&r->gen, 1);
		atomic_store(&a->ring_next, (uint32_t)i + 1);
		if ((uint32_t)i + 1 > atomic_load(&a->ring_peak))
			atomic_store(&a->ring_peak, (uint32_t)i + 1);
		a->chan[chan].ring = i;
		atomic_fetch_add(&a->chan[chan].upgraded, 1);
		atomic_store(&r->mode, SHIM_RING_LIVE);
		slot = i;
		break;
	}
	return slot;
}

static void wake(_Atomic uint32_t *seq)
{
	atomic_fetch_add(seq, 1);
	futex(seq, FUTEX_WAKE, INT_MAX);
}

/* One bell byte to a reader sleeping in read(): through the fd we write. */
static void ring_bell(int fd, const struct shim_fd *f, struct shim_dir *D, uint32_t n)
{
	static const char bell[4];

	if (n > sizeof(bell))
		n = sizeof(bell);
	atomic_fetch_add(&D->bells, n);
	if (is_pipe(f)) {
		if (REAL(write)(fd, bell, n) != (ssize_t)n)
			atomic_fetch_sub(&D->bells, n);
	} else {
		shim_ready_nodelay(fd, f);
		if (REAL(send)(fd, bell, n, MSG_NOSIGNAL) != (ssize_t)n)
			atomic_fetch_sub(&D->bells, n);
	}
}

/* Read and drop the bells queued in the kernel in front of any data, one
 * at a time and never blocking: another reader may take one first. */
static void drain_bells(int fd, const struct shim_fd *f, struct shim_dir *D)
{
	uint32_t n;

	/* The writers' bytes before the ring are in front of the bells. */
	if (shim_ring_prefix_pending(D))
		return;
	while ((n = atomic_load(&D->bells)) > 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char sink;

		if (REAL(poll)(&p, 1, 0) != 1 || !(p.revents & POLLIN))
			break;
		if (REAL(read)(fd, &sink, 1) != 1)
			break;
		while (n && !atomic_compare_exchange_weak(&D->bells, &n, n - 1))
			;
	}
	(void)f;
}

struct changed {
	_Atomic uint64_t *word;
	uint64_t seen;
	struct shim_ring *r;
	_Atomic int32_t *writers; /* a reader's wait: the writing end's holds, or NULL */
};

static bool changed_now(void *arg)
{
	const struct changed *c = arg;

	return atomic_load_explicit(c->word, memory_order_acquire) != c->seen ||
	       atomic_load(&c->r->mode) != SHIM_RING_LIVE || (c->writers && atomic_load(c->writers) <= 0);
}

/* A writer waiting for room: spin while the reader is likely to free
 * some soon (prim/spin.h): never with one CPU or when the reader last ran
 * on our CPU (it cannot run while we spin). */
static bool spin_until_changed(_Atomic uint64_t *word, uint64_t seen, struct shim_ring *r, struct shim_dir *D,
			       _Atomic uint32_t *peer_cpu)
{
	struct changed c = { word, seen, r };
	int cpu;

	if (!shim_multi_cpu())
		return false;
	cpu = sched_getcpu();
	if (cpu >= 0 && atomic_load_explicit(peer_cpu, memory_order_relaxed) == (uint32_t)cpu + 1)
		return false;
	return xos__spin_until(&D->spin_ns, changed_now, &c);
}

/* A reader waiting for bytes on direction @d of @r: spin, yield or
 * neither, as its writer's state says (ready.c). */
static bool wait_for_bytes(struct shim_ring *r, int d, uint64_t head, const struct shim_fd *f)
{
	struct shim_dir *D = &r->dir[d];
	_Atomic int32_t *writers = &r->ends[is_pipe(f) ? 1 : 1 - (f->end & 1)];
	struct changed c = { &D->head, head, r, writers };
	struct shim_dir *out = !is_pipe(f) && ndirs_of(r) == 2 ? &r->dir[1 - d] : NULL;

	/* No fd of the writing end holds the ring: nothing can come through
	 * it, only the end of file (or an unmanaged writer's bytes) through
	 * the kernel.  A Python parent reading the pipe its exec'd child
	 * closed spun its whole budget here before each such read; the spin
	 * also ends when the last writer lets go meanwhile (the child exits). */
	if (atomic_load(writers) <= 0)
		return false;
	switch (shim_ready_how(D, out)) {
	case SHIM_WAIT_SPIN:
		return xos__spin_until(&D->spin_ns, changed_now, &c);
	case SHIM_WAIT_YIELD:
		return xos__yield_until(&D->spin_ns, changed_now, &c);
	default:
		return false;
	}
}

static void note_sleep(struct shim_dir *D, uint64_t slept_ns)
{
	xos__spin_slept(&D->spin_ns, slept_ns);
}

static void note_cpu(_Atomic uint32_t *slot)
{
	int cpu = sched_getcpu();

	if (cpu >= 0 && atomic_load_explicit(slot, memory_order_relaxed) != (uint32_t)cpu + 1)
		atomic_store_explicit(slot, (uint32_t)cpu + 1, memory_order_relaxed);
}

static void clear_local(struct shim_fd *f)
{
	if (f->ring && shim_own_process()) {
		shim_ring_hold(f, -1);
		f->ring = 0;
	}
}

/* What else the kernel holds right now, without blocking. */
static ssize_t more_from_kernel(int fd, char *buf, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (!len || REAL(poll)(&p, 1, 0) != 1 || !(p.revents & POLLIN))
		return 0;
	n = REAL(read)(fd, buf, len);
	return n > 0 ? n : 0;
}

/* Are all of the pipe's writers gone (its kernel object hung up)? */
static bool pipe_hung_up(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return REAL(poll)(&p, 1, 0) == 1 && (p.revents & POLLHUP);
}

/* A non-blocking read found the ring empty: what does the kernel socket
 * hold?  0: end of file (the peer's socket is gone), 1: bytes written to
 * it directly (not bells), -1: nothing.  Bells left in front are dropped
 * first; one counted after the look was sent before it (writers count a
 * bell before sending it), so a byte seen with none counted is data. */
static int kernel_peek(int fd, const struct shim_fd *f, struct shim_dir *D)
{
	char b;
	ssize_t k;

	if (is_pipe(f))
		return -1;
	if (atomic_load(&D->bells))
		shim_ready_drain(fd, true, D);
	k = REAL(recv)(fd, &b, 1, MSG_DONTWAIT | MSG_PEEK);
	if (k == 1 && atomic_load(&D->bells) == 0)
		return 1;
	return k == 0 ? 0 : -1;
}

bool shim_ring_prefix_pending(struct shim_dir *D)
{
	uint32_t pre = atomic_load(&D->pre);

	return pre == SHIM_PRE_OPEN ||
	       (pre == SHIM_PRE_SET && atomic_load(&D->pre_read) < atomic_load(&D->pre_len));
}

/* Not a result: the bytes before the ring are all read, the ring follows. */
#define PREFIX_DONE (SHIM_USE_KERNEL - 1)

/* Drop @n bells read from the kernel (past the writers' bytes). */
static void bells_taken(struct shim_dir *D, uint64_t n)
{
	uint32_t b = atomic_load(&D->bells);

	while (n--) {
		while (b && !atomic_compare_exchange_weak(&D->bells, &b, b - 1))
			;
		if (!b)
			break;
		b--;
	}
}

/*
 * A read while direction @D's writers started on the kernel socket
 * (tcp.c): their bytes there come first.  While they have not joined
 * (PRE_OPEN) every byte on the kernel socket is theirs; once they did
 * (PRE_SET) the first pre_len are, and the rest are bells, sent after
 * pre_len was published.  Never sleeps in the kernel holding a lock: a
 * blocking read waits in poll for the writers' bytes or their join's bell.
 */
static ssize_t prefix_read(int fd, struct shim_fd *f, struct shim_ring *r, struct shim_dir *D, void *buf,
			   size_t len, int flags)
{
	bool peek = flags & MSG_PEEK;
	uint32_t sigs = shim_signals_handled;

	for (;;) {
		uint64_t plen, pread;
		uint32_t pre;
		size_t want = len;
		ssize_t n;
		int err;

		lk(&D->rlock);
		if (atomic_load(&r->gen) != f->gen) {
			unlk(&D->rlock);
			clear_local(f);
			return SHIM_USE_KERNEL;
		}
		pre = atomic_load(&D->pre);
		plen = atomic_load(&D->pre_len);
		pread = atomic_load(&D->pre_read);
		if (pre == SHIM_PRE_NONE || (pre == SHIM_PRE_SET && pread >= plen)) {
			if (pre != SHIM_PRE_NONE)
				atomic_store(&D->pre, SHIM_PRE_NONE);
			unlk(&D->rlock);
			return PREFIX_DONE;
		}
		if (pre == SHIM_PRE_SET && plen - pread < want)
			want = (size_t)(plen - pread);
		n = REAL(recv)(fd, buf, want, MSG_DONTWAIT | (peek ? MSG_PEEK : 0));
		err = errno;
		if (n > 0) {
			/* Joined while we read: what is past their bytes are bells. */
			if (atomic_load(&D->pre) == SHIM_PRE_SET) {
				plen = atomic_load(&D->pre_len);
				if (pread + (uint64_t)n > plen) {
					if (!peek)
						bells_taken(D, pread + (uint64_t)n - plen);
					n = (ssize_t)(plen - pread);
				}
			}
			if (!peek)
				atomic_store(&D->pre_read, pread + (uint64_t)n);
			unlk(&D->rlock);
			if (n > 0)
				return n;
			continue;
		}
		unlk(&D->rlock);
		if (n == 0)
			return 0; /* the writers are gone before joining: end of file */
		if (err != EAGAIN && err != EWOULDBLOCK)
			return -err;
		if ((flags & MSG_DONTWAIT) || shim_ready_nonblock(f))
			return -EAGAIN;
		{
			struct pollfd p = { .fd = fd, .events = POLLIN };
			uint64_t head = atomic_load(&D->head);
			int k = 0;

			/* Asleep as a ring reader is: the writers' first write on
			 * the ring after they join rings for us. */
			atomic_fetch_add(&D->rwait, 1);
			if (atomic_load(&D->pre) == pre && atomic_load(&D->head) == head)
				k = REAL(poll)(&p, 1, -1);
			atomic_fetch_sub(&D->rwait, 1);
			if (k < 0 && errno == EINTR && interrupted(&sigs, 0))
				return -EINTR;
		}
	}
}

/*
 * @flags: MSG_DONTWAIT (never sleep), MSG_PEEK (copy without consuming),
 * MSG_WAITALL with MSG_PEEK (on TCP, wait until @len bytes are there, or
 * end of file, as the kernel does; AF_UNIX peeks what is there; a
 * consuming MSG_WAITALL is the caller's loop).  End of file: the kernel's, or a half close recorded in
 * the ring (the peer shut writing, or this socket shut reading), once the
 * bytes published before it are read.
 */
ssize_t shim_ring_read(int fd, struct shim_fd *f, void *buf, size_t len, int flags)
{
	struct shim_ring *r;
	struct shim_dir *D;
	bool peek = flags & MSG_PEEK, eof = false, all;
	uint32_t sigs;
	int d;

	if (f->broken)
		return -EIO;
	r = shim_ring_of(f);
	if (!r || (d = read_dir(f)) < 0 || (uint32_t)d >= ndirs_of(r))
		return SHIM_USE_KERNEL;
	D = &r->dir[d];
	if (len == 0)
		return SHIM_USE_KERNEL;
	if (atomic_load(&D->pre) != SHIM_PRE_NONE) {
		ssize_t k = prefix_read(fd, f, r, D, buf, len, flags);

		if (k != PREFIX_DONE)
			return k;
	}
	/* AF_UNIX peeks return what is there, MSG_WAITALL or not. */
	all = peek && (flags & MSG_WAITALL) && chan_of(f)->kind == SHIM_CH_TCP;
	sigs = shim_signals_handled;
	for (;;) {
		uint64_t head, tail, t_sleep;
		char b;
		ssize_t k;

		lk(&D->rlock);
		if (atomic_load(&r->gen) != f->gen) {
			unlk(&D->rlock);
			clear_local(f);
			return SHIM_USE_KERNEL;
		}
		if (atomic_load(&r->mode) == SHIM_RING_BROKEN) {
			unlk(&D->rlock);
			break_local(f->chan);
			return -EIO;
		}
		head = atomic_load_explicit(&D->head, memory_order_acquire);
		tail = atomic_load_explicit(&D->tail, memory_order_relaxed);
		if (!cursors_ok(r, d, 0, head, tail, atomic_load(&D->cap))) {
			unlk(&D->rlock);
			return ring_broken(fd, f, r, "read cursors");
		}
		if (head != tail && (!all || eof || (flags & MSG_DONTWAIT) || head - tail >= len ||
				     head - tail >= atomic_load(&D->cap))) {
			size_t n = head - tail < len ? (size_t)(head - tail) : len;
			const char *src = dir_data(slot_of(r), d);
			size_t most = copy_piece(D), size = dir_size(r, d);

			/* Read again after the check: zero if changed to nonsense. */
			if (!size) {
				unlk(&D->rlock);
				return ring_broken(fd, f, r, "ring size");
			}

			bool woke = false;

			/* A pipe in pieces, each handed back at once: a writer waiting
			 * for room (a pipe holds only 64 KiB) refills while we copy. */
			for (size_t got = 0, piece; peek && got < n; got += piece) {
				size_t off = (tail + got) & (size - 1), first = size - off;

				piece = n - got < size ? n - got : size;
				if (first > piece)
					first = piece;
				memcpy((char *)buf + got, src + off, first);
				memcpy((char *)buf + got + first, src, piece - first);
			}
			for (size_t got = 0, piece; !peek && got < n; got += piece) {
				size_t off = (tail + got) & (size - 1), first = size - off;

				piece = n - got < most ? n - got : most;
				if (first > piece)
					first = piece;
				memcpy((char *)buf + got, src + off, first);
				memcpy((char *)buf + got + first, src, piece - first);
				atomic_store_explicit(&D->tail, tail + got + piece, memory_order_release);
				cursors_moved(r, d, 0, head, tail + got + piece);
				/* A waiting writer: woken once per read, when half the
				 * ring is free or at its end, not after every piece
				 * (a system call each). */
				if (!woke && atomic_load(&D->wwait) &&
				    (got + piece == n || head - (tail + got + piece) <= atomic_load(&D->cap) / 2)) {
					wake(&D->rseq);
					woke = true;
				}
			}
			unlk(&D->rlock);
			note_cpu(&D->rcpu);
			return (ssize_t)n;
		}
		if (atomic_load(&r->mode) != SHIM_RING_LIVE) {
			/* Downgraded and drained: the bells are in front of the data. */
			if (atomic_load(&D->bells))
				drain_bells(fd, f, D);
			unlk(&D->rlock);
			clear_local(f);
			return SHIM_USE_KERNEL;
		}
		if (!eof && (atomic_load(&r->shut) & ((SHIM_SHUT_WR | SHIM_SHUT_RD) << d))) {
			/* Look again: bytes published before the shutdown come first. */
			unlk(&D->rlock);
			eof = true;
			continue;
		}
		unlk(&D->rlock);
		if (eof)
			return 0;
		if ((flags & MSG_DONTWAIT) || shim_ready_nonblock(f)) {
			/* Empty and must not wait.  A socket: bells dropped, a
			 * peek at the kernel socket tells EOF or bytes written to
			 * it directly (left there for a MSG_PEEK).  A pipe: one
			 * byte read without waiting (a bell, stray, or EOF). */
			if (!is_pipe(f)) {
				switch (kernel_peek(fd, f, D)) {
				case 0:
					eof = true;
					continue;
				case 1:
					shim_ring_downgrade(fd, f, "bytes written to the kernel directly", false);
					return SHIM_USE_KERNEL;
				default:
					if (atomic_load(&D->head) != head)
						continue;
					return -EAGAIN;
				}
			}
			if (atomic_load(&D->rwait) && shim_ready_bells_owed(D)) {
				/* The bytes in the pipe are bells owed to readers
				 * asleep in read(): leave them; only EOF is ours. */
				k = pipe_hung_up(fd) ? 0 : -EAGAIN;
			} else {
				k = shim_ready_read_nowait(fd, false, &b);
			}
			if (k < 0) {
				if (k == -EAGAIN && atomic_load(&D->head) != head)
					continue;
				return k;
			}
		} else {
			if (wait_for_bytes(r, d, head, f))
				continue;
			if (interrupted(&sigs, 0))
				return -EINTR;
			atomic_fetch_add(&D->rwait, 1);
			if (atomic_load(&D->head) != head || atomic_load(&r->mode) != SHIM_RING_LIVE) {
				atomic_fetch_sub(&D->rwait, 1);
				continue;
			}
			t_sleep = shim_multi_cpu() ? shim_now_ns() : 0;
			shim_ready_sleeping(1);
			k = REAL(read)(fd, &b, 1);
			shim_ready_sleeping(-1);
			atomic_fetch_sub(&D->rwait, 1);
			if (t_sleep)
				note_sleep(D, shim_now_ns() - t_sleep);
		}
		if (k == 1) {
			uint32_t bells = atomic_load(&D->bells);

			while (bells && !atomic_compare_exchange_weak(&D->bells, &bells, bells - 1))
				;
			if (bells)
				continue;
			/* Not a bell: someone wrote to the kernel directly (stdio,
			 * an unmanaged process) or after a downgrade.  From now
			 * on the kernel carries the channel. */
			shim_ring_downgrade(fd, f, "bytes written to the kernel directly", false);
			*(char *)buf = b;
			return 1 + more_from_kernel(fd, (char *)buf + 1, len - 1);
		}
		if (k == 0) {
			/* The kernel says EOF: data published before it comes first. */
			eof = true;
			continue;
		}
		return -errno;
	}
}

/* Pipes: drop the page buffers the readers emptied (they are behind @tail);
 * false if the account is impossible (a corrupted area). */
static bool pages_settle(struct shim_dir *D, uint64_t tail)
{
	if (D->slots == 0 || D->slots > SHIM_PIPE_SLOTS || D->bhead - D->btail > D->slots)
		return false;
	while (D->btail != D->bhead && D->bend[D->btail % SHIM_PIPE_SLOTS] <= tail)
		D->btail++;
	return true;
}

/*
 * How many of the @left bytes still to write (of a write of @len) the
 * kernel pipe would take now, by its rules (fs/pipe.c pipe_write): at the
 * call's first try only, the part of the write beyond whole pages joins
 * the last buffer if the pipe is not empty and it fits in that page; the
 * rest takes a new page buffer per 4 KiB while buffers are free.  So a
 * write of at most PIPE_BUF bytes goes in whole or waits.  Records the
 * buffers taken, for bytes starting at stream position @head.
 */
static size_t pages_take(struct shim_dir *D, uint64_t head, size_t len, size_t left, bool first_try)
{
	size_t chars = len & (SHIM_PIPE_PAGE - 1), taken = 0;
	uint32_t used = D->bhead - D->btail;

	if (first_try && chars && used > 0) {
		uint32_t last = (D->bhead - 1) % SHIM_PIPE_SLOTS;

		if (D->blen[last] + chars <= SHIM_PIPE_PAGE) {
			D->blen[last] = (uint16_t)(D->blen[last] + chars);
			D->bend[last] += chars;
			taken = chars;
		}
	}
	while (taken < left && used < D->slots) {
		size_t n = left - taken < SHIM_PIPE_PAGE ? left - taken : SHIM_PIPE_PAGE;
		uint32_t i = D->bhead % SHIM_PIPE_SLOTS;

		D->blen[i] = (uint16_t)n;
		D->bend[i] = head + taken + n;
		D->bhead++;
		used++;
		taken += n;
	}
	return taken;
}

/*
 * Grow direction @d of @r so that @want more bytes fit after the @head
 * unread ones, doubling its size up to SHIM_RING_SIZE while the budget
 * allows; true if it grew.  Called with the write lock; takes the read
 * lock, so no reader copies while the bytes move.  The unread bytes keep
 * their stream positions: position p lives at p mod size, and since the
 * new size is a multiple of the old, a byte either stays where it is or
 * moves to the part of the slot the old size did not use, so no move
 * overwrites a byte still to move.
 */
static uint32_t dir_resize(struct shim_ring *r, int d, uint64_t head, uint64_t tail, uint32_t size);

static bool dir_grow(struct shim_ring *r, int d, uint64_t head, size_t want)
{
	struct shim_dir *D = &r->dir[d];
	uint32_t old = dir_size(r, d), size;
	uint64_t tail;

	if (!old || old >= SHIM_RING_SIZE)
		return false;
	lk(&D->rlock);
	tail = atomic_load(&D->tail);
	if (head - tail > old) {
		unlk(&D->rlock);
		return false; /* a reader saw impossible cursors: it breaks the ring */
	}
	for (size = old * 2; size < SHIM_RING_SIZE && size - (head - tail) < want; size *= 2)
		;
	size = dir_resize(r, d, head, tail, size);
	unlk(&D->rlock);
	return size > old;
}

/* Resize direction @d (both its locks held) to @size or, if the budget
 * has no room for that, to the largest power of two between it and the
 * present size that fits; returns the size it has now. */
static uint32_t dir_resize(struct shim_ring *r, int d, uint64_t head, uint64_t tail, uint32_t size)
{
	struct shim_dir *D = &r->dir[d];
	char *data = dir_data(slot_of(r), d);
	uint32_t old = dir_size(r, d);

	if (!old || size <= old || size > SHIM_RING_SIZE || head - tail > old)
		return old;
	while (size > old && !budget_take(size - old))
		size /= 2;
	if (size == old)
		return old;
	for (uint64_t p = tail; p < head;) {
		size_t o = p & (old - 1), n = p & (size - 1), run = head - p;

		if (run > old - o)
			run = old - o;
		if (run > size - n)
			run = size - n;
		if (o != n)
			memcpy(data + n, data + o, run);
		p += run;
	}
	atomic_store(&r->size[d], size);
	if (!D->slots)
		atomic_store(&D->cap, size);
	return size;
}

bool shim_ring_room(struct shim_fd *f, size_t len)
{
	struct shim_ring *r = shim_ring_of(f);
	struct shim_dir *D;
	uint64_t head, tail;
	uint32_t cap;
	bool room;
	int d;

	if (!r || f->broken || (d = write_dir(f)) < 0 || (uint32_t)d >= ndirs_of(r))
		return false;
	D = &r->dir[d];
	lk(&D->wlock);
	head = atomic_load(&D->head);
	tail = atomic_load(&D->tail);
	cap = atomic_load(&D->cap);
	room = head - tail <= cap && cap - (head - tail) >= len;
	if (!room && !D->slots && head - tail <= cap && dir_grow(r, d, head, len))
		room = atomic_load(&D->cap) - (head - atomic_load(&D->tail)) >= len;
	unlk(&D->wlock);
	return room;
}

/* Writing direction @d is refused by the kernel: this socket was shut
 * for writing, or (AF_UNIX, where the kernel tells the peer) its peer
 * shut it for reading.  A TCP peer that shut reading still takes bytes. */
static bool write_shut(const struct shim_ring *r, int d, const struct shim_fd *f)
{
	uint32_t shut = atomic_load(&r->shut);

	return (shut & (SHIM_SHUT_WR << d)) ||
	       ((shut & (SHIM_SHUT_RD << d)) && chan_of(f)->kind != SHIM_CH_TCP);
}

static bool peer_reader_gone(int fd, const struct shim_fd *f, const struct shim_ring *r)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT | POLLRDHUP };

	if (REAL(poll)(&p, 1, 0) != 1)
		return false;
	if (is_pipe(f))
		return (p.revents & POLLERR) != 0;
	if (p.revents & (POLLHUP | POLLERR))
		return true;
	/* The peer's half close (a FIN on TCP) means it is gone unless it
	 * only shut writing and still holds its end. */
	if (!(p.revents & POLLRDHUP))
		return false;
	return !(atomic_load(&r->shut) & (SHIM_SHUT_WR << (1 - f->end))) || atomic_load(&r->ends[1 - (f->end & 1)]) <= 0;
}

static ssize_t kernel_write_all(int fd, const struct shim_fd *f, const char *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t k = is_pipe(f) ? REAL(write)(fd, buf + done, len - done)
				       : REAL(send)(fd, buf + done, len - done, 0);

		if (k < 0)
			return done ? (ssize_t)done : -errno;
		done += (size_t)k;
	}
	return (ssize_t)done;
}

ssize_t shim_ring_write(int fd, struct shim_fd *f, const void *buf, size_t len)
{
	return shim_ring_write_flags(fd, f, buf, len, 0);
}

/* May the write return without all of it (O_NONBLOCK, MSG_DONTWAIT)?
 * The flag as the shim's interposers set it (asking the kernel each time
 * a stream fills the ring cost a system call per wait). */
static bool write_nonblock(const struct shim_fd *f, int flags)
{
	return (flags & MSG_DONTWAIT) || shim_ready_nonblock(f);
}

/* Direction @d's writers join the ring (PRE_OPEN -> PRE_SET): the bytes
 * they sent through the kernel, every write in flight counted first, are
 * the readers' before the ring's.  No bell: a reader waiting on the
 * kernel socket for them counts as asleep (rwait), so the first write on
 * the ring rings for it, as for any sleeper; a bell now would be a byte
 * the kernel sees written (to a peer gone, a reset). */
static void writer_join(struct shim_fd *f, struct shim_ring *r, int d)
{
	struct shim_dir *D = &r->dir[d];
	struct shim_chan *c = chan_of(f);

	lk(&D->wlock);
	if (atomic_load(&D->pre) == SHIM_PRE_OPEN && atomic_load(&r->gen) == f->gen &&
	    atomic_load(&r->mode) == SHIM_RING_LIVE) {
		uint64_t k;

		while (atomic_load(&c->kwriting))
			sched_yield();
		k = atomic_load(&c->bytes_out);
		atomic_fetch_sub(&c->bytes_out, k);
		atomic_fetch_add(&c->bytes_before, k);
		atomic_store(&D->pre_len, atomic_load(&c->bytes_before));
		atomic_store(&D->pre, SHIM_PRE_SET);
	}
	unlk(&D->wlock);
}
/*
 * The bytes @c's readers took from the kernel socket count against @D's
 * bytes before the ring (under D->rlock).  A read through the kernel still
 * in flight (another thread or process) takes bytes the writers sent there:
 * they join only once it is counted (shim_ring_kread_done).
 */
static void count_kernel_reads(struct shim_chan *c, struct shim_dir *D)
{
	uint64_t k = atomic_load(&c->bytes_in);

	atomic_fetch_sub(&c->bytes_in, k);
	atomic_fetch_add(&D->pre_read, k);
	if (atomic_load(&c->kreading) == 0)
		atomic_store(&D->rready, 1);
}


void shim_ring_reader_join(struct shim_fd *f)
{
	struct shim_ring *r = shim_ring_of(f);
	int d = read_dir(f);
	struct shim_chan *c = chan_of(f);
	struct shim_dir *D;

	if (!r || f->broken || d < 0 || (uint32_t)d >= ndirs_of(r))
		return;
	D = &r->dir[d];
	lk(&D->rlock);
	if (atomic_load(&r->gen) == f->gen && atomic_load(&D->pre) != SHIM_PRE_NONE) {
		atomic_store(&D->rjoined, 1);
		count_kernel_reads(c, D);
	}
	unlk(&D->rlock);
}

/* The direction @f reads on the ring its channel was paired with, or NULL. */
static struct shim_dir *paired_read_dir(const struct shim_fd *f)
{
	int32_t slot = atomic_load((_Atomic int32_t *)&chan_of(f)->ring);
	int d = read_dir(f);

	if (slot < 0 || slot >= SHIM_MAX_RING || d < 0 || d > 1 || shim.area->ring[slot].chan != f->chan - 1 ||
	    atomic_load(&shim.area->ring[slot].mode) == SHIM_RING_FREE)
		return NULL;
	return &shim.area->ring[slot].dir[d];
}

void shim_ring_kread_done(struct shim_fd *f)
{
	struct shim_chan *c = chan_of(f);
	struct shim_dir *D = paired_read_dir(f);

	if (D)
		lk(&D->rlock);
	atomic_fetch_sub(&c->kreading, 1);
	if (!D) {
		/* Not paired when it began: perhaps since. */
		D = paired_read_dir(f);
		if (!D)
			return;
		lk(&D->rlock);
	}
	if (atomic_load(&D->rjoined) && atomic_load(&D->pre) != SHIM_PRE_NONE) {
		count_kernel_reads(c, D);
	}
	unlk(&D->rlock);
}

void shim_ring_writer_join(struct shim_fd *f)
{
	struct shim_ring *r = shim_ring_of(f);
	int d = write_dir(f);

	if (r && !f->broken && d >= 0 && (uint32_t)d < ndirs_of(r))
		writer_join(f, r, d);
}

/* A write while direction @d's writers are on the kernel socket (the
 * accepting end, before its client joined): on the kernel while the
 * reader still reads there, else join first (PREFIX_DONE). */
static ssize_t prefix_write(int fd, struct shim_fd *f, struct shim_ring *r, int d, const void *buf, size_t len,
			    int flags)
{
	struct shim_chan *c = chan_of(f);
	ssize_t n;
	int err;

	atomic_fetch_add(&c->kwriting, 1);
	if (atomic_load(&r->dir[d].rready) || atomic_load(&r->mode) != SHIM_RING_LIVE ||
	    atomic_load(&r->gen) != f->gen) {
		atomic_fetch_sub(&c->kwriting, 1);
		writer_join(f, r, d);
		return PREFIX_DONE;
	}
	n = REAL(send)(fd, buf, len, flags);
	err = errno;
	if (n > 0)
		atomic_fetch_add(&c->bytes_before, (uint64_t)n);
	atomic_fetch_sub(&c->kwriting, 1);
	return n >= 0 ? n : -err;
}

ssize_t shim_ring_write_flags(int fd, struct shim_fd *f, const void *buf, size_t len, int flags)
{
	struct shim_ring *r;
	struct shim_chan *c;
	struct shim_dir *D;
	size_t done = 0;
	uint32_t sigs;
	int d;

	if (f->broken)
		return -EIO;
	r = shim_ring_of(f);
	if (!r || (d = write_dir(f)) < 0 || (uint32_t)d >= ndirs_of(r) || len == 0)
		return SHIM_USE_KERNEL;
	D = &r->dir[d];
	c = chan_of(f);
	if (atomic_load(&D->pre) == SHIM_PRE_OPEN) {
		ssize_t k = prefix_write(fd, f, r, d, buf, len, flags);

		if (k != PREFIX_DONE)
			return k;
	}
	sigs = shim_signals_handled;
	lk(&D->wlock);
	for (bool first_try = true;; first_try = false) {
		uint64_t head, tail, space;
		uint32_t seq, cap;

		if (atomic_load(&r->mode) == SHIM_RING_BROKEN) {
			unlk(&D->wlock);
			break_local(f->chan);
			return done ? (ssize_t)done : -EIO;
		}
		if (atomic_load(&r->gen) != f->gen || atomic_load(&r->mode) != SHIM_RING_LIVE) {
			ssize_t k;

			unlk(&D->wlock);
			clear_local(f);
			if (!done)
				return SHIM_USE_KERNEL;
			/* Switched in the middle: the rest follows on the kernel. */
			k = kernel_write_all(fd, f, (const char *)buf + done, len - done);
			if (k > 0)
				shim_chan_count_out(c, (uint64_t)k);
			return k < 0 ? (ssize_t)done : (ssize_t)(done + (size_t)k);
		}
		if (write_shut(r, d, f)) {
			/* The kernel answers: EPIPE and SIGPIPE as natively. */
			unlk(&D->wlock);
			return done ? (ssize_t)done : SHIM_USE_KERNEL;
		}
		if (atomic_load(&D->reader_gone)) {
			atomic_store(&D->reader_gone, 0);
			if (peer_reader_gone(fd, f, r)) {
				unlk(&D->wlock);
				/* Nobody reads the ring any more: from now on the kernel
				 * answers, with EPIPE and SIGPIPE (or a reset) as natively.
				 * The connection ended on its ring: nothing moves back. */
				ring_to_kernel(fd, f, NULL, false, true);
				return done ? (ssize_t)done : SHIM_USE_KERNEL;
			}
		}
		head = atomic_load_explicit(&D->head, memory_order_relaxed);
		tail = atomic_load_explicit(&D->tail, memory_order_acquire);
		cap = atomic_load(&D->cap);
		if (!cursors_ok(r, d, 1, head, tail, cap)) {
			ssize_t e;

			unlk(&D->wlock);
			e = ring_broken(fd, f, r, "write cursors");
			return done ? (ssize_t)done : e;
		}
		space = cap - (head - tail);
		if (!D->slots && space < len - done && dir_grow(r, d, head, len - done)) {
			cap = atomic_load(&D->cap);
			space = cap - (head - tail);
		}
		if (D->slots) {
			/* A pipe: what its page buffers would take. */
			if (!pages_settle(D, tail)) {
				unlk(&D->wlock);
				return done ? (ssize_t)done : ring_broken(fd, f, r, "pipe buffers");
			}
			space = pages_take(D, head, len, len - done, first_try);
			if (space > cap - (head - tail))
				space = cap - (head - tail);
		}
		if (space >= len - done || (space > 0 && len > PIPE_BUF)) {
			size_t n = space < len - done ? (size_t)space : len - done;
			char *dst = dir_data(slot_of(r), d);
			size_t most = copy_piece(D), size = dir_size(r, d);

			if (!size) {
				unlk(&D->wlock);
				return done ? (ssize_t)done : ring_broken(fd, f, r, "ring size");
			}

			/* A pipe in pieces, each published at once, so the reader
			 * copies out while we copy in (see the reader). */
			for (size_t put = 0, k; put < n; put += k) {
				size_t off = (head + put) & (size - 1), first = size - off;
				uint32_t sleepers;

				k = n - put < most ? n - put : most;
				if (first > k)
					first = k;
				memcpy(dst + off, (const char *)buf + done + put, first);
				memcpy(dst, (const char *)buf + done + put + first, k - first);
				atomic_store_explicit(&D->head, head + put + k, memory_order_seq_cst);
				cursors_moved(r, d, 1, head + put + k, tail);
				/* One bell per reader asleep in read(), not one per
				 * piece: a bell still pending wakes its sleeper, who
				 * then finds every piece published since. */
				sleepers = atomic_load(&D->rwait);
				if (sleepers) {
					uint32_t pending = atomic_load(&D->bells);

					if (sleepers > pending)
						ring_bell(fd, f, D, sleepers - pending);
				} else
					shim_ready_bell(fd, f, D);
			}
			shim_ready_wrote(D);
			done += n;
			atomic_fetch_add(&c->ring_bytes, n);
			if (done == len) {
				unlk(&D->wlock);
				return (ssize_t)len;
			}
			continue;
		}
		/* Full: sleep without the lock, so a switch can proceed. */
		seq = atomic_load(&D->rseq);
		unlk(&D->wlock);
		if (write_nonblock(f, flags))
			return done ? (ssize_t)done : -EAGAIN;
		if (!spin_until_changed(&D->tail, tail, r, D, &D->rcpu)) {
			atomic_fetch_add(&D->wwait, 1);
			seq = atomic_load(&D->rseq);
			/* Signals as a pipe: once something is written, a handler
			 * cuts the write short; before, it restarts it or fails
			 * with EINTR (see handlers_restart). */
			uint64_t t_sleep = shim_multi_cpu() ? shim_now_ns() : 0;

			if (interrupted(&sigs, done)) {
				atomic_fetch_sub(&D->wwait, 1);
				return done ? (ssize_t)done : -EINTR;
			}
			if (atomic_load(&D->tail) == tail && atomic_load(&r->mode) == SHIM_RING_LIVE &&
			    !atomic_load(&D->reader_gone) && slept_futex(&D->rseq, seq) < 0) {
				/* A handler the shim did not see (installed behind
				 * its back): ask every handler's SA_RESTART. */
				if (errno == EINTR && (shim_signals_handled != sigs ? interrupted(&sigs, done)
										     : done > 0 || !handlers_restart())) {
					atomic_fetch_sub(&D->wwait, 1);
					return done ? (ssize_t)done : -EINTR;
				}
				if (errno == ETIMEDOUT)
					atomic_store(&D->reader_gone, 1); /* look at the kernel */
			}
			if (t_sleep)
				note_sleep(D, shim_now_ns() - t_sleep);
			atomic_fetch_sub(&D->wwait, 1);
		}
		lk(&D->wlock);
	}
}

static void lock_all(struct shim_ring *r)
{
	for (uint32_t d = 0; d < ndirs_of(r); d++) {
		lk(&r->dir[d].wlock);
		lk(&r->dir[d].rlock);
	}
}

static void unlock_all(struct shim_ring *r)
{
	for (uint32_t d = ndirs_of(r); d-- > 0;) {
		unlk(&r->dir[d].rlock);
		unlk(&r->dir[d].wlock);
	}
}

/* Copy stream bytes [@from, @to) of direction @D of @r into @iov (two
 * pieces where the ring wraps); returns the pieces used. */
static int ring_iov(const struct shim_ring *r, uint64_t from, uint64_t to, struct iovec *iov)
{
	const char *src = dir_data(slot_of(r), 0);
	size_t size = dir_size(r, 0), n = (size_t)(to - from), off = from & (size - 1), first = size - off;

	if (!size || n > size)
		return 0; /* changed to nonsense since it was checked: nothing to copy */
	if (first >= n) {
		iov[0] = (struct iovec){ (void *)(src + off), n };
		return 1;
	}
	iov[0] = (struct iovec){ (void *)(src + off), first };
	iov[1] = (struct iovec){ (void *)src, n - first };
	return 2;
}

/*
 * Push every unread byte of pipe direction @D into the kernel pipe that
 * @fd (either end) is part of, buffer by buffer as the kernel would hold
 * them, so that from now on the kernel blocks and fails writers (EAGAIN)
 * exactly where it would have.  A first buffer partly read is rebuilt as
 * written, then its read part read back (only when no reader sleeps in
 * the kernel: it would take those bytes).  Called with the ring's locks
 * held and the bells drained, so the kernel pipe is empty; it is sized as
 * the ring, so everything fits.
 */
static void pipe_flush(int fd, const struct shim_ring *r, struct shim_dir *D)
{
	static const char zeros[SHIM_PIPE_PAGE];
	uint64_t head = atomic_load(&D->head), tail = atomic_load(&D->tail), done = tail;
	char path[40], sink[SHIM_PIPE_PAGE];
	int wfd, rfd = -1, avail = 0;

	if (head == tail || !cursors_ok(r, 0, 0, head, tail, atomic_load(&D->cap)) || !pages_settle(D, tail))
		return;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	wfd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (wfd < 0)
		return;
	if (REAL(ioctl)(wfd, FIONREAD, &avail) < 0 || avail != 0 ||
	    REAL(fcntl)(wfd, F_GETPIPE_SZ) < (int)(D->slots * SHIM_PIPE_PAGE))
		goto out_close;
	for (uint32_t b = D->btail; b != D->bhead && done < head; b++) {
		uint32_t i = b % SHIM_PIPE_SLOTS;
		uint64_t start = D->bend[i] - D->blen[i], to = D->bend[i] < head ? D->bend[i] : head;
		size_t junk = 0;
		struct iovec iov[3];
		int n = 0;
		ssize_t k;

		if (start < done && b == D->btail && done - start <= SHIM_PIPE_PAGE && !atomic_load(&D->rwait) &&
		    (rfd >= 0 || (rfd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) >= 0)) {
			junk = (size_t)(done - start);
			iov[n++] = (struct iovec){ (void *)zeros, junk };
		}
		if (to <= done)
			continue;
		n += ring_iov(r, done, to, iov + n);
		k = REAL(writev)(wfd, iov, n);
		if (k < (ssize_t)junk || (junk && REAL(read)(rfd, sink, junk) != (ssize_t)junk))
			break;
		done += (uint64_t)k - junk;
		if (done != to)
			break;
	}
	/* What could not go (never, unless something else wrote the pipe):
	 * the same way as one block. */
	if (done < head) {
		struct iovec iov[2];
		ssize_t k = REAL(writev)(wfd, iov, ring_iov(r, done, head, iov));

		if (k > 0)
			done += (uint64_t)k;
	}
	atomic_store(&D->tail, done);
out_close:
	if (rfd >= 0)
		REAL(close)(rfd);
	REAL(close)(wfd);
}

/* fcntl(F_SETPIPE_SZ) on a pipe on a ring: the kernel sizes its pipe (and
 * says EPERM, EINVAL as natively), the ring takes the new size, or says
 * EBUSY if its unread bytes need more buffers, as the kernel would.  A
 * size beyond the ring's moves the pipe back to the kernel. */
int shim_ring_pipe_size(int fd, struct shim_fd *f, int size)
{
	struct shim_ring *r = shim_ring_of(f);
	struct shim_dir *D;
	int rc, old;

	if (f->broken)
		return -EIO;
	if (!r || !is_pipe(f) || ndirs_of(r) < 1)
		return SHIM_USE_KERNEL;
	D = &r->dir[0];
	lock_all(r);
	if (atomic_load(&r->gen) != f->gen || atomic_load(&r->mode) != SHIM_RING_LIVE || !D->slots) {
		unlock_all(r);
		return SHIM_USE_KERNEL;
	}
	if (!pages_settle(D, atomic_load(&D->tail))) {
		unlock_all(r);
		return ring_broken(fd, f, r, "pipe buffers");
	}
	old = REAL(fcntl)(fd, F_GETPIPE_SZ);
	rc = REAL(fcntl)(fd, F_SETPIPE_SZ, size);
	if (rc < 0) {
		rc = -errno;
	} else if ((uint32_t)rc / SHIM_PIPE_PAGE < D->bhead - D->btail) {
		REAL(fcntl)(fd, F_SETPIPE_SZ, old);
		rc = -EBUSY;
	} else if ((uint32_t)rc > SHIM_PIPE_MAX || rc % SHIM_PIPE_PAGE ||
		   dir_resize(r, 0, atomic_load(&D->head), atomic_load(&D->tail), first_size((uint32_t)rc / SHIM_PIPE_PAGE)) <
			   (uint32_t)rc) {
		unlock_all(r);
		shim_ring_downgrade(fd, f, "F_SETPIPE_SZ beyond the ring", true);
		return rc;
	} else {
		D->slots = (uint32_t)rc / SHIM_PIPE_PAGE;
		atomic_store(&D->cap, D->slots * SHIM_PIPE_PAGE);
	}
	unlock_all(r);
	wake(&D->rseq); /* writers waiting for room may have it now */
	return rc;
}

void shim_ring_downgrade(int fd, struct shim_fd *f, const char *why, bool kernel_view)
{
	ring_to_kernel(fd, f, why, kernel_view, false);
}

/* Switch @f's ring to KERNEL mode: a move back (@why), or the end of the
 * ring's life when @peer_closed (the kernel says every reader is gone). */
static void ring_to_kernel(int fd, struct shim_fd *f, const char *why, bool kernel_view, bool peer_closed)
{
	SHIM_ERRNO_SAVE;
	struct shim_ring *r = shim_ring_of(f);
	struct shim_chan *c;
	int d;

	if (!r || f->broken)
		goto out;
	c = chan_of(f);
	lock_all(r);
	if (atomic_load(&r->gen) != f->gen || atomic_load(&r->mode) == SHIM_RING_BROKEN) {
		unlock_all(r);
		goto out;
	}
	if (atomic_load(&r->mode) == SHIM_RING_LIVE) {
		if (peer_closed)
			atomic_store(&c->peer_closed, 1);
		else if (atomic_fetch_add(&c->downgraded, 1) == 0 && why)
			snprintf(c->why, sizeof(c->why), "%s", why);
		atomic_store(&r->mode, SHIM_RING_KERNEL);
	}
	d = read_dir(f);
	if (kernel_view && is_pipe(f) && ndirs_of(r) >= 1) {
		/* Either end: the kernel pipe takes the unread bytes, so that it
		 * accounts for them (O_NONBLOCK writers, FIONREAD, poll...). */
		struct shim_dir *D = &r->dir[0];
		int rfd = fd;
		char path[40];

		if (d < 0) {
			snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
			rfd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		}
		if (rfd >= 0) {
			drain_bells(rfd, f, D);
			pipe_flush(fd, r, D);
			if (rfd != fd)
				REAL(close)(rfd);
		}
	} else if (kernel_view && d >= 0 && (uint32_t)d < ndirs_of(r)) {
		drain_bells(fd, f, &r->dir[d]);
	}
	unlock_all(r);
	for (uint32_t i = 0; i < ndirs_of(r); i++) {
		wake(&r->dir[i].rseq);
		wake(&r->dir[i].wseq);
	}
	if (!shim_ring_readable(f) && atomic_load(&r->dir[d < 0 ? 0 : d].bells) == 0)
		clear_local(f);
out:
	SHIM_ERRNO_RESTORE();
}

void shim_ring_closing(struct shim_fd *f)
{
	struct shim_ring *r = shim_ring_of(f);
	int d;

	if (!r)
		return;
	d = read_dir(f);
	if (d >= 0 && (uint32_t)d < ndirs_of(r)) {
		atomic_store(&r->dir[d].reader_gone, 1);
		if (atomic_load(&r->dir[d].wwait))
			wake(&r->dir[d].rseq);
	}
}

void shim_ring_shutdown(struct shim_fd *f, int how)
{
	struct shim_ring *r = shim_ring_of(f);
	uint32_t bits = 0;
	int rd, wr;

	if (!r || f->broken || is_pipe(f))
		return;
	rd = read_dir(f);
	wr = write_dir(f);
	if (how == SHUT_RD || how == SHUT_RDWR)
		bits |= SHIM_SHUT_RD << rd;
	if (how == SHUT_WR || how == SHUT_RDWR)
		bits |= SHIM_SHUT_WR << wr;
	atomic_fetch_or(&r->shut, bits);
	/* Writers waiting for room look again (a peer that shut reading
	 * refuses them on AF_UNIX); readers see the end of file. */
	for (uint32_t d = 0; d < ndirs_of(r); d++) {
		wake(&r->dir[d].rseq);
		wake(&r->dir[d].wseq);
	}
}

int64_t shim_ring_unread(struct shim_fd *f, bool outq)
{
	struct shim_ring *r = shim_ring_of(f);
	struct shim_dir *D;
	uint64_t head, tail;
	int d;

	if (!r || f->broken || atomic_load(&r->mode) != SHIM_RING_LIVE)
		return -1;
	d = outq ? write_dir(f) : read_dir(f);
	if (d < 0 || (uint32_t)d >= ndirs_of(r))
		return -1;
	D = &r->dir[d];
	if (shim_ring_prefix_pending(D))
		return -1; /* the kernel holds bytes that come first */
	tail = atomic_load(&D->tail);
	head = atomic_load(&D->head);
	if (head - tail > SHIM_RING_SIZE)
		return -1; /* impossible: the next read or write breaks the ring */
	return (int64_t)(head - tail);
}

bool shim_ring_readable(struct shim_fd *f)
{
	struct shim_ring *r = shim_ring_of(f);
	int d;

	if (!r || f->broken || (d = read_dir(f)) < 0 || (uint32_t)d >= ndirs_of(r))
		return false;
	return atomic_load(&r->dir[d].head) != atomic_load(&r->dir[d].tail);
}
