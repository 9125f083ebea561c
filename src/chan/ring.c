/* SPDX-License-Identifier: MIT */
/*
 * The ring mechanism: a single-producer single-consumer ring of frames
 * per direction, in a memfd mapping shared by both ends, so it works
 * unchanged between threads and between processes.
 *
 * Layout of the memfd: for each direction d, one page of indices and
 * futex words (struct ring_dir) followed by the data area of
 * @capacity bytes.  Frames are 8-byte aligned and never wrap: a PAD
 * frame fills the end of the area when the next frame does not fit.
 * head and tail are free-running byte counters.
 *
 * Waiting: spin for an adaptive few tens of microseconds (never when the
 * peer last ran on our CPU or only one CPU is usable), then sleep on a
 * futex (shared, not FUTEX_PRIVATE, so it works across processes) with a
 * timeout, to notice a peer that died: its control socket then hangs up.
 * The eventfd of a direction is signalled only while the reader asked for
 * it (a sleeping or polling reader), so the fast path makes no syscall.
 *
 * The peer is never trusted: head, tail and every frame header read from
 * the shared area are validated before use; a violation returns -EPROTO,
 * and the end stays broken.
 */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "chan_i.h"
#include "../prim/cursor.h"
#include "../prim/futex.h"
#include "../prim/spin.h"

#define RING_PAGE 4096u
#define RING_LINE 64u
#define RING_ALIGN_MIN 512u /* payloads this big start on a cache line */
#define DEAD_CHECK_NS 20000000L /* futex timeout: how often a sleeper checks its peer */

/* The shared indices of one direction; each group on its own cache line. */
struct ring_dir {
	_Atomic uint64_t head; /* written by the writer */
	uint8_t pad0[56];
	_Atomic uint64_t tail; /* written by the reader */
	uint8_t pad1[56];
	_Atomic uint32_t rx_waiting; /* reader sleeps or polls: signal it */
	_Atomic uint32_t rx_futex;
	_Atomic uint32_t poll_armed; /* reader uses the eventfd */
	uint8_t pad2[52];
	_Atomic uint32_t tx_waiting; /* writer sleeps: wake it on release */
	_Atomic uint32_t tx_futex;
};

struct ring_side {
	struct ring_dir *d;
	uint8_t *data;
	uint64_t pos;  /* tx: published head; rx: read cursor */
	uint64_t rel;  /* tx: last tail seen; rx: released up to */
	uint64_t resv; /* tx: where the reserved frame starts */
	uint64_t cur;  /* rx: size of the frame rx_peek returned */
	_Atomic uint32_t spin_ns; /* spin budget (prim/spin.h) */
	int efd;
};

struct ring_end {
	struct xos_mech_link link;
	uint64_t size, max_msg;
	uint8_t *map;
	size_t map_len;
	int memfd; /* kept to hand the end over (mutate) */
	bool has_tx, has_rx, broken, reserved;
	bool mp; /* several writers (each under the channel's writer lock) */
	bool multi_cpu;
	struct ring_side tx, rx;
};

static size_t map_size(const struct xos_mech_params *p)
{
	return (size_t)p->dirs * (RING_PAGE + p->capacity);
}

