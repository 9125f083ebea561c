/* SPDX-License-Identifier: MIT */
/*
 * The channel API and its frames: opening and closing a channel, message
 * and stream semantics over frames, blocking and non-blocking operation,
 * the zero-copy calls, the pollable descriptor, close/EOF/EPIPE and
 * statistics.  The ends registry is in ends.c, binding and switching in
 * bind.c, the framing of byte streams in stream.c.
 *
 * An end is used by one flow of control at a time.
 */
#include "config.h"

#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "chan_i.h"
#include "../prim/futex.h"

static size_t round_pow2(size_t v)
{
	size_t p = XOS_CHAN_CAP_MIN;

	while (p < v)
		p <<= 1;
	return p;
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
		xos__futex_wait(w, 2, NULL);
		c = atomic_exchange_explicit(w, 2, memory_order_acquire);
	}
}

void xos__chan_mp_unlock(struct xos_chan *end)
{
	_Atomic uint32_t *w = end->mp_word;

	if (atomic_exchange_explicit(w, 0, memory_order_release) == 2)
		xos__futex_wake(w, 1);
}

/*
 * The copy of a multi-producer end in a new process: fork() copied it
 * while another thread of the parent may have been inside a send or
 * between reserve and commit (holding the writers' lock, which is on a
 * shared page).  That operation is the parent thread's, finished there;
 * the copy starts with none in flight and with one user, its EF.
 */
void xos__chan_mp_forked(struct xos_chan *end)
{
	if (!end->mp)
		return;
	if (end->reserved && end->tx && end->tx->ops->tx_reserve)
		end->tx->ops->tx_commit(end->tx->st, 0, 0); /* type 0: cancel, nothing published */
	end->reserved = false;
	end->resv_len = 0;
	for (struct xos__chan_path *p = end->paths; p; p = p->next)
		p->pend_off = p->pend_len = 0;
	atomic_store(&end->users, 1);
}

