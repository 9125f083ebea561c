/* SPDX-License-Identifier: MIT */
/*
 * The channel API: how EFs talk.  EFs share no memory by contract, so
 * every exchange goes through a channel; which mechanism carries it
 * (shared-memory ring, pipe, unix socket, loopback TCP) is chosen by
 * the runtime from the ICFs of the two EFs and the policy, forced with
 * XOS_CHAN / xos-run --chan, or changed live with xos_chan_switch().
 *
 * A channel has two ends, made together by xos_chan_open() like a
 * socketpair.  A unidirectional channel carries data from end 0 to end 1;
 * a bidirectional one both ways.  An EF receives the end(s) it uses by
 * listing them in its struct xos_ef_attr (chans/nchans) and passing the
 * pointer in its argument: the runtime binds the channel to a mechanism
 * that connects the two ICFs before the EF starts, and the end stays valid
 * in the EF whatever ICF hosts it.  An end handed to an EF belongs to that
 * EF: the creator must not use or close it afterwards -- except end 0 of a
 * XOS_CHAN_F_MULTI_PRODUCER channel, which every holder (the creator
 * included) closes once; the reader sees EOF after the last.
 *
 * Two ways to move data:
 *  - copy (socket-like): xos_chan_send() / xos_chan_recv();
 *  - zero-copy: xos_chan_reserve() space in the channel, fill it,
 *    xos_chan_commit(); on the other side xos_chan_peek() at the next
 *    message in place, xos_chan_consume() what was read, xos_chan_release()
 *    the consumed space back to the writer.
 * In message mode (the default) boundaries are kept; with
 * XOS_CHAN_F_STREAM the channel is a byte stream.
 *
 * Every function returns a non-negative value on success and a negative
 * errno on failure; errno is left untouched.  No function raises SIGPIPE.
 */
#ifndef XOS_CHAN_H
#define XOS_CHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <xos/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One end of a channel; opaque. */
struct xos_chan;

enum {
	XOS_CHAN_F_BIDIR = 1u << 0,    /* both ends send and receive */
	XOS_CHAN_F_STREAM = 1u << 1,   /* byte stream; default: messages */
	XOS_CHAN_F_NONBLOCK = 1u << 2, /* both ends start non-blocking */
	XOS_CHAN_F_MULTI_PRODUCER = 1u << 3, /* several EFs may send on end 0 */
};

/* How a new channel should be made.  Initialise with xos_chan_attr_init(). */
struct xos_chan_attr {
	const char *name;      /* label for --explain and stats; copied */
	unsigned int flags;    /* XOS_CHAN_F_* */
	size_t capacity;       /* bytes buffered per direction; 0: default (1 MiB) */
	size_t max_msg;        /* largest message; 0: capacity / 4 */
	const char *mechanism; /* "ring", "pipe", "unix", "tcp"; NULL: the runtime picks */
	void *reserved[4];     /* must be NULL */
};

/* Counters of one end, for stats and tests. */
struct xos_chan_stats {
	uint64_t bytes_sent, bytes_received;
	uint64_t msgs_sent, msgs_received;
	uint64_t switches; /* mechanism changes this end has gone through */
};

/* Set @attr to the defaults: unidirectional messages, runtime-chosen mechanism. */
XOS_EXPORT void xos_chan_attr_init(struct xos_chan_attr *attr);

/* Make a channel; its two ends are stored in @ret_ends[0] and @ret_ends[1]. */
XOS_EXPORT int xos_chan_open(struct xos_chan *ret_ends[2], const struct xos_chan_attr *attr);

/* Close one end: the peer's reader sees EOF after the data sent so far, its writer -EPIPE. */
XOS_EXPORT int xos_chan_close(struct xos_chan *end);

/* Send @len bytes (one message, or stream bytes); returns bytes sent. */
XOS_EXPORT ssize_t xos_chan_send(struct xos_chan *end, const void *buf, size_t len);

/* Receive one message, or up to @len stream bytes; returns bytes, 0 at EOF (or an empty message). */
XOS_EXPORT ssize_t xos_chan_recv(struct xos_chan *end, void *buf, size_t len);

/* Reserve @len bytes of channel space to fill in place; *@ret_buf points to it. */
XOS_EXPORT int xos_chan_reserve(struct xos_chan *end, size_t len, void **ret_buf);

/* Publish the first @len bytes of the reserved space (0: give it back unsent). */
XOS_EXPORT int xos_chan_commit(struct xos_chan *end, size_t len);

/* Wait for the next message (or stream bytes) and map it in place; returns its length, 0 at EOF. */
XOS_EXPORT ssize_t xos_chan_peek(struct xos_chan *end, const void **ret_buf);

/* Mark @len peeked bytes (message mode: the whole message) read; they stay mapped. */
XOS_EXPORT int xos_chan_consume(struct xos_chan *end, size_t len);

/* Give every consumed byte's space back to the writer; consumed pointers become invalid. */
XOS_EXPORT int xos_chan_release(struct xos_chan *end);

/* A descriptor for poll/epoll: readable when recv/peek would not block. */
XOS_EXPORT int xos_chan_fd(struct xos_chan *end);

/* Switch @end between blocking and non-blocking (-EAGAIN) operation. */
XOS_EXPORT int xos_chan_set_nonblock(struct xos_chan *end, bool nonblock);

/* Move the live channel to @mechanism without losing, duplicating or reordering a byte. */
XOS_EXPORT int xos_chan_switch(struct xos_chan *end, const char *mechanism);

/* The mechanism carrying the channel now ("ring", ...), or "" while unbound. */
XOS_EXPORT const char *xos_chan_mechanism(const struct xos_chan *end);

/* The channel's name (never NULL). */
XOS_EXPORT const char *xos_chan_name(const struct xos_chan *end);

/* Copy @end's counters to @ret_stats. */
XOS_EXPORT int xos_chan_stats(const struct xos_chan *end, struct xos_chan_stats *ret_stats);

#ifdef __cplusplus
}
#endif
#endif /* XOS_CHAN_H */
