/* SPDX-License-Identifier: MIT */
/*
 * Dumps that do not stop the EF (xos_ef_dump_start, xos_ef_dump_wait).
 *
 * The EF is parked only for the snapshot: its registers are already in
 * its domain (pushed at the safe point), so the snapshot is the domain's
 * data extents (lseek SEEK_DATA/SEEK_HOLE) and a userfaultfd
 * write-protect of the whole domain.  Then the EF runs again, and two
 * threads of libxos write the image:
 *  - the writer walks the extents a chunk at a time: under the lock it
 *    takes each page of the chunk, from the domain if the page is still
 *    write-protected (so untouched since the snapshot) or from the copy
 *    the fault thread saved, marks the pages taken and lifts their
 *    protection; then hashes and writes the chunk;
 *  - the fault thread serves the write faults of the EF (and of any
 *    thread of this process) on pages not yet taken: it copies the page
 *    as it was (pread of the memfd: the write has not happened), marks it
 *    taken and lifts the protection, which lets the write go on.
 * A page is unprotected only once its snapshot content is in hand, so
 * the image is exactly the domain at the snapshot instant.  The image
 * goes to a temporary file renamed over the target only once complete,
 * sealed (checksum, MAC) and fsync'ed (dump.c): a failed write or a
 * killed process leaves the previous image as it was.
 *
 * Without a userfaultfd that can write-protect shmem (old kernel, a
 * seccomp filter), or when the domain is not mapped in this process (a
 * process host runs the EF), the same API works the old way: the EF stays
 * parked until the background write is over.
 */
#include "config.h"

#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "image_i.h"

#if defined(__SANITIZE_ADDRESS__)
#define CKPT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CKPT_ASAN 1
#endif
#endif
#ifndef CKPT_ASAN
#define CKPT_ASAN 0
#endif

#define CHUNK XOS__IMAGE_CHUNK

struct xos__ckpt {
	struct xos_ef *ef;
	struct xos__domain *dom;
	char *path, *tmp;
	int fd;          /* the temporary file */
	int uffd;        /* -1: the EF stays parked until the write is over */
	int stop_efd;    /* tells the fault thread to end */
	size_t page;
	size_t npages;
	struct xos__image_key *key;
	struct img_hdr hdr;
	struct img_map *maps;
	struct img_ext *ext;
	/* under lock: */
	pthread_mutex_t lock;
	bool snapped;          /* the snapshot is taken (before: protection is being armed) */
	uint64_t *dirty;       /* before the snapshot: pages written since protected (bitmap) */
	uint8_t *taken;        /* after: pages in the image's hands (saved, or being copied) */
	unsigned char **saved; /* copies of pages as at the snapshot, made on a write fault */
	int fault_err;         /* a page the fault thread could not save: the image would be torn */
	pthread_t writer, faults;
	bool faults_started;
	/* completion */
	pthread_mutex_t done_lock;
	pthread_cond_t done_cond;
	bool done;
	int result;
};

static int uffd_wp(int uffd, uintptr_t start, size_t len, bool protect)
{
	struct uffdio_writeprotect wp = {
		.range = { .start = start, .len = len },
		.mode = protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};

	while (ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) < 0) {
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
	}
	return 0;
}

/*
 * A userfaultfd registered for write-protection of @d's range; -errno when
 * this kernel or this process cannot have one.
 */
static int uffd_open(const struct xos__domain *d, int *ret)
{
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_PAGEFAULT_FLAG_WP | UFFD_FEATURE_WP_HUGETLBFS_SHMEM,
	};
	struct uffdio_register reg = {
		.range = { .start = d->base, .len = d->size },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	int fd, rc;

	/*
	 * Kernel faults too: a system call of the EF writing into its domain
	 * (read() into a buffer) must wait for its page like the EF's own
	 * stores.  A userfaultfd for user faults only would make that call
	 * fail with EFAULT, so where this one is refused (no CAP_SYS_PTRACE,
	 * vm.unprivileged_userfaultfd 0) the EF stays parked instead.
	 */
	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, UFFDIO_API, &api) < 0 || ioctl(fd, UFFDIO_REGISTER, &reg) < 0) {
		rc = -errno;
		goto out_close;
	}
	if (!(reg.ioctls & (1ull << _UFFDIO_WRITEPROTECT))) {
		rc = -EOPNOTSUPP;
		goto out_unregister;
	}
	*ret = fd;
	return 0;

out_unregister:
	ioctl(fd, UFFDIO_UNREGISTER, &reg.range);
