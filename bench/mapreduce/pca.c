/* SPDX-License-Identifier: MIT */
/*
 * pca: the mean of every row of a matrix and the covariance matrix of its
 * rows (Phoenix's pca), in two MapReduce jobs.
 *
 * Job 1: maps sum ranges of rows; records (row, sum) go to partition
 * row % P and the reducers forward them.  Job 2: the row sums travel by
 * value in each map task; a map takes a band of the upper triangle
 * (bands balanced by area), computes for each of its rows i and every
 * j >= i the exact integer C[i][j] = n * sum_k x_ik x_jk - s_i s_j (n
 * columns), and writes one record per row to partition i % P; the
 * reducers turn C into covariances, C / (n (n - 1)).  Output: the row
 * means, an FNV digest of every exact C[i][j], and the covariance
 * diagonal.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mr.h"

#define INPUT "pca.mat"
#define MAX_ROWS 1024
#define MAX_COLS 32768 /* values < 256: a row dot product fits 32 bits */

struct mat_hdr {
	uint32_t rows, cols;
};

struct pca_result {
	uint32_t rows, cols;
	int64_t sum[MAX_ROWS];
	uint64_t digest; /* over C[i][j], i <= j, in row order */
	double cov_diag[MAX_ROWS];
	/* The master receives rows in partition order: keep them until it prints. */
	int64_t *c;  /* rows x rows, upper triangle used */
	double *cov; /* same layout */
};

/* Map the matrix and check its header; *@ret_x points to the values. */
static int mat_map(const char *path, struct mr_file *f, struct mat_hdr *h, const uint32_t **ret_x)
{
	int rc = mr_file_map(path, f);

	if (rc < 0)
		return rc;
	if (f->size < sizeof(*h)) {
		mr_file_unmap(f);
		return -EINVAL;
	}
	memcpy(h, f->data, sizeof(*h));
	if (!h->rows || h->rows > MAX_ROWS || !h->cols || h->cols > MAX_COLS ||
	    sizeof(*h) + (uint64_t)h->rows * h->cols * 4 > f->size) {
		mr_file_unmap(f);
		return -EINVAL;
	}
	*ret_x = (const uint32_t *)(f->data + sizeof(*h));
	return 0;
}

static int64_t row_sum(const uint32_t *x, uint32_t cols)
{
	int64_t s = 0;

	for (uint32_t k = 0; k < cols; k++)
		s += x[k];
	return s;
}

static uint32_t dot(const uint32_t *a, const uint32_t *b, uint32_t cols)
{
	uint32_t s = 0;

	for (uint32_t k = 0; k < cols; k++)
		s += a[k] * b[k];
	return s;
}

/* C[i][j] for j >= i, into @c[j - i]. */
static void cov_row(const uint32_t *x, const struct mat_hdr *h, const int64_t *sum, uint32_t i,
		    int64_t *c)
{
	for (uint32_t j = i; j < h->rows; j++)
		c[j - i] = (int64_t)h->cols * dot(x + (size_t)i * h->cols, x + (size_t)j * h->cols,
						  h->cols) -
			   sum[i] * sum[j];
}

/* ---- job 1: row sums --------------------------------------------------------------- */

struct mean_task {
	char path[MR_PATH_MAX];
	uint32_t row0, row1;
};

struct sum_rec {
	uint32_t row, pad;
	int64_t sum;
};

static int mean_map(const void *task, struct mr_writer **parts, int nparts)
{
	const struct mean_task *tk = task;
	const uint32_t *x;
	struct mat_hdr h;
	struct mr_file f;
	int rc = mat_map(tk->path, &f, &h, &x);

	if (rc < 0)
		return rc;
	if (tk->row1 > h.rows)
		rc = -EINVAL;
	for (uint32_t i = tk->row0; rc == 0 && i < tk->row1; i++) {
		struct sum_rec r = { .row = i, .sum = row_sum(x + (size_t)i * h.cols, h.cols) };

		rc = mr_write(parts[i % (uint32_t)nparts], &r, sizeof(r));
	}
	mr_file_unmap(&f);
	return rc;
}

/* Job 1's reducers forward the sums (their rows are disjoint). */
static int mean_reduce(int part, struct mr_reader *in, struct mr_writer *out)
{
	const void *rec;
	size_t len;
	int rc = 0;

	(void)part;
	while (rc == 0 && (rec = mr_get(in, &len)))
		rc = len == sizeof(struct sum_rec) ? mr_write(out, rec, len) : -EBADMSG;
	return rc ? rc : mr_reader_error(in);
}

static int mean_merge(void *result, const void *rec, size_t len)
{
	struct pca_result *p = result;
	const struct sum_rec *r = rec;

	if (len != sizeof(*r) || r->row >= p->rows)
		return -EBADMSG;
	p->sum[r->row] = r->sum;
	return 0;
}

