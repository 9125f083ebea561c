/* SPDX-License-Identifier: MIT */
/*
 * What an attacker needs to forge EF images, for the test/security/image-*
 * programs: a genuine image made by this very binary (dumped by a child,
 * without address randomisation), its layout found the way an attacker
 * would (the recorded binary path, then the fields after it), and the
 * public checksum recomputed after an edit.  Only <xos.h> and libc: the
 * image format is not an API, so it is rediscovered, not included.
 */
#ifndef IMAGE_FORGE_H
#define IMAGE_FORGE_H

#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xos.h>

#include "../domains-require.h"

#define T_EXIT_PASS 0
#define T_EXIT_FAIL 1
#define T_EXIT_SKIP 77

#define MAP_REC 536 /* start, end, offset, path[512] */
#define EXT_REC 16  /* off, len */
#define CHUNK_REC 40 /* sum, mac[32] */
#define CHUNK ((size_t)256 << 10)

static inline void t_fail(const char *what, ...) __attribute__((format(printf, 1, 2), noreturn));
static inline void t_fail(const char *what, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL: ");
	va_start(ap, what);
	vfprintf(stderr, what, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(T_EXIT_FAIL);
}

/* Images are restorable only without address randomisation: re-exec so. */
static inline void t_fixed_layout(char **argv)
{
	int p = personality(0xffffffff);

	if (p < 0 || (p & ADDR_NO_RANDOMIZE))
		return;
	if (personality((unsigned long)p | ADDR_NO_RANDOMIZE) < 0)
		return;
	execv("/proc/self/exe", argv);
}

/* ---- the EF that gets dumped ---- */
static atomic_int t_progress;

static inline int t_worker(void *arg)
{
	unsigned long acc = *(const unsigned long *)arg;

	/* Slow enough that the dump finds it alive; the restored rest is short. */
	for (int i = 0; i < 200; i++) {
		acc = acc * 31 + (unsigned long)i;
		atomic_store(&t_progress, i);
		if (i < 50)
			usleep(2000);
		xos_ef_yield();
	}
	return (int)(acc % 100) + 1;
}

/* Dump a live EF of this binary to @path, in a child (its domain leaves with it). */
static inline void t_make_image(const char *path)
{
	pid_t pid;
	int st;

	setvbuf(stdout, NULL, _IONBF, 0); /* children must not print the parent's buffer again */
	t_domains_require(); /* an image is a domain's dump */
	pid = fork();
	if (pid < 0)
		t_fail("fork: %s", strerror(errno));
	if (pid == 0) {
		struct xos_ef_attr attr;
		struct xos_ef *ef;
		unsigned long seed = 7;
		int rc;

		xos_ef_attr_init(&attr);
		attr.icf = "thread";
		attr.flags = XOS_EF_F_DOMAIN;
		attr.domain_size = 4 << 20;
		rc = xos_ef_create(&ef, &attr, t_worker, &seed, sizeof(seed));
		if (rc < 0) {
			fprintf(stderr, "create: %s\n", strerror(-rc));
			_exit(3);
		}
		while (atomic_load(&t_progress) < 20)
			usleep(1000);
		rc = xos_ef_dump(ef, path);
		if (rc < 0)
			fprintf(stderr, "dump: %s\n", strerror(-rc));
		xos_ef_join(ef, NULL);
		_exit(rc < 0 ? 3 : 0);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		t_fail("could not make a genuine image");
}

/* ---- the image as bytes, and where its fields are ---- */
struct t_image {
	unsigned char *b;
	size_t len;
	size_t hdr_size, exe_off, dom_off; /* dom_off: dom_base, dom_size, nmaps, nextents */
	uint32_t nmaps, nextents;
	size_t ext_off, chunk_off, data_at;
	uint32_t nchunks;
};

static inline uint64_t t_u64(const struct t_image *im, size_t off)
{
	uint64_t v;

	memcpy(&v, im->b + off, 8);
	return v;
}

static inline void t_put64(struct t_image *im, size_t off, uint64_t v)
{
	memcpy(im->b + off, &v, 8);
}

static inline void t_load(struct t_image *im, const char *path)
{
	char self[1024];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	FILE *f = fopen(path, "rb");
	uint32_t v;

	memset(im, 0, sizeof(*im));
	if (!f || n <= 0)
		t_fail("open %s", path);
	self[n] = '\0';
	fseek(f, 0, SEEK_END);
	im->len = (size_t)ftell(f);
	rewind(f);
	im->b = malloc(im->len + 1);
	if (!im->b || fread(im->b, 1, im->len, f) != im->len)
		t_fail("read %s", path);
	fclose(f);
	memcpy(&v, im->b + 12, 4);
	im->hdr_size = v;
	/* The recorded binary path, then (8-aligned after its 1024 bytes) the domain fields. */
	for (size_t o = 16; o + (size_t)n < im->hdr_size && !im->exe_off; o++)
		if (memcmp(im->b + o, self, (size_t)n + 1) == 0)
			im->exe_off = o;
	if (!im->exe_off)
		t_fail("no binary path in the image");
	im->dom_off = (im->exe_off + 1024 + 7) & ~(size_t)7;
	memcpy(&im->nmaps, im->b + im->dom_off + 16, 4);
	memcpy(&im->nextents, im->b + im->dom_off + 20, 4);
	im->ext_off = im->hdr_size + (size_t)im->nmaps * MAP_REC;
	im->chunk_off = im->ext_off + (size_t)im->nextents * EXT_REC;
	if (im->chunk_off > im->len)
		t_fail("image layout not understood");
	im->nchunks = 0;
	for (uint32_t i = 0; i < im->nextents; i++)
		im->nchunks += (uint32_t)((t_u64(im, im->ext_off + i * EXT_REC + 8) + CHUNK - 1) / CHUNK);
	im->data_at = im->chunk_off + (size_t)im->nchunks * CHUNK_REC;
	if (im->data_at > im->len)
		t_fail("image layout not understood");
}

/* The chunk table's size for one extent of @len bytes. */
static inline size_t t_chunk_table(uint64_t len)
{
	return (size_t)((len + CHUNK - 1) / CHUNK) * CHUNK_REC;
}

static inline void t_save(const struct t_image *im, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || write(fd, im->b, im->len) != (ssize_t)im->len || close(fd) < 0)
		t_fail("write %s", path);
}

/* ---- the public checksum (src/runtime: eight multiply-shift lanes) ---- */
#define K1 0x9e6c63d0676a9a99ull
#define K2 0xc2b2ae3d27d4eb4full
#define K3 0x165667b19e3779f9ull

static inline uint64_t t_rotl(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t t_hash64(const unsigned char *p, size_t len, uint64_t seed)
{
	uint64_t v[8], h, w;
	size_t i = 0;

	for (int k = 0; k < 8; k++)
		v[k] = seed + K3 * (uint64_t)(k + 1);
	for (; i + 64 <= len; i += 64) {
		uint64_t x[8];

		memcpy(x, p + i, 64);
		for (int k = 0; k < 8; k++) {
			v[k] = (v[k] ^ x[k]) * K1;
			v[k] ^= v[k] >> 29;
		}
	}
	h = len * K2;
	for (int k = 0; k < 8; k++)
		h = t_rotl(h ^ (v[k] * K2), 27) * K1;
	for (; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		h = t_rotl(h ^ (w * K2), 27) * K1 + K3;
	}
	for (; i < len; i++)
		h = t_rotl(h ^ (p[i] * K3), 11) * K1;
	h ^= h >> 33;
	h *= K2;
	h ^= h >> 29;
	return h;
}

static inline uint64_t t_fold(uint64_t acc, const unsigned char *p, size_t len)
{
	return t_rotl(acc, 5) ^ t_hash64(p, len, acc);
}

/* Recompute the header's checksum over header and tables only, the chunk table as it is. */
static inline void t_reseal_tables(struct t_image *im)
{
	uint64_t acc = 0;

	acc = t_fold(acc, im->b + im->hdr_size, (size_t)im->nmaps * MAP_REC);
	acc = t_fold(acc, im->b + im->ext_off, (size_t)im->nextents * EXT_REC);
	acc = t_fold(acc, im->b + im->chunk_off, (size_t)im->nchunks * CHUNK_REC);
	t_put64(im, 24, 0);
	t_put64(im, 24, acc ^ t_hash64(im->b, im->hdr_size, acc));
}

/* Recompute the checksum of the (edited) image: it passes every integrity check but a MAC. */
static inline void t_reseal(struct t_image *im)
{
	size_t at = im->data_at;
	uint32_t c = 0;

	/* Each chunk's sum (seeded by its index), then header and tables. */
	for (uint32_t i = 0; i < im->nextents; i++) {
		uint64_t len = t_u64(im, im->ext_off + i * EXT_REC + 8);

		for (uint64_t o = 0; o < len; o += CHUNK, c++) {
			size_t n = len - o < CHUNK ? (size_t)(len - o) : CHUNK;

			t_put64(im, im->chunk_off + (size_t)c * CHUNK_REC, t_hash64(im->b + at, n, K2 * ((uint64_t)c + 1)));
			at += n;
		}
	}
	t_reseal_tables(im);
}

/*
 * Restore @path in a child with a deadline; the child reports the return
 * code.  Returns the child's xos_ef_restore() result, or fails the test if
 * the child hung or died of a signal (a crash is never a refusal).
 */
static inline int t_restore_in_child(const char *path, unsigned int deadline_s)
{
	int pfd[2], st, rc = 0;
	pid_t pid;

	if (pipe(pfd) < 0)
		t_fail("pipe");
	pid = fork();
	if (pid == 0) {
		struct xos_ef *ef;
		int r;

		close(pfd[0]);
		alarm(deadline_s);
		r = xos_ef_restore(path, &ef);
		if (write(pfd[1], &r, sizeof(r)) != sizeof(r))
			_exit(4);
		if (r == 0)
			xos_ef_join(ef, NULL);
		_exit(0);
	}
	close(pfd[1]);
	if (read(pfd[0], &rc, sizeof(rc)) != sizeof(rc))
		rc = 1; /* no answer: judged by how it ended */
	close(pfd[0]);
	waitpid(pid, &st, 0);
	if (WIFSIGNALED(st))
		t_fail("restoring %s: child killed by signal %d (%s)", path, WTERMSIG(st),
		       WTERMSIG(st) == SIGALRM ? "hung" : strsignal(WTERMSIG(st)));
	if (rc == 1)
		t_fail("restoring %s: no result", path);
	return rc;
}

#endif /* IMAGE_FORGE_H */