out_close:
	close(fd);
	return rc;
}

/* Take page @i as it is now, if nobody has: the caller holds the lock. */
static int save_page(struct xos__ckpt *c, size_t i)
{
	unsigned char *p;

	if (c->taken[i])
		return 0;
	p = xos__malloc(c->page);
	if (!p)
		return -ENOMEM;
	/* Through the memfd: the faulting write has not happened, the page is as at the snapshot. */
	if (xos__image_read_at(c->dom->memfd, p, c->page, (off_t)(i * c->page)) < 0)
		memset(p, 0, c->page); /* beyond the file's end: reads as zero in the domain too */
	c->saved[i] = p;
	c->taken[i] = 1;
	return 0;
}

/* The fault thread: take each page a write is waiting on, then let the write go on. */
static void *fault_thread(void *arg)
{
	struct xos__ckpt *c = arg;
	struct pollfd pfd[2] = { { .fd = c->uffd, .events = POLLIN }, { .fd = c->stop_efd, .events = POLLIN } };
	struct uffd_msg msg[16];

	for (;;) {
		ssize_t n;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents)
			break;
		n = read(c->uffd, msg, sizeof(msg));
		if (n <= 0)
			continue;
		for (size_t k = 0; k < (size_t)n / sizeof(msg[0]); k++) {
			uintptr_t addr;
			size_t i;

			if (msg[k].event != UFFD_EVENT_PAGEFAULT)
				continue;
			addr = (uintptr_t)msg[k].arg.pagefault.address & ~(uintptr_t)(c->page - 1);
			if (addr < c->dom->base || addr - c->dom->base >= c->dom->size)
				continue;
			i = (addr - c->dom->base) / c->page;
			pthread_mutex_lock(&c->lock);
			if (!c->snapped) {
				/* Armed before the EF parks: note the page, protect it again at the snapshot. */
				c->dirty[i / 64] |= 1ull << (i % 64);
				uffd_wp(c->uffd, addr, c->page, false);
				pthread_mutex_unlock(&c->lock);
				continue;
			}
			if (c->taken[i]) {
				/* The writer is copying it: its unprotect lets the write go on. */
				pthread_mutex_unlock(&c->lock);
				continue;
			}
			/* Out of memory: the write must go on all the same, and this image is lost. */
			if (save_page(c, i) < 0)
				c->fault_err = -ENOMEM;
			pthread_mutex_unlock(&c->lock);
			uffd_wp(c->uffd, addr, c->page, false);
		}
	}
	return NULL;
}

/* Lift every protection left and stop the fault thread: the EF never waits on us again. */
static void unprotect_all(struct xos__ckpt *c)
{
	uint64_t one = 1;

	if (c->uffd < 0)
		return;
	uffd_wp(c->uffd, c->dom->base, c->dom->size, false);
	if (c->faults_started) {
		if (write(c->stop_efd, &one, sizeof(one)) < 0)
			xos__log_debug("dump: cannot stop the fault thread");
		pthread_join(c->faults, NULL);
		c->faults_started = false;
	}
	{
		struct uffdio_range r = { .start = c->dom->base, .len = c->dom->size };

		ioctl(c->uffd, UFFDIO_UNREGISTER, &r);
	}
	close(c->uffd);
	c->uffd = -1;
}

