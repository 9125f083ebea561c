/* SPDX-License-Identifier: MIT */
/*
 * Memory domains: an EF's own address range, backed by a memfd.
 *
 * Layout of a domain of S bytes at base B:
 *   [B, B+H)            header (struct xos__domain_hdr): context, fd table, heap state
 *   [B+H, G)            heap (grows up)
 *   [G, G+page)         guard page (PROT_NONE)
 *   [G+page, B+S)       stack (grows down)
 * The memfd is S bytes long but sparse: pages exist once touched.  Every
 * process that knows the EF keeps [B, B+S) reserved (PROT_NONE) while the
 * EF lives elsewhere, so that the address is free when it comes back.
 * Domains are placed in a zone of their own (XOS_ZONE_LO..HI) so that the
 * same addresses are free in a new process (restore) and free() can tell
 * a domain pointer by one comparison.
 */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "xos_i.h"

#ifdef XOS_SANITIZE
#include <sanitizer/asan_interface.h>
#endif

#define DOMAINS_MAX 256
#define ZONE_STEP ((uintptr_t)2 << 20)

/* Every domain this process knows; read without a lock by free(). */
static struct xos__domain *_Atomic domains[DOMAINS_MAX];
static _Atomic uintptr_t zone_cursor = XOS_ZONE_LO;

static size_t page_size(void)
{
	static size_t ps;

	if (!ps)
		ps = (size_t)sysconf(_SC_PAGESIZE);
	return ps;
}

static size_t round_up(size_t n, size_t to)
{
	return (n + to - 1) / to * to;
}

static int registry_add(struct xos__domain *d)
{
	for (size_t i = 0; i < DOMAINS_MAX; i++) {
		struct xos__domain *none = NULL;

		if (atomic_compare_exchange_strong(&domains[i], &none, d))
			return 0;
	}
	return -ENOSPC;
}

static void registry_del(struct xos__domain *d)
{
	for (size_t i = 0; i < DOMAINS_MAX; i++) {
		struct xos__domain *want = d;

		if (atomic_compare_exchange_strong(&domains[i], &want, NULL))
			return;
	}
}

struct xos__domain *xos__domain_of(const void *p)
{
	uintptr_t a = (uintptr_t)p;

	if (a < XOS_ZONE_LO || a >= XOS_ZONE_HI)
		return NULL;
	for (size_t i = 0; i < DOMAINS_MAX; i++) {
		struct xos__domain *d = atomic_load_explicit(&domains[i], memory_order_acquire);

		if (d && d->mapped && a >= d->base && a - d->base < d->size)
			return d;
	}
	return NULL;
}

/* PROT_NONE over [base, base+size): reserves without committing memory. */
static void *reserve_at(uintptr_t base, size_t size, int extra)
{
	return mmap((void *)base, size, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | extra, -1, 0);
}

/* Find and reserve a free range of @size in the zone. */
static int zone_reserve(size_t size, uintptr_t *ret_base)
{
	size_t span = round_up(size, ZONE_STEP) + ZONE_STEP; /* a gap between domains */

	for (int tries = 0; tries < 4096; tries++) {
		uintptr_t base = atomic_fetch_add(&zone_cursor, span);
		void *p;

		if (base + span > XOS_ZONE_HI)
			return -ENOMEM;
		p = reserve_at(base, size, MAP_FIXED_NOREPLACE);
		if (p == (void *)base) {
			*ret_base = base;
			return 0;
		}
		if (p != MAP_FAILED)
			munmap(p, size); /* old kernel: hint not honoured */
		else if (errno != EEXIST)
			return -errno;
	}
	return -ENOMEM;
}

int xos__domain_map(struct xos__domain *d)
{
	const struct xos__domain_hdr *h;
	void *p;

	if (d->mapped)
		return 0;
	p = mmap((void *)d->base, d->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 d->memfd, 0);
	if (p == MAP_FAILED)
		return -errno;
	h = d->hdr;
	/* The guard page below the stack (the header says where, once laid out). */
	if (h->magic == XOS_DOMAIN_MAGIC && h->stack_lo > d->base)
		mprotect((void *)(h->stack_lo - page_size()), page_size(), PROT_NONE);
	d->mapped = true;
#ifdef XOS_SANITIZE
	/* Shadow left by frames the EF had here before it went away is stale. */
	__asan_unpoison_memory_region((void *)d->base, d->size);
#endif
	return 0;
}