/* ---- job 2: covariance ---------------------------------------------------------------- */

struct cov_task {
	char path[MR_PATH_MAX];
	uint32_t row0, row1;
	int64_t sum[MAX_ROWS];
};

/* One row of the upper triangle: row, then C or covariance for j = row..rows-1. */
struct row_rec {
	uint32_t row, n;
	uint32_t cols, pad; /* the matrix's columns: what the reducer normalises by */
	/* followed by n int64 (map -> reduce) or n double (reduce -> master) */
};

static int cov_map(const void *task, struct mr_writer **parts, int nparts)
{
	const struct cov_task *tk = task;
	const uint32_t *x;
	struct mat_hdr h;
	struct mr_file f;
	int rc = mat_map(tk->path, &f, &h, &x);

	if (rc < 0)
		return rc;
	if (tk->row1 > h.rows)
		rc = -EINVAL;
	for (uint32_t i = tk->row0; rc == 0 && i < tk->row1; i++) {
		uint32_t n = h.rows - i;
		struct row_rec *r = mr_put(parts[i % (uint32_t)nparts], sizeof(*r) + n * 8);

		if (!r) {
			rc = -EIO;
			break;
		}
		*r = (struct row_rec){ .row = i, .n = n, .cols = h.cols };
		cov_row(x, &h, tk->sum, i, (int64_t *)(r + 1));
	}
	mr_file_unmap(&f);
	return rc;
}

/* Reducers normalise: covariance = C / (n (n - 1)); records carry both. */
static int cov_reduce(int part, struct mr_reader *in, struct mr_writer *out)
{
	const struct row_rec *r;
	size_t len;

	(void)part;
	while ((r = mr_get(in, &len))) {
		struct row_rec *o;
		double norm;

		if (len < sizeof(*r) || r->n > MAX_ROWS || len != sizeof(*r) + (size_t)r->n * 8)
			return -EBADMSG;
		norm = (double)r->cols * (double)(r->cols - 1);
		o = mr_put(out, sizeof(*o) + (size_t)r->n * 16);
		if (!o)
			return -EIO;
		*o = *r;
		memcpy(o + 1, r + 1, (size_t)r->n * 8);
		for (uint32_t j = 0; j < r->n; j++) {
			int64_t c;
			double v;

			memcpy(&c, (const char *)(r + 1) + j * 8, 8);
			v = norm > 0 ? (double)c / norm : 0;
			memcpy((char *)(o + 1) + ((size_t)r->n + j) * 8, &v, 8);
		}
	}
	return mr_reader_error(in);
}

static int cov_merge(void *result, const void *rec, size_t len)
{
	struct pca_result *p = result;
	const struct row_rec *r = rec;

	if (len < sizeof(*r) || r->row >= p->rows || r->n != p->rows - r->row ||
	    len != sizeof(*r) + (size_t)r->n * 16)
		return -EBADMSG;
	memcpy(p->c + (size_t)r->row * p->rows + r->row, r + 1, (size_t)r->n * 8);
	memcpy(p->cov + (size_t)r->row * p->rows + r->row, (const char *)(r + 1) + r->n * 8,
	       (size_t)r->n * 8);
	return 0;
}

/* ---- the driver ------------------------------------------------------------------------ */

static void finish(struct pca_result *p)
{
	uint64_t h = MR_FNV_INIT;

	for (uint32_t i = 0; i < p->rows; i++) {
		h = mr_fnv1a(p->c + (size_t)i * p->rows + i, (size_t)(p->rows - i) * 8, h);
		p->cov_diag[i] = p->cov[(size_t)i * p->rows + i];
	}
	p->digest = h;
}

static void pca_free(void *result)
{
	struct pca_result *p = result;

	free(p->c);
	free(p->cov);
	free(p);
}

