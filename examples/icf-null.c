/* SPDX-License-Identifier: MIT */
/*
 * icf-null: the smallest isolation context factory.  It isolates nothing
 * and runs each EF in a POSIX thread of its own; all it shows is that an
 * ICF is one file and one registration, written against <xos/vic.h> only.
 * make check runs it: an EF created in the "null" ICF runs there, and its
 * creator joins it and gets its exit status, returned or passed to
 * xos_ef_exit().
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XOS_USE_VERSION 1
#include <xos/vic.h>

/* One context: the xos_ic the core sees, and the thread that runs it. */
struct null_ic {
	struct xos_ic ic;
	pthread_t thread;
};

static void *null_thread(void *arg)
{
	struct null_ic *n = arg;

	return (void *)(intptr_t)xos_ic_run(&n->ic);
}

static int null_create(const struct xos_icf *icf, struct xos_ef *ef, struct xos_ic **ret_ic)
{
	struct null_ic *n = calloc(1, sizeof(*n));
	int rc;

	if (!n)
		return -ENOMEM;
	n->ic.icf = icf;
	n->ic.ef = ef;
	rc = pthread_create(&n->thread, NULL, null_thread, n);
	if (rc) {
		free(n);
		return -rc;
	}
	*ret_ic = &n->ic;
	return 0;
}

static int null_wait(struct xos_ic *ic, struct xos_ef_exit *ret_exit)
{
	struct null_ic *n = (struct null_ic *)(void *)((char *)ic - offsetof(struct null_ic, ic));
	void *status;
	int rc = pthread_join(n->thread, &status);

	if (rc)
		return -rc;
	ret_exit->how = XOS_EF_EXITED;
	ret_exit->status = (int)(intptr_t)status;
	return 0;
}

static void null_destroy(struct xos_ic *ic)
{
	free((char *)ic - offsetof(struct null_ic, ic));
}

static const struct xos_icf_ops null_ops = {
	.create = null_create,
	.wait = null_wait,
	.destroy = null_destroy,
};

static const struct xos_icf null_icf = {
	.name = "null",
	.description = "a thread of its own, isolating nothing (examples/icf-null.c)",
	.isolation = XOS_ISO_NONE,
	.features = XOS_ICF_F_SHARED_MEMORY,
	.create_cost = 20000,
	XOS_ICF_OPS(null_ops),
};

/* ---- the application side: create, join, exit status ---- */

static int answer(void *arg)
{
	return *(const int *)arg;
}

static int quitter(void *arg)
{
	(void)arg;
	xos_ef_exit(7);
	return 0; /* not reached */
}

static int run(xos_ef_fn fn, int value, int want)
{
	struct xos_ef_attr attr;
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	int rc;

	xos_ef_attr_init(&attr);
	attr.icf = "null";
	rc = xos_ef_create(&ef, &attr, fn, &value, sizeof(value));
	if (rc < 0) {
		fprintf(stderr, "icf-null: create: %s\n", strerror(-rc));
		return 1;
	}
	printf("icf-null: EF %llu runs in the \"%s\" ICF\n", (unsigned long long)xos_ef_id(ef),
	       xos_ef_icf(ef));
	rc = xos_ef_join(ef, &ex);
	if (rc < 0 || ex.how != XOS_EF_EXITED || ex.status != want) {
		fprintf(stderr, "icf-null: join: %d, status %d (want %d)\n", rc, ex.status, want);
		return 1;
	}
	return 0;
}

int main(void)
{
	int rc = xos_icf_register(&null_icf);

	if (rc < 0) {
		fprintf(stderr, "icf-null: register: %s\n", strerror(-rc));
		return 1;
	}
	if (run(answer, 42, 42) || run(quitter, 0, 7))
		return 1;
	rc = xos_icf_unregister(&null_icf);
	if (rc < 0) {
		fprintf(stderr, "icf-null: unregister: %s\n", strerror(-rc));
		return 1;
	}
	printf("icf-null: ok\n");
	return 0;
}
