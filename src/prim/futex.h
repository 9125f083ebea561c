/* SPDX-License-Identifier: MIT */
/*
 * Shared primitives of libxos and libxos-shim.so (src/prim/: header-only,
 * no malloc, no TLS, no constructors, so the shim can build them in
 * without linking libxos): futex wait and wake on a 32-bit word of a
 * private or shared mapping.  glibc has no wrapper for futex(2).
 */
#ifndef XOS_PRIM_FUTEX_H
#define XOS_PRIM_FUTEX_H

#include <errno.h>
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

/*
 * Sleep while *@a == @va and *@b == @vb, at most @timeout (relative, not
 * NULL): futex_waitv(2), both words shared.  Returns as xos__futex_wait
 * (-1 with errno EAGAIN when a word already differs, ETIMEDOUT); errno
 * ENOSYS on kernels before 5.16 (callers then sleep on @a alone).
 */
static inline long xos__futex_wait2(const volatile void *a, uint32_t va, const volatile void *b, uint32_t vb,
				    const struct timespec *timeout)
{
#if defined(SYS_futex_waitv) && defined(FUTEX_32)
	struct futex_waitv w[2] = {
		{ .val = va, .uaddr = (uint64_t)(uintptr_t)a, .flags = FUTEX_32 },
		{ .val = vb, .uaddr = (uint64_t)(uintptr_t)b, .flags = FUTEX_32 },
	};
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout->tv_sec;
	until.tv_nsec += timeout->tv_nsec;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	return syscall(SYS_futex_waitv, w, 2u, 0u, &until, CLOCK_MONOTONIC);
#else
	(void)a, (void)va, (void)b, (void)vb, (void)timeout;
	errno = ENOSYS;
	return -1;
#endif
}

/* Wake up to @n waiters on @word (INT32_MAX: all). */
static inline long xos__futex_wake(const volatile void *word, uint32_t n)
{
	return xos__futex(word, FUTEX_WAKE, n, NULL);
}

#endif /* XOS_PRIM_FUTEX_H */
