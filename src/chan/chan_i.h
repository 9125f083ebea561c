/* SPDX-License-Identifier: MIT */
/*
 * Private to the channel layer: what the generic layer (chan.c), the
 * switch protocol (switch.c) and the mechanisms (ring.c, pipe.c, unix.c,
 * tcp.c) share.  Not installed.
 *
 * A channel is two ends.  Each end owns a small control block shared by
 * both ends (a memfd mapping: closed flags, switch counters, the ICF of
 * each end) and one side of a control socketpair, over which a new
 * mechanism instance's file descriptors travel during a live switch.
 *
 * A mechanism instance ("path") is a set of file descriptors made in one
 * process by ops->make(); each end attaches its side (ops->attach()), so
 * a path survives fork and can be handed to another process with
 * SCM_RIGHTS.  Data moves in frames: an 8-byte header (length, type) and
 * a payload.  A frame-native mechanism (the ring) implements the frame
 * members; a byte-stream mechanism (pipe, unix, tcp) implements writev and
 * read, and the generic layer frames the stream and emulates zero-copy
 * with staging buffers.
 */
#ifndef XOS_CHAN_I_H
#define XOS_CHAN_I_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifndef XOS_USE_VERSION
#define XOS_USE_VERSION 1
#endif
#include <xos/chan.h>
#include <xos/vic.h>

#include "chan_host.h"

#ifndef XOS_ARRAY_SIZE
#define XOS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

#define XOS_CHAN_NAME_MAX 48
#define XOS_CHAN_MECH_MAX 16
#define XOS_CHAN_MAGIC 0x78636821u   /* "xch!" */
#define XOS_CHAN_CAP_DEFAULT (1u << 20)
#define XOS_CHAN_CAP_MIN 4096u
#define XOS_CHAN_CAP_MAX (1u << 30)

/* Frame types.  A PAD frame fills a ring's tail so no frame wraps. */
enum { XOS_FRAME_DATA = 1, XOS_FRAME_SWITCH = 2, XOS_FRAME_PAD = 3 };

struct xos__frame_hdr {
	uint32_t len;  /* payload bytes */
	uint32_t type; /* XOS_FRAME_* */
};
#define XOS_FRAME_HDR sizeof(struct xos__frame_hdr)

/* Payload of a SWITCH frame: "my next frame is on path @target; I sent @seq data frames before this one". */
struct xos__switch_marker {
	uint64_t target;
	uint64_t seq;
};

/* The control block, shared by both ends (and so never trusted for memory safety). */
struct xos__chan_ctl {
	uint32_t magic;
	_Atomic uint32_t closed[2];    /* end i was closed (not: forgotten) */
	_Atomic uint32_t lock;         /* serialises bind and switch initiation; owner-tagged (chan.c) */
	_Atomic uint32_t bound;        /* a first path exists */
	_Atomic uint32_t sent[2];      /* paths sent to end i over the control socket */
	_Atomic uint64_t next_id;      /* path ids */
	_Atomic uint32_t moving;       /* an end's EF between two other hosts: its path may follow its marker */
	_Atomic uint32_t writers;      /* multi-producer: processes holding end 0 */
	char mech[XOS_CHAN_MECH_MAX];  /* mechanism of the newest path (for unbound-yet ends) */
	char icf[2][32];               /* ICF hosting each end, for binding decisions */
	_Atomic uint64_t lock_ns[2];   /* pid namespace of end i's last lock holder (0: unknown) */
	/* Written often: kept off the line every call reads. */
	_Alignas(64) _Atomic int32_t cpu[2]; /* CPU each end last waited on; -1 unknown */
};

/* One mechanism instance as one end sees it. */
struct xos__chan_path {
	struct xos__chan_path *next;
	uint64_t id;
	const struct xos__mech *mech; /* holds a reference on it */
	const struct xos_mech_ops *ops; /* &mech->ops */
	void *st;
	bool tx_left, rx_left; /* this end no longer writes / reads it (or never did) */
	/* stream adapter: received bytes, [rrel, rstart) consumed, [rstart, rend) not yet */
	uint8_t *rbuf;
	size_t rcap, rrel, rstart, rend, rcur;
	uint8_t *rbuf_old; /* replaced while frames in it were consumed, not released */
	uint8_t *stage; /* reserve/commit staging: header + max_msg */
	size_t stage_len;
	uint8_t *pend;  /* rest of a frame a non-blocking write could not finish */
	size_t pend_off, pend_len;
};

