/* SPDX-License-Identifier: MIT */
/*
 * kmeans: K-means clustering of integer points in D dimensions.
 *
 * One MapReduce round per iteration, as in Phoenix, in one session (the
 * EFs live across iterations): the current centroids travel by value in
 * every map task; a map assigns each point of its range
 * to the nearest centroid (ties: the lowest index) and writes, per
 * cluster, the point count and coordinate sums to partition cluster % P;
 * the reducer of a cluster adds them and writes the new centroid (integer
 * mean).  The master stops when no centroid moves or after MAX_ITER
 * iterations.  Output: iterations, then each centroid and its size.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mr.h"

#define INPUT "kmeans.pts"
#define K 16
#define D 3
#define MAX_ITER 12

struct point {
	int32_t x[D];
};

struct km_state {
	int32_t cent[K][D];
	int32_t next[K][D];
	uint64_t size[K];
	int iterations;
};

/* Per-cluster counts and sums of the points in [p, p + n). */
static void assign(const struct point *p, size_t n, const int32_t (*cent)[D], uint64_t *count,
		   int64_t (*sum)[D])
{
	for (size_t i = 0; i < n; i++) {
		int64_t best = INT64_MAX;
		int c = 0;

		for (int k = 0; k < K; k++) {
			int64_t d2 = 0;

			for (int j = 0; j < D; j++) {
				int64_t t = (int64_t)p[i].x[j] - cent[k][j];

				d2 += t * t;
			}
			if (d2 < best) {
				best = d2;
				c = k;
			}
		}
		count[c]++;
		for (int j = 0; j < D; j++)
			sum[c][j] += p[i].x[j];
	}
}

struct km_task {
	char path[MR_PATH_MAX];
	uint64_t first, count;
	int32_t cent[K][D];
};

struct cluster_rec {
	uint32_t cluster, pad;
	uint64_t count;
	int64_t sum[D];
};

static int km_map(const void *task, struct mr_writer **parts, int nparts)
{
	const struct km_task *tk = task;
	uint64_t count[K] = { 0 };
	int64_t sum[K][D] = { { 0 } };
	struct mr_file f;
	int rc = mr_file_map(tk->path, &f);

	if (rc < 0)
		return rc;
	if ((tk->first + tk->count) * sizeof(struct point) > f.size)
		rc = -EINVAL;
	else
		assign((const struct point *)f.data + tk->first, tk->count, tk->cent, count, sum);
	mr_file_unmap(&f);
	for (uint32_t k = 0; rc == 0 && k < K; k++) {
		struct cluster_rec r = { .cluster = k, .count = count[k] };

		if (!count[k])
			continue;
		memcpy(r.sum, sum[k], sizeof(r.sum));
		rc = mr_write(parts[k % (uint32_t)nparts], &r, sizeof(r));
	}
	return rc;
}

/* The new centroid of a cluster: the integer mean of its points. */
struct cent_rec {
	uint32_t cluster, pad;
	uint64_t count;
	int32_t cent[D];
};

static int km_reduce(int part, struct mr_reader *in, struct mr_writer *out)
{
	uint64_t count[K] = { 0 };
	int64_t sum[K][D] = { { 0 } };
	const struct cluster_rec *r;
	size_t len;
	int rc;

	(void)part;
	while ((r = mr_get(in, &len))) {
		if (len != sizeof(*r) || r->cluster >= K)
			return -EBADMSG;
		count[r->cluster] += r->count;
		for (int j = 0; j < D; j++)
			sum[r->cluster][j] += r->sum[j];
	}
	rc = mr_reader_error(in);
	for (uint32_t k = 0; rc == 0 && k < K; k++) {
		struct cent_rec c = { .cluster = k, .count = count[k] };

		if (!count[k])
			continue;
		for (int j = 0; j < D; j++)
			c.cent[j] = (int32_t)(sum[k][j] / (int64_t)count[k]);
		rc = mr_write(out, &c, sizeof(c));
	}
	return rc;
}

static int km_merge(void *result, const void *rec, size_t len)
{
	struct km_state *s = result;
	const struct cent_rec *c = rec;

	if (len != sizeof(*c) || c->cluster >= K)
		return -EBADMSG;
	memcpy(s->next[c->cluster], c->cent, sizeof(c->cent));
	s->size[c->cluster] = c->count;
	return 0;
}

/* One iteration without MapReduce: the sequential reference. */
static void seq_iteration(const struct point *p, size_t n, struct km_state *s)
{
	uint64_t count[K] = { 0 };
	int64_t sum[K][D] = { { 0 } };

	assign(p, n, (const int32_t(*)[D])s->cent, count, sum);
	for (int k = 0; k < K; k++) {
		s->size[k] = count[k];
		for (int j = 0; j < D && count[k]; j++)
			s->next[k][j] = (int32_t)(sum[k][j] / (int64_t)count[k]);
	}
}

