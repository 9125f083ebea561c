/* SPDX-License-Identifier: MIT */
/*
 * linear_regression: least-squares line through points (x, y), each a
 * pair of bytes in the input file.
 *
 * Map tasks are ranges of points; each map sums n, x, y, x², y² and xy
 * exactly (64-bit integers) and writes one record to partition 0; the
 * reducer adds the records; the master derives slope, intercept and r²
 * from the exact sums, so every variant prints the same digits.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mr.h"

#define INPUT "linear_regression.dat"

struct sums {
	uint64_t n, x, y, xx, yy, xy;
};

static void sum_points(const unsigned char *p, size_t npoints, struct sums *s)
{
	uint64_t x = 0, y = 0, xx = 0, yy = 0, xy = 0;

	for (size_t i = 0; i < npoints; i++, p += 2) {
		uint32_t a = p[0], b = p[1];

		x += a;
		y += b;
		xx += a * a;
		yy += b * b;
		xy += a * b;
	}
	s->n += npoints;
	s->x += x;
	s->y += y;
	s->xx += xx;
	s->yy += yy;
	s->xy += xy;
}

static void sums_add(struct sums *s, const struct sums *t)
{
	s->n += t->n;
	s->x += t->x;
	s->y += t->y;
	s->xx += t->xx;
	s->yy += t->yy;
	s->xy += t->xy;
}

struct lr_task {
	char path[MR_PATH_MAX];
	uint64_t first, count; /* points */
};

static int lr_map(const void *task, struct mr_writer **parts, int nparts)
{
	const struct lr_task *tk = task;
	struct sums s = { 0 };
	struct mr_file f;
	int rc = mr_file_map(tk->path, &f);

	(void)nparts;
	if (rc < 0)
		return rc;
	if ((tk->first + tk->count) * 2 > f.size)
		rc = -EINVAL;
	else
		sum_points(f.data + tk->first * 2, tk->count, &s);
	mr_file_unmap(&f);
	return rc ? rc : mr_write(parts[0], &s, sizeof(s));
}

static int add_record(struct sums *s, const void *rec, size_t len)
{
	if (len != sizeof(*s))
		return -EBADMSG;
	sums_add(s, rec);
	return 0;
}

static int lr_reduce(int part, struct mr_reader *in, struct mr_writer *out)
{
	struct sums s = { 0 };
	const void *rec;
	size_t len;
	int rc = 0;

	(void)part;
	while (rc == 0 && (rec = mr_get(in, &len)))
		rc = add_record(&s, rec, len);
	if (rc == 0)
		rc = mr_reader_error(in);
	return rc ? rc : mr_write(out, &s, sizeof(s));
}

static int lr_merge(void *result, const void *rec, size_t len)
{
	return add_record(result, rec, len);
}

static int lr_run(enum mr_mode mode, const char *dir, void **ret_result)
{
	struct sums *s = calloc(1, sizeof(*s));
	struct lr_task tasks[MR_MAX_MAPS];
	struct mr_spec spec = {
		.name = "linear_regression",
		.task_size = sizeof(struct lr_task),
		.map = lr_map,
		.reduce = lr_reduce,
		.merge = lr_merge,
	};
	char path[MR_PATH_MAX];
	struct mr_file f;
	size_t npoints;
	int rc;

	if (!s)
		return -ENOMEM;
	rc = mr_path(path, dir, INPUT);
	if (rc == 0)
		rc = mr_file_map(path, &f);
	if (rc < 0)
		goto fail;
	npoints = f.size / 2;
	if (mode == MR_SEQ)
		sum_points(f.data, npoints, s);
	mr_file_unmap(&f);
	if (mode != MR_SEQ) {
		spec.nmap = mr_nmap();
		spec.nreduce = 1; /* one key: the sums */
		for (int m = 0; m < spec.nmap; m++) {
			uint64_t a = npoints * (uint64_t)m / spec.nmap;
			uint64_t b = npoints * (uint64_t)(m + 1) / spec.nmap;

			memset(&tasks[m], 0, sizeof(tasks[m]));
			memcpy(tasks[m].path, path, sizeof(path));
			tasks[m].first = a;
			tasks[m].count = b - a;
		}
		rc = mr_run(mode, &spec, tasks, s);
		if (rc < 0)
			goto fail;
	}
	*ret_result = s;
	return 0;
fail:
	free(s);
	return rc;
}

static void lr_print(const void *result, FILE *out)
{
	const struct sums *s = result;
	double n = (double)s->n, sx = (double)s->x, sy = (double)s->y;
	double dx = n * (double)s->xx - sx * sx, dy = n * (double)s->yy - sy * sy;
	double cxy = n * (double)s->xy - sx * sy;
	double b = dx ? cxy / dx : 0, a = n ? (sy - b * sx) / n : 0;
	double r2 = dx && dy ? cxy * cxy / (dx * dy) : 0;

	fprintf(out, "n %llu sx %llu sy %llu sxx %llu syy %llu sxy %llu\n",
		(unsigned long long)s->n, (unsigned long long)s->x, (unsigned long long)s->y,
		(unsigned long long)s->xx, (unsigned long long)s->yy, (unsigned long long)s->xy);
	fprintf(out, "slope %.9g intercept %.9g r2 %.9g\n", b, a, r2);
}

/* Points near y = 0.6 x + 40, with noise. */
static int lr_gen(const char *dir, int large)
{
	size_t npoints = large ? (64u << 20) : (64u << 10);
	unsigned char *p = malloc(npoints * 2);
	uint64_t rng = 0x5eed0003;
	int rc;

	if (!p)
		return -ENOMEM;
	for (size_t i = 0; i < npoints; i++) {
		uint64_t r = mr_rand(&rng);
		int x = (int)(r & 255), y = x * 3 / 5 + 40 + (int)((r >> 8) % 61) - 30;

		p[2 * i] = (unsigned char)x;
		p[2 * i + 1] = (unsigned char)(y < 0 ? 0 : y > 255 ? 255 : y);
	}
	rc = mr_file_write(dir, INPUT, p, npoints * 2);
	free(p);
	return rc;
}

static const struct mr_bench lr_bench = {
	.name = "linear_regression",
	.gen = lr_gen,
	.run = lr_run,
	.print = lr_print,
	.free = free,
};

int main(int argc, char **argv)
{
	return mr_main(&lr_bench, argc, argv);
}
