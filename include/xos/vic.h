/* SPDX-License-Identifier: MIT */
/*
 * The virtual isolation context (VIC) interface, for ICF authors.
 *
 * An isolation context factory (ICF) makes isolation contexts (ICs) of one
 * kind — threads, processes, sandboxes, virtual machines — and plugs into
 * the runtime the way a file system plugs into the VFS: a descriptor with a
 * name, what its contexts isolate and a table of operations, registered
 * with xos_icf_register().  The runtime never knows more about an ICF than
 * this table says.
 *
 * Applications do not need this header; include <xos.h>.
 *
 * Define XOS_USE_VERSION to the interface version you were written against
 * (currently 1) before including this header.
 */
#ifndef XOS_VIC_H
#define XOS_VIC_H

#ifndef XOS_USE_VERSION
#error "define XOS_USE_VERSION (the VIC interface version, 1) before including <xos/vic.h>"
#endif
#if XOS_USE_VERSION > 1
#error "this <xos/vic.h> only knows VIC interface version 1"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <xos/common.h>
#include <xos/ef.h>
#include <xos/chan.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What an ICF's contexts offer beyond their isolation level. */
#define XOS_ICF_FEATURE_MAP(X)                                                  \
	X(SHARED_MEMORY, 0, "shared-memory")     /* EF shares the creator's address space */ \
	X(OWN_FDS, 1, "own-fds")                 /* EF has its own file-descriptor table */ \
	X(CRASH_CONTAINED, 2, "crash-contained") /* an EF crash does not kill its creator */ \
	X(PIVOT, 3, "pivot")                     /* the pivot of mutate (the process ICF) */ \
	X(RESTRICTED, 4, "restricted")           /* narrows what the EF may do: see below */

/*
 * XOS_ICF_F_RESTRICTED: the context does not only isolate the EF, it also
 * narrows what the EF may do (filtered system calls, a read-only file
 * system, no network), so an EF written for a plain process may fail in
 * it.  The policy then ranks the ICF only for EFs that ask for at least
 * its isolation level, or that name it (attr.icf, an acceptable set that
 * lists it, or the operator's forced ICF).
 */
enum {
#define XOS_ICF_F_ENUM_(name, bit, str) XOS_ICF_F_##name = 1u << (bit),
	XOS_ICF_FEATURE_MAP(XOS_ICF_F_ENUM_)
#undef XOS_ICF_F_ENUM_
};

/*
 * What crosses an ICF's boundary, between an EF in one of its contexts
 * and the world outside: also bits of struct xos_icf.features.  A
 * mechanism names the crossings it needs (struct xos_mech.needs); the
 * runtime registers it between two ICFs that both offer them, so no ICF
 * lists mechanisms itself.
 */
#define XOS_ICF_CROSS_MAP(X)                                                          \
	X(MAPS_SHARED, 8, "maps-shared")   /* can map shared memory it is handed (a memfd) */ \
	X(INHERITS_FDS, 9, "inherits-fds") /* receives descriptors from its creator */    \
	X(NETWORK, 10, "network")          /* has the host's network */

enum {
#define XOS_ICF_X_ENUM_(name, bit, str) XOS_ICF_X_##name = 1u << (bit),
	XOS_ICF_CROSS_MAP(XOS_ICF_X_ENUM_)
#undef XOS_ICF_X_ENUM_
};

struct xos_icf;

/*
 * One isolation context.  The ICF allocates it (usually embedded in a larger
 * private struct, found back with container_of) and fills both fields in
 * create(), restore() or from_pivot(); the core only reads them.
 */
struct xos_ic {
	const struct xos_icf *icf; /* the factory that made it */
	struct xos_ef *ef;         /* the EF it hosts */
};

/*
 * struct xos_icf_ops - what an ICF can do.
 *
 * Every member is optional except create and wait.  A NULL init,
 * switch_in, switch_out or destroy means "nothing to do"; any other NULL
 * member means "not supported" and the core answers -EOPNOTSUPP to
 * whoever asked.  Members return 0 or a negative errno.  The core serialises calls that
 * concern one IC; calls for different ICs may run concurrently.
 */
