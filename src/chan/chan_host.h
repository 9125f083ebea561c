/* SPDX-License-Identifier: MIT */
/*
 * Private to libxos: the channel layer as the layer above it (the
 * runtime) sees it.  Not installed.
 *
 * The channel layer sits below the runtime and never calls it by name.
 * What it needs from above (initialisation, the safe point of the calling
 * EF, which ICF the caller runs in, how to bind a channel nobody bound,
 * a log) comes through one table of host callbacks, installed by the
 * runtime with xos__chan_host_set() before any channel call.  Everything
 * else in this header is what the runtime may call: binding a channel to
 * a mechanism, switching it, and the bookkeeping of which ends live in
 * this process (park, forget, detach, hand over) when an EF moves.  The
 * layer's own internals are in chan_i.h.
 */
#ifndef XOS_CHAN_HOST_H
#define XOS_CHAN_HOST_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xos/chan.h>

struct xos_mech; /* <xos/mech.h>: only pointers to it here */

#ifndef XOS_HIDDEN
#define XOS_HIDDEN __attribute__((visibility("hidden")))
#endif

/* ---- what the layer needs from its host ------------------------------------ */

enum xos__chan_log { XOS__CHAN_LOG_DEBUG = 1, XOS__CHAN_LOG_EXPLAIN = 2 };

/*
 * struct xos__chan_host - the host's callbacks.  Every member may be NULL
 * (then: nothing to initialise, no safe point, ICF "process", EF id 0,
 * bind to the ring, no log, nothing forced).
 */
struct xos__chan_host {
	/* init - before the first channel opens; 0 or -errno (the open fails with it). */
	int (*init)(void);
	/* safe_point - at every send and receive: the caller's EF may be moved here. */
	void (*safe_point)(void);
	/* icf_name - the ICF hosting the calling flow ("process" outside any EF). */
	const char *(*icf_name)(void);
	/* ef_id - the id of the calling flow's EF, 0 outside any EF. */
	uint64_t (*ef_id)(void);
	/*
	 * forced_mech - the mechanism the operator forces on every channel:
	 * 0 and *@ret NULL when none, 0 and a name, or -EINVAL when the
	 * operator named none the layer knows.
	 */
	int (*forced_mech)(const char **ret);
	/* bind_default - bind @end, used before any EF took one of its ends; 0 or -errno. */
	int (*bind_default)(struct xos_chan *end);
	/* log - one line of kind @kind. */
	void (*log)(enum xos__chan_log kind, const char *fmt, va_list ap);
	/* mech_registered - @mech was registered (after the built-ins): connect what it can. */
	void (*mech_registered)(const struct xos_mech *mech);
	/*
	 * wait_word - the caller is about to sleep in a send or receive that
	 * waits for its peer: the 32-bit word (in shared memory, a futex)
	 * that becomes non-zero when the caller's EF is asked to a safe point,
	 * or NULL when the caller cannot be moved there (not an EF on its own
	 * stack).  The wait then ends with -ERESTART, the call is made again
	 * after the safe point (xos__chan_wait_cut).
	 */
	const _Atomic uint32_t *(*wait_word)(void);
	/*
	 * wait_sleeping - the caller, whose wait a wait_word cuts, is about to
	 * sleep in the kernel on a descriptor (true), or is back (false).  The
	 * host that sets the word then also interrupts that sleep (a signal),
	 * so the wait ends at once rather than at its next look at the word.
	 * Optional.
	 */
	void (*wait_sleeping)(bool sleeping);
};

/* Install @host (NULL: none); it must outlive every channel call. */
void xos__chan_host_set(const struct xos__chan_host *host) XOS_HIDDEN;

/* An allocator the layer writes a hand-over blob with (the EF's domain heap). */
struct xos__chan_alloc {
	void *(*alloc)(void *ctx, size_t size);
	void (*free)(void *ctx, void *p);
	void *ctx;
};

/* ---- mechanisms -------------------------------------------------------------- */

/* Is @name a registrable name: 1 to @max characters of [a-z0-9_-]?  (ICFs and mechanisms) */
bool xos__name_ok(const char *name, size_t max) XOS_HIDDEN;

/* The mechanisms built in, for the runtime's table of built-ins. */
struct xos_mech;
extern const struct xos_mech xos__mech_ring XOS_HIDDEN;
extern const struct xos_mech xos__mech_pipe XOS_HIDDEN;
extern const struct xos_mech xos__mech_unix XOS_HIDDEN;
extern const struct xos_mech xos__mech_tcp XOS_HIDDEN;
/* xos_mech_register() without the host's init (the runtime's own init registers the built-ins). */
int xos__mech_register(const struct xos_mech *mech) XOS_HIDDEN;
/* xos_mech_list() without the host's init (for the host's own init). */
int xos__mech_list(const struct xos_mech **mechs, size_t n) XOS_HIDDEN;

