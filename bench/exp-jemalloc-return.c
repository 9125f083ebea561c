/* SPDX-License-Identifier: MIT */
/*
 * exp-jemalloc-return: can a jemalloc arena follow an EF back from a
 * process to a thread?  (Why domains have their own heap, domain_alloc.c.)
 *
 * An arena is created with extent hooks that carve its memory (and, since
 * jemalloc allocates an arena's base from its hooks, the arena's own
 * metadata) from a MAP_SHARED memfd range, like a domain.  The parent
 * allocates in it; a forked child (the EF as a process) allocates more,
 * small and large, and records the pointers in the shared range, then
 * exits (the EF comes back).  The parent then uses the child's pointers:
 * sallocx() and dallocx() look them up in jemalloc's address map (emap),
 * which lives in process-private memory.  Each use runs in a throwaway
 * child so that a crash is reported, not suffered.
 *
 * Prints one "result:" line per check and a conclusion.
 */
#define _GNU_SOURCE
#include <jemalloc/jemalloc.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define REGION ((size_t)256 << 20)
#define NPTR 64

struct shared {
	_Atomic uintptr_t bump; /* the hooks' allocator state: in the shared range too */
	void *child_small[NPTR];
	void *child_large[NPTR];
};

static char *region;
static struct shared *sh;

static void *hook_alloc(extent_hooks_t *h, void *new_addr, size_t size, size_t align, bool *zero,
			bool *commit, unsigned arena_ind)
{
	uintptr_t cur, start;

	(void)h, (void)arena_ind;
	if (new_addr)
		return NULL;
	do {
		cur = atomic_load(&sh->bump);
		start = (cur + align - 1) & ~(uintptr_t)(align - 1);
		if (start + size > (uintptr_t)region + REGION)
			return NULL;
	} while (!atomic_compare_exchange_weak(&sh->bump, &cur, start + size));
	*zero = false;
	*commit = true;
	return (void *)start;
}

static extent_hooks_t hooks = { .alloc = hook_alloc };

/* Run @fn in a throwaway child: "ok", or how it died. */
static const char *trial(void (*fn)(unsigned), unsigned arena)
{
	static char buf[64];
	int ws;
	pid_t pid = fork();

	if (pid == 0) {
		fn(arena);
		_exit(0);
	}
	waitpid(pid, &ws, 0);
	if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0)
		return "ok";
	if (WIFSIGNALED(ws))
		snprintf(buf, sizeof(buf), "killed by %s", strsignal(WTERMSIG(ws)));
	else
		snprintf(buf, sizeof(buf), "exit %d", WEXITSTATUS(ws));
	return buf;
}

static void size_of_child_large(unsigned arena)
{
	for (int i = 0; i < NPTR; i++)
		if (sallocx(sh->child_large[i], 0) < 64 << 10)
			_exit(3);
}

static void free_child_large(unsigned arena)
{
	for (int i = 0; i < NPTR; i++)
		dallocx(sh->child_large[i], MALLOCX_ARENA(arena) | MALLOCX_TCACHE_NONE);
}

static void free_child_small(unsigned arena)
{
	for (int i = 0; i < NPTR; i++)
		dallocx(sh->child_small[i], MALLOCX_ARENA(arena) | MALLOCX_TCACHE_NONE);
}

static void free_own(unsigned arena)
{
	void *p = mallocx(100, MALLOCX_ARENA(arena) | MALLOCX_TCACHE_NONE);

	dallocx(p, MALLOCX_ARENA(arena) | MALLOCX_TCACHE_NONE);
}

int main(void)
{
	extent_hooks_t *hp = &hooks;
	unsigned arena;
	size_t sz = sizeof(arena);
	int memfd = memfd_create("exp-domain", MFD_CLOEXEC);
	const char *own, *small, *large_size, *large_free;
	pid_t pid;

	if (memfd < 0 || ftruncate(memfd, (off_t)REGION) < 0)
		return 1;
	region = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (region == MAP_FAILED)
		return 1;
	sh = (struct shared *)region;
	atomic_store(&sh->bump, (uintptr_t)region + 4096);
	if (mallctl("arenas.create", &arena, &sz, &hp, sizeof(hp)) != 0) {
		fprintf(stderr, "arenas.create with hooks failed\n");
		return 1;
	}
	for (int i = 0; i < 16; i++)
		mallocx(48, MALLOCX_ARENA(arena) | MALLOCX_TCACHE_NONE);

	pid = fork(); /* the EF becomes a process */
	if (pid == 0) {
		for (int i = 0; i < NPTR; i++) {
			sh->child_small[i] = mallocx(48, MALLOCX_ARENA(arena) | MALLOCX_TCACHE_NONE);
			sh->child_large[i] = mallocx(64 << 10, MALLOCX_ARENA(arena) | MALLOCX_TCACHE_NONE);
		}
		_exit(0); /* and comes back */
	}
	waitpid(pid, NULL, 0);

	own = trial(free_own, arena);
	small = trial(free_child_small, arena);
	large_size = trial(size_of_child_large, arena);
	large_free = trial(free_child_large, arena);
	printf("result: parent allocates and frees in the arena after the child: %s\n", own);
	printf("result: parent frees 64 small blocks the child allocated: %s\n", small);
	printf("result: parent asks the size of 64 large blocks the child allocated: %s\n",
	       large_size);
	printf("result: parent frees 64 large blocks the child allocated: %s\n", large_free);
	printf("conclusion: %s\n",
	       strcmp(small, "ok") == 0 && strcmp(large_size, "ok") == 0 && strcmp(large_free, "ok") == 0 ?
		       "the arena followed the EF back (unexpected)" :
		       "a jemalloc arena cannot follow an EF back from a process: its extent map is process-private");
	return 0;
}