/* Write the image from the snapshot while the EF runs. */
static int write_snapshot(struct xos__ckpt *c)
{
	struct xos__image_sum sum;
	unsigned char *buf = xos__malloc(CHUNK);
	unsigned char **src = xos__calloc(CHUNK / c->page + 1, sizeof(*src));
	int rc;

	if (!buf || !src) {
		xos__free(buf);
		xos__free(src);
		unprotect_all(c);
		return -ENOMEM;
	}
	rc = xos__image_sum_begin(&sum, c->key, &c->hdr, c->ext);
	if (rc < 0) {
		xos__free(buf);
		xos__free(src);
		unprotect_all(c);
		return rc;
	}
	rc = xos__image_write_tables(c->fd, &c->hdr, c->maps, c->ext);
	for (uint32_t e = 0; e < c->hdr.nextents && !rc; e++) {
		for (uint64_t o = 0; o < c->ext[e].len && !rc; o += CHUNK) {
			uint64_t at = c->ext[e].off + o;
			size_t len = c->ext[e].len - o < CHUNK ? (size_t)(c->ext[e].len - o) : CHUNK;

			size_t first = (size_t)(at / c->page), np = (len + c->page - 1) / c->page;

			/* Take the chunk's pages: saved copies, or (still protected, so as at the snapshot) the domain's. */
			pthread_mutex_lock(&c->lock);
			for (size_t k = 0; k < np; k++) {
				src[k] = c->saved[first + k];
				c->saved[first + k] = NULL;
				c->taken[first + k] = 1;
			}
			pthread_mutex_unlock(&c->lock);
			if (CKPT_ASAN)
				rc = xos__image_read_at(c->dom->memfd, buf, len, (off_t)at);
			for (size_t k = 0; k < np; k++) {
				size_t b = k * c->page, n = len - b < c->page ? len - b : c->page;

				if (src[k])
					memcpy(buf + b, src[k], n);
				else if (!CKPT_ASAN)
					memcpy(buf + b, (const void *)(uintptr_t)(c->dom->base + at + b), n);
				xos__free(src[k]);
			}
			/* Taken: writes to these pages may go on (a waiting one is woken). */
			if (!rc)
				rc = uffd_wp(c->uffd, c->dom->base + at, (len + c->page - 1) / c->page * c->page, false);
			if (!rc) {
				xos__image_sum_data(&sum, buf, len);
				rc = xos__image_write_all(c->fd, buf, len);
			}
		}
	}
	xos__free(buf);
	xos__free(src);
	/* Everything is taken: the EF runs unhindered while the file is sealed and synced. */
	unprotect_all(c);
	if (rc == 0)
		rc = c->fault_err; /* the fault thread has ended: no lock needed */
	return xos__image_sum_finish(&sum, &c->hdr, c->maps, c->ext, c->fd, rc);
}

static void *writer_thread(void *arg)
{
	struct xos__ckpt *c = arg;
	int rc;

	if (c->uffd >= 0) {
		rc = write_snapshot(c);
	} else {
		/* Parked since xos_ef_dump_start: the old way, off the caller's flow. */
		rc = xos__ef_dump(c->ef, c->fd);
		xos__ef_release(c->ef);
	}
	rc = xos__image_commit(c->tmp, c->path, c->fd, rc);
	c->tmp = NULL;
	c->fd = -1;
	pthread_mutex_lock(&c->done_lock);
	c->result = rc;
	c->done = true;
	pthread_cond_broadcast(&c->done_cond);
	pthread_mutex_unlock(&c->done_lock);
	return NULL;
}

static void ckpt_free(struct xos__ckpt *c)
{
	if (!c)
		return;
	unprotect_all(c);
	if (c->saved)
		for (size_t i = 0; i < c->npages; i++)
			xos__free(c->saved[i]);
	xos__free(c->saved);
	xos__free(c->taken);
	xos__free(c->dirty);
	if (c->fd >= 0)
		close(c->fd);
	if (c->tmp) {
		unlink(c->tmp);
		xos__free(c->tmp);
	}
	if (c->stop_efd >= 0)
		close(c->stop_efd);
	if (c->key)
		memset(c->key, 0, sizeof(*c->key));
	xos__free(c->key);
	xos__free(c->maps);
	xos__free(c->ext);
	xos__free(c->path);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->done_lock);
	pthread_cond_destroy(&c->done_cond);
	xos__free(c);
}

