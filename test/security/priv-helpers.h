/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the sandbox-privilege attack tests (test/security/sandbox-*.c):
 * each test is an attacker's program using only <xos.h>; its EF tries the
 * attack from inside a sandbox and reports, in its exit status, which steps
 * were NOT stopped (one bit each).  Exit codes: 0 pass, 1 fail, 77 skip.
 */
#ifndef XOS_TEST_PRIV_HELPERS_H
#define XOS_TEST_PRIV_HELPERS_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>

#include <xos.h>

#include "../sandbox-require.h"

#define T_PASS 0
#define T_FAIL 1
#define T_SKIP 77

/* Inside the EF: say which attack step got through (stdout is inherited). */
static inline void t_say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

/* 1 if the @status file's line @field does not hold @want (and says so, as @who's). */
static inline int t_status_not(const char *status, const char *who, const char *field, const char *want)
{
	char line[256];
	size_t len = strlen(field);
	FILE *f = fopen(status, "re");
	int bad = 1;

	if (!f)
		return 1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, field, len) != 0 || line[len] != ':')
			continue;
		bad = strstr(line + len + 1, want) == NULL;
		if (bad)
			t_say("  %s has %s", who, line);
	}
	fclose(f);
	return bad;
}

/* Run fn(arg) in a sandbox with @options (and @chans) to its end; exit 1 if it cannot start. */
static inline struct xos_ef_exit t_sandbox_run_chans(const char *options, struct xos_chan *const *chans,
						     size_t nchans, xos_ef_fn fn, const void *arg,
						     size_t size)
{
	struct xos_ef_exit ex = { 0 };
	struct xos_ef *ef;
	int rc;

	ef = t_sandbox_start_chans(options, chans, nchans, fn, arg, size, &rc);
	if (!ef) {
		printf("not ok: xos_ef_create(sandbox, \"%s\"): %s\n", options ? options : "",
		       strerror(-rc));
		exit(T_FAIL);
	}
	rc = xos_ef_join(ef, &ex);
	if (rc < 0) {
		printf("not ok: xos_ef_join: %s\n", strerror(-rc));
		exit(T_FAIL);
	}
	return ex;
}

static inline struct xos_ef_exit t_sandbox_run(const char *options, xos_ef_fn fn, const void *arg,
					       size_t size)
{
	return t_sandbox_run_chans(options, NULL, 0, fn, arg, size);
}

/* The sandbox must refuse to be created with @options (-EPERM): 0 if so, 1 otherwise. */
static inline int t_sandbox_refused(const char *options, xos_ef_fn fn)
{
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	int rc;

	ef = t_sandbox_start(options, fn, NULL, 0, &rc);
	if (rc == -EPERM) {
		printf("ok: \"%s\" refused (-EPERM)\n", options);
		return 0;
	}
	if (ef)
		xos_ef_join(ef, &ex);
	printf("not ok: \"%s\" gave %s (want -EPERM)\n", options, rc ? strerror(-rc) : "a sandbox");
	return 1;
}

/* The EF must have exited with 0 (every step stopped); 1 otherwise. */
static inline int t_expect_stopped(const char *what, struct xos_ef_exit ex)
{
	if (ex.how == XOS_EF_EXITED && ex.status == 0) {
		printf("ok: %s stopped\n", what);
		return 0;
	}
	printf("not ok: %s: EF %s %d\n", what, ex.how == XOS_EF_KILLED ? "killed by signal" : "exited",
	       ex.status);
	return 1;
}

#endif /* XOS_TEST_PRIV_HELPERS_H */
