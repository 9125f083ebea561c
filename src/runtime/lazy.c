/* SPDX-License-Identifier: MIT */
/*
 * Lazy restore: the EF runs while its domain is brought in.
 *
 * The restorer registers the domain's range with a userfaultfd for
 * missing pages (the restorer owns it: a sandboxed EF's filter refuses
 * userfaultfd, and it needs none).  Before the EF runs, the chunks of the
 * domain header and of the saved context are brought in and checked like
 * any restore.  Then two threads bring in the rest: one serves faults,
 * one, at a lower priority, fills the chunks in domain order (two threads: one serves faults, one at a lower priority
 * fills): a fault's chunk is read, verified against the image's
 * chunk table (checksum, and HMAC when keyed) and only then copied in
 * (UFFDIO_COPY), so no byte the EF can see is unverified; a fault in a
 * hole gets a zero page.  When every chunk is in, the range is
 * unregistered and the thread ends.
 *
 * A chunk that fails its check after the EF has started: its pages are
 * poisoned (UFFDIO_POISON), so touching them raises SIGBUS in the toucher
 * (the EF itself: the runtime ends the EF alone, mutate.c; any other
 * thread: the process's SIGBUS), one line names the chunk, and the error
 * stays for the restorer's caller: xos_ef_join() and every later use of
 * the domain (dump, mutate) return it.
 *
 * Only where the EF runs on the mapping the restorer registered (the
 * thread ICF) and only with a userfaultfd that serves kernel faults too
 * and can poison; elsewhere the restore stays eager (dump.c).
 */
#include "config.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "image_i.h"

/* Older headers: the kernel's values (Linux 6.6). */
#ifndef UFFD_FEATURE_POISON
#define UFFD_FEATURE_POISON (1 << 14)
#endif
#ifndef _UFFDIO_POISON
#define _UFFDIO_POISON (0x08)
struct uffdio_poison {
	struct uffdio_range range;
	__u64 mode;
	__s64 updated;
};
#define UFFDIO_POISON _IOWR(UFFDIO, _UFFDIO_POISON, struct uffdio_poison)
#endif

enum { CH_MISSING, CH_LOADING, CH_IN, CH_BAD };

struct xos__lazy {
	struct xos__image img;
	struct xos__image_key key;
	int fd;   /* the image */
	int uffd;
	int stop; /* eventfd: end the server */
	uintptr_t base;
	size_t size, page;
	uint8_t *state; /* per chunk, CH_*: under lock */
	unsigned char *buf, *fill_buf; /* the fault server's (and the restorer's before), the filler's */
	pthread_t tid, fill_tid;
	bool running, filling;
	atomic_bool stopping;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done; /* every chunk in, or one bad: under lock */
	atomic_bool poisoned; /* some pages raise SIGBUS: read by the SIGBUS handler (mutate.c) */
	int err;   /* under lock */
	uint64_t t_done_ns;
};

static int uffd_copy(struct xos__lazy *l, uint64_t off, const void *src, size_t len)
{
	size_t at = 0;

	while (at < len) {
		struct uffdio_copy c = {
			.dst = l->base + off + at,
			.src = (uintptr_t)src + at,
			.len = len - at,
		};

		if (ioctl(l->uffd, UFFDIO_COPY, &c) == 0) {
			at = len;
		} else if (errno == EAGAIN || errno == EINTR) {
			if (c.copy > 0)
				at += (size_t)c.copy;
		} else if (errno == EEXIST) {
			/* A page already in (a hole's zero page cannot be: holes are outside chunks). */
			at += c.copy > 0 ? (size_t)c.copy : l->page;
		} else {
			return -errno;
		}
	}
	return 0;
}

static void uffd_wake(struct xos__lazy *l, uint64_t addr, size_t len)
{
	struct uffdio_range r = { .start = addr, .len = len };

	ioctl(l->uffd, UFFDIO_WAKE, &r);
}

