/* SPDX-License-Identifier: MIT */
/*
 * The heap of a memory domain, and how malloc reaches it.
 *
 * Why not a jemalloc arena: an arena's extents can be placed in the domain
 * with extent hooks, but jemalloc's address-to-extent map (emap/rtree),
 * thread caches and base allocator stay in process-private memory, so an
 * arena that allocated in a child process cannot be used by the parent
 * when the EF comes back (bench/exp-jemalloc-return.c shows it).  This
 * heap keeps all of its state (bins, top, lock) in the domain's header and
 * in boundary tags next to each chunk: whoever maps the domain sees the
 * whole heap.  jemalloc still serves the runtime's own memory (alloc.c).
 *
 * Chunks (dlmalloc-like boundary tags, 16-byte aligned):
 *   prev_size (valid when the previous chunk is free) | head = size|flags
 *   payload...                 (free chunks: fd, bk links in the payload)
 * Free chunks sit in segregated lists: exact 16-byte classes below 1 KiB,
 * then one list per power of two (first fit within it).
 *
 * Routing: xos_malloc() and friends always allocate in the calling EF's
 * domain.  Plain malloc() does too, on the flow of an EF created with
 * XOS_EF_F_DOMAIN_MALLOC (libxos defines the malloc family and forwards
 * everything else to the C library's __libc_* functions).  free() routes
 * by address: a domain pointer goes to its domain when mapped here, and
 * is ignored otherwise (the EF lives elsewhere: never a crash).
 */
#include "config.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <dlfcn.h>
#include <malloc.h>

#include "xos_i.h"

#define CINUSE ((size_t)1)
#define PINUSE ((size_t)2)
#define FLAGS (CINUSE | PINUSE)
#define HDR 16u
#define MIN_CHUNK 32u
#define SMALL_BINS 64 /* 32 .. 1040 by 16 */

struct chunk {
	size_t prev_size;
	size_t head;
	struct chunk *fd, *bk; /* free chunks only */
};

__thread struct xos__dheap *xos__route_heap __attribute__((tls_model("initial-exec")));

static inline size_t csize(const struct chunk *c)
{
	return c->head & ~FLAGS;
}

static inline struct chunk *cat(uintptr_t a)
{
	return (struct chunk *)a;
}

static inline struct chunk *next_of(struct chunk *c)
{
	return cat((uintptr_t)c + csize(c));
}

static unsigned int bin_of(size_t size)
{
	unsigned int b;

	if (size < MIN_CHUNK + SMALL_BINS * 16)
		return (unsigned int)((size - MIN_CHUNK) / 16);
	b = SMALL_BINS + (unsigned int)(63 - __builtin_clzll(size)) - 10;
	return b < XOS_DHEAP_BINS ? b : XOS_DHEAP_BINS - 1;
}

static void lock(struct xos__dheap *h)
{
	int spins = 0;

	while (atomic_exchange_explicit(&h->lock, 1, memory_order_acquire)) {
		if (++spins > 100)
			sched_yield();
	}
}

static void unlock(struct xos__dheap *h)
{
	atomic_store_explicit(&h->lock, 0, memory_order_release);
}

static void bin_insert(struct xos__dheap *h, struct chunk *c)
{
	unsigned int b = bin_of(csize(c));
	struct chunk *head = (struct chunk *)h->bins[b];

	c->fd = head;
	c->bk = NULL;
	if (head)
		head->bk = c;
	h->bins[b] = (uintptr_t)c;
	h->binmap[b / 64] |= 1ull << (b % 64);
}

static void bin_remove(struct xos__dheap *h, struct chunk *c)
{
	unsigned int b = bin_of(csize(c));

	if (c->bk)
		c->bk->fd = c->fd;
	else
		h->bins[b] = (uintptr_t)c->fd;
	if (c->fd)
		c->fd->bk = c->bk;
	if (!h->bins[b])
		h->binmap[b / 64] &= ~(1ull << (b % 64));
}