static int ring_make(const struct xos_mech_params *p, int fds[2][XOS_MECH_MAX_FDS], unsigned int *ret_nfds)
{
	int memfd, efd[2] = { -1, -1 };
	unsigned int n = 1 + p->dirs;

	memfd = memfd_create("xos-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (memfd < 0)
		return -errno;
	/* Sealed size: a peer cannot shrink the area under our mapping (SIGBUS). */
	if (ftruncate(memfd, (off_t)map_size(p)) < 0 ||
	    fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		goto fail;
	for (unsigned int d = 0; d < p->dirs; d++) {
		efd[d] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (efd[d] < 0)
			goto fail;
	}
	/* Each end gets its own descriptors, so each can close independently. */
	fds[0][0] = memfd;
	fds[1][0] = fcntl(memfd, F_DUPFD_CLOEXEC, 0);
	for (unsigned int d = 0; d < p->dirs; d++) {
		fds[0][1 + d] = efd[d];
		fds[1][1 + d] = fcntl(efd[d], F_DUPFD_CLOEXEC, 0);
	}
	for (unsigned int i = 0; i < n; i++) {
		if (fds[1][i] < 0) {
			int rc = -errno;

			xos__close_fds(fds[0], n);
			xos__close_fds(fds[1], n);
			return rc;
		}
	}
	*ret_nfds = n;
	return 0;
fail: {
	int rc = -errno;

	close(memfd);
	for (int d = 0; d < 2; d++)
		if (efd[d] >= 0)
			close(efd[d]);
	return rc;
}
}

static void side_init(struct ring_end *r, struct ring_side *s, unsigned int dir, int efd)
{
	uint8_t *base = r->map + (size_t)dir * (RING_PAGE + r->size);

	s->d = (struct ring_dir *)(void *)base;
	s->data = base + RING_PAGE;
	s->efd = efd;
	s->spin_ns = XOS__SPIN_START_NS;
	/* A path may be attached after traffic (never: paths start empty), so start at 0. */
	s->pos = s->rel = 0;
}

/* One syscall (sysconf's count of online CPUs reads a /sys file each time). */
static bool several_cpus(void)
{
	cpu_set_t set;

	return sched_getaffinity(0, sizeof(set), &set) != 0 || CPU_COUNT(&set) >= 2;
}

static int ring_attach(const struct xos_mech_params *p, const struct xos_mech_link *link, int *fds,
		       unsigned int nfds, void **ret_st)
{
	struct ring_end *r;
	struct stat stb;
	int rc;

	if (p->dirs < 1 || p->dirs > 2 || nfds != 1 + p->dirs || p->capacity < XOS_CHAN_CAP_MIN ||
	    p->capacity > XOS_CHAN_CAP_MAX || (p->capacity & (p->capacity - 1)) ||
	    p->max_msg > p->capacity / 4) {
		rc = -EPROTO;
		goto fail;
	}
	/* The memfd may come from the peer: its size must be what we map, and sealed. */
	if (fstat(fds[0], &stb) < 0 || !S_ISREG(stb.st_mode) || (uint64_t)stb.st_size != map_size(p) ||
	    (fcntl(fds[0], F_GET_SEALS) & (F_SEAL_SHRINK | F_SEAL_SEAL)) != (F_SEAL_SHRINK | F_SEAL_SEAL)) {
		rc = -EPROTO;
		goto fail;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		rc = -ENOMEM;
		goto fail;
	}
	r->link = *link;
	r->size = p->capacity;
	r->max_msg = p->max_msg;
	r->map_len = map_size(p);
	r->map = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
	if (r->map == MAP_FAILED) {
		rc = -errno;
		free(r);
		goto fail;
	}
	r->memfd = fds[0];
	r->has_tx = link->idx == 0 || p->dirs == 2;
	r->has_rx = link->idx == 1 || p->dirs == 2;
	/* End i writes direction i and reads direction !i. */
	if (r->has_tx)
		side_init(r, &r->tx, (unsigned int)link->idx, fds[1 + link->idx]);
	else if (p->dirs == 2)
		close(fds[1 + link->idx]);
	if (r->has_rx)
		side_init(r, &r->rx, (unsigned int)!link->idx, fds[1 + !link->idx]);
	else if (p->dirs == 2)
		close(fds[1 + !link->idx]);
	r->multi_cpu = several_cpus();
	r->mp = p->flags & XOS_CHAN_F_MULTI_PRODUCER;
	*ret_st = r;
	return 0;
fail:
	xos__close_fds(fds, nfds);
	return rc;
}

static void ring_detach(void *st)
{
	struct ring_end *r = st;

	if (r->has_tx)
		close(r->tx.efd);
	if (r->has_rx)
		close(r->rx.efd);
	munmap(r->map, r->map_len);
	close(r->memfd);
	free(r);
}

static void wake(_Atomic uint32_t *futex_word)
{
	atomic_fetch_add_explicit(futex_word, 1, memory_order_release);
	xos__futex_wake(futex_word, INT_MAX);
}

static void ring_closing(void *st)
{
	struct ring_end *r = st;
	uint64_t one = 1;

	if (r->has_tx) {
		wake(&r->tx.d->rx_futex);
		if (write(r->tx.efd, &one, sizeof(one)) < 0) {
			/* the counter is saturated: the reader is awake anyway */
		}
	}
	if (r->has_rx)
		wake(&r->rx.d->tx_futex);
}

static int ring_rx_fd(void *st)
{
	struct ring_end *r = st;

	return r->has_rx ? r->rx.efd : -1;
}

static void ring_poll_arm(void *st)
{
	struct ring_end *r = st;
	uint64_t one = 1;

	if (!r->has_rx)
		return;
	atomic_store(&r->rx.d->poll_armed, 1);
	atomic_store(&r->rx.d->rx_waiting, 1);
	/* Data already there: readable now. */
	if (atomic_load(&r->rx.d->head) != r->rx.pos && write(r->rx.efd, &one, sizeof(one)) < 0) {
		/* saturated: readable anyway */
	}
}

/*
 * Record the CPU this end runs on, for the peer's may_spin().  Done when
 * waiting and when waking the peer (that path makes a syscall anyway):
 * an end that never waits (the faster one of a stream) would otherwise
 * leave a stale CPU behind, and a peer that reads our old CPU as its own
 * would sleep on every message and never spin again.
 */
static int note_cpu(struct ring_end *r)
{
	int cpu = sched_getcpu();

	atomic_store_explicit(&r->link.ctl->cpu[r->link.idx], cpu, memory_order_relaxed);
	return cpu;
}

/* Should we spin before sleeping? Not when the peer last ran on our CPU. */
static bool may_spin(struct ring_end *r)
{
	int cpu;

	if (!r->multi_cpu)
		return false;
	cpu = note_cpu(r);
	return cpu < 0 || atomic_load_explicit(&r->link.ctl->cpu[!r->link.idx], memory_order_relaxed) != cpu;
}

struct ring_ready {
	bool (*ready)(struct ring_end *);
	struct ring_end *r;
};

static bool ring_ready_now(void *arg)
{
	const struct ring_ready *w = arg;

	return w->ready(w->r);
}

/* Kernels without futex_waitv(2): a cut wait is noticed at the next dead check. */
static _Atomic bool no_waitv;

/*
 * Sleep on @futex_word while it holds @v, and on @cut (when not NULL)
 * while it is 0, at most @timeout.  -errno as futex(2) says it.
 */
static long sleep_on(_Atomic uint32_t *futex_word, uint32_t v, const _Atomic uint32_t *cut,
		     const struct timespec *timeout)
{
	long rc;

	if (cut && !atomic_load_explicit(&no_waitv, memory_order_relaxed)) {
		rc = xos__futex_wait2(futex_word, v, cut, 0, timeout);
		if (rc >= 0 || errno != ENOSYS)
			return rc < 0 ? -errno : 0;
		atomic_store_explicit(&no_waitv, true, memory_order_relaxed);
	}
	rc = xos__futex_wait(futex_word, v, timeout);
	return rc < 0 ? -errno : 0;
}

/*
 * Wait until @ready(r) or the peer is gone.  @waiting/@futex_word are the
 * flag the other side checks and the word it bumps.  Returns 0 when ready
 * (or maybe ready), -EPIPE when the peer is gone, -ERESTART when a safe
 * point of the caller's EF cut the wait (xos__chan_wait_cut: nothing of
 * the frame is reserved or taken, the caller asks again after it).
 */
static int ring_wait(struct ring_end *r, struct ring_side *s, bool (*ready)(struct ring_end *),
		     _Atomic uint32_t *waiting, _Atomic uint32_t *futex_word)
{
	static const struct timespec dead_check = { 0, DEAD_CHECK_NS };
	struct ring_ready want = { ready, r };
	const _Atomic uint32_t *cut = NULL;
	bool cut_asked = false;

	if (may_spin(r) && xos__spin_until(&s->spin_ns, ring_ready_now, &want))
		return 0;
	for (;;) {
		uint32_t v = atomic_load_explicit(futex_word, memory_order_acquire);
		uint64_t t_sleep;
		long rc;

		atomic_store_explicit(waiting, 1, memory_order_relaxed);
		atomic_thread_fence(memory_order_seq_cst);
		if (ready(r))
			return 0;
		/* Asked once, only on the way to sleep: the fast path never asks. */
		if (!cut_asked) {
			cut = xos__chan_wait_cut();
			cut_asked = true;
		}
		if (xos__chan_cut(cut))
			return -ERESTART;
		t_sleep = r->multi_cpu ? xos__now_ns() : 0;
		rc = sleep_on(futex_word, v, cut, &dead_check);
		if (t_sleep)
			xos__spin_slept(&s->spin_ns, xos__now_ns() - t_sleep);
		if (ready(r))
			return 0;
		if (xos__chan_cut(cut))
			return -ERESTART;
		if (rc == -ETIMEDOUT && xos__chan_peer_gone(&r->link))
			return -EPIPE;
		if (atomic_load_explicit(&r->link.ctl->closed[!r->link.idx], memory_order_acquire))
			return -EPIPE;
	}
}

/* ---- writer ------------------------------------------------------------------ */

static uint64_t frame_size(uint64_t len)
{
	return XOS_FRAME_HDR + ((len + 7) & ~(uint64_t)7);
}

/*
 * Bytes of PAD frame to put before a frame of @len payload bytes starting
 * at offset @off, so that its payload starts on a cache line: large
 * payloads are read and written with wide loads and stores, which cost
 * about twice as much when every fourth one straddles two lines.  Small
 * payloads stay packed (a round trip moves as few lines as it can).
 */
static uint64_t lead_pad(uint64_t off, size_t len)
{
	if (len < RING_ALIGN_MIN)
		return 0;
	return (RING_LINE - XOS_FRAME_HDR - off) & (RING_LINE - 1);
}

/* Read and check the reader's tail. */
static int tx_refresh(struct ring_end *r)
{
	uint64_t tail = atomic_load_explicit(&r->tx.d->tail, memory_order_acquire);

	if (!xos__ring_cursors_ok(r->tx.pos, tail, r->size) || (int64_t)(tail - r->tx.rel) < 0 || (tail & 7)) {
		r->broken = true;
		return -EPROTO;
	}
	r->tx.rel = tail;
	return 0;
}

static bool tx_has_room(struct ring_end *r)
{
	uint64_t tail = atomic_load_explicit(&r->tx.d->tail, memory_order_acquire);

	/* Bogus values end the wait; tx_refresh reports them. */
	if (!xos__ring_cursors_ok(r->tx.pos, tail, r->size))
		return true;
	return r->size - (r->tx.pos - tail) >= r->tx.resv ||
	       atomic_load_explicit(&r->link.ctl->closed[!r->link.idx], memory_order_relaxed);
}

static int ring_tx_reserve(void *st, size_t len, void **ret_buf, bool nonblock)
{
	struct ring_end *r = st;
	struct ring_side *s = &r->tx;
	uint64_t need = frame_size(len), off, contig, pad, lead, wrap = 0;
	int rc;

	if (r->broken)
		return -EPROTO;
	if (r->mp) {
		/* Another writer (holding the lock before us) may have moved the head. */
		uint64_t head = atomic_load_explicit(&s->d->head, memory_order_acquire);
		uint64_t tail = atomic_load_explicit(&s->d->tail, memory_order_acquire);

		if ((head & 7) || !xos__ring_cursors_ok(head, tail, r->size) || (int64_t)(head - s->pos) < 0) {
			r->broken = true;
			return -EPROTO;
		}
		s->pos = head;
	}
	if (len > r->max_msg)
		return -EMSGSIZE;
	off = s->pos & (r->size - 1);
	lead = lead_pad(off, len);
	contig = r->size - off;
	if (contig < lead + need) {
		/* Does not fit before the end: PAD the rest, start over at offset 0. */
		wrap = contig;
		lead = lead_pad(0, len);
	}
	for (;;) {
		rc = tx_refresh(r);
		if (rc < 0)
			return rc;
		if (r->size - (s->pos - s->rel) >= wrap + lead + need)
			break;
		if (atomic_load_explicit(&r->link.ctl->closed[!r->link.idx], memory_order_acquire))
			return -EPIPE;
		if (nonblock)
			return -EAGAIN;
		s->resv = wrap + lead + need; /* what tx_has_room waits for */
		rc = ring_wait(r, s, tx_has_room, &s->d->tx_waiting, &s->d->tx_futex);
		if (rc < 0)
			return rc;
	}
	if (wrap) {
		struct xos__frame_hdr h = { .len = (uint32_t)(wrap - XOS_FRAME_HDR), .type = XOS_FRAME_PAD };

		memcpy(s->data + off, &h, sizeof(h));
	}
	if (lead) {
		struct xos__frame_hdr h = { .len = (uint32_t)(lead - XOS_FRAME_HDR), .type = XOS_FRAME_PAD };

		memcpy(s->data + ((s->pos + wrap) & (r->size - 1)), &h, sizeof(h));
	}
	pad = wrap + lead;
	s->resv = s->pos + pad;
	r->reserved = true;
	*ret_buf = s->data + (s->resv & (r->size - 1)) + XOS_FRAME_HDR;
	return 0;
}

static int ring_tx_commit(void *st, size_t len, uint32_t type)
{
	struct ring_end *r = st;
	struct ring_side *s = &r->tx;
	struct xos__frame_hdr h = { .len = (uint32_t)len, .type = type };
	uint64_t one = 1;

	if (!r->reserved)
		return -EINVAL;
	r->reserved = false;
	if (type == 0)
		return 0; /* cancelled: the PAD, if any, was never published */
	memcpy(s->data + (s->resv & (r->size - 1)), &h, sizeof(h));
	s->pos = s->resv + frame_size(len);
	atomic_store_explicit(&s->d->head, s->pos, memory_order_release);
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&s->d->rx_waiting, memory_order_relaxed)) {
		atomic_store_explicit(&s->d->rx_waiting, 0, memory_order_relaxed);
		if (r->multi_cpu)
			note_cpu(r);
		wake(&s->d->rx_futex);
		if (atomic_load_explicit(&s->d->poll_armed, memory_order_relaxed) &&
		    write(s->efd, &one, sizeof(one)) < 0) {
			/* saturated counter: readable anyway */
		}
	}
	return 0;
}