void xos__chan_mp_share(struct xos_chan *end, bool same_process)
{
	if (!end->mp)
		return;
	if (same_process)
		atomic_fetch_add(&end->users, 1); /* unlocked: a writer may be closing its hold */
	else
		atomic_fetch_add(&end->ctl->writers, 1);
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

/* ---- open / close ----------------------------------------------------------- */

void xos_chan_attr_init(struct xos_chan_attr *attr)
{
	if (attr)
		*attr = (struct xos_chan_attr){ 0 };
}

/* The mechanism the operator forces on every channel (the host knows), or NULL. */
static int read_forced(const char **ret)
{
	*ret = NULL;
	return xos__chan_host->forced_mech ? xos__chan_host->forced_mech(ret) : 0;
}

static int chan_open(struct xos_chan *ret_ends[2], const struct xos_chan_attr *attr, bool unbound);

int xos_chan_open(struct xos_chan *ret_ends[2], const struct xos_chan_attr *attr)
{
	return chan_open(ret_ends, attr, false);
}

int xos__chan_open_unbound(struct xos_chan *ret_ends[2], const struct xos_chan_attr *attr)
{
	return chan_open(ret_ends, attr, true);
}

/* @unbound: whatever the operator forces, the first path is the caller's to make. */
static int chan_open(struct xos_chan *ret_ends[2], const struct xos_chan_attr *attr, bool unbound)
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
	if (!forced && !unbound) {
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
	if (forced && !unbound) {
		rc = xos__chan_bind_to(ends[0], forced);
		if (rc < 0)
			goto fail;
		xos__chan_log(XOS__CHAN_LOG_EXPLAIN, "chan \"%s\" (%s <-> %s, at open) -> %s: forced (%s=%s)",
			      ends[0]->name, xos__chan_host_icf(), xos__chan_host_icf(), forced->name,
			      attr->mechanism ? "attr.mechanism" : "XOS_CHAN", forced->name);
	}
	xos__chan_reg_add(ends[0]);
	xos__chan_reg_add(ends[1]);
	ret_ends[0] = ends[0];
	ret_ends[1] = ends[1];
	return 0;
fail:
	xos__chan_release_local(ends[0]);
	xos__chan_release_local(ends[1]);
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

	if (!xos__chan_live(end))
		return -EINVAL;
	if (end->mp && xos__chan_host->ef_id) {
		uint64_t ef_id = xos__chan_host->ef_id();

		if (ef_id)
			xos__chan_hold_drop(ef_id, end, false); /* its EF closed it: nothing to do at its end */
	}
	if (end->mp) {
		/* Other flows of this process still use this end: only count it. */
		xos__chan_mp_lock(end);
		if (atomic_fetch_sub(&end->users, 1) > 1) {
			xos__chan_mp_unlock(end);
			return 0;
		}
		if (end->tx && end->tx->pend_len)
			(void)xos__stream_flush(end->tx, false);
		xos__chan_mp_unlock(end);
		/* The reader sees EOF when the last writing process closes. */
		last = atomic_fetch_sub(&end->ctl->writers, 1) == 1;
	} else if (end->tx && end->tx->pend_len) {
		/* What a non-blocking send left half-way goes out before the EOF. */
		(void)xos__stream_flush(end->tx, false);
	}
	if (last) {
		atomic_store_explicit(&end->ctl->closed[end->idx], 1, memory_order_release);
		for (struct xos__chan_path *p = end->paths; p; p = p->next)
			if (p->ops->closing)
				p->ops->closing(p->st);
	}
	xos__chan_reg_del(end);
	xos__chan_release_local(end);
	xos__chan_end_free(end);
	return 0;
}

/*
 * Frames of up to this much payload are copied into one piece before they
 * are written (measured on pipes: a 16-byte frame in two iovecs costs
 * 0.1-0.2 us more per write than in one write(2)).
 */
#define COALESCE_MAX 256u

/* Inlined into a send; xos__chan_tx_frame() for the switch markers. */
static inline __attribute__((always_inline)) ssize_t tx_frame(struct xos_chan *end, uint32_t type,
							      const void *buf, size_t len, bool nonblock)
{
	struct xos__chan_path *p = end->tx;
	ssize_t rc;

	if (p->ops->writev) {
		struct xos__frame_hdr h = { .len = (uint32_t)len, .type = type };
		struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)buf, len } };
		uint8_t f[XOS_FRAME_HDR + COALESCE_MAX];
		int n = 2;

		if (len <= COALESCE_MAX) {
			/* A small frame in one piece: a plain write(2) or send(2) costs less than a vectored one. */
			memcpy(f, &h, sizeof(h));
			memcpy(f + sizeof(h), buf, len);
			iov[0] = (struct iovec){ f, sizeof(h) + len };
			n = 1;
		}
		rc = xos__stream_write_frame(p, iov, n, sizeof(h) + len, nonblock);
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

ssize_t xos__chan_tx_frame(struct xos_chan *end, uint32_t type, const void *buf, size_t len,
			   bool nonblock)
{
	return tx_frame(end, type, buf, len, nonblock);
}

static inline __attribute__((always_inline)) int tx_prepare(struct xos_chan *end)
{
	int rc;

	/* Its callers checked that @end is valid (after their safe point). */
	if (!end->can_tx)
		return -EBADF;
	if (end->reserved)
		return -EBUSY;
	if (!end->tx || xos__switch_pending(end)) {
		rc = xos__chan_ensure_path(end, true);
		if (rc < 0)
			return rc;
	}
	if (end->tx_broken || atomic_load_explicit(&end->ctl->closed[!end->idx], memory_order_relaxed))
		return -EPIPE;
	return 0;
}

static ssize_t chan_send(struct xos_chan *end, const void *buf, size_t len);

/*
 * One try of a send: -ERESTART when its wait for room was cut by a safe
 * point (nothing of the message written).  Not inlined: after the safe
 * point the caller holds only @end (which a move may rewrite), @buf, @len.
 */
