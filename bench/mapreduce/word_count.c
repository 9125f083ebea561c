/* SPDX-License-Identifier: MIT */
/*
 * word_count: how often each word occurs in a text.
 *
 * Input: text whose words follow a Zipf distribution over a fixed
 * vocabulary.  A word is a maximal run of ASCII letters, lowercased,
 * keeping at most its first WORD_MAX letters.  Map tasks are byte ranges;
 * a task counts the words that start in its range (it skips a word cut by
 * its start and finishes one cut by its end).  Each map combines locally
 * and writes (count, word) records to partition hash % P; reducers sum
 * them; the master sums what reducers send.  Output: every word with its
 * count, most frequent first, ties by word.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mr.h"

#define INPUT "word_count.txt"
#define WORD_MAX 63
#define VOCAB 20000

/* ---- a table of words and counts ---------------------------------------------- */

struct went {
	uint64_t hash; /* 0: free slot */
	uint64_t count;
	uint32_t off, len; /* the word, in the arena */
};

struct wtab {
	struct went *slot;
	size_t cap, n;
	char *arena;
	size_t arena_len, arena_cap;
};

static int wtab_init(struct wtab *t, size_t cap)
{
	memset(t, 0, sizeof(*t));
	t->cap = cap;
	t->slot = calloc(cap, sizeof(*t->slot));
	t->arena_cap = cap * 8;
	t->arena = malloc(t->arena_cap);
	if (!t->slot || !t->arena) {
		free(t->slot);
		free(t->arena);
		return -ENOMEM;
	}
	return 0;
}

static void wtab_free(struct wtab *t)
{
	free(t->slot);
	free(t->arena);
	memset(t, 0, sizeof(*t));
}

static uint64_t word_hash(const char *w, size_t len)
{
	uint64_t h = mr_fnv1a(w, len, MR_FNV_INIT);

	return h ? h : 1;
}

static int wtab_grow(struct wtab *t)
{
	size_t cap = t->cap * 2;
	struct went *s = calloc(cap, sizeof(*s));

	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		struct went *e = &t->slot[i];
		size_t j;

		if (!e->hash)
			continue;
		for (j = e->hash & (cap - 1); s[j].hash; j = (j + 1) & (cap - 1))
			;
		s[j] = *e;
	}
	free(t->slot);
	t->slot = s;
	t->cap = cap;
	return 0;
}

/* Add @count to word @w (already lowercased) whose hash is @h. */
static int wtab_add(struct wtab *t, const char *w, size_t len, uint64_t h, uint64_t count)
{
	size_t i;

	for (i = h & (t->cap - 1); t->slot[i].hash; i = (i + 1) & (t->cap - 1)) {
		struct went *e = &t->slot[i];

		if (e->hash == h && e->len == len && !memcmp(t->arena + e->off, w, len)) {
			e->count += count;
			return 0;
		}
	}
	if (t->arena_len + len > t->arena_cap) {
		size_t cap = t->arena_cap * 2 + len;
		char *a = realloc(t->arena, cap);

		if (!a)
			return -ENOMEM;
		t->arena = a;
		t->arena_cap = cap;
	}
	memcpy(t->arena + t->arena_len, w, len);
	t->slot[i] = (struct went){ .hash = h, .count = count, .off = (uint32_t)t->arena_len,
				    .len = (uint32_t)len };
	t->arena_len += len;
	if (++t->n * 2 > t->cap)
		return wtab_grow(t);
	return 0;
}

static int is_letter(unsigned char c)
{
	return (unsigned char)((c | 0x20) - 'a') < 26;
}