/* ---- reader ------------------------------------------------------------------- */

static bool rx_has_data(struct ring_end *r)
{
	return atomic_load_explicit(&r->rx.d->head, memory_order_acquire) != r->rx.pos ||
	       atomic_load_explicit(&r->link.ctl->closed[!r->link.idx], memory_order_relaxed);
}

static void drain_efd(int efd)
{
	uint64_t v;

	if (read(efd, &v, sizeof(v)) < 0) {
		/* empty: nothing to drain */
	}
}

static int ring_rx_peek(void *st, struct xos_mech_frame *f, bool nonblock)
{
	struct ring_end *r = st;
	struct ring_side *s = &r->rx;
	int rc;

	if (r->broken)
		return -EPROTO;
	for (;;) {
		uint64_t head = atomic_load_explicit(&s->d->head, memory_order_acquire);
		uint64_t avail = head - s->pos, off, room;
		struct xos__frame_hdr h;

		if (!xos__ring_cursors_ok(head, s->rel, r->size) || avail > r->size || (head & 7))
			goto corrupt;
		if (avail == 0) {
			if (atomic_load_explicit(&r->link.ctl->closed[!r->link.idx], memory_order_acquire)) {
				if (atomic_load_explicit(&s->d->head, memory_order_acquire) != head)
					continue;
				return 0;
			}
			if (nonblock) {
				if (atomic_load_explicit(&s->d->poll_armed, memory_order_relaxed))
					drain_efd(s->efd);
				atomic_store_explicit(&s->d->rx_waiting, 1, memory_order_relaxed);
				atomic_thread_fence(memory_order_seq_cst);
				if (atomic_load_explicit(&s->d->head, memory_order_acquire) != head)
					continue;
				if (xos__chan_peer_gone(&r->link)) {
					if (atomic_load_explicit(&s->d->head, memory_order_acquire) != head)
						continue;
					return 0;
				}
				return -EAGAIN;
			}
			rc = ring_wait(r, s, rx_has_data, &s->d->rx_waiting, &s->d->rx_futex);
			if (rc == -EPIPE) {
				/* The writer is gone: what it published is still ours to read. */
				if (atomic_load_explicit(&s->d->head, memory_order_acquire) != head)
					continue;
				return 0;
			}
			if (rc < 0)
				return rc;
			continue;
		}
		off = s->pos & (r->size - 1);
		room = r->size - off;
		/* One copy of the header: the peer may change it under us. */
		memcpy(&h, (const void *)(s->data + off), sizeof(h));
		if (h.type == XOS_FRAME_PAD) {
			/* It fills the end of the area, or puts the next payload on a cache line. */
			uint64_t skip = XOS_FRAME_HDR + (uint64_t)h.len;

			if (skip != room &&
			    (skip >= RING_LINE || (h.len & 7) || ((off + skip + XOS_FRAME_HDR) & (RING_LINE - 1))))
				goto corrupt;
			if (skip > avail)
				goto corrupt;
			s->pos += skip;
			continue;
		}
		if ((h.type != XOS_FRAME_DATA && h.type != XOS_FRAME_SWITCH) || h.len > r->max_msg ||
		    frame_size(h.len) > room || frame_size(h.len) > avail)
			goto corrupt;
		f->data = s->data + off + XOS_FRAME_HDR;
		f->len = h.len;
		f->type = h.type;
		s->cur = frame_size(h.len);
		return 1;
	}
corrupt:
	r->broken = true;
	return -EPROTO;
}