static int pca_run(enum mr_mode mode, const char *dir, void **ret_result)
{
	struct pca_result *p = calloc(1, sizeof(*p));
	struct cov_task *ct = calloc(MR_MAX_MAPS, sizeof(*ct));
	struct mean_task mt[MR_MAX_MAPS];
	struct mr_spec mean_spec = {
		.name = "pca_mean", .task_size = sizeof(struct mean_task),
		.map = mean_map, .reduce = mean_reduce, .merge = mean_merge,
		.nmap = mr_nmap(), .nreduce = mr_nreduce(2),
	};
	struct mr_spec cov_spec = {
		.name = "pca_cov", .task_size = sizeof(struct cov_task),
		.map = cov_map, .reduce = cov_reduce, .merge = cov_merge,
		.nmap = mean_spec.nmap, .nreduce = mean_spec.nreduce,
	};
	char path[MR_PATH_MAX];
	const uint32_t *x;
	struct mat_hdr h;
	struct mr_file f;
	int rc = -ENOMEM;

	if (!p || !ct)
		goto fail;
	rc = mr_path(path, dir, INPUT);
	if (rc == 0)
		rc = mat_map(path, &f, &h, &x);
	if (rc < 0)
		goto fail;
	p->rows = h.rows;
	p->cols = h.cols;
	p->c = calloc((size_t)h.rows * h.rows, 8);
	p->cov = calloc((size_t)h.rows * h.rows, 8);
	if (!p->c || !p->cov) {
		mr_file_unmap(&f);
		rc = -ENOMEM;
		goto fail;
	}
	if (mode == MR_SEQ) {
		double norm = (double)h.cols * (double)(h.cols - 1);

		for (uint32_t i = 0; i < h.rows; i++)
			p->sum[i] = row_sum(x + (size_t)i * h.cols, h.cols);
		for (uint32_t i = 0; i < h.rows; i++) {
			int64_t *c = p->c + (size_t)i * h.rows + i;

			cov_row(x, &h, p->sum, i, c);
			for (uint32_t j = 0; j < h.rows - i; j++)
				p->cov[(size_t)i * h.rows + i + j] = norm > 0 ? (double)c[j] / norm : 0;
		}
		mr_file_unmap(&f);
	} else {
		uint64_t area = (uint64_t)h.rows * (h.rows + 1) / 2, acc = 0;
		uint32_t row = 0;

		mr_file_unmap(&f);
		for (int m = 0; m < mean_spec.nmap; m++) {
			memset(&mt[m], 0, sizeof(mt[m]));
			memcpy(mt[m].path, path, sizeof(path));
			mt[m].row0 = (uint32_t)((uint64_t)h.rows * m / mean_spec.nmap);
			mt[m].row1 = (uint32_t)((uint64_t)h.rows * (m + 1) / mean_spec.nmap);
		}
		rc = mr_run(mode, &mean_spec, mt, p);
		if (rc < 0)
			goto fail;
		/* Bands of the triangle with about the same number of (i, j) pairs each. */
		for (int m = 0; m < cov_spec.nmap; m++) {
			uint64_t goal = area * (uint64_t)(m + 1) / cov_spec.nmap;

			memcpy(ct[m].path, path, sizeof(path));
			memcpy(ct[m].sum, p->sum, sizeof(p->sum));
			ct[m].row0 = row;
			while (row < h.rows && acc < goal)
				acc += h.rows - row++;
			ct[m].row1 = m == cov_spec.nmap - 1 ? h.rows : row;
		}
		rc = mr_run(mode, &cov_spec, ct, p);
		if (rc < 0)
			goto fail;
	}
	finish(p);
	free(ct);
	*ret_result = p;
	return 0;
fail:
	free(ct);
	if (p)
		pca_free(p);
	return rc;
}

static void pca_print(const void *result, FILE *out)
{
	const struct pca_result *p = result;

	fprintf(out, "rows %u cols %u C-digest %016llx\n", p->rows, p->cols,
		(unsigned long long)p->digest);
	for (uint32_t i = 0; i < p->rows; i++)
		fprintf(out, "row %u mean %.6f var %.6f\n", i, (double)p->sum[i] / p->cols,
			p->cov_diag[i]);
}

/* Rows mixing a few hidden components with noise: covariances are not trivial. */
static int pca_gen(const char *dir, int large)
{
	struct mat_hdr h = { .rows = large ? 512 : 48, .cols = large ? 4096 : 256 };
	size_t n = (size_t)h.rows * h.cols;
	uint32_t *buf = malloc(sizeof(h) + n * 4), *x = buf + 2;
	uint64_t rng = 0x5eed0006;
	int rc;

	if (!buf)
		return -ENOMEM;
	memcpy(buf, &h, sizeof(h));
	for (uint32_t i = 0; i < h.rows; i++) {
		uint64_t w = mr_rand(&rng);

		for (uint32_t k = 0; k < h.cols; k++) {
			uint64_t r = mr_rand(&rng);
			uint32_t comp = (uint32_t)(((k * 7) % 64) * (w & 3) + ((k * 13) % 32) * ((w >> 2) & 3));

			x[(size_t)i * h.cols + k] = (comp + (uint32_t)(r & 63)) & 255;
		}
	}
	rc = mr_file_write(dir, INPUT, buf, sizeof(h) + n * 4);
	free(buf);
	return rc;
}

static const struct mr_bench pca_bench = {
	.name = "pca",
	.gen = pca_gen,
	.run = pca_run,
	.print = pca_print,
	.free = pca_free,
};

int main(int argc, char **argv)
{
	return mr_main(&pca_bench, argc, argv);
}
