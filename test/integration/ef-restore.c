/* SPDX-License-Identifier: MIT */
/*
 * Description: an EF dumped mid-run by one process and continued by
 * another (driven by ef-restore.sh through xos-run).
 *   ef-restore run         run the EF to its end; print its result
 *   ef-restore dump FILE   dump the EF to FILE halfway, then let it end
 *   (xos-run --restore FILE continues the dumped EF: same result line)
 * The EF keeps a list in its domain and a step counter on its stack; it
 * prints "result: N" itself, so the restored one speaks for itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xos.h>

#define NODES 50000
#define STEPS 400
#ifdef OTHER_BINARY
#define NODE_SALT 1 /* a build of its own: another build-id */
#else
#define NODE_SALT 0
#endif

struct node {
	struct node *next;
	uint64_t value;
};

/* Written by the EF while it is a thread of the dumping process. */
static atomic_int progress;

static int worker(void *arg)
{
	struct node *head = NULL;
	uint64_t acc = *(const uint64_t *)arg;

	for (uint64_t i = 0; i < NODES; i++) {
		struct node *n = xos_malloc(sizeof(*n));

		if (!n)
			return 101;
		n->value = (i ^ (i << 7)) + NODE_SALT;
		n->next = head;
		head = n;
	}
	for (int step = 0; step < STEPS; step++) {
		struct node *n = xos_malloc(sizeof(*n)), *old = head;

		n->value = acc + (uint64_t)step;
		n->next = head->next;
		head = n;
		xos_free(old);
		for (struct node *p = head; p; p = p->next)
			acc = acc * 31 + p->value;
		atomic_store(&progress, step);
		xos_ef_yield();
	}
	dprintf(1, "result: %llu\n", (unsigned long long)acc);
	return (int)(acc % 200);
}

int main(int argc, char **argv)
{
	struct xos_ef_attr attr;
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	uint64_t seed = 12345;
	int rc;

	if (argc < 2 || (strcmp(argv[1], "dump") == 0 && argc < 3)) {
		fprintf(stderr, "usage: ef-restore run|dump FILE\n");
		return 2;
	}
	xos_ef_attr_init(&attr);
	attr.icf = "thread";
	attr.flags = XOS_EF_F_DOMAIN;
	attr.domain_size = 16 << 20;
	rc = xos_ef_create(&ef, &attr, worker, &seed, sizeof(seed));
	if (rc == -EOPNOTSUPP) {
		printf("# SKIP libxos has no memory domains on this machine\n");
		return 77;
	}
	if (rc < 0) {
		fprintf(stderr, "ef-restore: create: %s\n", strerror(-rc));
		return 1;
	}
	if (strcmp(argv[1], "dump") == 0) {
		while (atomic_load(&progress) < STEPS / 2)
			usleep(1000);
		rc = xos_ef_dump(ef, argv[2]);
		if (rc < 0) {
			fprintf(stderr, "ef-restore: dump: %s\n", strerror(-rc));
			return 1;
		}
	}
	rc = xos_ef_join(ef, &ex);
	if (rc < 0)
		return 1;
	return ex.status;
}
