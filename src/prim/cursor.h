/* SPDX-License-Identifier: MIT */
/*
 * Shared primitives of libxos and libxos-shim.so (see futex.h): checking
 * the cursors of a ring that a peer, never trusted, can write.
 */
#ifndef XOS_PRIM_CURSOR_H
#define XOS_PRIM_CURSOR_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Can @head (bytes ever written) and @tail (bytes ever read), both free
 * running, belong to a ring of @cap bytes?  The unread bytes must fit: the
 * unsigned difference also catches a head behind its tail.
 */
static inline bool xos__ring_cursors_ok(uint64_t head, uint64_t tail, uint64_t cap)
{
	return head - tail <= cap;
}

#endif /* XOS_PRIM_CURSOR_H */