/* Chunk @c: read, verify, copy in through @buf; or, failing the check, poison its pages. */
static int load_chunk(struct xos__lazy *l, uint32_t c, unsigned char *buf)
{
	const struct xos__image_loc *loc = &l->img.loc[c];
	size_t len = (loc->len + l->page - 1) / l->page * l->page;
	int rc;

	/* One loader per chunk: the other waits for its result. */
	pthread_mutex_lock(&l->lock);
	while (l->state[c] == CH_LOADING)
		pthread_cond_wait(&l->cond, &l->lock);
	rc = l->state[c] == CH_IN ? 1 : l->state[c] == CH_BAD ? -EBADMSG : 0;
	if (rc == 0)
		l->state[c] = CH_LOADING;
	pthread_mutex_unlock(&l->lock);
	if (rc)
		return rc > 0 ? 0 : rc;
	memset(buf + loc->len, 0, len - loc->len);
	rc = xos__image_read_at(l->fd, buf, loc->len, (off_t)loc->file_off);
	if (rc == -ENODATA)
		rc = -EBADMSG; /* shrunk under us */
	if (rc == 0)
		rc = xos__image_chunk_check(&l->img, &l->key, c, buf);
	if (rc == 0)
		rc = uffd_copy(l, loc->dom_off, buf, len);
	if (rc == -EBADMSG || rc == -EKEYREJECTED) {
		struct uffdio_poison p = { .range = { .start = l->base + loc->dom_off, .len = len } };

		atomic_store(&l->poisoned, true); /* before a toucher can take the SIGBUS */
		ioctl(l->uffd, UFFDIO_POISON, &p);
		xos__log_error("restore: chunk %u of the image (domain bytes %#llx-%#llx) %s; its pages raise SIGBUS",
			       c, (unsigned long long)loc->dom_off, (unsigned long long)(loc->dom_off + len),
			       rc == -EBADMSG ? "is corrupted" : "is not authenticated by the key");
	}
	pthread_mutex_lock(&l->lock);
	/* Anything else (no memory, an I/O error) leaves it missing for another try. */
	l->state[c] = rc == 0 ? CH_IN : rc == -EBADMSG || rc == -EKEYREJECTED ? CH_BAD : CH_MISSING;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
	return rc;
}

/* Bring in whatever holds domain bytes [@off, @off+@len): chunks, or zero pages for holes. */
static int load_range(struct xos__lazy *l, uint64_t off, size_t len, unsigned char *buf)
{
	uint64_t end = off + len;
	int rc = 0;

	for (off = off / l->page * l->page; off < end && rc == 0; off += l->page) {
		int64_t c = xos__image_chunk_at(&l->img, off);

		if (c >= 0) {
			rc = load_chunk(l, (uint32_t)c, buf);
		} else {
			struct uffdio_zeropage z = { .range = { .start = l->base + off, .len = l->page } };

			if (ioctl(l->uffd, UFFDIO_ZEROPAGE, &z) < 0 && errno != EEXIST) {
				memset(buf, 0, l->page);
				rc = uffd_copy(l, off, buf, l->page);
			}
		}
	}
	return rc;
}

static void finish(struct xos__lazy *l, int err)
{
	pthread_mutex_lock(&l->lock);
	if (err && !l->err)
		l->err = err;
	l->done = true;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
}

/* Serve the faults waiting now; 0, or -errno of a failed chunk. */
static int serve_faults(struct xos__lazy *l)
{
	struct uffd_msg msg[16];
	int err = 0;

	for (;;) {
		ssize_t n = read(l->uffd, msg, sizeof(msg));

		if (n <= 0)
			return err;
		for (ssize_t k = 0; k < n / (ssize_t)sizeof(msg[0]); k++) {
			uint64_t a = msg[k].arg.pagefault.address / l->page * l->page;
			int rc;

			if (msg[k].event != UFFD_EVENT_PAGEFAULT || a < l->base || a >= l->base + l->size)
				continue;
			rc = load_range(l, a - l->base, l->page, l->buf);
			if (rc < 0 && !err)
				err = rc;
			/* Woken by the copy; by hand when the page was already in or poisoned. */
			uffd_wake(l, a, l->page);
		}
	}
}

static void block_signals(void)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
}

/* The fault server: blocks until a fault or the end. */
static void *server(void *arg)
{
	struct xos__lazy *l = arg;

	block_signals();
	for (;;) {
		struct pollfd p[2] = { { .fd = l->uffd, .events = POLLIN }, { .fd = l->stop, .events = POLLIN } };
		int rc;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (p[0].revents & POLLIN) {
			rc = serve_faults(l);
			if (rc < 0)
				finish(l, rc);
		}
	}
	return NULL;
}

/*
 * The filler: every chunk in domain order, at a low priority so the EF and
 * the fault server go first; then unregisters the range (waiters are
 * woken, holes fault as usual from then on).  After a bad chunk it ends
 * and leaves the range registered: the server keeps serving holes and
 * the poisoned pages stay poisoned.
 */
static void *filler(void *arg)
{
	struct xos__lazy *l = arg;
	int err = 0;

	block_signals();
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10) < 0)
		xos__log_debug("lazy: filler priority: %s", strerror(errno));
	for (uint32_t c = 0; c < l->img.nchunks && !err && !atomic_load(&l->stopping); c++)
		err = load_chunk(l, c, l->fill_buf);
	if (err) {
		finish(l, err);
	} else if (!atomic_load(&l->stopping)) {
		struct uffdio_range r = { .start = l->base, .len = l->size };
		struct timespec ts;

		ioctl(l->uffd, UFFDIO_UNREGISTER, &r);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		l->t_done_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
		finish(l, 0);
	}
	return NULL;
}

