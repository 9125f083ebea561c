/* SPDX-License-Identifier: MIT */
/*
 * The thread ICF: an EF in a POSIX thread of the creator's process.
 * Cheapest to create and to talk to; isolates nothing (a crash of the EF
 * is a crash of the process, as with any thread).
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define XOS_USE_VERSION 1
#include <xos/vic.h>

#include "xos_i.h"

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
	/* Mechanisms between two threads, or a thread and a process (the pivot).
	 * Costs: rough ns of an 8-byte round trip on the reference machine. */
	static const struct {
		const char *peer, *mechanism;
		unsigned int cost;
	} com[] = {
		{ "thread", "ring", 200 },     { "thread", "unix", 55000 },
		{ "thread", "pipe", 60000 },   { "thread", "tcp", 70000 },
		{ "process", "ring", 200 },    { "process", "unix", 55000 },
		{ "process", "pipe", 60000 },  { "process", "tcp", 70000 },
	};

	(void)why, (void)why_len;
	for (size_t i = 0; i < sizeof(com) / sizeof(com[0]); i++) {
		int rc = xos_com_register(icf->name, com[i].peer, com[i].mechanism, com[i].cost);

		if (rc < 0 && rc != -EEXIST)
			return rc;
	}
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
	struct thread_ic *t = xos__container_of(ic, struct thread_ic, ic);
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
	free(xos__container_of(ic, struct thread_ic, ic));
}

static const struct xos_icf_ops thread_ops = {
	.init = thread_init,
	.create = thread_create,
	.wait = thread_wait,
	.destroy = thread_destroy,
};

const struct xos_icf xos__icf_thread = {
	.name = "thread",
	.description = "POSIX thread in the creator's process",
	.isolation = XOS_ISO_NONE,
	.features = XOS_ICF_F_SHARED_MEMORY,
	.create_cost = 20000,
	XOS_ICF_OPS(thread_ops),
};