void xos__dheap_init(struct xos__dheap *h, uintptr_t lo, uintptr_t hi)
{
	memset(h, 0, sizeof(*h));
	h->lo = (lo + 15) & ~(uintptr_t)15;
	h->top = h->lo;
	h->hi = hi & ~(uintptr_t)15;
}

/* Mark free chunk @c (already out of its bin) used, splitting off a tail of at least MIN_CHUNK. */
static void *use_chunk(struct xos__dheap *h, struct chunk *c, size_t need)
{
	size_t size = csize(c);
	struct chunk *n;

	if (size - need >= MIN_CHUNK) {
		struct chunk *rest = cat((uintptr_t)c + need);

		c->head = need | (c->head & PINUSE) | CINUSE;
		rest->head = (size - need) | PINUSE;
		n = next_of(rest);
		if ((uintptr_t)n < h->top)
			n->prev_size = size - need;
		bin_insert(h, rest);
	} else {
		c->head |= CINUSE;
		n = next_of(c);
		if ((uintptr_t)n < h->top)
			n->head |= PINUSE;
	}
	h->in_use += csize(c);
	return (char *)c + HDR;
}

static void *alloc_locked(struct xos__dheap *h, size_t size)
{
	size_t need;
	unsigned int b;
	struct chunk *c;

	if (size > h->hi - h->lo)
		return NULL;
	need = (size + HDR + 15) & ~(size_t)15;
	if (need < MIN_CHUNK)
		need = MIN_CHUNK;
	b = bin_of(need);
	/* Exact small class first, then first fit in this and every larger list. */
	for (; b < XOS_DHEAP_BINS; b++) {
		uint64_t word = h->binmap[b / 64] >> (b % 64);

		if (!word) {
			b = (b / 64 + 1) * 64 - 1;
			continue;
		}
		b += (unsigned int)__builtin_ctzll(word);
		for (c = (struct chunk *)h->bins[b]; c; c = c->fd) {
			if (csize(c) >= need) {
				bin_remove(h, c);
				return use_chunk(h, c, need);
			}
		}
	}
	/* Carve from the untouched top. */
	if (h->hi - h->top < need)
		return NULL;
	c = cat(h->top);
	/* PINUSE of the first chunk at top: the chunk below is in use, or top == lo. */
	c->head = need | CINUSE | PINUSE;
	h->top += need;
	h->in_use += need;
	return (char *)c + HDR;
}

void *xos__dheap_malloc(struct xos__dheap *h, size_t size)
{
	void *p;

	lock(h);
	p = alloc_locked(h, size);
	unlock(h);
	return p;
}

static void free_locked(struct xos__dheap *h, struct chunk *c)
{
	size_t size = csize(c);
	struct chunk *n;

	h->in_use -= size;
	if (!(c->head & PINUSE)) {
		struct chunk *p = cat((uintptr_t)c - c->prev_size);

		bin_remove(h, p);
		size += csize(p);
		c = p;
	}
	n = cat((uintptr_t)c + size);
	if ((uintptr_t)n == h->top) {
		/* Give it back to the top; the chunk below c is in use (coalesced). */
		h->top = (uintptr_t)c;
		return;
	}
	if (!(n->head & CINUSE)) {
		bin_remove(h, n);
		size += csize(n);
	}
	c->head = size | PINUSE;
	n = cat((uintptr_t)c + size);
	if ((uintptr_t)n < h->top) {
		n->prev_size = size;
		n->head &= ~PINUSE;
	}
	bin_insert(h, c);
}

/* Is @p a live chunk of @h?  Cheap checks only: foreign or stale pointers must not crash. */
static struct chunk *chunk_of(struct xos__dheap *h, void *p)
{
	uintptr_t a = (uintptr_t)p;
	struct chunk *c;

	if (a < h->lo + HDR || a >= h->top || (a & 15))
		return NULL;
	c = cat(a - HDR);
	if (!(c->head & CINUSE) || csize(c) < MIN_CHUNK || (uintptr_t)c + csize(c) > h->top)
		return NULL;
	return c;
}

