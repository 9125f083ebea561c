/* SPDX-License-Identifier: MIT */
/*
 * Description: the MapReduce library itself, in the pthreads mode and in
 * the EF mode under every ICF x mechanism: records of many sizes (up to
 * MR_REC_MAX, crossing message boundaries) arrive intact, complete and in
 * each mapper's order at the right reducer; a failing map, an oversized
 * record and a bad spec make the job fail instead of producing a result;
 * a session carries several rounds through the same EFs.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <xos.h>

#include "mr.h"

#define NMAP 3
#define NRED 2
#define NREC 600

struct task {
	uint32_t map, nrec;
};

/* Record i of map m: its length, and byte j of it. */
static size_t rec_len(uint32_t i)
{
	return i % 17 == 5 ? 8 + (size_t)(i * 104729u) % (MR_REC_MAX - 8) : 8 + (i * 7919u) % 200;
}

static unsigned char rec_byte(uint32_t m, uint32_t i, size_t j)
{
	return (unsigned char)(m * 131 + i * 7 + j * 13);
}

static int test_map(const void *task, struct mr_writer **parts, int nparts)
{
	const struct task *t = task;

	for (uint32_t i = 0; i < t->nrec; i++) {
		size_t len = rec_len(i);
		unsigned char *r = mr_put(parts[i % (uint32_t)nparts], len);

		if (!r)
			return -EIO;
		memcpy(r, &t->map, 4);
		memcpy(r + 4, &i, 4);
		for (size_t j = 8; j < len; j++)
			r[j] = rec_byte(t->map, i, j);
	}
	return 0;
}

struct summary {
	uint64_t part, nrec, bytes, bad;
};

/* Check every record against what its map wrote, and the per-map order. */
static int test_reduce(int part, struct mr_reader *in, struct mr_writer *out)
{
	struct summary s = { .part = (uint64_t)part };
	int64_t last[NMAP] = { -1, -1, -1 };
	const unsigned char *r;
	size_t len;

	while ((r = mr_get(in, &len))) {
		uint32_t m, i;

		memcpy(&m, r, 4);
		memcpy(&i, r + 4, 4);
		s.nrec++;
		s.bytes += len;
		if (m >= NMAP || i % NRED != (uint32_t)part || len != rec_len(i) || (int64_t)i <= last[m]) {
			s.bad++;
			continue;
		}
		last[m] = i;
		for (size_t j = 8; j < len; j++)
			if (r[j] != rec_byte(m, i, j)) {
				s.bad++;
				break;
			}
	}
	if (mr_reader_error(in))
		return mr_reader_error(in);
	return mr_write(out, &s, sizeof(s));
}

static int test_merge(void *result, const void *rec, size_t len)
{
	struct summary *total = result;
	const struct summary *s = rec;

	if (len != sizeof(*s) || s->part >= NRED)
		return -EBADMSG;
	total[s->part].part = s->part;
	total[s->part].nrec += s->nrec;
	total[s->part].bytes += s->bytes;
	total[s->part].bad += s->bad;
	return 0;
}

static int failing_map(const void *task, struct mr_writer **parts, int nparts)
{
	const struct task *t = task;

	if (t->map == 1)
		return -EIO;
	return test_map(task, parts, nparts);
}

static int oversize_map(const void *task, struct mr_writer **parts, int nparts)
{
	(void)task, (void)nparts;
	return mr_put(parts[0], MR_REC_MAX + 1) ? 0 : -EMSGSIZE;
}

static const struct mr_spec spec = {
	.name = "mrtest",
	.nmap = NMAP,
	.nreduce = NRED,
	.task_size = sizeof(struct task),
	.map = test_map,
	.reduce = test_reduce,
	.merge = test_merge,
};

/* One round of @nrec records per map, through @s (or a one-shot job when NULL). */
static void roundtrip_n(enum mr_mode mode, struct mr_session *s, uint32_t nrec)
{
	struct task tasks[NMAP];
	struct summary total[NRED] = { 0 };
	uint64_t want_rec[NRED] = { 0 }, want_bytes[NRED] = { 0 };

	for (uint32_t m = 0; m < NMAP; m++) {
		tasks[m] = (struct task){ .map = m, .nrec = nrec };
		for (uint32_t i = 0; i < nrec; i++) {
			want_rec[i % NRED]++;
			want_bytes[i % NRED] += rec_len(i);
		}
	}
	if (s)
		assert_int_equal(mr_session_round(s, tasks, total), 0);
	else
		assert_int_equal(mr_run(mode, &spec, tasks, total), 0);
	for (int p = 0; p < NRED; p++) {
		assert_int_equal(total[p].bad, 0);
		assert_int_equal(total[p].nrec, want_rec[p]);
		assert_int_equal(total[p].bytes, want_bytes[p]);
	}
}

static void roundtrip(enum mr_mode mode)
{
	struct mr_session *s;

	roundtrip_n(mode, NULL, NREC);
	/* Rounds of different sizes, one of them empty, through the same EFs. */
	assert_int_equal(mr_session_start(mode, &spec, &s), 0);
	roundtrip_n(mode, s, 100);
	roundtrip_n(mode, s, 0);
	roundtrip_n(mode, s, NREC);
	assert_int_equal(mr_session_end(s), 0);
}

static void failures(enum mr_mode mode)
{
	struct task tasks[NMAP] = { { 0, 50 }, { 1, 50 }, { 2, 50 } };
	struct summary total[NRED] = { 0 };
	struct mr_spec bad = spec;

	bad.map = failing_map;
	assert_true(mr_run(mode, &bad, tasks, total) < 0);
	bad.map = oversize_map;
	assert_true(mr_run(mode, &bad, tasks, total) < 0);
	bad = spec;
	bad.nmap = 0;
	assert_int_equal(mr_run(mode, &bad, tasks, total), -EINVAL);
	bad = spec;
	bad.nreduce = MR_MAX_PARTS + 1;
	assert_int_equal(mr_run(mode, &bad, tasks, total), -EINVAL);
}

static void test_pthread_roundtrip(void **state)
{
	(void)state;
	roundtrip(MR_PTHREAD);
}

static void test_pthread_failures(void **state)
{
	(void)state;
	failures(MR_PTHREAD);
}

static const char *const icfs[] = { "thread", "process" };
static const char *const mechs[] = { "ring", "pipe", "unix", "tcp" };

static void test_ef_roundtrip(void **state)
{
	(void)state;
	for (int i = 0; i < 2; i++)
		for (int m = 0; m < 4; m++) {
			print_message("ef roundtrip: %s / %s\n", icfs[i], mechs[m]);
			assert_int_equal(xos_icf_force(icfs[i]), 0);
			assert_int_equal(setenv("XOS_CHAN", mechs[m], 1), 0);
			roundtrip(MR_EF);
		}
	xos_icf_force(NULL);
	unsetenv("XOS_CHAN");
}

static void test_ef_failures(void **state)
{
	(void)state;
	for (int i = 0; i < 2; i++) {
		assert_int_equal(xos_icf_force(icfs[i]), 0);
		failures(MR_EF);
	}
	xos_icf_force(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pthread_roundtrip),
		cmocka_unit_test(test_pthread_failures),
		cmocka_unit_test(test_ef_roundtrip),
		cmocka_unit_test(test_ef_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
