/* SPDX-License-Identifier: MIT */
/*
 * Description: an ICF written against <xos/vic.h> alone can be mutated out
 * of as well as into.  A thread ICF of the test's own gives its EF to the
 * pivot with xos_ef_pivot_give() and takes it back with
 * xos_ef_pivot_take(); a domain EF goes vthread -> process -> vthread and
 * goes on counting where it was, in another process and back in this one.
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

#include "../domains-require.h"

struct vt_ic {
	struct xos_ic ic;
	pthread_t thread;
};

#define VT_IC(ic) ((struct vt_ic *)(void *)((char *)(ic) - offsetof(struct vt_ic, ic)))

static void *vt_main(void *arg)
{
	return (void *)(intptr_t)xos_ic_run(&((struct vt_ic *)arg)->ic);
}

static int vt_create(const struct xos_icf *icf, struct xos_ef *ef, struct xos_ic **ret_ic)
{
	struct vt_ic *t = calloc(1, sizeof(*t));
	int rc;

	if (!t)
		return -ENOMEM;
	t->ic.icf = icf;
	t->ic.ef = ef;
	rc = pthread_create(&t->thread, NULL, vt_main, t);
	if (rc) {
		free(t);
		return -rc;
	}
	*ret_ic = &t->ic;
	return 0;
}

static int vt_wait(struct xos_ic *ic, struct xos_ef_exit *ret_exit)
{
	void *v;
	int rc = pthread_join(VT_IC(ic)->thread, &v);

	if (rc)
		return -rc;
	ret_exit->how = XOS_EF_EXITED;
	ret_exit->status = (int)(intptr_t)v;
	return 0;
}

static void vt_destroy(struct xos_ic *ic)
{
	free(VT_IC(ic));
}

static int vt_to_pivot(struct xos_ic *ic, struct xos_ic **ret_ic)
{
	int rc = xos_ef_pivot_give(ic, ret_ic);

	if (rc < 0)
		return rc;
	pthread_join(VT_IC(ic)->thread, NULL);
	free(VT_IC(ic));
	return 0;
}

static int vt_from_pivot(const struct xos_icf *icf, struct xos_ic *pivot_ic, struct xos_ic **ret_ic)
{
	int rc = xos_ef_pivot_take(pivot_ic);

	if (rc < 0)
		return rc;
	rc = vt_create(icf, pivot_ic->ef, ret_ic);
	if (rc < 0)
		return rc;
	xos_ef_pivot_drop(pivot_ic);
	return 0;
}

static const struct xos_icf_ops vt_ops = {
	.create = vt_create,
	.wait = vt_wait,
	.to_pivot = vt_to_pivot,
	.from_pivot = vt_from_pivot,
	.destroy = vt_destroy,
};

static const struct xos_icf vt_icf = {
	.name = "vthread",
	.description = "a thread ICF of the test's own",
	.isolation = XOS_ISO_NONE,
	.features = XOS_ICF_F_SHARED_MEMORY,
	.create_cost = 20000,
	XOS_ICF_OPS(vt_ops),
};

/* MAP_SHARED: seen by this process and by the EF in whatever process hosts it. */
struct shared {
	atomic_int stop;
	atomic_uint steps;
	atomic_int pid;
};

static int counter(void *arg)
{
	struct shared *sh = *(struct shared **)arg;
	unsigned int steps = 0; /* on the domain stack: must survive both moves */

	while (!atomic_load(&sh->stop)) {
		steps++;
		atomic_store(&sh->steps, steps);
		atomic_store(&sh->pid, (int)getpid());
		xos_ef_yield();
		usleep(100);
	}
	return (int)(steps % 200);
}

static void fail(const char *what, int got)
{
	printf("not ok - %s (%d)\n", what, got);
	exit(1);
}

/* Wait until the EF reports from a process that is (@here) or is not this one. */
static void wait_pid(struct shared *sh, bool here)
{
	for (int i = 0; i < 20000; i++) {
		unsigned int s0 = atomic_load(&sh->steps);

		usleep(500);
		if (atomic_load(&sh->steps) != s0 && (atomic_load(&sh->pid) == (int)getpid()) == here)
			return;
	}
	fail(here ? "the EF runs here again" : "the EF runs in another process", atomic_load(&sh->pid));
}

int main(void)
{
	struct xos_ef_attr attr;
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	struct shared *sh;
	int rc;

	t_domains_require();
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		fail("mmap", errno);
	rc = xos_icf_register(&vt_icf);
	if (rc < 0)
		fail("register", rc);
	xos_ef_attr_init(&attr);
	attr.icf = "vthread";
	attr.flags = XOS_EF_F_DOMAIN;
	rc = xos_ef_create(&ef, &attr, counter, &sh, sizeof(sh));
	if (rc < 0)
		fail("create", rc);
	wait_pid(sh, true);
	rc = xos_ef_mutate(ef, "process");
	if (rc < 0 || strcmp(xos_ef_icf(ef), "process") != 0)
		fail("mutate vthread -> process", rc);
	wait_pid(sh, false);
	printf("ok 1 - vthread -> process: the EF counts on in process %d\n", atomic_load(&sh->pid));
	rc = xos_ef_mutate(ef, "vthread");
	if (rc < 0 || strcmp(xos_ef_icf(ef), "vthread") != 0)
		fail("mutate process -> vthread", rc);
	wait_pid(sh, true);
	printf("ok 2 - process -> vthread: the EF counts on here\n");
	atomic_store(&sh->stop, 1);
	rc = xos_ef_join(ef, &ex);
	if (rc < 0 || ex.how != XOS_EF_EXITED || ex.status != (int)(atomic_load(&sh->steps) % 200))
		fail("join: status from the count kept on the domain stack", rc < 0 ? rc : ex.status);
	printf("ok 3 - joined: status %d, from %u steps counted across both moves\n", ex.status,
	       atomic_load(&sh->steps));
	rc = xos_icf_unregister(&vt_icf);
	if (rc < 0)
		fail("unregister", rc);
	return 0;
}