struct xos_chan {
	uint32_t magic;
	int idx;
	struct xos_mech_link link;
	struct xos_mech_params params;
	char name[XOS_CHAN_NAME_MAX];
	bool can_tx, can_rx, nonblock, stream;
	bool mp;               /* end 0 of a multi-producer channel */
	_Atomic uint32_t *mp_word; /* mp: the writers' send lock, off the control block (chan.c) */
	_Atomic unsigned int users; /* mp: flows of this process that hold this end */
	bool tx_broken;        /* a send saw the reader gone: every later send is -EPIPE */
	bool rx_broken;        /* the peer broke the protocol: every later read is -EPROTO */
	bool parked;           /* its EF lives in another process for now: kept for its return */
	bool remote;           /* its peer is on another host: one tcp path, never switched (remote.c) */
	uint64_t owner_ef;     /* id of the EF it was handed to (attr.chans); 0: the program's */
	struct xos_chan *parked_next;
	struct xos__chan_ctl *ctl;
	struct xos_chan *peer; /* the other end while both live in this process */
	struct xos__chan_path *paths, *tx, *rx;
	uint32_t recv_paths;   /* paths received over the control socket */
	uint64_t tx_seq, rx_seq; /* data frames sent / read, for the switch agreement */
	/* zero-copy state */
	bool reserved;
	size_t resv_len;
	bool peeked;           /* view below is the frame at the cursor */
	struct xos_mech_frame view;
	size_t view_off;       /* stream mode: bytes of the frame already consumed */
	size_t unreleased;     /* bytes consumed but not released */
	/* poll */
	int epfd;
	int ep_rx_fd;          /* the path fd in epfd, or -1 */
	bool ep_ctl_in;        /* ctl_sock is in epfd for EPOLLIN (no rx path yet) */
	struct xos_chan_stats stats;
	struct xos_chan *reg_prev, *reg_next; /* ends alive in this process */
};

/* xos__chan_valid() inlined, for the layer's own calls (a send or receive checks it on every call). */
static inline bool xos__chan_live(const struct xos_chan *end)
{
	return end && end->magic == XOS_CHAN_MAGIC && !end->parked;
}

/* ---- mechanisms (mech.c) ------------------------------------------------ */
/* A registered mechanism: the author's descriptor and what the registry keeps. */
struct xos__mech {
	const struct xos_mech *desc;
	struct xos_mech_ops ops; /* copy, NULL-padded to this library's size */
	const char *name;
	bool kernel;             /* XOS_MECH_F_KERNEL */
	_Atomic unsigned long paths; /* paths using it: blocks unregister */
	struct xos__mech *next;
};

extern const struct xos_mech_ops xos__chan_ring XOS_HIDDEN;
extern const struct xos_mech_ops xos__chan_pipe XOS_HIDDEN;
extern const struct xos_mech_ops xos__chan_unix XOS_HIDDEN;
extern const struct xos_mech_ops xos__chan_tcp XOS_HIDDEN;

/* The registered mechanism called @name, or NULL. */
const struct xos__mech *xos__mech_find(const char *name) XOS_HIDDEN;
/* A path starts / stops using @m. */
void xos__mech_get(const struct xos__mech *m) XOS_HIDDEN;
void xos__mech_put(const struct xos__mech *m) XOS_HIDDEN;

/* The page of a multi-producer end 0's writers' lock (chan.c, ends.c). */
#define MP_WORD_PAGE 4096u

/* ---- ends of this process (ends.c) ------------------------------------------ */
/* List @end among the live ends of this process / take it off the list. */
void xos__chan_reg_add(struct xos_chan *end) XOS_HIDDEN;
void xos__chan_reg_del(struct xos_chan *end) XOS_HIDDEN;
/* Remove one hold of EF @ef_id on multi-producer @end (any EF's if 0, every one if @all). */
bool xos__chan_hold_drop(uint64_t ef_id, const struct xos_chan *end, bool all) XOS_HIDDEN;
/* Free the end's memory; the control block stays mapped while the peer struct uses it. */
void xos__chan_end_free(struct xos_chan *end) XOS_HIDDEN;

/* ---- byte-stream framing (stream.c) ------------------------------------------ */
/* Push out the rest of a frame a non-blocking send left: 0, -EAGAIN (only if @nonblock), -errno. */
int xos__stream_flush(struct xos__chan_path *p, bool nonblock) XOS_HIDDEN;
/* Write one frame, all of @iov (@n entries, @total bytes), on stream path @p. */
ssize_t xos__stream_write_frame(struct xos__chan_path *p, struct iovec *iov, int n, size_t total,
				bool nonblock) XOS_HIDDEN;
