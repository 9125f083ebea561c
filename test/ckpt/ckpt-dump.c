/* SPDX-License-Identifier: MIT */
/*
 * Description: dumps that do not stop the EF (xos_ef_dump_start and
 * xos_ef_dump_wait), driven by ckpt-dump.sh.  The EF fills 100 MiB of
 * its domain with a pattern, then rewrites one 4 KiB block per step,
 * from the last block down (against the writer's walk, so that its
 * writes hit blocks not yet in the image), each with the step's number,
 * with a safe point between steps.  From the step count n kept on its
 * stack, the content of every block follows: an EF restored from an
 * image checks each word of the 100 MiB against the n it came back with,
 * so any block from before or after the snapshot instant is found.
 *   ckpt-dump snapshot IMG   dump while the EF writes, restore, check every word
 *   ckpt-dump failwrite IMG [full]  a write that fails (RLIMIT_FSIZE; with
 *                            full, IMG is on a filesystem too small for a
 *                            second image): the error is reported, IMG and
 *                            the EF unharmed
 *   ckpt-dump killmid IMG    leave a good IMG, start another dump and die
 *                            by SIGKILL while it writes (exit 77: the dump
 *                            ended before the kill could happen)
 *   ckpt-dump verify IMG     restore IMG here, check every word (exit 0)
 *   ckpt-dump api            argument checks of the two calls
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xos.h>

#define TOUCH ((size_t)100 << 20)
#define BLOCK 4096u
#define NBLOCKS (TOUCH / BLOCK)
#define WORDS (BLOCK / 8)

struct shared {
	_Atomic int ready, stop;
	_Atomic int hold, held;  /* hold: the EF takes no step (held: it saw it) */
	_Atomic uint64_t steps;  /* the EF's n, as it goes */
	_Atomic uint64_t n_seen; /* n of the EF that checked its blocks */
	_Atomic uint64_t bad;    /* words found wrong by that check */
};

struct arg {
	struct shared *sh;
	int pipe[2]; /* the EF writes each block's first word through the kernel: read() from it */
};

static int failed;

#define CHECK(cond, ...)                                                                          \
	do {                                                                                      \
		if (!(cond)) {                                                                    \
			fprintf(stderr, "ckpt-dump: FAIL %s:%d: ", __FILE__, __LINE__);           \
			fprintf(stderr, __VA_ARGS__);                                             \
			fputc('\n', stderr);                                                      \
			failed = 1;                                                               \
		}                                                                                 \
	} while (0)

static inline uint64_t word(size_t block, size_t w, uint64_t gen)
{
	return (gen << 40) ^ ((uint64_t)block << 12) ^ (uint64_t)w ^ 0x5a5a000000000000ull;
}

/* The generation block @b holds after n steps (step k writes block NBLOCKS-1 - k%NBLOCKS with k+1). */
static uint64_t gen_of(size_t b, uint64_t n)
{
	uint64_t j = NBLOCKS - 1 - b;

	if (n <= j)
		return 0;
	return j + (n - 1 - j) / NBLOCKS * NBLOCKS + 1;
}

static int writer_ef(void *argp)
{
	const struct arg *a = argp;
	struct shared *sh = a->sh;
	uint64_t *data = xos_malloc(TOUCH), bad = 0;
	uint64_t n = 0; /* on the domain stack: in the image with the blocks */

	if (!data)
		return 100;
	for (size_t b = 0; b < NBLOCKS; b++)
		for (size_t w = 0; w < WORDS; w++)
			data[b * WORDS + w] = word(b, w, 0);
	atomic_store(&sh->ready, 1);
	while (!atomic_load(&sh->stop)) {
		if (atomic_load(&sh->hold)) {
			atomic_store(&sh->held, 1);
			xos_ef_yield();
			continue;
		}
		size_t b = NBLOCKS - 1 - (size_t)(n % NBLOCKS);

		uint64_t first = word(b, 0, n + 1);

		/* The kernel's write first (copy_to_user on a protected page), then the EF's own. */
		if (write(a->pipe[1], &first, sizeof(first)) != sizeof(first) ||
		    read(a->pipe[0], &data[b * WORDS], sizeof(first)) != sizeof(first))
			return 101;
		for (size_t w = 1; w < WORDS; w++)
			data[b * WORDS + w] = word(b, w, n + 1);
		n++;
		atomic_store(&sh->steps, n);
		xos_ef_yield();
	}
	/* Here after a restore too: every word against the n this EF has. */
	for (size_t b = 0; b < NBLOCKS; b++) {
		uint64_t g = gen_of(b, n);

		for (size_t w = 0; w < WORDS; w++)
			bad += data[b * WORDS + w] != word(b, w, g);
	}
	atomic_store(&sh->n_seen, n);
	atomic_store(&sh->bad, bad);
	return bad ? 1 : 0;
}