__attribute__((noinline)) static ssize_t send_once(struct xos_chan *end, const void *buf, size_t len)
{
	ssize_t rc;

	if (!xos__chan_live(end))
		return -EINVAL;
	if (!end->mp)
		return chan_send(end, buf, len);
	xos__chan_mp_lock(end);
	rc = chan_send(end, buf, len);
	/* Several writers: the one who started a frame finishes it, before the next writer's. */
	if (rc >= 0 && end->tx && end->tx->pend_len) {
		int frc = xos__stream_flush(end->tx, false);

		if (frc < 0) {
			end->tx_broken |= frc == -EPIPE;
			rc = frc;
		}
	}
	xos__chan_mp_unlock(end);
	return rc;
}

/*
 * The rest of the frame a blocking send left when a safe point cut its
 * wait (stream.c): finished before the send returns, as a send that was
 * not cut would.  -ERESTART when cut again.  Not inlined, as send_once:
 * after the safe point the end may be another (moved), the rest gone
 * with its host left or handed over with it.
 */
__attribute__((noinline)) static int finish_once(struct xos_chan *end)
{
	struct xos__chan_path *p;
	int rc;

	if (!xos__chan_live(end))
		return -EINVAL;
	p = end->tx;
	if (end->nonblock || end->mp || !p || !p->pend_len)
		return 0;
	xos__chan_cut_ok = true;
	rc = xos__stream_flush(p, false);
	xos__chan_cut_ok = false;
	end->tx_broken |= rc == -EPIPE;
	return rc;
}