void xos__dheap_free(struct xos__dheap *h, void *p)
{
	struct chunk *c;

	if (!p)
		return;
	lock(h);
	c = chunk_of(h, p);
	if (c)
		free_locked(h, c);
	unlock(h);
}

size_t xos__dheap_usable(const void *p)
{
	return csize(cat((uintptr_t)p - HDR)) - HDR;
}

void *xos__dheap_memalign(struct xos__dheap *h, size_t align, size_t size)
{
	uintptr_t raw, aligned;
	struct chunk *c, *a;
	size_t lead, total;
	void *p;

	if (align <= 16)
		return xos__dheap_malloc(h, size);
	if (align & (align - 1) || size > h->hi - h->lo)
		return NULL;
	lock(h);
	p = alloc_locked(h, size + align + MIN_CHUNK);
	if (!p) {
		unlock(h);
		return NULL;
	}
	raw = (uintptr_t)p;
	aligned = (raw + align - 1) & ~(uintptr_t)(align - 1);
	if (aligned != raw && aligned - raw < MIN_CHUNK)
		aligned += align; /* room for a leading free chunk */
	if (aligned != raw) {
		c = cat(raw - HDR);
		total = csize(c);
		lead = aligned - raw;
		a = cat(aligned - HDR);
		a->head = (total - lead) | CINUSE; /* previous (the lead) is free */
		a->prev_size = lead;
		c->head = lead | (c->head & PINUSE) | CINUSE;
		free_locked(h, c); /* coalesces with what lies before, never with a */
		p = (void *)aligned;
	}
	unlock(h);
	return p;
}

void *xos__dheap_realloc(struct xos__dheap *h, void *p, size_t size)
{
	struct chunk *c;
	size_t have;
	void *q;

	if (!p)
		return xos__dheap_malloc(h, size);
	lock(h);
	c = chunk_of(h, p);
	if (!c) {
		unlock(h);
		return NULL;
	}
	have = csize(c) - HDR;
	unlock(h);
	if (size <= have)
		return p;
	q = xos__dheap_malloc(h, size);
	if (q) {
		memcpy(q, p, have);
		xos__dheap_free(h, p);
	}
	return q;
}

/* ---- routing: which heap a call goes to --------------------------------------- */

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

/* The calling EF's heap, for the explicit API: NULL outside a domain EF. */
static struct xos__dheap *self_heap(void)
{
	struct xos_ef *ef = xos_ef_self();

	return ef && ef->dom && ef->dom->mapped ? &ef->dom->hdr->heap : NULL;
}

/* The heap holding @p (mapped here), NULL when @p is not a domain pointer of this process. */
static struct xos__dheap *heap_of(const void *p, bool *ret_in_zone)
{
	struct xos__domain *d;

	*ret_in_zone = (uintptr_t)p >= XOS_ZONE_LO && (uintptr_t)p < XOS_ZONE_HI;
	if (!*ret_in_zone)
		return NULL;
	d = xos__domain_of(p);
	return d ? &d->hdr->heap : NULL;
}

static void route_free(void *p)
{
	struct xos__dheap *h;
	bool zone;

	if (!p)
		return;
	h = heap_of(p, &zone);
	if (h)
		xos__dheap_free(h, p);
	else if (!zone)
		__libc_free(p);
	/* else: a domain that is not here (its EF lives elsewhere): nothing to do */
}

static void *route_realloc(struct xos__dheap *want, void *p, size_t size)
{
	struct xos__dheap *h;
	bool zone;

	if (!p)
		return want ? xos__dheap_malloc(want, size) : __libc_realloc(NULL, size);
	h = heap_of(p, &zone);
	if (h)
		return xos__dheap_realloc(h, p, size);
	if (zone)
		return NULL;
	if (want) {
		/* A C-library block grown on a domain flow: move it into the domain. */
		size_t have = malloc_usable_size(p);
		void *q = xos__dheap_malloc(want, size);

		if (q) {
			memcpy(q, p, have < size ? have : size);
			__libc_free(p);
		}
		return q;
	}
	return __libc_realloc(p, size);
}