static struct shared *sh;

/* A dump of @ef in @img at a step known exactly (the EF holds still meanwhile); that step. */
static uint64_t dump_held(struct xos_ef *ef, const char *img)
{
	uint64_t n;

	atomic_store(&sh->held, 0);
	atomic_store(&sh->hold, 1);
	while (!atomic_load(&sh->held))
		;
	n = atomic_load(&sh->steps);
	CHECK(xos_ef_dump(ef, img) == 0, "dump %s", img);
	atomic_store(&sh->hold, 0);
	return n;
}

static struct xos_ef *start_ef(void)
{
	struct xos_ef_attr attr;
	struct arg a = { .sh = sh };
	struct xos_ef *ef;
	int rc;

	if (pipe(a.pipe) < 0)
		exit(99);
	atomic_store(&sh->ready, 0);
	atomic_store(&sh->stop, 0);
	atomic_store(&sh->steps, 0);
	xos_ef_attr_init(&attr);
	attr.icf = "thread";
	attr.flags = XOS_EF_F_DOMAIN;
	attr.domain_size = (size_t)128 << 20;
	rc = xos_ef_create(&ef, &attr, writer_ef, &a, sizeof(a));
	if (rc == -EOPNOTSUPP) {
		printf("ckpt-dump: no memory domains here\n");
		exit(77);
	}
	if (rc < 0) {
		fprintf(stderr, "ckpt-dump: create: %s\n", strerror(-rc));
		exit(99);
	}
	while (!atomic_load(&sh->ready))
		usleep(1000);
	return ef;
}

/* Let the EF take @more steps (it runs: nothing stops it), then end it; its check's result. */
static int end_ef(struct xos_ef *ef, uint64_t more)
{
	struct xos_ef_exit ex;
	uint64_t s0 = atomic_load(&sh->steps);

	while (atomic_load(&sh->steps) < s0 + more)
		;
	atomic_store(&sh->stop, 1);
	if (xos_ef_join(ef, &ex) < 0)
		return -1;
	return ex.how == XOS_EF_EXITED ? ex.status : 128 + ex.status;
}

/* Restore @img here and let the restored EF check its 100 MiB; its n. */
static uint64_t verify(const char *img)
{
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	int rc;

	atomic_store(&sh->stop, 1); /* it ends at once and checks */
	atomic_store(&sh->bad, UINT64_MAX);
	rc = xos_ef_restore(img, &ef);
	CHECK(rc == 0, "restore %s: %s", img, xos_image_error(rc));
	if (rc < 0)
		return 0;
	rc = xos_ef_join(ef, &ex);
	CHECK(rc == 0 && ex.how == XOS_EF_EXITED && ex.status == 0,
	      "restored EF: join %d, status %d, %llu words wrong of n=%llu", rc, ex.status,
	      (unsigned long long)atomic_load(&sh->bad), (unsigned long long)atomic_load(&sh->n_seen));
	return atomic_load(&sh->n_seen);
}

/* Is a temporary file of @img (IMG.tmp.*) left in its directory? */
static bool tmp_left(const char *img)
{
	char dir[4096], base[4096];
	struct dirent *e;
	bool found = false;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s", img);
	snprintf(base, sizeof(base), "%s.tmp.", basename(dir));
	snprintf(dir, sizeof(dir), "%s", img);
	d = opendir(dirname(dir));
	while (d && (e = readdir(d)))
		found |= strncmp(e->d_name, base, strlen(base)) == 0;
	if (d)
		closedir(d);
	return found;
}

