/* SPDX-License-Identifier: MIT */
/*
 * The runtime's own memory.
 *
 * Runtime state (EF handles, argument copies, registry nodes) lives in a
 * jemalloc arena of its own, apart from the application's heap: a heap
 * overrun in the application does not land in it, and once EFs own memory
 * domains (where their plain malloc is routed), the runtime's bookkeeping
 * must stay outside every domain.  Sanitizer builds use libc's malloc so
 * that ASan sees every runtime allocation too.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "xos_i.h"

#ifndef XOS_SANITIZE
#include <jemalloc/jemalloc.h>

static pthread_once_t arena_once = PTHREAD_ONCE_INIT;
static int arena_flags; /* MALLOCX_ARENA(ours), or 0: jemalloc's default arenas */

static void arena_create(void)
{
	unsigned int arena;
	size_t len = sizeof(arena);

	if (mallctl("arenas.create", &arena, &len, NULL, 0) == 0)
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