ssize_t xos_chan_send(struct xos_chan *end, const void *buf, size_t len)
{
	ssize_t rc;
	int frc;

	if (!xos__chan_live(end))
		return -EINVAL;
	do {
		if (xos__chan_host->safe_point)
			xos__chan_host->safe_point(); /* mutate/dump may happen here (xos_ef_yield) */
		rc = send_once(end, buf, len);
	} while (rc == -ERESTART);
	if (rc < 0 || !end->tx || !end->tx->pend_len || end->nonblock || end->mp)
		return rc; /* the common case: the whole frame went */
	while ((frc = finish_once(end)) == -ERESTART)
		if (xos__chan_host->safe_point)
			xos__chan_host->safe_point();
	return frc < 0 ? frc : rc;
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
	xos__chan_cut_ok = true;
	rc = tx_frame(end, XOS_FRAME_DATA, buf, len, end->nonblock && !(end->mp && end->tx->ops->writev));
	xos__chan_cut_ok = false;
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

	if (!xos__chan_live(end))
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

	if (!xos__chan_live(end))
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

	if (!xos__chan_live(end))
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
		rc = xos__stream_write_frame(p, iov, 1, XOS_FRAME_HDR + len, false);
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

static int path_peek(struct xos_chan *end, struct xos__chan_path *p, struct xos_mech_frame *f,
		     bool nonblock)
{
	if (p->ops->rx_peek)
		return p->ops->rx_peek(p->st, f, nonblock);
	return xos__stream_peek(end, p, f, nonblock);
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

int xos__chan_path_peek(struct xos_chan *end, struct xos__chan_path *p, struct xos_mech_frame *f,
			bool nonblock)
{
	return path_peek(end, p, f, nonblock);
}

/*
 * The next DATA frame at the end's cursor, following switch markers: 1, 0
 * at EOF, -errno; with @cut, -ERESTART when a safe point cut the wait.
 */
static int rx_next_(struct xos_chan *end, bool nonblock, bool cut);

static int rx_next(struct xos_chan *end, bool nonblock, bool cut)
{
	int rc;

	if (end->rx_broken)
		return -EPROTO;
	rc = rx_next_(end, nonblock, cut);
	end->rx_broken |= rc == -EPROTO;
	return rc;
}

static int rx_next_(struct xos_chan *end, bool nonblock, bool cut)
{
	int rc;

	if (end->peeked)
		return 1;
	for (;;) {
		if (!end->rx || xos__switch_pending(end)) {
			rc = xos__chan_ensure_path(end, false);
			if (rc < 0)
				return rc;
		}
		/* Waiting for a frame, nothing of it taken: a safe point may cut the wait. */
		xos__chan_cut_ok = cut && !nonblock;
		rc = path_peek(end, end->rx, &end->view, nonblock);
		xos__chan_cut_ok = false;
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
	if (!xos__chan_live(end))
		return -EINVAL;
	if (!end->can_rx)
		return -EBADF;
	return 0;
}

/* Messages at least this big may be read straight into the caller's buffer. */
#define DIRECT_MIN 1024u

/*
 * A message-mode receive on a stream mechanism that has readv, with nothing buffered:
 * one readv(2) puts the frame header aside and the payload straight into
 * the caller's buffer, so the message is copied once (by the kernel), as
 * a raw read would.  Bytes past the frame (the next frames' start) go to
 * the frame buffer; anything unusual (a switch marker, a message too big
 * for @buf, a header cut short) is put there as read and left to the
 * general path: *@ret_fallback is then true.
 */
static ssize_t recv_direct(struct xos_chan *end, struct xos__chan_path *p, void *buf, size_t len,
			   bool *ret_fallback)
{
	struct xos__frame_hdr h;
	size_t want = len < end->params.max_msg ? len : end->params.max_msg, m;
	struct iovec iov[2] = { { &h, sizeof(h) }, { buf, want } };
	ssize_t r;

	*ret_fallback = false;
	p->rrel = p->rstart = p->rend = p->rcur = 0;
	xos__chan_cut_ok = !end->nonblock; /* nothing read yet: a safe point may cut the wait */
	r = p->ops->readv(p->st, iov, 2, end->nonblock);
	xos__chan_cut_ok = false;
	if (r <= 0)
		return r; /* -EAGAIN, an error, or EOF: what the general path says too */
	*ret_fallback = true;
	if ((size_t)r < sizeof(h)) {
		memcpy(p->rbuf, &h, (size_t)r);
		p->rend = (size_t)r;
		return 0;
	}
	m = (size_t)r - sizeof(h);
	if (h.type != XOS_FRAME_DATA || h.len > want)
		goto stash;
	while (m < h.len) {
		r = p->ops->read(p->st, (char *)buf + m, h.len - m, end->nonblock);
		if (r == 0) {
			*ret_fallback = false;
			return 0; /* EOF; a frame cut by a dying writer was never sent */
		}
		if (r < 0) {
			/* Keep what was read (a non-blocking call comes back for the rest). */
			memcpy(p->rbuf, &h, sizeof(h));
			memcpy(p->rbuf + sizeof(h), buf, m);
			p->rend = sizeof(h) + m;
			*ret_fallback = false;
			return r;
		}
		m += (size_t)r;
	}
	/* What came after the frame belongs to the next ones. */
	memcpy(p->rbuf, (char *)buf + h.len, m - h.len);
	p->rend = m - h.len;
	*ret_fallback = false;
	end->rx_seq++;
	end->stats.msgs_received++;
	end->stats.bytes_received += h.len;
	if (end->paths != end->rx || end->rx->next)
		xos__chan_paths_gc(end);
	return (ssize_t)h.len;
stash:
	memcpy(p->rbuf, &h, sizeof(h));
	memcpy(p->rbuf + sizeof(h), buf, m);
	p->rend = sizeof(h) + m;
	return 0;
}

/*
 * A message-mode receive on a stream path, the common case without the
 * general path's layers: the whole data frame at the cursor, read into the
 * frame buffer first when nothing is buffered (one read(2) also takes the
 * frames behind it).  -ENOMSG leaves the rest to the general path, which
 * finds the same bytes buffered: a frame cut short, a switch marker, a
 * message longer than @len.
 */
static ssize_t recv_buffered(struct xos_chan *end, struct xos__chan_path *p, void *buf, size_t len)
{
	struct xos__frame_hdr h;
	size_t have = p->rend - p->rstart;

	if (have == 0) {
		ssize_t n;

		p->rrel = p->rstart = p->rend = 0;
		xos__chan_cut_ok = !end->nonblock; /* nothing read yet: a safe point may cut the wait */
		n = p->ops->read(p->st, p->rbuf, p->rcap, end->nonblock);
		xos__chan_cut_ok = false;
		if (n <= 0)
			return n; /* -EAGAIN, -ERESTART, an error, or EOF: what the general path says too */
		p->rend = have = (size_t)n;
	}
	if (have < XOS_FRAME_HDR)
		return -ENOMSG;
	memcpy(&h, p->rbuf + p->rstart, sizeof(h));
	if (h.type != XOS_FRAME_DATA || h.len > len || h.len > end->params.max_msg ||
	    have < XOS_FRAME_HDR + h.len)
		return -ENOMSG;
	memcpy(buf, p->rbuf + p->rstart + XOS_FRAME_HDR, h.len);
	p->rrel = p->rstart += XOS_FRAME_HDR + h.len; /* released at once: nothing is held in place */
	if (p->rstart == p->rend)
		p->rrel = p->rstart = p->rend = 0;
	end->rx_seq++;
	end->stats.msgs_received++;
	end->stats.bytes_received += h.len;
	if (end->paths != p || p->next)
		xos__chan_paths_gc(end);
	return (ssize_t)h.len;
}

static ssize_t recv_once(struct xos_chan *end, void *buf, size_t len);

ssize_t xos_chan_recv(struct xos_chan *end, void *buf, size_t len)
{
	ssize_t rc;

	do {
		if (xos__chan_host->safe_point)
			xos__chan_host->safe_point(); /* mutate/dump may happen here (xos_ef_yield) */
		rc = recv_once(end, buf, len);
	} while (rc == -ERESTART);
	return rc;
}

/*
 * One try of a receive: -ERESTART when its wait for the first frame was
 * cut by a safe point (nothing taken).  Not inlined, as send_once.
 */
__attribute__((noinline)) static ssize_t recv_once(struct xos_chan *end, void *buf, size_t len)
{
	size_t got = 0;
	int rc;

	rc = rx_check(end);

	if (rc < 0)
		return rc;
	if (!buf && len)
		return -EINVAL;
	/*
	 * The path first (the first call on an end binds it), so that the
	 * first message too takes the paths below: through the general path
	 * it was read into a frame buffer fresh from mmap, a page fault for
	 * every 4 KiB the read filled (2 ms for a 64 KiB stream's first read).
	 */
	if (!end->stream && !end->peeked && !end->rx_broken) {
		bool settled = end->rx && !xos__switch_pending(end);

		if (!settled) {
			rc = xos__chan_ensure_path(end, false);
			if (rc < 0) {
				end->rx_broken |= rc == -EPROTO;
				return rc;
			}
			settled = !xos__switch_pending(end); /* another path may have come meanwhile */
		}
		if (settled && !end->unreleased && !end->rx->ops->rx_peek && !end->rx->rbuf_old) {
			ssize_t n;

			if (len >= DIRECT_MIN && end->rx->ops->readv && end->rx->rstart == end->rx->rend) {
				bool fallback;

				n = recv_direct(end, end->rx, buf, len, &fallback);
				if (!fallback)
					return n;
			} else {
				n = recv_buffered(end, end->rx, buf, len);
				if (n != -ENOMSG)
					return n;
			}
		}
	}
	for (;;) {
		size_t n;

		rc = rx_next(end, end->nonblock || got > 0, true);
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
	rc = rx_next(end, end->nonblock, false);
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
	if (!xos__chan_live(end))
		return -EINVAL;
	end->nonblock = nonblock;
	return 0;
}

const char *xos_chan_mechanism(const struct xos_chan *end)
{
	const struct xos__mech *m;
	char name[XOS_CHAN_MECH_MAX];

	if (!xos__chan_live(end))
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
	return xos__chan_live(end) ? end->name : "";
}

int xos_chan_stats(const struct xos_chan *end, struct xos_chan_stats *ret_stats)
{
	if (!xos__chan_live(end) || !ret_stats)
		return -EINVAL;
	*ret_stats = end->stats;
	return 0;
}

int xos_chan_switch(struct xos_chan *end, const char *mechanism)
{
	const struct xos__mech *m;
	int rc;

	if (!xos__chan_live(end) || !mechanism)
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