/* Everything that needs no stopped EF: header, key, temporary file, userfaultfd. */
static int ckpt_prepare(struct xos_ef *ef, const char *path, unsigned int flags, struct xos__ckpt **ret)
{
	struct xos__domain *d = ef->dom;
	struct xos__ckpt *c = xos__calloc(1, sizeof(*c));
	size_t plen = strlen(path) + 1;
	int rc;

	if (!c)
		return -ENOMEM;
	c->ef = ef;
	c->dom = d;
	c->fd = c->uffd = c->stop_efd = -1;
	c->page = (size_t)sysconf(_SC_PAGESIZE);
	c->npages = d->size / c->page;
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->done_lock, NULL);
	pthread_cond_init(&c->done_cond, NULL);
	c->path = xos__malloc(plen);
	c->maps = xos__calloc(IMG_MAPS_MAX, sizeof(*c->maps));
	c->key = xos__malloc(sizeof(*c->key));
	if (!c->path || !c->maps || !c->key) {
		rc = -ENOMEM;
		goto fail;
	}
	memcpy(c->path, path, plen);
	rc = xos__image_key_load(c->key);
	if (rc == 0)
		rc = xos__image_hdr_init(ef, c->key, &c->hdr, c->maps);
	if (rc == 0)
		rc = xos__image_tmp_open(path, &c->tmp, &c->fd);
	if (rc < 0)
		goto fail;
	if (!(flags & XOS_DUMP_F_STOP) && d->mapped && uffd_open(d, &c->uffd) == 0) {
		c->taken = xos__calloc(c->npages, 1);
		c->saved = xos__calloc(c->npages, sizeof(*c->saved));
		c->dirty = xos__calloc(c->npages / 64 + 1, sizeof(*c->dirty));
		c->stop_efd = eventfd(0, EFD_CLOEXEC);
		if (!c->taken || !c->saved || !c->dirty || c->stop_efd < 0) {
			rc = c->stop_efd < 0 ? -errno : -ENOMEM;
			goto fail;
		}
		rc = -pthread_create(&c->faults, NULL, fault_thread, c);
		if (rc < 0)
			goto fail;
		c->faults_started = true;
		/*
		 * Arm the protection while the EF runs (the part that grows
		 * with the domain): the pages it writes from now until it parks
		 * are noted and protected again in the pause.
		 */
		rc = uffd_wp(c->uffd, d->base, d->size, true);
		if (rc == 0) {
			uint32_t n;

			/* Which pages hold data: every later write is noted (merge_dirty). */
			rc = xos__image_extents(d->memfd, d->size, &c->ext, &n);
			if (rc == 0)
				xos__image_hdr_extents(&c->hdr, c->ext, n);
		}
		if (rc < 0)
			goto fail;
	}
	*ret = c;
	return 0;

fail:
	ckpt_free(c);
	return rc;
}

/*
 * The extents of the snapshot: those found when the protection was armed,
 * plus every page written since (a hole then may hold data now; nothing in
 * libxos turns data back into a hole).  Caller holds the lock.
 */
static int merge_dirty(struct xos__ckpt *c)
{
	size_t words = c->npages / 64 + 1, n = 0, cap = 0;
	uint64_t *data = xos__calloc(words, sizeof(*data));
	struct img_ext *ext = NULL;
	bool any = false;
	int rc;

	for (size_t w = 0; w < words && !any; w++)
		any = c->dirty[w] != 0;
	if (!any) {
		xos__free(data);
		return 0;
	}
	if (!data)
		return -ENOMEM;
	for (uint32_t e = 0; e < c->hdr.nextents; e++)
		for (uint64_t p = c->ext[e].off / c->page; p < (c->ext[e].off + c->ext[e].len + c->page - 1) / c->page; p++)
			data[p / 64] |= 1ull << (p % 64);
	for (size_t w = 0; w < words; w++)
		data[w] |= c->dirty[w];
	for (size_t i = 0; i < c->npages;) {
		size_t j;

		if (!(data[i / 64] & (1ull << (i % 64)))) {
			i++;
			continue;
		}
		for (j = i; j < c->npages && (data[j / 64] & (1ull << (j % 64))); j++)
			;
		rc = xos__image_ext_add(&ext, &n, &cap, (uint64_t)i * c->page, (uint64_t)(j - i) * c->page);
		if (rc < 0) {
			xos__free(ext);
			xos__free(data);
			return rc;
		}
		i = j;
	}
	xos__free(data);
	xos__free(c->ext);
	c->ext = ext;
	xos__image_hdr_extents(&c->hdr, ext, (uint32_t)n);
	return 0;
}

/*
 * In the pause: the pages the EF writes the moment it goes on (its
 * domain header, where its host notes that it runs, and its stack around
 * the saved context) taken as they are and left unprotected, so that
 * going on costs no write fault, which would wait for the fault thread
 * to be scheduled.  Caller holds the lock.
 */
enum { HOT_STACK_PAGES = 2 }; /* each side of the saved stack pointer */

