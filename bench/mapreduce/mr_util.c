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
#include <sys/resource.h>
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
		"       %s run seq|pthread|ef|pair DIR OUT [REPS]\n"
		"  ef: the ICF and channel mechanism come from XOS_ICF / XOS_CHAN (or xos-run)\n"
		"  pair: ef and pthread alternately, OUT and OUT.pthread, per-run ratios\n",
		app, app);
	return 2;
}

/* CPU time of this process and of its reaped children (process EFs), in ms. */
static double cpu_ms(void)
{
	struct rusage self, kids;

	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	return (self.ru_utime.tv_sec + self.ru_stime.tv_sec + kids.ru_utime.tv_sec +
		kids.ru_stime.tv_sec) * 1e3 +
	       (self.ru_utime.tv_usec + self.ru_stime.tv_usec + kids.ru_utime.tv_usec +
		kids.ru_stime.tv_usec) / 1e3;
}

/* Run @mode once, timed (wall, and CPU into *@ret_cpu); the result replaces *@result. */
static int run_once(const struct mr_bench *b, enum mr_mode mode, const char *dir, void **result,
		    double *ret_ms, double *ret_cpu)
{
	double t0, c0;
	int rc;

	if (*result)
		b->free(*result);
	*result = NULL;
	c0 = cpu_ms();
	t0 = now_ms();
	rc = b->run(mode, dir, result);
	*ret_ms = now_ms() - t0;
	*ret_cpu = cpu_ms() - c0;
	if (rc < 0)
		fprintf(stderr, "%s: run %s failed: %s\n", b->name,
			mode == MR_EF ? "ef" : mode == MR_PTHREAD ? "pthread" : "seq", strerror(-rc));
	return rc;
}

static int write_result(const struct mr_bench *b, const void *result, const char *path)
{
	FILE *out = fopen(path, "w");

	if (!out) {
		fprintf(stderr, "%s: %s: %s\n", b->name, path, strerror(errno));
		return -1;
	}
	b->print(result, out);
	if (fclose(out)) {
		fprintf(stderr, "%s: %s: write failed\n", b->name, path);
		return -1;
	}
	return 0;
}

static double min_of(const double *v, int n)
{
	double m = v[0];

	for (int i = 1; i < n; i++)
		m = v[i] < m ? v[i] : m;
	return m;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * `run pair`: the EF variant and the pthreads baseline alternately in one
 * process (the order flips every repetition), so that both see the same
 * machine load; prints both medians and every per-repetition ratio.  The
 * EF result goes to OUT, the baseline's to OUT.pthread.
 */
static int cmd_run(const struct mr_bench *b, int argc, char **argv)
{
	enum mr_mode mode;
	double ef_ms[64], base_ms[64], ratio[64], cpu_ratio[64], ef_cpu = 0, base_cpu = 0;
	void *result = NULL, *base = NULL;
	int reps = argc > 5 ? atoi(argv[5]) : 1, pair = 0, rc = 0;
	char base_path[MR_PATH_MAX + 16];

	if (!strcmp(argv[2], "seq"))
		mode = MR_SEQ;
	else if (!strcmp(argv[2], "pthread"))
		mode = MR_PTHREAD;
	else if (!strcmp(argv[2], "ef"))
		mode = MR_EF;
	else if (!strcmp(argv[2], "pair"))
		mode = MR_EF, pair = 1;
	else
		return usage(argv[0]);
	if (reps < 1 || reps > 64)
		return usage(argv[0]);

	/* One untimed run first (i = -1): page cache, allocator and runtime warm up. */
	for (int i = -1; i < reps && rc == 0; i++) {
		double t;

		double *bt = &base_ms[i < 0 ? 0 : i];

		if (pair && i % 2 == 0)
			rc = run_once(b, MR_PTHREAD, argv[3], &base, bt, &base_cpu);
		if (rc == 0)
			rc = run_once(b, mode, argv[3], &result, &t, &ef_cpu);
		if (rc == 0 && pair && i % 2 != 0)
			rc = run_once(b, MR_PTHREAD, argv[3], &base, bt, &base_cpu);
		if (rc == 0 && i >= 0) {
			ef_ms[i] = t;
			if (pair) {
				ratio[i] = t / *bt;
				cpu_ratio[i] = base_cpu > 0 ? ef_cpu / base_cpu : 0;
			}
		}
	}
	if (rc == 0 && write_result(b, result, argv[4]) < 0)
		rc = -EIO;
	if (rc == 0 && pair) {
		snprintf(base_path, sizeof(base_path), "%s.pthread", argv[4]);
		if (write_result(b, base, base_path) < 0)
			rc = -EIO;
	}
	if (result)
		b->free(result);
	if (base)
		b->free(base);
	if (rc < 0)
		return 1;
	if (pair) {
		printf("ratios =");
		for (int i = 0; i < reps; i++)
			printf(" %.4f", ratio[i]);
		printf("\nbase_times_ms =");
		for (int i = 0; i < reps; i++)
			printf(" %.3f", base_ms[i]);
		printf("\nbase_ms = %.3f\n", median(base_ms, reps));
		/* Load from elsewhere only adds time: the best runs are the least disturbed. */
		printf("best_ratio = %.4f\n", min_of(ef_ms, reps) / min_of(base_ms, reps));
		/* CPU time spent (all EFs included): the work each variant adds, whatever the load. */
		printf("cpu_ratio = %.4f\n", median(cpu_ratio, reps));
	}
	printf("time_ms = %.3f\n", median(ef_ms, reps));
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
