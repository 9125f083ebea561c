/* SPDX-License-Identifier: MIT */
/*
 * matrix_multiply: C = A x B for square integer matrices.
 *
 * A map-only job (as in Phoenix): a map task is a band of rows of C; the
 * map maps both input matrices itself and writes one record per row of C
 * (row index, then n values), which the master places.  That moves the
 * whole result, n x n x 4 bytes, over the channels.  Output: n, an FNV
 * digest of C, its trace and its first row's first values.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mr.h"

#define INPUT "matrix_multiply.mat"
#define MAX_N 4096 /* one row record must fit MR_REC_MAX */

struct mm_result {
	uint32_t n;
	uint32_t *c;
};

/* Map the file: header n, then A and B, n x n uint32 each, row-major. */
static int mm_map_file(const char *path, struct mr_file *f, uint32_t *ret_n,
		       const uint32_t **ret_a, const uint32_t **ret_b)
{
	uint32_t n;
	int rc = mr_file_map(path, f);

	if (rc < 0)
		return rc;
	if (f->size < 8) {
		mr_file_unmap(f);
		return -EINVAL;
	}
	memcpy(&n, f->data, 4);
	if (!n || n > MAX_N || 8 + (uint64_t)n * n * 8 > f->size) {
		mr_file_unmap(f);
		return -EINVAL;
	}
	*ret_n = n;
	*ret_a = (const uint32_t *)(f->data + 8);
	*ret_b = *ret_a + (size_t)n * n;
	return 0;
}

/* Row @i of C into @c: the i-k-j order streams through B and vectorises. */
static void mm_row(const uint32_t *a, const uint32_t *b, uint32_t n, uint32_t i, uint32_t *c)
{
	memset(c, 0, (size_t)n * 4);
	for (uint32_t k = 0; k < n; k++) {
		uint32_t aik = a[(size_t)i * n + k];
		const uint32_t *bk = b + (size_t)k * n;

		for (uint32_t j = 0; j < n; j++)
			c[j] += aik * bk[j];
	}
}

struct mm_task {
	char path[MR_PATH_MAX];
	uint32_t row0, row1;
};

struct row_hdr {
	uint32_t row, n;
};

static int mm_map(const void *task, struct mr_writer **parts, int nparts)
{
	const struct mm_task *tk = task;
	const uint32_t *a, *b;
	struct mr_file f;
	uint32_t n;
	int rc = mm_map_file(tk->path, &f, &n, &a, &b);

	(void)nparts;
	if (rc < 0)
		return rc;
	if (tk->row1 > n)
		rc = -EINVAL;
	for (uint32_t i = tk->row0; rc == 0 && i < tk->row1; i++) {
		/* Computed straight into the channel: the record is the row. */
		struct row_hdr *r = mr_put(parts[0], sizeof(*r) + (size_t)n * 4);

		if (!r) {
			rc = -EIO;
			break;
		}
		r->row = i;
		r->n = n;
		mm_row(a, b, n, i, (uint32_t *)(r + 1));
	}
	mr_file_unmap(&f);
	return rc;
}

static int mm_merge(void *result, const void *rec, size_t len)
{
	struct mm_result *m = result;
	const struct row_hdr *r = rec;

	if (len < sizeof(*r) || r->n != m->n || r->row >= m->n ||
	    len != sizeof(*r) + (size_t)m->n * 4)
		return -EBADMSG;
	memcpy(m->c + (size_t)r->row * m->n, r + 1, (size_t)m->n * 4);
	return 0;
}

static void mm_free(void *result)
{
	struct mm_result *m = result;

	free(m->c);
	free(m);
}

static int mm_run(enum mr_mode mode, const char *dir, void **ret_result)
{
	struct mm_result *m = calloc(1, sizeof(*m));
	struct mm_task tasks[MR_MAX_MAPS];
	struct mr_spec spec = {
		.name = "matrix_multiply",
		.task_size = sizeof(struct mm_task),
		.map = mm_map,
		.merge = mm_merge,
		.nreduce = 0, /* map-only */
	};
	char path[MR_PATH_MAX];
	const uint32_t *a, *b;
	struct mr_file f;
	int rc = -ENOMEM;

	if (!m)
		return -ENOMEM;
	rc = mr_path(path, dir, INPUT);
	if (rc == 0)
		rc = mm_map_file(path, &f, &m->n, &a, &b);
	if (rc < 0)
		goto fail;
	m->c = malloc((size_t)m->n * m->n * 4);
	if (!m->c) {
		mr_file_unmap(&f);
		rc = -ENOMEM;
		goto fail;
	}
	if (mode == MR_SEQ) {
		for (uint32_t i = 0; i < m->n; i++)
			mm_row(a, b, m->n, i, m->c + (size_t)i * m->n);
		mr_file_unmap(&f);
	} else {
		mr_file_unmap(&f);
		spec.nmap = mr_nmap();
		for (int t = 0; t < spec.nmap; t++) {
			memset(&tasks[t], 0, sizeof(tasks[t]));
			memcpy(tasks[t].path, path, sizeof(path));
			tasks[t].row0 = (uint32_t)((uint64_t)m->n * t / spec.nmap);
			tasks[t].row1 = (uint32_t)((uint64_t)m->n * (t + 1) / spec.nmap);
		}
		rc = mr_run(mode, &spec, tasks, m);
		if (rc < 0)
			goto fail;
	}
	*ret_result = m;
	return 0;
fail:
	mm_free(m);
	return rc;
}

static void mm_print(const void *result, FILE *out)
{
	const struct mm_result *m = result;
	uint64_t trace = 0;

	for (uint32_t i = 0; i < m->n; i++)
		trace += m->c[(size_t)i * m->n + i];
	fprintf(out, "n %u digest %016llx trace %llu\nrow0", m->n,
		(unsigned long long)mr_fnv1a(m->c, (size_t)m->n * m->n * 4, MR_FNV_INIT),
		(unsigned long long)trace);
	for (uint32_t j = 0; j < m->n && j < 8; j++)
		fprintf(out, " %u", m->c[j]);
	fprintf(out, "\n");
}

static int mm_gen(const char *dir, int large)
{
	uint32_t n = large ? 1024 : 64;
	size_t count = (size_t)n * n * 2;
	uint32_t *buf = malloc(8 + count * 4);
	uint64_t rng = 0x5eed0007;
	int rc;

	if (!buf)
		return -ENOMEM;
	buf[0] = n;
	buf[1] = 0;
	for (size_t i = 0; i < count; i++)
		buf[2 + i] = (uint32_t)(mr_rand(&rng) & 15);
	rc = mr_file_write(dir, INPUT, buf, 8 + count * 4);
	free(buf);
	return rc;
}

static const struct mr_bench mm_bench = {
	.name = "matrix_multiply",
	.gen = mm_gen,
	.run = mm_run,
	.print = mm_print,
	.free = mm_free,
};

int main(int argc, char **argv)
{
	return mr_main(&mm_bench, argc, argv);
}