static int snapshot(const char *img)
{
	struct xos_ef *ef = start_ef();
	uint64_t before, after, during = 0, n;
	int rc;

	before = atomic_load(&sh->steps);
	rc = xos_ef_dump_start(ef, img, 0);
	after = atomic_load(&sh->steps);
	CHECK(rc == 0, "dump_start: %s", strerror(-rc));
	if (rc < 0)
		return 1;
	CHECK(xos_ef_dump_start(ef, img, 0) == -EBUSY, "a second dump while one runs");
	CHECK(xos_ef_mutate(ef, "process") == -EBUSY, "mutate while a dump runs");
	while ((rc = xos_ef_dump_wait(ef, 0)) == -EAGAIN)
		during = atomic_load(&sh->steps) - after;
	CHECK(rc == 0, "dump: %s", strerror(-rc));
	CHECK(xos_ef_dump_wait(ef, 0) == -ENOENT, "result collected twice");
	CHECK(!tmp_left(img), "temporary file left behind");
	printf("ckpt-dump: the EF rewrote %llu blocks while the image was written\n",
	       (unsigned long long)during);
	rc = end_ef(ef, 100);
	CHECK(rc == 0, "the dumped EF's own check: status %d", rc);
	CHECK(xos_image_check(img, NULL, 0) == 0, "image check");
	n = verify(img);
	CHECK(n >= before && n <= after, "snapshot at step %llu, dump called at %llu, returned at %llu",
	      (unsigned long long)n, (unsigned long long)before, (unsigned long long)after);
	printf("ckpt-dump: snapshot at step %llu: every word of 100 MiB as it was then\n",
	       (unsigned long long)n);

	/* The flag that keeps the EF parked: same image semantics. */
	ef = start_ef();
	before = atomic_load(&sh->steps);
	rc = xos_ef_dump_start(ef, img, XOS_DUMP_F_STOP);
	after = atomic_load(&sh->steps);
	CHECK(rc == 0, "dump_start STOP: %s", strerror(-rc));
	CHECK(xos_ef_dump_wait(ef, -1) == 0, "dump STOP");
	CHECK(end_ef(ef, 10) == 0, "EF after a STOP dump");
	n = verify(img);
	CHECK(n >= before && n <= after, "STOP snapshot at step %llu, dump called at %llu, returned at %llu",
	      (unsigned long long)n, (unsigned long long)before, (unsigned long long)after);
	return failed;
}

static int read_file(const char *path, unsigned char **ret, size_t *ret_len)
{
	FILE *f = fopen(path, "re");
	struct stat st;

	if (!f || fstat(fileno(f), &st) < 0)
		return -1;
	*ret = malloc((size_t)st.st_size);
	*ret_len = (size_t)st.st_size;
	if (!*ret || fread(*ret, 1, *ret_len, f) != *ret_len) {
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

/* @full: @img is on a small filesystem that the second image overfills (no RLIMIT_FSIZE). */
static int failwrite(const char *img, bool full)
{
	struct xos_ef *ef = start_ef();
	unsigned char *old, *now;
	size_t old_len, now_len;
	struct rlimit rl;
	uint64_t before, n;
	int rc;

	/* A good image first: the one a failed dump must leave. */
	before = dump_held(ef, img);
	CHECK(read_file(img, &old, &old_len) == 0, "read %s", img);
	/* Room for a quarter of the image at most. */
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &rl);
	if (!full) {
		rl.rlim_cur = old_len / 4;
		CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0, "setrlimit");
	}
	rc = xos_ef_dump_start(ef, img, 0);
	if (rc == 0)
		rc = xos_ef_dump_wait(ef, -1);
	printf("ckpt-dump: the failed dump reported: %s\n", strerror(-rc));
	CHECK(rc == (full ? -ENOSPC : -EFBIG), "failed write reported as %d", rc);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_FSIZE, &rl);
	CHECK(read_file(img, &now, &now_len) == 0 && now_len == old_len && memcmp(old, now, old_len) == 0,
	      "the previous image changed");
	CHECK(!tmp_left(img), "temporary file left behind");
	/* The EF runs on, with its domain intact and writable. */
	CHECK(end_ef(ef, 1000) == 0, "EF after the failed dump");
	n = verify(img);
	CHECK(n == before, "the previous image restores to step %llu, not %llu", (unsigned long long)n,
	      (unsigned long long)before);
	free(old);
	free(now);
	return failed;
}