struct xos_icf_ops {
	/*
	 * init - probe what the ICF needs on this machine.
	 * Called once, at registration, before any other member.  Return 0 if
	 * the ICF can make contexts here; otherwise a negative errno and a
	 * one-line reason in @why (NUL-terminated, at most @why_len bytes).
	 * An unavailable ICF stays registered and listed with its reason but
	 * is never chosen.  It may call xos_com_register() for the mechanisms
	 * that connect its contexts to others'.
	 */
	int (*init)(const struct xos_icf *icf, char *why, size_t why_len);

	/*
	 * create - make a context and start @ef in it.
	 * Fill a struct xos_ic (icf = @icf, ef = @ef) before the new flow of
	 * control starts; that flow must call xos_ic_run() on it exactly once
	 * and deliver its return value (the EF's exit status) to wait().  On
	 * success store the context in *@ret_ic; on failure the EF must not
	 * have started.  Called on the creating EF's flow.
	 */
	int (*create)(const struct xos_icf *icf, struct xos_ef *ef, struct xos_ic **ret_ic);

	/*
	 * wait - block until the EF in @ic has ended and report how.
	 * Called once per context, from the EF that created it, in the same
	 * process.  Must not fail because the EF crashed: a killed EF is
	 * reported as XOS_EF_KILLED with the signal number.
	 */
	int (*wait)(struct xos_ic *ic, struct xos_ef_exit *ret_exit);

	/*
	 * switch_in / switch_out - around every period in which the EF runs
	 * in @ic: called on the EF's own flow by xos_ic_run() before and
	 * after the EF's function, and around mutate.  Set up or save what
	 * the isolation technique adds to a plain flow (names, registers,
	 * filters).  A failing switch_in ends the EF before it runs, with
	 * exit status 127.
	 */
	int (*switch_in)(struct xos_ic *ic);
	int (*switch_out)(struct xos_ic *ic);

	/*
	 * dump - write the full state of @ic (memory domain, execution
	 * context, channel endpoints) to @fd, at a safe point of the EF.
	 * restore - rebuild a context for @ef from what dump() wrote to @fd
	 * and resume it.
	 */
	int (*dump)(struct xos_ic *ic, int fd);
	int (*restore)(const struct xos_icf *icf, struct xos_ef *ef, int fd, struct xos_ic **ret_ic);

	/*
	 * to_pivot - turn @ic into a context of the pivot (process) ICF,
	 * storing the new context in *@ret_ic; @ic is destroyed on success.
	 * from_pivot - turn the process context @pivot_ic into one of this
	 * ICF; @pivot_ic is waited for and destroyed (through the pivot's own
	 * wait and destroy) on success.  Any ICF with both can be mutated into
	 * any other with both.  Both are called on the creator's flow; the
	 * move itself happens at the EF's next safe point, see
	 * xos_ef_mutate(3) and src/runtime/mutate.c for the host's side.
	 */
	int (*to_pivot)(struct xos_ic *ic, struct xos_ic **ret_ic);
	int (*from_pivot)(const struct xos_icf *icf, struct xos_ic *pivot_ic, struct xos_ic **ret_ic);

	/*
	 * destroy - release everything @ic holds.  Called once, after wait()
	 * returned, or after a failed start.  Cannot fail.
	 */
	void (*destroy)(struct xos_ic *ic);

	/*
	 * wake - interrupt the EF of @ic where it sleeps in the kernel on a
	 * channel's descriptor (poll, a receive): send its flow SIGURG.  Called
	 * on the creator's flow after a request (mutate, dump, migrate) was
	 * set, only when the EF said it sleeps.  Its target must come from the
	 * creator's own memory, never from anything the EF can write.  NULL:
	 * the core signals the thread the host named, and only for ICFs whose
	 * contexts share the creator's trust (XOS_ICF_F_SHARED_MEMORY or
	 * XOS_ICF_F_PIVOT); others' EFs see the request at their next look.
	 */
	int (*wake)(struct xos_ic *ic);
};

/*
 * struct xos_icf - an isolation context factory, as registered.
 * Must stay valid and unchanged while registered.
 */
struct xos_icf {
	const char *name;             /* unique, [a-z0-9_-]+ */
	const char *description;      /* one line, for --list-icfs */
	enum xos_isolation isolation; /* what its contexts isolate */
	unsigned int features;        /* XOS_ICF_F_* and XOS_ICF_X_* (what crosses its boundary) */
	unsigned int create_cost;     /* typical create+join, in ns; guides policy */
	const struct xos_icf_ops *ops;
	size_t ops_size;              /* sizeof(struct xos_icf_ops) you built with */
};

