/* SPDX-License-Identifier: MIT */
/*
 * Shared primitives of libxos and libxos-shim.so (src/prim/: header-only,
 * no malloc, no TLS, no constructors, so the shim can build them in
 * without linking libxos): futex wait and wake on a 32-bit word of a
 * private or shared mapping.  glibc has no wrapper for futex(2).
 */
#ifndef XOS_PRIM_FUTEX_H
#define XOS_PRIM_FUTEX_H

#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/*
 * futex(2) @op on @word (FUTEX_WAIT, FUTEX_WAKE: never the _PRIVATE
 * variants, the words may be shared between processes).  What the system
 * call returns: -1 with errno on failure.
 */
static inline long xos__futex(const volatile void *word, int op, uint32_t val,
			      const struct timespec *timeout)
{
	return syscall(SYS_futex, word, op, val, timeout, NULL, 0);
}

/* Sleep while *@word == @val, at most @timeout (NULL: until woken). */
static inline long xos__futex_wait(const volatile void *word, uint32_t val,
				   const struct timespec *timeout)
{
	return xos__futex(word, FUTEX_WAIT, val, timeout);
}

/* The same, at most @ms milliseconds (negative: until woken). */
static inline long xos__futex_wait_ms(const volatile void *word, uint32_t val, long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	return xos__futex_wait(word, val, ms >= 0 ? &ts : NULL);
}

/* Wake up to @n waiters on @word (INT32_MAX: all). */
static inline long xos__futex_wake(const volatile void *word, uint32_t n)
{
	return xos__futex(word, FUTEX_WAKE, n, NULL);
}

#endif /* XOS_PRIM_FUTEX_H */