static int killmid(const char *img)
{
	struct xos_ef *ef = start_ef();
	char tmp[8192], dir[4096];
	struct stat st;
	DIR *d;
	int rc;

	printf("ckpt-dump: good image at step %llu\n", (unsigned long long)dump_held(ef, img));
	fflush(stdout);
	rc = xos_ef_dump_start(ef, img, 0);
	CHECK(rc == 0, "dump_start: %s", strerror(-rc));
	if (failed)
		return 1;
	/* Find the temporary file; die once it holds more than 8 MiB, before it is complete. */
	char copy[4096], want[4096];

	snprintf(copy, sizeof(copy), "%s", img);
	snprintf(dir, sizeof(dir), "%s", dirname(copy));
	snprintf(copy, sizeof(copy), "%s", img);
	snprintf(want, sizeof(want), "%s.tmp.", basename(copy));
	tmp[0] = '\0';
	while (xos_ef_dump_wait(ef, 0) == -EAGAIN) {
		if (!tmp[0] && (d = opendir(dir))) {
			struct dirent *e;

			while ((e = readdir(d)))
				if (strncmp(e->d_name, want, strlen(want)) == 0)
					snprintf(tmp, sizeof(tmp), "%s/%s", dir, e->d_name);
			closedir(d);
		}
		if (tmp[0] && stat(tmp, &st) == 0 && st.st_size > (8 << 20) &&
		    (uint64_t)st.st_size < TOUCH) {
			printf("ckpt-dump: killed with %lld bytes of %s written\n", (long long)st.st_size, tmp);
			fflush(stdout);
			kill(getpid(), SIGKILL);
		}
	}
	printf("ckpt-dump: the dump ended before the kill (%s)\n", tmp[0] ? tmp : "temporary file not seen");
	return 77;
}

static int api(void)
{
	struct xos_ef *ef;

	CHECK(xos_ef_dump_start(NULL, "x", 0) == -EINVAL, "NULL ef");
	CHECK(xos_ef_dump_wait(NULL, -1) == -EINVAL, "wait NULL ef");
	ef = start_ef();
	CHECK(xos_ef_dump_start(ef, NULL, 0) == -EINVAL, "NULL path");
	CHECK(xos_ef_dump_start(ef, "", 0) == -EINVAL, "empty path");
	CHECK(xos_ef_dump_start(ef, "/tmp/x", 0x100) == -EINVAL, "unknown flag");
	CHECK(xos_ef_dump_wait(ef, -2) == -EINVAL, "bad timeout");
	CHECK(xos_ef_dump_wait(ef, 0) == -ENOENT, "no dump started");
	CHECK(xos_ef_dump_start(ef, "/nonexistent-dir/img", 0) == -ENOENT, "missing directory");
	CHECK(end_ef(ef, 1) == 0, "EF");
	return failed;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	/* At a fixed address: an EF restored in another process finds it where it was. */
	sh = mmap((void *)0x500000000000ull, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (sh == MAP_FAILED)
		return 99;
	if (strcmp(mode, "api") == 0)
		return api();
	if (argc < 3)
		goto usage;
	if (strcmp(mode, "snapshot") == 0)
		return snapshot(argv[2]);
	if (strcmp(mode, "failwrite") == 0)
		return failwrite(argv[2], argc > 3 && strcmp(argv[3], "full") == 0);
	if (strcmp(mode, "killmid") == 0)
		return killmid(argv[2]);
	if (strcmp(mode, "verify") == 0) {
		uint64_t n = verify(argv[2]);

		printf("ckpt-dump: %s restores to step %llu, every word right\n", argv[2],
		       (unsigned long long)n);
		return failed;
	}
usage:
	fprintf(stderr, "usage: ckpt-dump snapshot|failwrite|killmid|verify IMG | api\n");
	return 99;
}