int xos__lazy_open(struct xos__domain *d, int fd, struct xos__image *img, const struct xos__image_key *key,
		   struct xos__lazy **ret)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_MISSING_SHMEM | UFFD_FEATURE_POISON };
	struct uffdio_register reg = {
		.range = { .start = d->base, .len = d->size },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	struct xos__lazy *l;
	int rc;

	l = xos__calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->fd = l->uffd = l->stop = -1;
	l->base = d->base;
	l->size = d->size;
	l->page = (size_t)sysconf(_SC_PAGESIZE);
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
	/* Nothing present: domain_map's look at the header made page 0 (zero) exist. */
	if (fallocate(d->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, (off_t)d->size) < 0) {
		rc = -errno;
		goto fail;
	}
	/* Kernel faults too (an EF's read() into its domain): refused unprivileged, then eager. */
	l->uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (l->uffd < 0) {
		rc = -errno;
		goto fail;
	}
	if (ioctl(l->uffd, UFFDIO_API, &api) < 0 || ioctl(l->uffd, UFFDIO_REGISTER, &reg) < 0) {
		rc = -errno;
		goto fail;
	}
	if (!(reg.ioctls & (1ull << _UFFDIO_COPY)) || !(api.features & UFFD_FEATURE_POISON)) {
		rc = -EOPNOTSUPP;
		goto fail;
	}
	l->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	l->stop = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	l->state = xos__calloc(img->nchunks + 1, 1);
	l->buf = xos__malloc(XOS__IMAGE_CHUNK + l->page);
	l->fill_buf = xos__malloc(XOS__IMAGE_CHUNK + l->page);
	if (l->fd < 0 || l->stop < 0 || !l->state || !l->buf || !l->fill_buf) {
		rc = l->fd < 0 || l->stop < 0 ? -errno : -ENOMEM;
		goto fail;
	}
	/* The image's tables move here; the caller's are released empty. */
	l->img = *img;
	memset(img, 0, sizeof(*img));
	l->key = *key;
	*ret = l;
	return 0;

fail:
	xos__lazy_close(l);
	return rc;
}

const struct xos__image *xos__lazy_image(const struct xos__lazy *l)
{
	return &l->img;
}

int xos__lazy_prefetch(struct xos__lazy *l, uint64_t off, size_t len)
{
	if (off > l->size || len > l->size - off)
		return -EBADMSG;
	return load_range(l, off, len, l->buf);
}

int xos__lazy_start(struct xos__lazy *l)
{
	int rc = pthread_create(&l->tid, NULL, server, l);

	if (rc)
		return -rc;
	l->running = true;
	rc = pthread_create(&l->fill_tid, NULL, filler, l);
	if (rc)
		return -rc;
	l->filling = true;
	return 0;
}

int xos__lazy_wait(struct xos__lazy *l, uint64_t *ret_done_ns)
{
	int rc;

	pthread_mutex_lock(&l->lock);
	while (!l->done)
		pthread_cond_wait(&l->cond, &l->lock);
	rc = l->err;
	pthread_mutex_unlock(&l->lock);
	if (ret_done_ns)
		*ret_done_ns = l->t_done_ns;
	return rc;
}

bool xos__lazy_poisoned(const struct xos__lazy *l)
{
	return l && atomic_load(&l->poisoned);
}

int xos__lazy_error(struct xos__lazy *l)
{
	int rc;

	pthread_mutex_lock(&l->lock);
	rc = l->err;
	pthread_mutex_unlock(&l->lock);
	return rc;
}

void xos__lazy_close(struct xos__lazy *l)
{
	uint64_t one = 1;

	if (!l)
		return;
	atomic_store(&l->stopping, true);
	/* The filler first: it may wait for a chunk the server is loading. */
	if (l->filling)
		pthread_join(l->fill_tid, NULL);
	if (l->running) {
		if (write(l->stop, &one, sizeof(one)) < 0)
			xos__log_debug("lazy: stop: %s", strerror(errno));
		pthread_join(l->tid, NULL);
	}
	if (l->uffd >= 0)
		close(l->uffd);
	if (l->fd >= 0)
		close(l->fd);
	if (l->stop >= 0)
		close(l->stop);
	xos__image_release(&l->img);
	memset(&l->key, 0, sizeof(l->key));
	xos__free(l->state);
	xos__free(l->buf);
	xos__free(l->fill_buf);
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->cond);
	xos__free(l);
}