static int km_run(enum mr_mode mode, const char *dir, void **ret_result)
{
	struct km_state *s = calloc(1, sizeof(*s));
	struct km_task *tasks = calloc(MR_MAX_MAPS, sizeof(*tasks));
	struct mr_spec spec = {
		.name = "kmeans",
		.task_size = sizeof(struct km_task),
		.map = km_map,
		.reduce = km_reduce,
		.merge = km_merge,
		.nmap = mr_nmap(),
		.nreduce = mr_nreduce(2),
	};
	char path[MR_PATH_MAX];
	struct mr_session *session = NULL;
	struct mr_file f = { 0 };
	size_t n;
	int rc = -ENOMEM;

	if (!s || !tasks)
		goto fail;
	rc = mr_path(path, dir, INPUT);
	if (rc == 0)
		rc = mr_file_map(path, &f);
	if (rc < 0)
		goto fail;
	n = f.size / sizeof(struct point);
	if (n < K) {
		rc = -EINVAL;
		goto fail;
	}
	/* The first K points seed the centroids. */
	memcpy(s->cent, f.data, sizeof(s->cent));
	if (mode != MR_SEQ) {
		mr_file_unmap(&f); /* the maps map it themselves */
		rc = mr_session_start(mode, &spec, &session);
		if (rc < 0)
			goto fail;
	}
	for (s->iterations = 1; s->iterations <= MAX_ITER; s->iterations++) {
		memcpy(s->next, s->cent, sizeof(s->cent)); /* empty clusters stay put */
		memset(s->size, 0, sizeof(s->size));
		if (mode == MR_SEQ) {
			seq_iteration((const struct point *)f.data, n, s);
		} else {
			for (int m = 0; m < spec.nmap; m++) {
				memcpy(tasks[m].path, path, sizeof(path));
				tasks[m].first = n * (uint64_t)m / spec.nmap;
				tasks[m].count = n * (uint64_t)(m + 1) / spec.nmap - tasks[m].first;
				memcpy(tasks[m].cent, s->cent, sizeof(s->cent));
			}
			rc = mr_session_round(session, tasks, s);
			if (rc < 0)
				goto fail;
		}
		if (!memcmp(s->next, s->cent, sizeof(s->cent)))
			break;
		memcpy(s->cent, s->next, sizeof(s->cent));
	}
	if (s->iterations > MAX_ITER)
		s->iterations = MAX_ITER;
	if (session) {
		rc = mr_session_end(session);
		session = NULL;
		if (rc < 0)
			goto fail;
	}
	mr_file_unmap(&f);
	free(tasks);
	*ret_result = s;
	return 0;
fail:
	if (session)
		mr_session_end(session); /* the round's error is the one reported */
	mr_file_unmap(&f);
	free(tasks);
	free(s);
	return rc;
}

static void km_print(const void *result, FILE *out)
{
	const struct km_state *s = result;

	fprintf(out, "iterations %d\n", s->iterations);
	for (int k = 0; k < K; k++)
		fprintf(out, "cluster %d: %d %d %d size %llu\n", k, s->next[k][0], s->next[k][1],
			s->next[k][2], (unsigned long long)s->size[k]);
}

/* Points scattered around K hidden centres, in a 0..65535 cube. */
static int km_gen(const char *dir, int large)
{
	size_t n = large ? (1u << 19) : 4096;
	struct point *p = malloc(n * sizeof(*p));
	int32_t centre[K][D];
	uint64_t rng = 0x5eed0005;
	int rc;

	if (!p)
		return -ENOMEM;
	for (int k = 0; k < K; k++)
		for (int j = 0; j < D; j++)
			centre[k][j] = 4096 + (int32_t)(mr_rand(&rng) % 57344);
	for (size_t i = 0; i < n; i++) {
		uint64_t r = mr_rand(&rng);
		int k = (int)(r % K);

		for (int j = 0; j < D; j++) {
			/* The sum of four uniforms: roughly normal, spread ~ +-4000. */
			uint64_t q = mr_rand(&rng);
			int32_t off = 0;

			for (int t = 0; t < 4; t++)
				off += (int32_t)((q >> (16 * t)) & 2047);
			p[i].x[j] = centre[k][j] + off - 4096;
		}
	}
	rc = mr_file_write(dir, INPUT, p, n * sizeof(*p));
	free(p);
	return rc;
}

static const struct mr_bench km_bench = {
	.name = "kmeans",
	.gen = km_gen,
	.run = km_run,
	.print = km_print,
	.free = free,
};

int main(int argc, char **argv)
{
	return mr_main(&km_bench, argc, argv);
}