/* The frame at the cursor of stream path @p of @end: 1, 0 at EOF, -errno. */
int xos__stream_peek(struct xos_chan *end, struct xos__chan_path *p, struct xos_mech_frame *f,
		     bool nonblock) XOS_HIDDEN;

/* The descriptor mechanisms' read and readv (fdstream.c). */
ssize_t xos__fds_read(void *st, void *buf, size_t len, bool nonblock) XOS_HIDDEN;
ssize_t xos__fds_readv(void *st, const struct iovec *iov, int iovcnt, bool nonblock) XOS_HIDDEN;

/* ---- binding and paths (bind.c) ---------------------------------------------- */
/* Make sure the end has a path for @tx (or rx): 0 or -errno. */
int xos__chan_ensure_path(struct xos_chan *end, bool tx) XOS_HIDDEN;
/* Detach and free path @p. */
void xos__chan_path_free(struct xos__chan_path *p) XOS_HIDDEN;

/* ---- the channel API (chan.c) and what the other files share ------------------- */
/* Make a path for @ops, attach this end's side, send the peer's side over the control socket. */
int xos__chan_path_new(struct xos_chan *end, const struct xos__mech *m,
		       struct xos__chan_path **ret) XOS_HIDDEN;
/* Write one frame on the end's tx path (blocking when @nonblock is false). */
ssize_t xos__chan_tx_frame(struct xos_chan *end, uint32_t type, const void *buf, size_t len,
			   bool nonblock) XOS_HIDDEN;
/* Follow the end's epoll set to its (new) rx path. */
void xos__chan_rx_adopted(struct xos_chan *end) XOS_HIDDEN;
/* Free paths this end has left in both directions (nothing unreleased on them). */
void xos__chan_paths_gc(struct xos_chan *end) XOS_HIDDEN;
/* Bind an unbound channel to @ops now: 1 if this call bound it, 0 if it was, -errno. */
int xos__chan_bind_to(struct xos_chan *end, const struct xos__mech *m) XOS_HIDDEN;
/* Switch the channel of @end to @ops (binds it when unbound). */
int xos__chan_switch_to(struct xos_chan *end, const struct xos__mech *m) XOS_HIDDEN;

/* Multi-producer: serialise senders of end 0 across threads and processes. */
void xos__chan_mp_lock(struct xos_chan *end) XOS_HIDDEN;
void xos__chan_mp_forked(struct xos_chan *end) XOS_HIDDEN;
void xos__chan_mp_unlock(struct xos_chan *end) XOS_HIDDEN;

/*
 * Control lock (spins briefly, then sleeps; held only for non-blocking
 * steps).  0, -EPIPE when its holder died (the channel is broken from
 * then on; a dead peer end counts as closed), or -ETIMEDOUT when a live
 * holder kept it for longer than any honest step takes (2 s).
 */
int xos__chan_lock(struct xos_chan *end) XOS_HIDDEN;
void xos__chan_unlock(struct xos_chan *end) XOS_HIDDEN;

/* Attach fds (owned from here) into a new path of @end, appended to its list. */
int xos__chan_path_attach_fds(struct xos_chan *end, const struct xos__mech *m, uint64_t id,
			      int *fds, unsigned int nfds, struct xos__chan_path **ret) XOS_HIDDEN;
/* A parked end whose state was rebuilt (handover.c) is live here again. */
void xos__chan_unpark(struct xos_chan *end) XOS_HIDDEN;
/* The parked end at address @addr, or NULL. */
struct xos_chan *xos__chan_parked_find(uint64_t addr) XOS_HIDDEN;
/* Drop an end's paths and descriptors here (a failed rebuild, a park, a close). */
void xos__chan_release_local(struct xos_chan *end) XOS_HIDDEN;
/* How many ends are alive in this process. */
size_t xos__chans_live(void) XOS_HIDDEN;
/* Give the space of every frame advanced over on @p back to the writer. */
int xos__chan_path_release(struct xos__chan_path *p) XOS_HIDDEN;
/* The frame at the cursor of @end's path @p: 1, 0 at EOF, -errno. */
int xos__chan_path_peek(struct xos_chan *end, struct xos__chan_path *p, struct xos_mech_frame *f,
			bool nonblock) XOS_HIDDEN;