static int take_hot(struct xos__ckpt *c)
{
	const struct xos__domain_hdr *h = c->dom->hdr;
	uintptr_t base = c->dom->base, sp = (uintptr_t)h->ef_sp & ~(uintptr_t)(c->page - 1);
	uintptr_t lo = sp - HOT_STACK_PAGES * c->page, hi = sp + HOT_STACK_PAGES * c->page;
	uintptr_t range[2][2] = { { base, base + c->page }, { lo, hi } };
	int rc;

	if (lo < h->stack_lo || lo >= hi)
		range[1][0] = h->stack_lo;
	if (hi > h->stack_hi)
		range[1][1] = h->stack_hi;
	for (int r = 0; r < 2; r++) {
		for (uintptr_t a = range[r][0]; a < range[r][1]; a += c->page) {
			size_t i = (a - base) / c->page;

			if (a < base || i >= c->npages || c->taken[i])
				continue;
			rc = save_page(c, i);
			if (rc == 0)
				rc = uffd_wp(c->uffd, a, c->page, false);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

/* In the pause: protect again the pages written since the protection was armed, add them to the extents. */
static int snap(struct xos__ckpt *c)
{
	size_t words = c->npages / 64 + 1, i = 0;
	int rc;

	pthread_mutex_lock(&c->lock);
	c->snapped = true;
	rc = merge_dirty(c);
	while (i < c->npages && rc == 0) {
		size_t j;

		if (!c->dirty[i / 64]) {
			i = (i / 64 + 1) * 64;
			continue;
		}
		if (!(c->dirty[i / 64] & (1ull << (i % 64)))) {
			i++;
			continue;
		}
		for (j = i; j < c->npages && (c->dirty[j / 64] & (1ull << (j % 64))); j++)
			;
		rc = uffd_wp(c->uffd, c->dom->base + i * c->page, (j - i) * c->page, true);
		i = j;
	}
	memset(c->dirty, 0, words * sizeof(*c->dirty));
	if (rc == 0)
		rc = take_hot(c);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

static int snap_cb(void *arg)
{
	return snap(arg);
}

int xos_ef_dump_start(struct xos_ef *ef, const char *path, unsigned int flags)
{
	struct xos__ckpt *c = NULL;
	int rc;

	if (!ef || ef->magic != XOS_EF_MAGIC || !path || !*path || (flags & ~(unsigned int)XOS_DUMP_F_STOP))
		return -EINVAL;
	rc = xos__ef_domain_usable(ef);
	if (rc < 0)
		return rc;
	if (ef->dom->size > XOS__DOMAIN_SIZE_MAX)
		return -EFBIG;
	rc = ckpt_prepare(ef, path, flags, &c);
	if (rc < 0)
		return rc;

	if (c->uffd >= 0) {
		/*
		 * The snapshot: no write unseen from now on.  Taken by the EF's
		 * own thread at its safe point, so its pause is the snapshot
		 * alone: no park, release and the two thread wake-ups they cost
		 * (on a loaded machine each can wait a whole time slice).
		 */
		rc = xos__ef_request_call(ef, snap_cb, c);
		if (rc == -EOPNOTSUPP) {
			rc = xos__ef_request(ef, XOS_REQ_PARK);
			if (rc == 0) {
				rc = snap(c);
				xos__ef_release(ef);
			}
		}
	} else {
		rc = xos__ef_request(ef, XOS_REQ_PARK);
	}
	if (rc < 0)
		goto fail;
	/* Without a userfaultfd the EF stays parked: the writer releases it. */
	rc = -pthread_create(&c->writer, NULL, writer_thread, c);
	if (rc < 0) {
		if (c->uffd < 0)
			xos__ef_release(ef);
		goto fail;
	}
	ef->ckpt = c;
	return 0;

fail:
	ckpt_free(c);
	return rc;
}

int xos_ef_dump_wait(struct xos_ef *ef, int timeout_ms)
{
	struct xos__ckpt *c;
	struct timespec until;
	int rc = 0;

	if (!ef || ef->magic != XOS_EF_MAGIC || timeout_ms < -1)
		return -EINVAL;
	if (ef->owner_pid != getpid())
		return -EPERM;
	c = ef->ckpt;
	if (!c)
		return -ENOENT;
	clock_gettime(CLOCK_REALTIME, &until);
	if (timeout_ms > 0) {
		until.tv_sec += timeout_ms / 1000;
		until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_lock(&c->done_lock);
	while (!c->done && rc == 0) {
		if (timeout_ms < 0)
			pthread_cond_wait(&c->done_cond, &c->done_lock);
		else if (timeout_ms == 0)
			rc = -EAGAIN;
		else if (pthread_cond_timedwait(&c->done_cond, &c->done_lock, &until) == ETIMEDOUT)
			rc = c->done ? 0 : -EAGAIN;
	}
	pthread_mutex_unlock(&c->done_lock);
	if (rc < 0)
		return rc;
	pthread_join(c->writer, NULL);
	rc = c->result;
	ef->ckpt = NULL;
	ckpt_free(c);
	return rc;
}

void xos__ckpt_finish(struct xos_ef *ef)
{
	if (ef->ckpt)
		xos_ef_dump_wait(ef, -1);
}
