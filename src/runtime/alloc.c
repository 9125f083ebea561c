/* SPDX-License-Identifier: MIT */
/*
 * The runtime's own memory.
 *
 * Runtime state (EF handles, argument copies, registry nodes) lives in a
 * jemalloc arena the application's heap does not use (arena 0 when the
 * program's malloc is glibc's, one made for it when jemalloc is the
 * program's malloc too): a heap overrun in the application does not land
 * in it, and once EFs own memory domains (where their plain malloc is
 * routed), the runtime's bookkeeping must stay outside every domain.
 * Sanitizer builds use libc's malloc so that ASan sees every runtime
 * allocation too.
 */
#include "config.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xos_i.h"

#ifndef XOS_SANITIZE
#include <jemalloc/jemalloc.h>

static pthread_once_t arena_once = PTHREAD_ONCE_INIT;
static int arena_flags; /* MALLOCX_ARENA(ours) | no tcache, or 0: jemalloc's default arenas */

/*
 * Is the program's malloc jemalloc's (linked or preloaded before libc)?
 * Usually it is libxos's own (domain_alloc.c), which sends what is not a
 * domain EF's to glibc's.
 */
static bool program_mallocs_here(void)
{
	void *program_malloc = dlsym(RTLD_DEFAULT, "malloc");
	Dl_info theirs, ours;

	if (!program_malloc || !dladdr(program_malloc, &theirs) || !dladdr((void *)(uintptr_t)&mallocx, &ours))
		return true; /* unknown: assume so, and keep apart */
	return theirs.dli_fbase == ours.dli_fbase;
}

/*
 * An arena of our own only where the program's heap is jemalloc's too.
 * Usually its malloc is glibc's, and jemalloc's arena 0 (made when
 * jemalloc starts) serves nobody else: each further arena would cost
 * every fork of the program ~20 page faults, as jemalloc's fork handlers
 * lock and unlock each arena's mutexes, pages then copied on write in
 * parent and child (fork+exit+wait 1.67 -> 1.85 ms here with one more).
 */
static void arena_create(void)
{
	unsigned int arena = 0;
	size_t len = sizeof(arena);

	if (program_mallocs_here() && mallctl("arenas.create", &arena, &len, NULL, 0) != 0)
		return;
	arena_flags = MALLOCX_ARENA(arena) | MALLOCX_TCACHE_NONE;
}

void *xos__malloc(size_t size)
{
	pthread_once(&arena_once, arena_create);
	return mallocx(size ? size : 1, arena_flags);
}

void *xos__calloc(size_t n, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(n, size, &total))
		return NULL;
	pthread_once(&arena_once, arena_create);
	return mallocx(total ? total : 1, arena_flags | MALLOCX_ZERO);
}

void xos__free(void *p)
{
	if (p)
		dallocx(p, arena_flags);
}
#else
void *xos__malloc(size_t size)
{
	return malloc(size ? size : 1);
}

void *xos__calloc(size_t n, size_t size)
{
	size_t total;

	/* NULL on overflow, as the jemalloc build (ASan would abort inside calloc). */
	if (__builtin_mul_overflow(n, size, &total))
		return NULL;
	return calloc(n ? n : 1, size ? size : 1);
}

void xos__free(void *p)
{
	free(p);
}
#endif

char *xos__strdup(const char *s)
{
	size_t len = strlen(s) + 1;
	char *copy = xos__malloc(len);

	if (copy)
		memcpy(copy, s, len);
	return copy;
}
