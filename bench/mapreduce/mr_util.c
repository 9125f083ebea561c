/* SPDX-License-Identifier: MIT */
/*
 * What every application binary of the suite shares: input files, the
 * worker counts, and the command line (generate inputs, run one variant,
 * time it, write its result).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mr.h"

int mr_path(char *buf, const char *dir, const char *name)
{
	int n = snprintf(buf, MR_PATH_MAX, "%s/%s", dir, name);

	return n < 0 || n >= MR_PATH_MAX ? -ENAMETOOLONG : 0;
}

int mr_file_map(const char *path, struct mr_file *ret)
{
	struct stat st;
	void *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	ret->size = (size_t)st.st_size;
	ret->data = NULL;
	if (ret->size) {
		p = mmap(NULL, ret->size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			rc = -errno;
			close(fd);
			return rc;
		}
		ret->data = p;
	}
	close(fd);
	return 0;
}

void mr_file_unmap(struct mr_file *f)
{
	if (f->data)
		munmap((void *)f->data, f->size);
	f->data = NULL;
}

int mr_file_write(const char *dir, const char *name, const void *buf, size_t len)
{
	char path[MR_PATH_MAX];
	const char *p = buf;
	int fd, rc = mr_path(path, dir, name);

	if (rc < 0)
		return rc;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

static int env_int(const char *name, int fallback, int max)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v || !*v)
		return fallback;
	n = strtol(v, &end, 10);
	if (*end || n < 1 || n > max)
		return fallback;
	return (int)n;
}

/* Four maps on two CPUs: enough slack that one slow CPU does not hold the job back. */
int mr_nmap(void)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	return env_int("MR_MAPS", ncpu > 0 && ncpu < MR_MAX_MAPS / 2 ? (int)ncpu * 2 : 4,
		       MR_MAX_MAPS);
}

int mr_nreduce(int fallback)
{
	return env_int("MR_REDUCES", fallback, MR_MAX_PARTS);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int usage(const char *app)
{
	fprintf(stderr,
		"usage: %s gen DIR small|large\n"
		"       %s run seq|pthread|ef DIR OUT [REPS]\n"
		"  ef: the ICF and channel mechanism come from XOS_ICF / XOS_CHAN (or xos-run)\n",
		app, app);
	return 2;
}

static int cmd_run(const struct mr_bench *b, int argc, char **argv)
{
	enum mr_mode mode;
	double times[64];
	void *result = NULL;
	int reps = argc > 5 ? atoi(argv[5]) : 1, rc;
	FILE *out;

	if (!strcmp(argv[2], "seq"))
		mode = MR_SEQ;
	else if (!strcmp(argv[2], "pthread"))
		mode = MR_PTHREAD;
	else if (!strcmp(argv[2], "ef"))
		mode = MR_EF;
	else
		return usage(argv[0]);
	if (reps < 1 || reps > 64)
		return usage(argv[0]);
	if (mode == MR_EF && !mr_chan_available()) {
		/* 77: the test harness's "skipped", with the reason. */
		printf("%s: SKIP: this libxos has no channel layer yet (xos_chan_*): "
		       "the EF variant cannot run\n", b->name);
		return 77;
	}

	/* One untimed run first: page cache, allocator and runtime warm up. */
	for (int i = -1; i < reps; i++) {
		double t0 = now_ms();

		if (result)
			b->free(result);
		result = NULL;
		rc = b->run(mode, argv[3], &result);
		if (rc < 0) {
			fprintf(stderr, "%s: run %s failed: %s\n", b->name, argv[2], strerror(-rc));
			return 1;
		}
		if (i >= 0)
			times[i] = now_ms() - t0;
	}
	out = fopen(argv[4], "w");
	if (!out) {
		fprintf(stderr, "%s: %s: %s\n", b->name, argv[4], strerror(errno));
		b->free(result);
		return 1;
	}
	b->print(result, out);
	b->free(result);
	if (fclose(out)) {
		fprintf(stderr, "%s: %s: write failed\n", b->name, argv[4]);
		return 1;
	}
	qsort(times, (size_t)reps, sizeof(times[0]), cmp_double);
	printf("time_ms = %.3f\n", times[reps / 2]);
	return 0;
}

int mr_main(const struct mr_bench *b, int argc, char **argv)
{
	int rc;

	if (argc == 4 && !strcmp(argv[1], "gen")) {
		if (strcmp(argv[3], "small") && strcmp(argv[3], "large"))
			return usage(argv[0]);
		rc = b->gen(argv[2], !strcmp(argv[3], "large"));
		if (rc < 0) {
			fprintf(stderr, "%s: gen: %s\n", b->name, strerror(-rc));
			return 1;
		}
		return 0;
	}
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "run"))
		return cmd_run(b, argc, argv);
	return usage(argv[0]);
}