/* Fill .ops and .ops_size of a struct xos_icf initialiser from an ops table. */
#define XOS_ICF_OPS(table) .ops = &(table), .ops_size = sizeof(table)

/* Register @icf: runs its init() and lists it; -EBUSY if the name is taken. */
XOS_EXPORT int xos_icf_register(const struct xos_icf *icf);

/* Unregister @icf; -EINVAL if not registered, -EBUSY while it hosts EFs. */
XOS_EXPORT int xos_icf_unregister(const struct xos_icf *icf);

/* Declare that @mechanism connects ICs of @a and @b at relative @cost (register_com). */
XOS_EXPORT int xos_com_register(const char *a, const char *b, const char *mechanism, unsigned int cost);

/* Run the EF hosted by @ic on the calling flow (the flow create() started); returns its status. */
XOS_EXPORT int xos_ic_run(struct xos_ic *ic);

/* attr.options is at most this long, its NUL included; so is any key or value in it. */
#define XOS_EF_OPTIONS_MAX 1024

/* Called by xos_ef_options_each() with one option's key and value ("" if none). */
typedef int (*xos_ef_option_fn)(const char *key, const char *value, void *ctx);

/*
 * Call @fn for each item "@icf.key[=value]" of @ef's attr.options, in
 * order, with the key (without "@icf.") and the value NUL-terminated.
 * Stops at the first negative return of @fn and returns it; 0 otherwise.
 */
XOS_EXPORT int xos_ef_options_each(const struct xos_ef *ef, const char *icf,
				   xos_ef_option_fn fn, void *ctx);

/*
 * The host kit, for ICFs whose contexts are processes of their own (see
 * xos_ic_fork(3)): everything such an ICF needs from the runtime to fork,
 * dump, restore, and take an EF from the pivot or give it back, so that it
 * needs nothing but this header.
 */

/*
 * Fork a process for a context, on the host's stack (never on an EF's
 * domain stack, which the child would share); in the child keep only
 * @ef's domain mapped (@ef may be NULL: no domain) and call @child, which
 * must not return.  The child's pid, or -errno.
 */
XOS_EXPORT int xos_ic_fork(struct xos_ef *ef, void (*child)(void *arg), void *arg);

/* @ef now runs in another process: unmap its domain here (keeping the range), park its channel ends. */
XOS_EXPORT int xos_ef_domain_leave(struct xos_ef *ef);

/* For dump(): write the image of @ef (parked by the core) to @fd. */
XOS_EXPORT int xos_ef_image_write(struct xos_ef *ef, int fd);

/* For restore(): rebuild @ef's domain and context from the image in @fd; then start it as create() does. */
XOS_EXPORT int xos_ef_image_read(struct xos_ef *ef, int fd);

/*
 * For from_pivot(): map the EF's domain here, ask its process to hand its
 * fds and channel ends over and leave at its next safe point, and take
 * them.  The EF is then parked in its domain, ready for the new context to
 * run it with xos_ic_run().  -EOPNOTSUPP when the EF has no domain.
 */
XOS_EXPORT int xos_ef_pivot_take(struct xos_ic *pivot_ic);

/* For from_pivot(), once the new context runs the EF: reap and free the old process context. */
XOS_EXPORT void xos_ef_pivot_drop(struct xos_ic *pivot_ic);

/*
 * For to_pivot(), the mirror of xos_ef_pivot_take(): ask the flow running
 * @ic's EF to give it to the pivot at the EF's next safe point.  That flow
 * makes a context of the pivot ICF there, on its own stack, so the new
 * process goes on with the EF's stack, registers, fds and channel ends as
 * they were; then it leaves the EF (its xos_ic_run() returns, with a value
 * that is no exit status).  Stores the pivot's context in *@ret_ic; the
 * ICF then waits for its flow to end and frees @ic.  Only for contexts
 * whose flow runs in the caller's process: -EOPNOTSUPP when the EF has no
 * domain or runs elsewhere; -EINVAL outside a mutate.
 */
XOS_EXPORT int xos_ef_pivot_give(struct xos_ic *ic, struct xos_ic **ret_ic);

/*
 * From a process of the context that saw @ef end for good (e.g. a reaper
 * the creator cannot see): tell the creator, so that a pending mutate or
 * dump request fails with -ESRCH instead of waiting.
 */
