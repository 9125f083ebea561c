/* SPDX-License-Identifier: MIT */
/*
 * What the legacy tests that start programs onto pipes ask of the shim's
 * area: which channel a pipe end is, and whether its bytes stayed on its
 * ring or it moved back to the kernel, and why.
 */
#ifndef XOS_TEST_RING_CHECKS_H
#define XOS_TEST_RING_CHECKS_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../shim-area-map.h"

/* The channel area @a records for pipe end @fd (the newest), or NULL. */
static inline struct shim_chan *pipe_chan(struct shim_area *a, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return NULL;
	for (uint32_t i = atomic_load(&a->nchan); i-- > 0;) {
		struct shim_chan *c = &a->chan[i];

		if (atomic_load(&c->used) && c->dev == (uint64_t)st.st_dev && c->ino[0] == (uint64_t)st.st_ino)
			return c;
	}
	return NULL;
}

/* Everything until EOF from @fd into @buf (NUL-terminated). */
static inline void read_all(int fd, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len - 1 && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
}

/* Reaped, and it exited 0. */
static inline bool reaped_ok(pid_t pid)
{
	int st;

	return waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* 0 if channel @c never moved back and carried @ring_bytes through its
 * ring; else 1, said on stderr as "@prog: @name: ...". */
static inline int stayed_on_ring(const char *prog, const char *name, struct shim_chan *c, uint64_t ring_bytes)
{
	if (!c) {
		fprintf(stderr, "%s: %s: a pipe not recorded\n", prog, name);
		return 1;
	}
	if (atomic_load(&c->downgraded) || atomic_load(&c->ring_bytes) != ring_bytes) {
		fprintf(stderr, "%s: %s: moved back %u times (\"%s\"), %llu bytes through the ring, not %llu\n", prog,
			name, (unsigned)atomic_load(&c->downgraded), c->why,
			(unsigned long long)atomic_load(&c->ring_bytes), (unsigned long long)ring_bytes);
		return 1;
	}
	return 0;
}

/* 0 if channel @c moved back to the kernel, first because @why; else 1. */
static inline int moved_back(const char *prog, const char *name, struct shim_chan *c, const char *why)
{
	if (!c || !atomic_load(&c->downgraded) || strcmp(c->why, why)) {
		fprintf(stderr, "%s: %s: moved back %u times (\"%s\"), not for \"%s\"\n", prog, name,
			c ? (unsigned)atomic_load(&c->downgraded) : 0, c ? c->why : "?", why);
		return 1;
	}
	return 0;
}

#endif
