/* SPDX-License-Identifier: MIT */
/*
 * The thread ICF: an EF in a POSIX thread of the creator's process.
 * Cheapest to create and to talk to; isolates nothing (a crash of the EF
 * is a crash of the process, as with any thread).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define XOS_USE_VERSION 1
#include <xos/vic.h>

#define THREAD_IC(ic) ((struct thread_ic *)(void *)((char *)(ic) - offsetof(struct thread_ic, ic)))

struct thread_ic {
	struct xos_ic ic;
	pthread_t tid;
};

static void *thread_main(void *arg)
{
	struct thread_ic *t = arg;

	return (void *)(intptr_t)xos_ic_run(&t->ic);
}

static int thread_init(const struct xos_icf *icf, char *why, size_t why_len)
{
	/* Nothing to probe: every mechanism follows from .features (the XOS_ICF_X_* crossings). */
	(void)icf, (void)why, (void)why_len;
	return 0;
}

static int thread_create(const struct xos_icf *icf, struct xos_ef *ef, struct xos_ic **ret_ic)
{
	struct thread_ic *t = calloc(1, sizeof(*t));
	int rc;

	if (!t)
		return -ENOMEM;
	t->ic.icf = icf;
	t->ic.ef = ef;
	rc = pthread_create(&t->tid, NULL, thread_main, t);
	if (rc) {
		free(t);
		return -rc;
	}
	*ret_ic = &t->ic;
	return 0;
}

static int thread_wait(struct xos_ic *ic, struct xos_ef_exit *ret_exit)
{
	struct thread_ic *t = THREAD_IC(ic);
	void *value;
	int rc = pthread_join(t->tid, &value);

	if (rc)
		return -rc;
	ret_exit->how = XOS_EF_EXITED;
	ret_exit->status = (int)(intptr_t)value;
	return 0;
}

static void thread_destroy(struct xos_ic *ic)
{
	free(THREAD_IC(ic));
}

/*
 * to_pivot: the EF's thread gives it to the pivot at the EF's next safe
 * point (xos_ef_pivot_give: it forks there, on its own stack, and the child
 * hosts the EF as a process); then the thread ends.  Called on the
 * creator's flow.
 */
static int thread_to_pivot(struct xos_ic *ic, struct xos_ic **ret_ic)
{
	struct thread_ic *t = THREAD_IC(ic);
	int rc = xos_ef_pivot_give(ic, ret_ic);

	if (rc < 0)
		return rc;
	pthread_join(t->tid, NULL);
	free(t);
	return 0;
}

/*
 * from_pivot: take the EF from its process (xos_ef_pivot_take: its domain
 * mapped here at the same address, its fds and channel ends handed over)
 * and resume it on a new thread.  The old process is reaped last, while the
 * EF runs.
 */
static int thread_from_pivot(const struct xos_icf *icf, struct xos_ic *pivot_ic,
			     struct xos_ic **ret_ic)
{
	int rc = xos_ef_pivot_take(pivot_ic);

	if (rc < 0)
		return rc;
	rc = thread_create(icf, pivot_ic->ef, ret_ic);
	if (rc < 0)
		return rc; /* the EF is parked in its domain, its process gone: nowhere to run */
	xos_ef_pivot_drop(pivot_ic);
	return 0;
}

/* dump: the EF is parked by the core; write its image. */
static int thread_dump(struct xos_ic *ic, int fd)
{
	return xos_ef_image_write(ic->ef, fd);
}

/* restore: rebuild the domain from the image, resume the EF on a new thread. */
static int thread_restore(const struct xos_icf *icf, struct xos_ef *ef, int fd,
			  struct xos_ic **ret_ic)
{
	int rc = xos_ef_image_read(ef, fd);

	if (rc < 0)
		return rc;
	return thread_create(icf, ef, ret_ic);
}

static const struct xos_icf_ops thread_ops = {
	.init = thread_init,
	.create = thread_create,
	.wait = thread_wait,
	.dump = thread_dump,
	.restore = thread_restore,
	.to_pivot = thread_to_pivot,
	.from_pivot = thread_from_pivot,
	.destroy = thread_destroy,
};

const struct xos_icf xos__icf_thread = {
	.name = "thread",
	.description = "POSIX thread in the creator's process",
	.isolation = XOS_ISO_NONE,
	.features = XOS_ICF_F_SHARED_MEMORY | XOS_ICF_X_MAPS_SHARED | XOS_ICF_X_INHERITS_FDS |
		    XOS_ICF_X_NETWORK,
	.create_cost = 20000,
	XOS_ICF_OPS(thread_ops),
};
