/* SPDX-License-Identifier: MIT */
/* Shared by the descriptor-based byte-stream mechanisms (fdstream.c). */
#ifndef XOS_CHAN_FDSTREAM_H
#define XOS_CHAN_FDSTREAM_H

#include "chan_i.h"

struct xos__fds_end {
	struct xos_mech_link link;
	int rfd, wfd; /* -1 when the end does not read / write */
	int spare;    /* pipes: a read end of the pipe wfd writes, never read (no SIGPIPE); else -1 */
	bool sock;    /* sockets: MSG_DONTWAIT per call */
	bool nowait;  /* pipes: RWF_NOWAIT per call; else the fds are O_NONBLOCK */
	bool cut_timeo; /* sockets: rfd has a receive timeout, so a cuttable wait looks at its word (fdstream.c) */
};

int xos__fds_attach(const struct xos_mech_link *link, int rfd, int wfd, bool sock, void **ret_st) XOS_HIDDEN;
/* Pipes: does this kernel take RWF_NOWAIT on them? (probed once) */
bool xos__fds_pipe_nowait(void) XOS_HIDDEN;
void xos__fds_detach(void *st) XOS_HIDDEN;
int xos__fds_rx_fd(void *st) XOS_HIDDEN;
int xos__fds_wait_writable(void *st) XOS_HIDDEN;
/* Sockets: the frame in one sendmsg(MSG_NOSIGNAL | MSG_DONTWAIT). */
ssize_t xos__fds_sendmsg(void *st, const struct iovec *iov, int iovcnt, bool nonblock) XOS_HIDDEN;

#endif
