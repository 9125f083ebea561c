/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the sandbox tests (test/integration/sandbox-*.c):
 * skip when this machine cannot make sandboxes, and run one EF in the
 * sandbox ICF with options.  Uses only <xos.h>.
 */
#ifndef XOS_TEST_SANDBOX_HELPERS_H
#define XOS_TEST_SANDBOX_HELPERS_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <xos.h>

#include "../sandbox-require.h"

/* Run fn(arg) in the sandbox with @options to its end. */
static inline struct xos_ef_exit t_sandbox_run(const char *options, xos_ef_fn fn, const void *arg,
					       size_t size)
{
	struct xos_ef_exit ex = { 0 };
	int rc;
	struct xos_ef *ef = t_sandbox_start(options, fn, arg, size, &rc);

	if (!ef)
		fail_msg("xos_ef_create(sandbox, \"%s\") = %d (%s)", options ? options : "", rc,
			 strerror(-rc));
	assert_int_equal(xos_ef_join(ef, &ex), 0);
	return ex;
}

/* The EF ended as @how with @status; print both on failure. */
#define t_assert_exit(ex, want_how, want_status)                                          \
	do {                                                                              \
		struct xos_ef_exit t_ex_ = (ex);                                          \
		if (t_ex_.how != (want_how) || t_ex_.status != (want_status))             \
			fail_msg("EF %s %d, want %s %d",                                    \
				 t_ex_.how == XOS_EF_KILLED ? "killed by" : "exited with",  \
				 t_ex_.status,                                              \
				 (want_how) == XOS_EF_KILLED ? "killed by" : "exited with", \
				 (int)(want_status));                                       \
	} while (0)

#endif /* XOS_TEST_SANDBOX_HELPERS_H */
