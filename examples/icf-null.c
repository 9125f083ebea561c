/* SPDX-License-Identifier: MIT */
/*
 * icf-null: the smallest isolation context factory.  It isolates nothing
 * and runs each EF in a POSIX thread of its own; all it shows is that an
 * ICF is one file and one registration, written against <xos/vic.h> only.
 * With to_pivot and from_pivot (the host kit does the work) its EFs can
 * also be mutated out of it and back.  make check runs it: an EF created
 * in the "null" ICF runs there, its creator joins it and gets its exit
 * status, returned or passed to xos_ef_exit(); an EF with a memory domain
 * goes null -> process -> null and counts on where it was.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define XOS_USE_VERSION 1
#include <xos/vic.h>
#include <xos/mutate.h> /* the application side's xos_ef_mutate(), not the ICF's */

/* One context: the xos_ic the core sees, and the thread that runs it. */
struct null_ic {
	struct xos_ic ic;
	pthread_t thread;
};

#define NULL_IC(ic) ((struct null_ic *)(void *)((char *)(ic) - offsetof(struct null_ic, ic)))

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
	void *status;
	int rc = pthread_join(NULL_IC(ic)->thread, &status);

	if (rc)
		return -rc;
	ret_exit->how = XOS_EF_EXITED;
	ret_exit->status = (int)(intptr_t)status;
	return 0;
}

static void null_destroy(struct xos_ic *ic)
{
	free(NULL_IC(ic));
}

/* Mutate: the EF's thread gives it to the pivot (a process) at a safe point... */
static int null_to_pivot(struct xos_ic *ic, struct xos_ic **ret_ic)
{
	int rc = xos_ef_pivot_give(ic, ret_ic);

	if (rc < 0)
		return rc;
	pthread_join(NULL_IC(ic)->thread, NULL);
	null_destroy(ic);
	return 0;
}

/* ...and a new thread takes it back from the pivot. */
static int null_from_pivot(const struct xos_icf *icf, struct xos_ic *pivot_ic, struct xos_ic **ret_ic)
{
	int rc = xos_ef_pivot_take(pivot_ic);

	if (rc < 0)
		return rc;
	rc = null_create(icf, pivot_ic->ef, ret_ic);
	if (rc < 0)
		return rc;
	xos_ef_pivot_drop(pivot_ic);
	return 0;
}

static const struct xos_icf_ops null_ops = {
	.create = null_create,
	.wait = null_wait,
	.to_pivot = null_to_pivot,
	.from_pivot = null_from_pivot,
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

/* MAP_SHARED: seen here and by the EF in whatever process hosts it. */
struct count {
	atomic_int stop, pid;
	atomic_uint steps;
};

static int counter(void *arg)
{
	struct count *c = *(struct count **)arg;
	unsigned int steps = 0; /* on the EF's domain stack: moves with it */

	while (!atomic_load(&c->stop)) {
		atomic_store(&c->steps, ++steps);
		atomic_store(&c->pid, (int)getpid());
		xos_ef_yield(); /* a safe point: where a mutate happens */
		usleep(100);
	}
	return (int)(steps % 200);
}

/* Wait until the EF counts on in this process (@here) or in another one. */
static int counts_on(struct count *c, int here)
{
	for (int i = 0; i < 20000; i++) {
		unsigned int s0 = atomic_load(&c->steps);

		usleep(500);
		if (atomic_load(&c->steps) != s0 && (atomic_load(&c->pid) == (int)getpid()) == here)
			return 1;
	}
	return 0;
}

/* null -> process -> null; 77 where libxos has no memory domains. */
static int mutate_there_and_back(void)
{
	struct count *c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct xos_ef_attr attr;
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	int rc;

	if (c == MAP_FAILED)
		return 1;
	xos_ef_attr_init(&attr);
	attr.icf = "null";
	attr.flags = XOS_EF_F_DOMAIN;
	rc = xos_ef_create(&ef, &attr, counter, &c, sizeof(c));
	if (rc == -EOPNOTSUPP)
		return 77;
	if (rc < 0 || !counts_on(c, 1) || xos_ef_mutate(ef, "process") < 0 || !counts_on(c, 0) ||
	    xos_ef_mutate(ef, "null") < 0 || strcmp(xos_ef_icf(ef), "null") != 0 || !counts_on(c, 1)) {
		fprintf(stderr, "icf-null: mutate null -> process -> null failed (%d)\n", rc);
		return 1;
	}
	atomic_store(&c->stop, 1);
	if (xos_ef_join(ef, &ex) < 0 || ex.status != (int)(atomic_load(&c->steps) % 200)) {
		fprintf(stderr, "icf-null: the count did not survive the moves\n");
		return 1;
	}
	printf("icf-null: EF mutated null -> process -> null, %u steps counted\n", atomic_load(&c->steps));
	return 0;
}

int main(void)
{
	int rc = xos_icf_register(&null_icf), moved;

	if (rc < 0) {
		fprintf(stderr, "icf-null: register: %s\n", strerror(-rc));
		return 1;
	}
	if (run(answer, 42, 42) || run(quitter, 0, 7))
		return 1;
	moved = mutate_there_and_back();
	if (moved == 1)
		return 1;
	rc = xos_icf_unregister(&null_icf);
	if (rc < 0) {
		fprintf(stderr, "icf-null: unregister: %s\n", strerror(-rc));
		return 1;
	}
	printf("icf-null: ok%s\n", moved == 77 ? " (no memory domains here: mutate not tried)" : "");
	return 0;
}