/* Count the words that start in [begin, end) of @d (size @size). */
static int count_words(struct wtab *t, const unsigned char *d, size_t size, size_t begin,
		       size_t end)
{
	size_t i = begin;
	char w[WORD_MAX];
	int rc;

	if (i > 0)
		while (i < size && is_letter(d[i]) && is_letter(d[i - 1]))
			i++;
	while (i < end) {
		size_t len = 0;

		while (i < end && !is_letter(d[i]))
			i++;
		if (i >= end)
			break;
		while (i < size && is_letter(d[i])) {
			if (len < WORD_MAX)
				w[len++] = (char)(d[i] | 0x20);
			i++;
		}
		rc = wtab_add(t, w, len, word_hash(w, len), 1);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- records: (u64 count, word bytes) ------------------------------------------- */

static int emit_table(const struct wtab *t, struct mr_writer **parts, int nparts)
{
	for (size_t i = 0; i < t->cap; i++) {
		const struct went *e = &t->slot[i];
		unsigned char *rec;

		if (!e->hash)
			continue;
		rec = mr_put(parts[e->hash % (uint64_t)nparts], 8 + e->len);
		if (!rec)
			return -EIO;
		memcpy(rec, &e->count, 8);
		memcpy(rec + 8, t->arena + e->off, e->len);
	}
	return 0;
}

static int add_record(struct wtab *t, const void *rec, size_t len)
{
	const char *w = (const char *)rec + 8;
	uint64_t count;

	if (len < 9 || len - 8 > WORD_MAX)
		return -EBADMSG;
	memcpy(&count, rec, 8);
	return wtab_add(t, w, len - 8, word_hash(w, len - 8), count);
}

/* ---- map / reduce / merge ----------------------------------------------------------- */

struct wc_task {
	char path[MR_PATH_MAX];
	uint64_t off, len;
};

static int wc_map(const void *task, struct mr_writer **parts, int nparts)
{
	const struct wc_task *tk = task;
	struct mr_file f;
	struct wtab t;
	int rc = mr_file_map(tk->path, &f);

	if (rc < 0)
		return rc;
	rc = wtab_init(&t, 1 << 14);
	if (rc == 0) {
		rc = count_words(&t, f.data, f.size, tk->off, tk->off + tk->len);
		if (rc == 0)
			rc = emit_table(&t, parts, nparts);
		wtab_free(&t);
	}
	mr_file_unmap(&f);
	return rc;
}

static int wc_reduce(int part, struct mr_reader *in, struct mr_writer *out)
{
	struct wtab t;
	const void *rec;
	size_t len;
	int rc = wtab_init(&t, 1 << 14);

	(void)part;
	if (rc < 0)
		return rc;
	while (rc == 0 && (rec = mr_get(in, &len)))
		rc = add_record(&t, rec, len);
	if (rc == 0)
		rc = mr_reader_error(in);
	if (rc == 0)
		rc = emit_table(&t, &out, 1);
	wtab_free(&t);
	return rc;
}

static int wc_merge(void *result, const void *rec, size_t len)
{
	return add_record(result, rec, len);
}

static const struct mr_spec wc_spec = {
	.name = "word_count",
	.task_size = sizeof(struct wc_task),
	.map = wc_map,
	.reduce = wc_reduce,
	.merge = wc_merge,
};

static int wc_run(enum mr_mode mode, const char *dir, void **ret_result)
{
	struct wtab *t = malloc(sizeof(*t));
	struct wc_task tasks[MR_MAX_MAPS];
	struct mr_spec spec = wc_spec;
	char path[MR_PATH_MAX];
	struct mr_file f;
	int rc;

	if (!t)
		return -ENOMEM;
	rc = wtab_init(t, 1 << 14);
	if (rc < 0) {
		free(t);
		return rc;
	}
	rc = mr_path(path, dir, INPUT);
	if (rc < 0)
		goto fail;
	if (mode == MR_SEQ) {
		rc = mr_file_map(path, &f);
		if (rc < 0)
			goto fail;
		rc = count_words(t, f.data, f.size, 0, f.size);
		mr_file_unmap(&f);
	} else {
		rc = mr_file_map(path, &f); /* for its size only */
		if (rc < 0)
			goto fail;
		mr_file_unmap(&f);
		spec.nmap = mr_nmap();
		spec.nreduce = mr_nreduce(2);
		for (int m = 0; m < spec.nmap; m++) {
			uint64_t a = f.size * (uint64_t)m / (uint64_t)spec.nmap;
			uint64_t b = f.size * (uint64_t)(m + 1) / (uint64_t)spec.nmap;

			memset(&tasks[m], 0, sizeof(tasks[m]));
			memcpy(tasks[m].path, path, sizeof(path));
			tasks[m].off = a;
			tasks[m].len = b - a;
		}
		rc = mr_run(mode, &spec, tasks, t);
	}
	if (rc < 0)
		goto fail;
	*ret_result = t;
	return 0;
fail:
	wtab_free(t);
	free(t);
	return rc;
}

static const struct wtab *sort_tab;

static int cmp_went(const void *a, const void *b)
{
	const struct went *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	c = memcmp(sort_tab->arena + x->off, sort_tab->arena + y->off, n);
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

static void wc_print(const void *result, FILE *out)
{
	const struct wtab *t = result;
	struct went *e = malloc((t->n ? t->n : 1) * sizeof(*e));
	uint64_t total = 0;
	size_t n = 0;

	if (!e) {
		fprintf(out, "out of memory\n");
		return;
	}
	for (size_t i = 0; i < t->cap; i++)
		if (t->slot[i].hash) {
			e[n++] = t->slot[i];
			total += t->slot[i].count;
		}
	sort_tab = t;
	qsort(e, n, sizeof(*e), cmp_went);
	fprintf(out, "distinct %zu total %llu\n", n, (unsigned long long)total);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%.*s %llu\n", (int)e[i].len, t->arena + e[i].off,
			(unsigned long long)e[i].count);
	free(e);
}

static void wc_free(void *result)
{
	wtab_free(result);
	free(result);
}

/* ---- input: Zipf-distributed words ------------------------------------------------- */

static int wc_gen(const char *dir, int large)
{
	size_t size = large ? (64u << 20) : (256u << 10), len = 0;
	char (*vocab)[16] = malloc(VOCAB * sizeof(*vocab));
	double *cdf = malloc(VOCAB * sizeof(*cdf)), sum = 0;
	char *text = malloc(size + 64);
	uint64_t rng = 0x5eed0001;
	int rc, col = 0;

	if (!vocab || !cdf || !text) {
		rc = -ENOMEM;
		goto out;
	}
	/* Pseudo-words of 2..12 letters; duplicates are fine (they merge). */
	for (int i = 0; i < VOCAB; i++) {
		int n = 2 + (int)(mr_rand(&rng) % 11);

		for (int j = 0; j < n; j++)
			vocab[i][j] = (char)('a' + mr_rand(&rng) % 26);
		vocab[i][n] = 0;
	}
	for (int i = 0; i < VOCAB; i++)
		cdf[i] = sum += 1.0 / (i + 1);
	while (len < size) {
		double u = (double)(mr_rand(&rng) >> 11) / 9007199254740992.0 * sum;
		int lo = 0, hi = VOCAB - 1;
		uint64_t r = mr_rand(&rng);
		size_t n;

		while (lo < hi) {
			int mid = (lo + hi) / 2;

			if (cdf[mid] < u)
				lo = mid + 1;
			else
				hi = mid;
		}
		n = strlen(vocab[lo]);
		memcpy(text + len, vocab[lo], n);
		if (r % 16 == 0) /* Capitalised now and then: the count is case-blind */
			text[len] = (char)(text[len] - 'a' + 'A');
		len += n;
		if (r % 29 == 0)
			text[len++] = (r >> 8) % 2 ? ',' : '.';
		if (++col == 12) {
			text[len++] = '\n';
			col = 0;
		} else {
			text[len++] = ' ';
		}
	}
	rc = mr_file_write(dir, INPUT, text, len);
out:
	free(vocab);
	free(cdf);
	free(text);
	return rc;
}

static const struct mr_bench wc_bench = {
	.name = "word_count",
	.gen = wc_gen,
	.run = wc_run,
	.print = wc_print,
	.free = wc_free,
};

int main(int argc, char **argv)
{
	return mr_main(&wc_bench, argc, argv);
}
