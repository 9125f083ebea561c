/* SPDX-License-Identifier: MIT */
/*
 * Description: the runtime's own memory (src/runtime/alloc.c) comes from a
 * jemalloc arena the program's heap does not use, and costs no arena of
 * its own when it need not: with the program's malloc not jemalloc's (the
 * usual case: libxos's malloc, glibc's behind it) the runtime uses arena 0
 * and creates none, since every arena costs each fork of the program ~20
 * page faults in jemalloc's fork handlers.  This program links libxos's
 * internals, malloc included, without exporting it, and jemalloc before
 * libc: the libraries' malloc (libc's own calls, cmocka's) is jemalloc's,
 * so here the runtime must make an arena of its own.  The other case, a
 * program linked with libxos.so, is test/integration/runtime-arena.
 */
#include "unit.h"

#ifndef XOS_SANITIZE
#include <dlfcn.h>
#include <jemalloc/jemalloc.h>

static unsigned int narenas(void)
{
	unsigned int n = 0;
	size_t len = sizeof(n);

	assert_int_equal(mallctl("arenas.narenas", &n, &len, NULL, 0), 0);
	return n;
}

static unsigned int arena_of(const void *p)
{
	unsigned int arena = ~0u;
	size_t len = sizeof(arena);

	assert_int_equal(mallctl("arenas.lookup", &arena, &len, (void *)&p, sizeof(p)), 0);
	return arena;
}

/* The program's heap, as the libraries reach it: is it jemalloc's? */
static bool heap_is_jemalloc(void)
{
	Dl_info heap, je;

	assert_true(dladdr(dlsym(RTLD_DEFAULT, "malloc"), &heap));
	assert_true(dladdr((void *)(uintptr_t)&mallctl, &je));
	return heap.dli_fbase == je.dli_fbase;
}

static void test_runtime_arena(void **state)
{
	unsigned int before = narenas(), after;
	void *ours;

	(void)state;
	assert_true(heap_is_jemalloc()); /* how this program is linked (above) */
	ours = xos__malloc(64);
	assert_non_null(ours);
	after = narenas();
	/* An arena of the runtime's own, apart from the one the program's heap uses. */
	t_assert_uint(after, before + 1);
	t_assert_uint(arena_of(ours), before);
	xos__free(ours);
	/* Later calls keep the choice: no arena per call. */
	xos__free(xos__calloc(4, 16));
	t_assert_uint(narenas(), after);
}
#endif

static void test_overflow_and_zero(void **state)
{
	void *p;

	(void)state;
	assert_null(xos__calloc(SIZE_MAX / 2, 4));
	p = xos__malloc(0);
	assert_non_null(p);
	xos__free(p);
	xos__free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#ifndef XOS_SANITIZE
		cmocka_unit_test(test_runtime_arena),
#endif
		cmocka_unit_test(test_overflow_and_zero),
	};

	t_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