/* Does a mechanism called @name exist?  1 kernel-mediated, 0 shared memory, -ENOENT none. */
int xos__chan_mech_kernel(const char *name) XOS_HIDDEN;

/* ---- binding and switching one end ------------------------------------------- */

/* Is @end a live end of this process? */
bool xos__chan_valid(const struct xos_chan *end) XOS_HIDDEN;
/* Is the channel of @end bound? */
bool xos__chan_bound(const struct xos_chan *end) XOS_HIDDEN;
/* Bind an unbound channel to mechanism @mech now: 1 if this call bound it, 0 if it was, -errno. */
int xos__chan_bind(struct xos_chan *end, const char *mech) XOS_HIDDEN;
/* xos_chan_switch() without the explanation (the runtime gives its own). */
int xos__chan_switch(struct xos_chan *end, const char *mech) XOS_HIDDEN;
/* Take in every path the peer sent to @end. */
int xos__chan_adopt(struct xos_chan *end) XOS_HIDDEN;
/* Record that end @end now lives in ICF @icf. */
void xos__chan_set_icf(struct xos_chan *end, const char *icf) XOS_HIDDEN;
/* The ICF recorded for the end's peer (copied into @buf). */
void xos__chan_peer_icf(const struct xos_chan *end, char *buf, size_t len) XOS_HIDDEN;
/* The mechanism of the channel's newest path, whether or not this end has taken it ("" unbound). */
void xos__chan_mech_newest(const struct xos_chan *end, char *buf, size_t len) XOS_HIDDEN;
/* The end's name, even while it is parked. */
const char *xos__chan_name(const struct xos_chan *end) XOS_HIDDEN;
/* The other end when it is alive in this process, else NULL. */
struct xos_chan *xos__chan_peer_here(const struct xos_chan *end) XOS_HIDDEN;
/* Multi-producer: one more flow (same process) or process will hold end 0. */
void xos__chan_mp_share(struct xos_chan *end, bool same_process) XOS_HIDDEN;
/* Is @end alive here (live: in use; else parked)?  Compares, never reads @end. */
bool xos__chan_here(const struct xos_chan *end, bool live) XOS_HIDDEN;

/* ---- ends whose peer is on another host (remote.c) ----------------------------- */

/* xos_chan_open() that leaves the channel unbound whatever XOS_CHAN forces. */
int xos__chan_open_unbound(struct xos_chan *ret_ends[2], const struct xos_chan_attr *attr) XOS_HIDDEN;
/*
 * @away's EF runs on another host, reached by the connected TCP socket
 * @sock: bind the unbound channel to one tcp path, @away's peer (alive in
 * this process) attached to @sock; forget @away here.  *@ret_hold is the
 * control socket @away held: the peer sees "peer gone" once it is closed
 * (keep it open while the remote EF may use its end).  Takes @sock in all
 * cases.  -EBUSY: already bound; -EOPNOTSUPP: multi-producer, or the peer
 * end is not alive in this process.
 */
int xos__chan_bind_remote(struct xos_chan *away, int sock, int *ret_hold) XOS_HIDDEN;
/* Is @end's peer on another host? */
bool xos__chan_remote(const struct xos_chan *end) XOS_HIDDEN;
/* The flags, capacity and largest message of @end's channel, as xos_chan_open() took them. */
void xos__chan_shape(const struct xos_chan *end, struct xos_chan_attr *ret) XOS_HIDDEN;
/* The end's index (0 or 1). */
int xos__chan_idx(const struct xos_chan *end) XOS_HIDDEN;

/* ---- ends that follow their EF to another host (move.c) ------------------------ */

/* What one end of a migrating EF tells its destination. */
struct xos__chan_move {
	uint64_t addr;      /* the end's address on the host it leaves (the EF's code holds it) */
	uint64_t next_id;   /* the path the peer continues on */
	uint64_t drain_id;  /* the path it read: what the peer wrote before its marker */
	uint64_t tx_seq, rx_seq;
	uint64_t capacity, max_msg;
	uint32_t idx, flags;
	uint8_t can_rx, can_tx, nonblock, pad[5];
	char name[48];
};

/*
 * May @end ever move with its EF?  0, or -EOPNOTSUPP (multi-producer).
 * Only what does not change while the EF runs: its other state (a
 * zero-copy message or a poll in progress: -EBUSY) is looked at once the
 * EF is parked (xos__chan_move_prepare), never while its thread uses it.
 */