static void ring_rx_advance(void *st)
{
	struct ring_end *r = st;

	r->rx.pos += r->rx.cur;
	r->rx.cur = 0;
}

static int ring_rx_release(void *st)
{
	struct ring_end *r = st;
	struct ring_side *s = &r->rx;

	if (s->rel == s->pos)
		return 0;
	s->rel = s->pos;
	atomic_store_explicit(&s->d->tail, s->pos, memory_order_release);
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&s->d->tx_waiting, memory_order_relaxed)) {
		atomic_store_explicit(&s->d->tx_waiting, 0, memory_order_relaxed);
		if (r->multi_cpu)
			note_cpu(r);
		wake(&s->d->tx_futex);
	}
	return 0;
}

/* For tests and the fuzzer: the shared mapping of a ring end. */
void *xos__ring_shared(void *st, size_t *ret_len)
{
	struct ring_end *r = st;

	*ret_len = r->map_len;
	return r->map;
}

/* ---- handover (mutate) ----------------------------------------------------------- */

/* attach() took { memfd, eventfd of direction 0[, of direction 1] }. */
static int ring_handover_fds(void *st, int fds[XOS_MECH_MAX_FDS], unsigned int *ret_nfds)
{
	struct ring_end *r = st;
	unsigned int dirs = (r->has_tx && r->has_rx) ? 2 : 1;

	if (r->reserved)
		return -EBUSY;
	fds[0] = r->memfd;
	fds[1] = fds[2] = -1;
	if (r->has_tx)
		fds[1 + (dirs == 2 ? r->link.idx : 0)] = r->tx.efd;
	if (r->has_rx)
		fds[1 + (dirs == 2 ? !r->link.idx : 0)] = r->rx.efd;
	*ret_nfds = 1 + dirs;
	return 0;
}