XOS_EXPORT void xos_ef_ended_elsewhere(struct xos_ef *ef);

/*
 * In the EF's own new process, before xos_ic_run(): store in @fds (room
 * for @max) the descriptors that belong to @ef there (its channel ends',
 * its attached ones, its domain's memfd), so that the ICF can close every
 * other one the creator happened to hold.  The count, or -errno (-ENOSPC:
 * more than @max).  Standard input, output and error are not listed.
 */
XOS_EXPORT int xos_ef_fds_owned(const struct xos_ef *ef, int *fds, size_t max);

/*
 * Mechanisms: how a channel moves bytes between its two ends.  Like an
 * ICF, a mechanism is a descriptor with a name and a table of
 * operations, registered with xos_mech_register(); the channel layer
 * knows no more about it than this table says.
 *
 * An instance of a mechanism (a "path") is a set of file descriptors
 * made in one process by make(); each end attaches its side with
 * attach(), so a path survives fork and can be handed to another process
 * with SCM_RIGHTS.  Data moves in frames (a length, a type, a payload).
 * A frame-native mechanism (the ring) implements the frame members; a
 * byte-stream mechanism (pipe, unix, tcp) implements writev, read and
 * wait_writable, and the channel layer frames the stream itself.
 */
#define XOS_MECH_MAX_FDS 4 /* descriptors of one end of a path */
#define XOS_MECH_MSTATE 8  /* words of private state an end hands over */

/* What a path is made for.  Sent with a path's descriptors: validate it. */
struct xos_mech_params {
	uint32_t flags;    /* XOS_CHAN_F_* of the channel */
	uint32_t dirs;     /* 1: end 0 -> end 1 only; 2: both ways */
	uint64_t capacity; /* bytes per direction, a power of two */
	uint64_t max_msg;  /* the largest payload */
};

struct xos__chan_ctl; /* private to libxos */

/* What an end of a path knows of its channel. */
struct xos_mech_link {
	struct xos__chan_ctl *ctl; /* the channel's control block: pass it on, do not read it */
	int idx;                   /* this end: 0 or 1 */
	int ctl_sock;              /* POLLHUP here: the peer's process is gone */
};

/* One frame as a reader sees it, in place. */
struct xos_mech_frame {
	const uint8_t *data;
	uint32_t len;
	uint32_t type; /* what tx_commit() was given */
};

/*
 * struct xos_mech_ops - what a mechanism can do.
 *
 * Every member but make, attach, detach and rx_fd is optional; a
 * mechanism has either the frame members or the stream members.  Every
 * member after attach takes the per-end state attach() returned.
 * Members return 0 (or a count) or a negative errno: -EPROTO when the
 * peer broke the protocol (corrupt shared state), -EPIPE when the peer is
 * gone, -EAGAIN when a non-blocking call would block.  An end is used by
 * one flow at a time.
 */
struct xos_mech_ops {
	/*
	 * make - create an instance for @p: store end i's descriptors in
	 * fds[i][0..*ret_nfds).  Called in one process; both sides' fds can
	 * then be inherited or passed with SCM_RIGHTS.
	 */
	int (*make)(const struct xos_mech_params *p, int fds[2][XOS_MECH_MAX_FDS], unsigned int *ret_nfds);
	/*
	 * attach - build end @link->idx's state from its @nfds descriptors.
	 * Takes ownership of the fds on success and on failure.  Must
	 * validate everything it reads: the fds may come from the peer.
	 */
	int (*attach)(const struct xos_mech_params *p, const struct xos_mech_link *link, int *fds,
		      unsigned int nfds, void **ret_st);
	/* detach - free the end's state and close its fds; never signals the peer. */
	void (*detach)(void *st);
	/* closing - the end is being closed: wake a peer that waits.  Optional. */
	void (*closing)(void *st);
	/* rx_fd - a descriptor readable when a frame (or EOF) may be there. */
	int (*rx_fd)(void *st);
	/* poll_arm - xos_chan_fd() is in use: make rx_fd level-triggered.  Optional. */
	void (*poll_arm)(void *st);