int xos__domain_unmap(struct xos__domain *d)
{
	if (!d->mapped)
		return 0;
	d->mapped = false;
	if (reserve_at(d->base, d->size, MAP_FIXED) == MAP_FAILED)
		return -errno;
	return 0;
}

static struct xos__domain *view_new(uintptr_t base, size_t size, int memfd)
{
	struct xos__domain *d = xos__calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->base = base;
	d->size = size;
	d->memfd = memfd;
	d->hdr = (struct xos__domain_hdr *)base;
	return d;
}

int xos__domain_new(size_t size, struct xos__domain **ret)
{
	size_t ps = page_size(), hdr_size, stack_size;
	struct xos__domain_hdr *h;
	struct xos__domain *d;
	uintptr_t base = 0;
	int memfd, rc;

	if (size > XOS__DOMAIN_SIZE_MAX)
		return -E2BIG; /* no image could hold it: restore refuses larger domains */
	size = round_up(size, ps);
	hdr_size = round_up(sizeof(*h), ps);
	stack_size = round_up(size / 8, ps);
	if (stack_size < (64u << 10))
		stack_size = 64u << 10;
	if (stack_size > (8u << 20))
		stack_size = 8u << 20;
	if (size < hdr_size + stack_size + ps + (64u << 10))
		return -EINVAL;

	memfd = memfd_create("xos-domain", MFD_CLOEXEC);
	if (memfd < 0)
		return -errno;
	if (ftruncate(memfd, (off_t)size) < 0) {
		rc = -errno;
		goto out_close;
	}
	rc = zone_reserve(size, &base);
	if (rc < 0)
		goto out_close;
	d = view_new(base, size, memfd);
	if (!d) {
		rc = -ENOMEM;
		goto out_unreserve;
	}
	rc = xos__domain_map(d);
	if (rc < 0)
		goto out_free;
	h = d->hdr;
	h->magic = XOS_DOMAIN_MAGIC;
	h->version = 1;
	h->base = base;
	h->size = size;
	h->stack_hi = base + size;
	h->stack_lo = base + size - stack_size;
	mprotect((void *)(h->stack_lo - ps), ps, PROT_NONE);
	xos__dheap_init(&h->heap, base + hdr_size, h->stack_lo - ps);
	rc = registry_add(d);
	if (rc < 0)
		goto out_free;
	*ret = d;
	return 0;

out_free:
	xos__free(d);
out_unreserve:
	munmap((void *)base, size);
out_close:
	close(memfd);
	return rc;
}

int xos__domain_adopt(uintptr_t base, size_t size, int memfd, struct xos__domain **ret)
{
	struct xos__domain *d;
	int rc;

	if (reserve_at(base, size, MAP_FIXED_NOREPLACE) != (void *)base)
		return -EADDRINUSE;
	d = view_new(base, size, memfd);
	if (!d) {
		munmap((void *)base, size);
		return -ENOMEM;
	}
	rc = xos__domain_map(d);
	if (rc == 0)
		rc = registry_add(d);
	if (rc < 0) {
		munmap((void *)base, size);
		xos__free(d);
		return rc;
	}
	*ret = d;
	return 0;
}

void xos__domain_free(struct xos__domain *d)
{
	if (!d)
		return;
	xos__lazy_close(d->lazy); /* before the range goes: it copies into it */
	d->lazy = NULL;
	registry_del(d);
	d->mapped = false;
	munmap((void *)d->base, d->size);
	close(d->memfd);
	xos__free(d);
}

void xos__domains_drop_except(struct xos__domain *keep)
{
	for (size_t i = 0; i < DOMAINS_MAX; i++) {
		struct xos__domain *d = atomic_load(&domains[i]);

		if (!d || d == keep)
			continue;
		/* Neither its pages nor its memfd: this process must not reach it. */
		xos__domain_unmap(d);
		close(d->memfd);
		d->memfd = -1;
		atomic_store(&domains[i], NULL);
	}
}
