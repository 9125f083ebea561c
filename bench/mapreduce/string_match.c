/* SPDX-License-Identifier: MIT */
/*
 * string_match: find which lines of a key file are one of a few secret
 * keys, knowing only the keys' digests (as Phoenix's string_match
 * compares "encrypted" words).
 *
 * Map tasks are byte ranges; a task handles the lines that start in its
 * range.  For every line the map computes a deliberately costly digest
 * and compares it with the targets'; each match becomes a (key, offset)
 * record to partition key % P.  Reducers count matches per key and sum
 * and bound their offsets.  Output: per key, count, first offset, last
 * offset and the sum of offsets.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mr.h"

#define INPUT "string_match.keys"
#define NKEYS 4
#define ROUNDS 6

static const char *const keys[NKEYS] = { "helloworld", "howareyou", "ferrari", "whotheman" };

/* A costly digest: ROUNDS passes of FNV-1a, each seeded by the last, then mixed. */
static uint64_t digest(const unsigned char *w, size_t len)
{
	uint64_t h = MR_FNV_INIT;

	for (int r = 0; r < ROUNDS; r++) {
		h = mr_fnv1a(w, len, h ^ (uint64_t)r);
		h ^= h >> 29;
		h *= 0xbf58476d1ce4e5b9ull;
	}
	return h;
}

struct match {
	uint64_t count, first, last, sum;
};

struct hit {
	uint32_t key, pad;
	uint64_t off;
};

struct sm_task {
	char path[MR_PATH_MAX];
	uint64_t off, len;
	uint64_t target[NKEYS];
};

/* Call @hit_fn for every line starting in [begin, end) whose digest is a target's. */
static int scan(const unsigned char *d, size_t size, size_t begin, size_t end,
		const uint64_t *target, int (*hit_fn)(void *ctx, uint32_t key, uint64_t off),
		void *ctx)
{
	size_t i = begin;

	if (i > 0 && d[i - 1] != '\n') {
		const unsigned char *nl = memchr(d + i, '\n', size - i);

		i = nl ? (size_t)(nl - d) + 1 : size;
	}
	while (i < end) {
		const unsigned char *nl = memchr(d + i, '\n', size - i);
		size_t len = (nl ? (size_t)(nl - d) : size) - i;
		uint64_t h = digest(d + i, len);

		for (uint32_t k = 0; k < NKEYS; k++)
			if (h == target[k]) {
				int rc = hit_fn(ctx, k, i);

				if (rc < 0)
					return rc;
			}
		i += len + 1;
	}
	return 0;
}

static void match_add(struct match *m, uint64_t count, uint64_t first, uint64_t last,
		      uint64_t sum)
{
	if (!count)
		return;
	if (!m->count || first < m->first)
		m->first = first;
	if (!m->count || last > m->last)
		m->last = last;
	m->count += count;
	m->sum += sum;
}

static int seq_hit(void *ctx, uint32_t key, uint64_t off)
{
	match_add((struct match *)ctx + key, 1, off, off, off);
	return 0;
}

struct map_ctx {
	struct mr_writer **parts;
	int nparts;
};

static int map_hit(void *ctx, uint32_t key, uint64_t off)
{
	struct map_ctx *c = ctx;
	struct hit h = { .key = key, .off = off };

	return mr_write(c->parts[key % (uint32_t)c->nparts], &h, sizeof(h));
}

static int sm_map(const void *task, struct mr_writer **parts, int nparts)
{
	const struct sm_task *tk = task;
	struct map_ctx ctx = { parts, nparts };
	struct mr_file f;
	int rc = mr_file_map(tk->path, &f);

	if (rc < 0)
		return rc;
	if (tk->off + tk->len > f.size)
		rc = -EINVAL;
	else
		rc = scan(f.data, f.size, tk->off, tk->off + tk->len, tk->target, map_hit, &ctx);
	mr_file_unmap(&f);
	return rc;
}

struct key_rec {
	uint32_t key, pad;
	struct match m;
};