int xos__chan_move_check(const struct xos_chan *end) XOS_HIDDEN;
/* The EF of @end is parked: bind it if unbound, take in the peer's paths, fill @mv (a new path id if local). */
int xos__chan_move_prepare(struct xos_chan *end, struct xos__chan_move *mv) XOS_HIDDEN;
/*
 * @end's EF moves between two hosts, neither of them this one (its creator's):
 * a new path id for its peer, and until xos__chan_move_end() the peer, meeting
 * the marker of the host left before the path given here, waits for the path
 * instead of taking the channel for broken.
 */
uint64_t xos__chan_move_begin(struct xos_chan *end) XOS_HIDDEN;
void xos__chan_move_end(struct xos_chan *end) XOS_HIDDEN;
/* The peer of @end (its control socket) continues on TCP socket @sock (taken) as path @id. */
int xos__chan_move_give_peer(struct xos_chan *end, uint64_t id, int sock) XOS_HIDDEN;
/*
 * @end leaves this host: a marker for path @target on its writes, and what
 * the peer wrote before its own marker for @target forwarded on @drain (taken;
 * -1: none) in the background.  @keep: the struct stays, parked, its control
 * socket open (the creator's host); else it is closed once forwarded.
 * @hold (taken; -1: none) is closed once forwarded.
 */
int xos__chan_move_leave(struct xos_chan *end, uint64_t target, int drain, bool keep, int hold) XOS_HIDDEN;
/* On another host: a new end for @mv, on TCP sockets @next (to the peer) and @drain (both taken). */
int xos__chan_move_arrive(const struct xos__chan_move *mv, int next, int drain, struct xos_chan **ret,
			  int *ret_hold) XOS_HIDDEN;
/* Back on the creator's host: parked @end and its peer on a new path of @mech (its id in *@ret_id), @drain first. */
int xos__chan_move_home(struct xos_chan *end, const struct xos__chan_move *mv, const char *mech, int drain,
			uint64_t *ret_id) XOS_HIDDEN;
/* Keep @end (struct, control socket) for its EF's return, without its paths: parked. */
void xos__chan_park_keep(struct xos_chan *end) XOS_HIDDEN;

/* ---- the ends of this process, as EFs come and go ------------------------------- */

/* In a new process hosting an EF: forget every end but @keep[0..n), without closing them. */
void xos__chans_forget_others(struct xos_chan *const *keep, size_t n) XOS_HIDDEN;
/* The descriptors @ends hold in this process (control sockets, poll and path fds): count or -errno. */
int xos__chans_fds(struct xos_chan *const *ends, size_t n, int *fds, size_t max) XOS_HIDDEN;
/* In the creator, after handing @ends to an EF in another process: forget them here. */
void xos__chans_detach(struct xos_chan *const *ends, size_t n) XOS_HIDDEN;
/* Mutate: keep the EF's ends (struct, control block) for its return; drop their fds and paths. */
void xos__chans_park(struct xos_chan *const *ends, size_t n) XOS_HIDDEN;
/* Free the parked ends among @ends (set to NULL): their EF ended elsewhere, or dropped them. */
void xos__chans_drop_parked(struct xos_chan **ends, size_t n) XOS_HIDDEN;
/* @ends now belong to EF @ef_id (0: to the program); multi-producer ends stay shared. */
void xos__chans_hand(struct xos_chan *const *ends, size_t n, uint64_t ef_id) XOS_HIDDEN;
/* Undo that for an EF that was never made: @ends belong to @back_to again. */
void xos__chans_unhand(struct xos_chan *const *ends, size_t n, uint64_t ef_id,
		       uint64_t back_to) XOS_HIDDEN;
/* EF @ef_id ended in this process: close the ends handed to it that it left open. */
void xos__chans_close_owned(uint64_t ef_id) XOS_HIDDEN;

/*
 * Handing ends over to another process (mutate process -> thread),
 * handover.c.  In the process leaving: write the state of the live ends
 * among @ends into a blob allocated with @a and list the descriptors to
 * hand over (@fds, at most @max).  In the process taking them: rebuild the
 * parked ends among @ends from the blob and the received fds (all closed
 * or owned by the ends on return).
 */
#define XOS_HANDOVER_FDS 128
int xos__chan_handover_save(struct xos_chan *const *ends, size_t n, const struct xos__chan_alloc *a,
			    void **ret_blob, size_t *ret_len, int *fds, int max, int *ret_nfds) XOS_HIDDEN;
int xos__chan_handover_load(struct xos_chan **ends, size_t n, const void *blob, size_t len,
			    int *fds, int nfds) XOS_HIDDEN;

#endif /* XOS_CHAN_HOST_H */
