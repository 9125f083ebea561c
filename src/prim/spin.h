/* SPDX-License-Identifier: MIT */
/*
 * Shared primitives of libxos and libxos-shim.so (see futex.h): the
 * adaptive spin before a sleep, with the one tuning both use.
 *
 * A waiter whose peer is likely to answer soon (it runs on another CPU)
 * spins a little before it sleeps.  How long is a budget kept in a 32-bit
 * word (private to a ring side, or in memory the peers share): grown by
 * an eighth when spinning caught the peer, halved when it did not, and
 * below XOS__SPIN_MIN_NS not spinning at all (an oversubscribed machine:
 * the peer is not running and spinning only delays it) but counting waits
 * down to a probe of XOS__SPIN_PROBE_NS.  A sleep that turned out short
 * raises the budget to what would have caught it.  Whether to spin at all
 * (one CPU, the peer last ran on ours) is the caller's question.
 */
#ifndef XOS_PRIM_SPIN_H
#define XOS_PRIM_SPIN_H

#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define XOS__SPIN_MAX_NS 50000u   /* longest spin before sleeping */
#define XOS__SPIN_START_NS 25000u /* a fresh budget word */
#define XOS__SPIN_MIN_NS 2000u    /* below this, no spin but a countdown... */
#define XOS__SPIN_PROBE_EVERY 64u /* ...of this many waits to a probe... */
#define XOS__SPIN_PROBE_NS 4000u  /* ...this long */
#define XOS__YIELD_MIN_NS 30000u  /* shortest wait yielding to a peer on our CPU */
/* Yields per wait, at most: one lets a peer beside us take its turn; each
 * moves the waiter's deadline a slice later (EEVDF), so on a busy CPU a
 * long run of them would put it behind every other task there (and when
 * they come straight back, nobody else is runnable: not the peer either). */
#define XOS__YIELD_MAX 4u

/* Tell the CPU this is a spin-wait (yields the core to its sibling thread). */
static inline void xos__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

static inline uint64_t xos__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* How long to spin in this wait (0: not at all), counting down to a probe. */
static inline uint32_t xos__spin_budget(_Atomic uint32_t *word)
{
	uint32_t b = atomic_load_explicit(word, memory_order_relaxed);

	if (b >= XOS__SPIN_MIN_NS)
		return b > XOS__SPIN_MAX_NS ? XOS__SPIN_MAX_NS : b;
	if (b > 1) {
		atomic_store_explicit(word, b - 1, memory_order_relaxed);
		return 0;
	}
	atomic_store_explicit(word, XOS__SPIN_PROBE_NS, memory_order_relaxed);
	return XOS__SPIN_PROBE_NS;
}

/* A spin of @budget caught the peer: a little more next time. */
static inline void xos__spin_paid(_Atomic uint32_t *word, uint32_t budget)
{
	uint32_t b = budget + budget / 8 + 1;

	atomic_store_explicit(word, b > XOS__SPIN_MAX_NS ? XOS__SPIN_MAX_NS : b, memory_order_relaxed);
}

/* A spin of @budget did not: half, or none and a countdown to a probe. */
static inline void xos__spin_wasted(_Atomic uint32_t *word, uint32_t budget)
{
	uint32_t b = budget / 2;

	atomic_store_explicit(word, b >= XOS__SPIN_MIN_NS ? b : XOS__SPIN_PROBE_EVERY, memory_order_relaxed);
}

/* The wait slept @slept_ns: had the spin lasted that long (and a half), it
 * would have caught the peer, so spin that long next time. */
static inline void xos__spin_slept(_Atomic uint32_t *word, uint64_t slept_ns)
{
	uint64_t want = slept_ns + slept_ns / 2;

	if (want >= XOS__SPIN_MIN_NS && want <= XOS__SPIN_MAX_NS &&
	    want > atomic_load_explicit(word, memory_order_relaxed))
		atomic_store_explicit(word, (uint32_t)want, memory_order_relaxed);
}

/*
 * Spin until @done(@arg) is true or the budget in *@word is spent, and
 * adapt the budget.  True when @done: the caller need not sleep.
 */
static inline bool xos__spin_until(_Atomic uint32_t *word, bool (*done)(void *), void *arg)
{
	uint32_t budget = xos__spin_budget(word);
	uint64_t t0;

	if (!budget)
		return false;
	t0 = xos__now_ns();
	for (unsigned int i = 1;; i++) {
		if (done(arg)) {
			xos__spin_paid(word, budget);
			return true;
		}
		xos__cpu_relax();
		if ((i & 31) == 0 && xos__now_ns() - t0 > budget) {
			xos__spin_wasted(word, budget);
			return false;
		}
	}
}

/*
 * The same with sched_yield() between the looks instead of a pause: for a
 * waiter whose peer is runnable on its own CPU (it cannot answer while
 * the waiter spins, but it can once the waiter steps aside, without the
 * waiter sleeping and being woken again).  The budget is time, the
 * peer's turn included.
 */
static inline bool xos__yield_until(_Atomic uint32_t *word, bool (*done)(void *), void *arg)
{
	uint32_t budget = xos__spin_budget(word);
	uint64_t t0;

	if (!budget)
		return false;
	/* A turn of the peer is a context switch and its work: even a probe
	 * waits that long. */
	if (budget < XOS__YIELD_MIN_NS)
		budget = XOS__YIELD_MIN_NS;
	t0 = xos__now_ns();
	for (uint32_t yields = 0;; yields++) {
		if (done(arg)) {
			xos__spin_paid(word, budget);
			return true;
		}
		if (yields == XOS__YIELD_MAX || xos__now_ns() - t0 > budget) {
			xos__spin_wasted(word, budget);
			return false;
		}
		sched_yield();
	}
}

#endif /* XOS_PRIM_SPIN_H */