static int sm_reduce(int part, struct mr_reader *in, struct mr_writer *out)
{
	struct match m[NKEYS] = { 0 };
	const struct hit *h;
	size_t len;
	int rc = 0;

	(void)part;
	while ((h = mr_get(in, &len))) {
		if (len != sizeof(*h) || h->key >= NKEYS)
			return -EBADMSG;
		match_add(&m[h->key], 1, h->off, h->off, h->off);
	}
	rc = mr_reader_error(in);
	for (uint32_t k = 0; rc == 0 && k < NKEYS; k++) {
		struct key_rec r = { .key = k, .m = m[k] };

		if (m[k].count)
			rc = mr_write(out, &r, sizeof(r));
	}
	return rc;
}

static int sm_merge(void *result, const void *rec, size_t len)
{
	const struct key_rec *r = rec;

	if (len != sizeof(*r) || r->key >= NKEYS)
		return -EBADMSG;
	match_add((struct match *)result + r->key, r->m.count, r->m.first, r->m.last, r->m.sum);
	return 0;
}

static int sm_run(enum mr_mode mode, const char *dir, void **ret_result)
{
	struct match *m = calloc(NKEYS, sizeof(*m));
	struct sm_task tasks[MR_MAX_MAPS];
	struct mr_spec spec = {
		.name = "string_match",
		.task_size = sizeof(struct sm_task),
		.map = sm_map,
		.reduce = sm_reduce,
		.merge = sm_merge,
	};
	uint64_t target[NKEYS];
	char path[MR_PATH_MAX];
	struct mr_file f;
	int rc;

	if (!m)
		return -ENOMEM;
	for (int k = 0; k < NKEYS; k++)
		target[k] = digest((const unsigned char *)keys[k], strlen(keys[k]));
	rc = mr_path(path, dir, INPUT);
	if (rc == 0)
		rc = mr_file_map(path, &f);
	if (rc < 0)
		goto fail;
	if (mode == MR_SEQ)
		rc = scan(f.data, f.size, 0, f.size, target, seq_hit, m);
	mr_file_unmap(&f);
	if (rc == 0 && mode != MR_SEQ) {
		spec.nmap = mr_nmap();
		spec.nreduce = mr_nreduce(2);
		for (int i = 0; i < spec.nmap; i++) {
			memset(&tasks[i], 0, sizeof(tasks[i]));
			memcpy(tasks[i].path, path, sizeof(path));
			tasks[i].off = f.size * (uint64_t)i / spec.nmap;
			tasks[i].len = f.size * (uint64_t)(i + 1) / spec.nmap - tasks[i].off;
			memcpy(tasks[i].target, target, sizeof(target));
		}
		rc = mr_run(mode, &spec, tasks, m);
	}
	if (rc < 0)
		goto fail;
	*ret_result = m;
	return 0;
fail:
	free(m);
	return rc;
}

static void sm_print(const void *result, FILE *out)
{
	const struct match *m = result;

	for (int k = 0; k < NKEYS; k++)
		fprintf(out, "%s count %llu first %llu last %llu sum %llu\n", keys[k],
			(unsigned long long)m[k].count, (unsigned long long)m[k].first,
			(unsigned long long)m[k].last, (unsigned long long)m[k].sum);
}

/* Random lowercase words, one per line; one line in ~400 is a secret key. */
static int sm_gen(const char *dir, int large)
{
	size_t size = large ? (64u << 20) : (256u << 10), len = 0;
	char *buf = malloc(size + 64);
	uint64_t rng = 0x5eed0004;
	int rc;

	if (!buf)
		return -ENOMEM;
	while (len < size) {
		uint64_t r = mr_rand(&rng);

		if (r % 400 == 0) {
			const char *k = keys[(r >> 16) % NKEYS];

			memcpy(buf + len, k, strlen(k));
			len += strlen(k);
		} else {
			int n = 3 + (int)((r >> 16) % 12);

			for (int j = 0; j < n; j++)
				buf[len++] = (char)('a' + (r >> (24 + j * 2)) % 26);
		}
		buf[len++] = '\n';
	}
	rc = mr_file_write(dir, INPUT, buf, len);
	free(buf);
	return rc;
}

static const struct mr_bench sm_bench = {
	.name = "string_match",
	.gen = sm_gen,
	.run = sm_run,
	.print = sm_print,
	.free = free,
};

int main(int argc, char **argv)
{
	return mr_main(&sm_bench, argc, argv);
}
