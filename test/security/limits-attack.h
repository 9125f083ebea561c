/* SPDX-License-Identifier: MIT */
/*
 * Shared by the sandbox-limits attack programs (test/security/local.mk):
 * run one attacking EF in the sandbox ICF, as an application would, with
 * only <xos.h>.  Exit 0: the attack was stopped; 1: it was not; 77: this
 * machine cannot make sandboxes.
 */
#ifndef XOS_TEST_LIMITS_ATTACK_H
#define XOS_TEST_LIMITS_ATTACK_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xos.h>

#include "../sandbox-require.h"

static inline void la_require_sandbox(void)
{
	/* An attack that works may also hang the joiner (a traced init): fail, not hang. */
	alarm(60);
	t_sandbox_require();
}

/* Run fn(arg) in the sandbox with @options; exit 1 if it cannot even start. */
static inline struct xos_ef_exit la_run(const char *options, xos_ef_fn fn, const void *arg, size_t size)
{
	struct xos_ef_exit ex = { 0 };
	struct xos_ef *ef;
	int rc;

	ef = t_sandbox_start(options, fn, arg, size, &rc);
	if (!ef) {
		printf("FAIL: xos_ef_create(sandbox, \"%s\") = %s\n", options ? options : "", strerror(-rc));
		exit(1);
	}
	rc = xos_ef_join(ef, &ex);
	if (rc < 0) {
		printf("FAIL: xos_ef_join = %s\n", strerror(-rc));
		exit(1);
	}
	return ex;
}

static inline const char *la_how(struct xos_ef_exit ex)
{
	static char buf[64];

	if (ex.how == XOS_EF_KILLED)
		snprintf(buf, sizeof(buf), "killed by signal %d (%s)", ex.status, strsignal(ex.status));
	else
		snprintf(buf, sizeof(buf), "exited with %d", ex.status);
	return buf;
}

/* xos_ef_create() with @options: 0 or -errno (the EF, if any, joined). */
static inline int la_try_create(const char *options, xos_ef_fn fn)
{
	struct xos_ef_attr attr;
	struct xos_ef *ef = NULL;
	int rc;

	xos_ef_attr_init(&attr);
	attr.icf = "sandbox";
	attr.options = options;
	rc = xos_ef_create(&ef, &attr, fn, NULL, 0);
	if (rc == 0)
		xos_ef_join(ef, NULL);
	return rc;
}

static int la_fail_count;

/* The attack in fn(arg) under @options must end the EF by SIGSYS. */
static inline void la_expect_sigsys(const char *what, const char *options, xos_ef_fn fn, const void *arg,
				    size_t size)
{
	struct xos_ef_exit ex = la_run(options, fn, arg, size);

	if (ex.how == XOS_EF_KILLED && ex.status == SIGSYS) {
		printf("ok: %s: killed by SIGSYS\n", what);
		return;
	}
	printf("FAIL: %s: EF %s, want killed by SIGSYS\n", what, la_how(ex));
	la_fail_count++;
}

/* Asking for @call in sandbox.allow must be refused with -EPERM. */
static inline void la_expect_refused(const char *call, xos_ef_fn fn)
{
	char options[128];
	int rc;

	snprintf(options, sizeof(options), "sandbox.allow=%s", call);
	rc = la_try_create(options, fn);
	if (rc == -EPERM) {
		printf("ok: %s: refused\n", options);
		return;
	}
	printf("FAIL: %s: xos_ef_create = %d (%s), want -EPERM\n", options, rc, strerror(-rc));
	la_fail_count++;
}

#endif /* XOS_TEST_LIMITS_ATTACK_H */
