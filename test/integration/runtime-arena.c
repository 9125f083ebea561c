/* SPDX-License-Identifier: MIT */
/*
 * Description: a program linked with libxos.so, whose heap is glibc's
 * (behind libxos's malloc), gets no jemalloc arena made for the runtime:
 * jemalloc's fork handlers lock and unlock every arena, and each one costs
 * every fork of the program ~20 page faults (copy on write in parent and
 * child).  Run again with jemalloc preloaded, so that jemalloc is the
 * program's heap: then the runtime keeps its memory in an arena of its
 * own.  Checked through the public API: EFs created and joined (their
 * handles are the runtime's memory), jemalloc's arena count around them.
 */
#include "config.h"

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jemalloc/jemalloc.h>
#include <xos.h>

static unsigned int narenas(void)
{
	unsigned int n = 0;
	size_t len = sizeof(n);

	if (mallctl("arenas.narenas", &n, &len, NULL, 0) != 0) {
		fprintf(stderr, "runtime-arena: mallctl arenas.narenas failed\n");
		exit(99);
	}
	return n;
}

static int nothing(void *arg)
{
	(void)arg;
	return 0;
}

int main(int argc, char **argv)
{
	const char *preloaded = getenv("RUNTIME_ARENA_PRELOADED");
	unsigned int before, after;
	Dl_info je;

	(void)argc;
#ifdef XOS_SANITIZE
	(void)argv;
	(void)preloaded;
	(void)after;
	return 77; /* the runtime uses libc's malloc there, for ASan's sake */
#else
	before = narenas();
	for (int i = 0; i < 3; i++) {
		struct xos_ef_attr attr;
		struct xos_ef *ef;
		struct xos_ef_exit ex;
		int rc;

		xos_ef_attr_init(&attr);
		attr.icf = "thread";
		rc = xos_ef_create(&ef, &attr, nothing, NULL, 0);
		if (rc == 0)
			rc = xos_ef_join(ef, &ex);
		if (rc < 0) {
			fprintf(stderr, "runtime-arena: create/join: %s\n", strerror(-rc));
			return 99;
		}
	}
	after = narenas();
	if (!preloaded) {
		if (after != before) {
			fprintf(stderr, "runtime-arena: glibc heap: %u arenas before, %u after (want none made)\n",
				before, after);
			return 1;
		}
		/* Again, jemalloc preloaded: the program's heap is then jemalloc's. */
		if (!dladdr((void *)(uintptr_t)&mallctl, &je) || !je.dli_fname)
			return 99;
		setenv("LD_PRELOAD", je.dli_fname, 1);
		setenv("RUNTIME_ARENA_PRELOADED", "1", 1);
		execv(argv[0], argv); /* argv[0]: libtool's wrapper sets the library path */
		perror("runtime-arena: execv");
		return 99;
	}
	if (after != before + 1) {
		fprintf(stderr, "runtime-arena: jemalloc heap: %u arenas before, %u after (want one made)\n", before,
			after);
		return 1;
	}
	return 0;
#endif
}