void *xos_malloc(size_t size)
{
	struct xos__dheap *h = self_heap();

	return h ? xos__dheap_malloc(h, size) : __libc_malloc(size);
}

void *xos_calloc(size_t n, size_t size)
{
	struct xos__dheap *h = self_heap();
	size_t total;
	void *p;

	if (__builtin_mul_overflow(n, size, &total))
		return NULL;
	if (!h)
		return __libc_calloc(n, size);
	p = xos__dheap_malloc(h, total);
	if (p)
		memset(p, 0, total);
	return p;
}

void *xos_realloc(void *p, size_t size)
{
	return route_realloc(self_heap(), p, size);
}

void *xos_aligned_alloc(size_t alignment, size_t size)
{
	struct xos__dheap *h = self_heap();

	if (!alignment || alignment & (alignment - 1))
		return NULL;
	return h ? xos__dheap_memalign(h, alignment, size) : __libc_memalign(alignment, size);
}

void xos_free(void *p)
{
	route_free(p);
}

#ifndef XOS_SANITIZE
/*
 * The C allocator's entry points, for the whole program: outside a
 * routing EF they are the C library's (plus free() by address).  Not in
 * sanitizer builds, where ASan owns malloc.
 */
#define PUBLIC __attribute__((visibility("default")))

PUBLIC void *malloc(size_t size)
{
	struct xos__dheap *h = xos__route_heap;

	return h ? xos__dheap_malloc(h, size) : __libc_malloc(size);
}

PUBLIC void free(void *p)
{
	route_free(p);
}

PUBLIC void *calloc(size_t n, size_t size)
{
	struct xos__dheap *h = xos__route_heap;
	size_t total;
	void *p;

	if (!h)
		return __libc_calloc(n, size);
	if (__builtin_mul_overflow(n, size, &total))
		return NULL;
	p = xos__dheap_malloc(h, total);
	if (p)
		memset(p, 0, total);
	return p;
}

PUBLIC void *realloc(void *p, size_t size)
{
	return route_realloc(xos__route_heap, p, size);
}

PUBLIC void *memalign(size_t alignment, size_t size)
{
	struct xos__dheap *h = xos__route_heap;

	return h ? xos__dheap_memalign(h, alignment, size) : __libc_memalign(alignment, size);
}

PUBLIC void *aligned_alloc(size_t alignment, size_t size)
{
	return memalign(alignment, size);
}

PUBLIC int posix_memalign(void **ret, size_t alignment, size_t size)
{
	void *p;

	if (!alignment || alignment & (alignment - 1) || alignment % sizeof(void *))
		return EINVAL;
	p = memalign(alignment, size);
	if (!p)
		return ENOMEM;
	*ret = p;
	return 0;
}

PUBLIC void *valloc(size_t size)
{
	return memalign((size_t)4096, size);
}

PUBLIC void *pvalloc(size_t size)
{
	return memalign((size_t)4096, (size + 4095) & ~(size_t)4095);
}

PUBLIC size_t malloc_usable_size(void *p)
{
	static size_t (*libc_usable)(void *);
	bool zone;

	if (!p)
		return 0;
	if (heap_of(p, &zone))
		return xos__dheap_usable(p);
	if (zone)
		return 0;
	if (!libc_usable)
		libc_usable = (size_t (*)(void *))dlsym(RTLD_NEXT, "malloc_usable_size");
	return libc_usable ? libc_usable(p) : 0;
}

bool xos__malloc_interposed(void)
{
	return dlsym(RTLD_DEFAULT, "malloc") == (void *)malloc;
}
#else
bool xos__malloc_interposed(void)
{
	return false;
}
#endif