/* Move @p's read cursor past the frame at it. */
void xos__chan_path_advance(struct xos__chan_path *p) XOS_HIDDEN;

/* ---- the host (host.c) ------------------------------------------------------ */
/* The installed host callbacks (never NULL: an empty table when none). */
extern const struct xos__chan_host *xos__chan_host XOS_HIDDEN;

/*
 * A wait for the peer that a safe point may cut.  A public send or
 * receive allows it (xos__chan_cut_ok, this flow only) around the part
 * where nothing of the message has moved yet: the ring's wait for data or
 * room, a stream's wait for the first byte of a frame.  Such a wait calls
 * xos__chan_wait_cut() before it sleeps; with a word, it sleeps on that
 * word too and returns -ERESTART once the word is set.  The call then
 * goes to its safe point and starts again (on whatever the end is after
 * it: re-bound, on another host).
 */
extern __thread bool xos__chan_cut_ok XOS_HIDDEN __attribute__((tls_model("initial-exec")));
/* The word that cuts this flow's wait now, or NULL (not allowed here, or not an EF that can move). */
const _Atomic uint32_t *xos__chan_wait_cut(void) XOS_HIDDEN;
/* Has @word (from xos__chan_wait_cut, may be NULL) been set? */
static inline bool xos__chan_cut(const _Atomic uint32_t *word)
{
	return word && atomic_load_explicit(word, memory_order_acquire) != 0;
}
/* How often a cuttable wait on a descriptor looks at its word (as the ring's dead check). */
#define CUT_CHECK_MS 20
/*
 * Around a cuttable wait that sleeps in the kernel on a descriptor (poll,
 * a socket's receive): the host may interrupt the sleep when it cuts the
 * wait (chan_host.h wait_sleeping).  Each wait still looks at its word
 * every CUT_CHECK_MS: a request that lands between the look and the sleep,
 * or a host that cannot interrupt, costs that much at most.
 */
void xos__chan_wait_sleeping(const _Atomic uint32_t *cut, bool sleeping) XOS_HIDDEN;
/* The calling flow's ICF, through the host. */
const char *xos__chan_host_icf(void) XOS_HIDDEN;
/* One log line of @kind, through the host. */
void xos__chan_log(enum xos__chan_log kind, const char *fmt, ...) XOS_HIDDEN
	__attribute__((format(printf, 2, 3)));

/* The shared mapping of a ring end (tests and fuzzers forge its contents). */
void *xos__ring_shared(void *st, size_t *ret_len) XOS_HIDDEN;

/* ---- switch protocol (switch.c) ---------------------------------------- */
/* Send @p's fds for the peer over the control socket. */
int xos__switch_send_path(struct xos_chan *end, const struct xos__mech *mech, uint64_t id,
			  int *fds, unsigned int nfds) XOS_HIDDEN;
/* Take in every path the peer has sent; a writer moves its tx to each (marker on the old). */
int xos__switch_poll(struct xos_chan *end) XOS_HIDDEN;
/* The reader met a SWITCH frame @f on its rx path: check the count, move to the target. */
int xos__switch_rx_marker(struct xos_chan *end, const struct xos_mech_frame *f) XOS_HIDDEN;
/* Move the end's tx to @path, leaving a marker on the old one. */
int xos__switch_tx_to(struct xos_chan *end, struct xos__chan_path *path) XOS_HIDDEN;
/* Cheap check: has the peer sent a path not taken in yet? */
static inline bool xos__switch_pending(const struct xos_chan *end)
{
	return atomic_load_explicit(&end->ctl->sent[end->idx], memory_order_acquire) != end->recv_paths;
}

/* ---- helpers shared by mechanisms ----------------------------------------- */
/* Is the peer of @link closed or its process gone? (one poll(2) on the control socket) */
bool xos__chan_peer_gone(const struct xos_mech_link *link) XOS_HIDDEN;
/* Wait for @fd to be ready for @events; polls the peer's liveness too. */
int xos__chan_wait_fd(const struct xos_mech_link *link, int fd, short events) XOS_HIDDEN;
/* The same, cut by @cut (from xos__chan_wait_cut, may be NULL): -ERESTART. */
int xos__chan_wait_fd_cut(const struct xos_mech_link *link, int fd, short events,
			  const _Atomic uint32_t *cut) XOS_HIDDEN;
void xos__close_fds(int *fds, unsigned int n) XOS_HIDDEN;

#endif /* XOS_CHAN_I_H */