static void ring_handover_save(void *st, uint64_t ms[XOS_MECH_MSTATE])
{
	struct ring_end *r = st;

	ms[0] = r->tx.pos;
	ms[1] = r->tx.rel;
	ms[2] = r->rx.pos;
	ms[3] = r->rx.rel;
	ms[4] = r->tx.spin_ns;
	ms[5] = r->rx.spin_ns;
	ms[6] = r->broken;
}

/* The positions come from another process: only consistent ones are taken. */
static int ring_handover_load(void *st, const uint64_t ms[XOS_MECH_MSTATE])
{
	struct ring_end *r = st;

	if ((ms[0] | ms[1] | ms[2] | ms[3]) & 7 || ms[0] - ms[1] > r->size || ms[2] - ms[3] > r->size)
		return -EPROTO;
	if (r->has_tx) {
		r->tx.pos = ms[0];
		r->tx.rel = ms[1];
		r->tx.spin_ns = ms[4] <= XOS__SPIN_MAX_NS ? (uint32_t)ms[4] : XOS__SPIN_START_NS;
	}
	if (r->has_rx) {
		r->rx.pos = ms[2];
		r->rx.rel = ms[3];
		r->rx.cur = 0;
		r->rx.spin_ns = ms[5] <= XOS__SPIN_MAX_NS ? (uint32_t)ms[5] : XOS__SPIN_START_NS;
	}
	r->broken = ms[6] != 0;
	return 0;
}

const struct xos_mech_ops xos__chan_ring = {
	.make = ring_make,
	.attach = ring_attach,
	.detach = ring_detach,
	.closing = ring_closing,
	.rx_fd = ring_rx_fd,
	.poll_arm = ring_poll_arm,
	.tx_reserve = ring_tx_reserve,
	.tx_commit = ring_tx_commit,
	.rx_peek = ring_rx_peek,
	.rx_advance = ring_rx_advance,
	.rx_release = ring_rx_release,
	.handover_fds = ring_handover_fds,
	.handover_save = ring_handover_save,
	.handover_load = ring_handover_load,
};

const struct xos_mech xos__mech_ring = {
	.name = "ring",
	.description = "shared-memory ring in a memfd, futex doorbells, adaptive spin",
	.flags = 0,
	.needs = XOS_ICF_X_MAPS_SHARED | XOS_ICF_X_INHERITS_FDS,
	.cost = 200, /* rough ns of an 8-byte round trip on the reference machine */
	XOS_MECH_OPS(xos__chan_ring),
};