	/* Frame members. */
	/* tx_reserve - space for a frame of @len payload bytes; blocks unless @nonblock. */
	int (*tx_reserve)(void *st, size_t len, void **ret_buf, bool nonblock);
	/* tx_commit - publish the reserved frame with @len bytes and @type (@len 0 and @type 0: cancel). */
	int (*tx_commit)(void *st, size_t len, uint32_t type);
	/* rx_peek - the frame at the read cursor: 1, 0 at EOF, or -errno. */
	int (*rx_peek)(void *st, struct xos_mech_frame *ret, bool nonblock);
	/* rx_advance - move the cursor past the frame rx_peek returned. */
	void (*rx_advance)(void *st);
	/* rx_release - give the space of every frame advanced over back to the writer. */
	int (*rx_release)(void *st);

	/* Stream members. */
	/* writev - write some bytes; -EAGAIN when none could be written and @nonblock. */
	ssize_t (*writev)(void *st, const struct iovec *iov, int iovcnt, bool nonblock);
	/* read - read up to @len bytes; 0 at EOF; blocks unless @nonblock. */
	ssize_t (*read)(void *st, void *buf, size_t len, bool nonblock);
	/* wait_writable - block until writev can make progress (or the peer is gone). */
	int (*wait_writable)(void *st);

	/*
	 * Handing an end over to another process (mutate process -> thread).
	 * handover_fds - the end's live descriptors in attach()'s order (-1
	 * where attach() takes none); handover_save/load - the private state
	 * attach() cannot rebuild from the descriptors (load validates it).
	 * Without handover_fds an end cannot be handed over.
	 */
	int (*handover_fds)(void *st, int fds[XOS_MECH_MAX_FDS], unsigned int *ret_nfds);
	void (*handover_save)(void *st, uint64_t ms[XOS_MECH_MSTATE]);
	int (*handover_load)(void *st, const uint64_t ms[XOS_MECH_MSTATE]);

	/*
	 * readv - a stream member, optional (added after the others: a table
	 * built without it has a smaller ops_size): read up to the iovecs'
	 * total like read(), filling them in order.  With it, a message-mode
	 * receive reads the frame header aside and the payload straight into
	 * the caller's buffer, one copy and one call per message.
	 */
	ssize_t (*readv)(void *st, const struct iovec *iov, int iovcnt, bool nonblock);
};

/* XOS_MECH_F_KERNEL: the kernel moves the bytes, so the two EFs share no memory. */
#define XOS_MECH_F_KERNEL (1u << 0)
/* XOS_MECH_F_HOSTS: it can connect EFs on different hosts (a network socket). */
#define XOS_MECH_F_HOSTS (1u << 1)

/*
 * struct xos_mech - a mechanism, as registered.
 * Must stay valid and unchanged while registered and while a channel uses it.
 */
struct xos_mech {
	const char *name;        /* unique, [a-z0-9_-]+, at most 15 characters */
	const char *description; /* one line, for --list-mechs */
	unsigned int flags;      /* XOS_MECH_F_* */
	unsigned int needs;      /* XOS_ICF_X_* both ICFs must offer for it to connect them */
	unsigned int cost;       /* relative cost (ns of an 8-byte round trip); guides policy */
	const struct xos_mech_ops *ops;
	size_t ops_size;         /* sizeof(struct xos_mech_ops) you built with */
};

/* Fill .ops and .ops_size of a struct xos_mech initialiser from an ops table. */
#define XOS_MECH_OPS(table) .ops = &(table), .ops_size = sizeof(table)

/* Register @mech; -EBUSY if the name is taken.  Connects every pair of ICFs offering its needs. */
XOS_EXPORT int xos_mech_register(const struct xos_mech *mech);

/* Unregister @mech; -EINVAL if not registered, -EBUSY while a channel end uses it. */
XOS_EXPORT int xos_mech_unregister(const struct xos_mech *mech);

/* Store up to @n registered mechanisms in @mechs, in registration order; returns how many there are. */
XOS_EXPORT int xos_mech_list(const struct xos_mech **mechs, size_t n);

/* For mechanisms: is the peer of @link closed or its process gone?  (never blocks) */
XOS_EXPORT bool xos_mech_peer_gone(const struct xos_mech_link *link);

/* For mechanisms: wait for @fd to be ready for @events, or the peer to go (-EPIPE); 0 or -errno. */
XOS_EXPORT int xos_mech_wait_fd(const struct xos_mech_link *link, int fd, short events);

#ifdef __cplusplus
}
#endif
#endif /* XOS_VIC_H */
