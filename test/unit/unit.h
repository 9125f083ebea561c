/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the unit tests (test/unit): exit codes, assertions that
 * print both values (cmocka's own print integers in hex), and the start-up
 * every unit test program does.  Include it first: it includes config.h.
 */
#ifndef XOS_TEST_UNIT_H
#define XOS_TEST_UNIT_H

#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "xos_i.h"

/* Automake's exit codes (LU test/helpers.h). */
enum { T_EXIT_PASS = 0, T_EXIT_SKIP = 77, T_EXIT_ERROR = 99 };

/* A unit test that hangs is a failure: SIGALRM kills it after this long. */
#define T_WATCHDOG_SECONDS 30

/* A value no xos call stores in errno: failing calls must leave it alone. */
#define T_ERRNO_SENTINEL 7777

/* "EINVAL" for -EINVAL, "ok" for a value >= 0. */
static inline const char *t_errname(long long rc)
{
	const char *s;

	if (rc >= 0)
		return "ok";
	s = rc < -4095 ? NULL : strerrorname_np((int)-rc);
	return s ? s : "?";
}

/* @expr returned @want (0, a count, or a negative errno). */
#define t_assert_rc(expr, want)                                                             \
	do {                                                                                \
		long long t_got_ = (long long)(expr), t_want_ = (long long)(want);          \
		if (t_got_ != t_want_)                                                      \
			fail_msg("%s = %lld (%s), want %lld (%s)", #expr, t_got_,            \
				 t_errname(t_got_), t_want_, t_errname(t_want_));            \
	} while (0)

/*
 * Evaluate @expr with errno set to a sentinel, check it returned @want and
 * left errno alone ("errno is left untouched", <xos/ef.h>).
 */
#define t_assert_rc_errno(expr, want)                                                      \
	do {                                                                                \
		int t_errno_;                                                               \
		long long t_got2_;                                                          \
		errno = T_ERRNO_SENTINEL;                                                   \
		t_got2_ = (long long)(expr);                                                \
		t_errno_ = errno;                                                           \
		t_assert_rc(t_got2_, want);                                                 \
		if (t_errno_ != T_ERRNO_SENTINEL)                                           \
			fail_msg("%s changed errno: %d (%s), want %d", #expr, t_errno_,      \
				 t_errname(-t_errno_), T_ERRNO_SENTINEL);                    \
	} while (0)

#define t_assert_int(a, b)                                                                  \
	do {                                                                                \
		long long t_a_ = (long long)(a), t_b_ = (long long)(b);                     \
		if (t_a_ != t_b_)                                                           \
			fail_msg("%s = %lld, want %s = %lld", #a, t_a_, #b, t_b_);            \
	} while (0)

#define t_assert_uint(a, b)                                                                 \
	do {                                                                                \
		unsigned long long t_a_ = (unsigned long long)(a);                          \
		unsigned long long t_b_ = (unsigned long long)(b);                          \
		if (t_a_ != t_b_)                                                           \
			fail_msg("%s = %llu, want %s = %llu", #a, t_a_, #b, t_b_);            \
	} while (0)

#define t_assert_ptr(a, b)                                                                  \
	do {                                                                                \
		const void *t_a_ = (const void *)(a), *t_b_ = (const void *)(b);            \
		if (t_a_ != t_b_)                                                           \
			fail_msg("%s = %p, want %s = %p", #a, t_a_, #b, t_b_);                \
	} while (0)

/* String equality; NULL is a value of its own. */
#define t_assert_str(a, b)                                                                  \
	do {                                                                                \
		const char *t_a_ = (a), *t_b_ = (b);                                        \
		if (!t_a_ || !t_b_ ? t_a_ != t_b_ : strcmp(t_a_, t_b_) != 0)                \
			fail_msg("%s = \"%s\", want \"%s\"", #a, t_a_ ? t_a_ : "(null)",       \
				 t_b_ ? t_b_ : "(null)");                                    \
	} while (0)

/* @hay contains @needle. */
#define t_assert_contains(hay, needle)                                                      \
	do {                                                                                \
		const char *t_h_ = (hay), *t_n_ = (needle);                                 \
		if (!t_h_ || !strstr(t_h_, t_n_))                                           \
			fail_msg("%s = \"%s\" does not contain \"%s\"", #hay,                 \
				 t_h_ ? t_h_ : "(null)", t_n_);                              \
	} while (0)

/* Start-up of every unit test program: no operator settings, a watchdog. */
static inline void t_init(void)
{
	unsetenv("XOS_POLICY");
	unsetenv("XOS_ICF");
	alarm(T_WATCHDOG_SECONDS);
}

/* Group setup/teardown: a clean runtime, as if the library had just loaded. */
static inline int t_reset(void **state)
{
	(void)state;
	xos__runtime_reset();
	return 0;
}

#endif /* XOS_TEST_UNIT_H */
