/* SPDX-License-Identifier: MIT */
/*
 * Description: the register_com table (src/runtime/com.c).
 * xos_com_register() (-EEXIST for a triple already there, in either order
 * of the pair; -EINVAL for a bad name), xos_com_list() (either order, NULL
 * wildcards, cheapest first, the total count whatever n is, -EINVAL for
 * bad arguments) and xos__com_best() (the cheapest cost, UINT_MAX when no
 * mechanism connects the pair).
 */
#include "unit.h"

#include <limits.h>

/*
 * A clean table holding the built-ins' entries only: xos_com_list()
 * initialises the runtime, which registers thread and process, whose init()
 * fills the table.  Tests use their own ICF names (alpha, beta, gamma).
 */
static int setup(void **state)
{
	xos__runtime_reset();
	(void)state;
	return xos__runtime_init() < 0 ? -1 : 0;
}

static int count(const char *a, const char *b)
{
	return xos_com_list(a, b, NULL, 0);
}

/* The pair of @info is {@a, @b}, in either order. */
static bool pair_is(const struct xos_com_info *info, const char *a, const char *b)
{
	return (strcmp(info->icf_a, a) == 0 && strcmp(info->icf_b, b) == 0) ||
	       (strcmp(info->icf_a, b) == 0 && strcmp(info->icf_b, a) == 0);
}

static void assert_sorted(const struct xos_com_info *infos, int n)
{
	for (int i = 1; i < n; i++)
		if (infos[i - 1].cost > infos[i].cost)
			fail_msg("not cheapest first: [%d] %s %u before [%d] %s %u", i - 1,
				 infos[i - 1].mechanism, infos[i - 1].cost, i, infos[i].mechanism,
				 infos[i].cost);
}

/* ---- xos_com_register ------------------------------------------------------ */

static void test_register_eexist_either_order(void **state)
{
	struct xos_com_info infos[4];

	(void)state;
	t_assert_rc_errno(xos_com_register("alpha", "beta", "ring", 10), 0);
	t_assert_rc_errno(xos_com_register("alpha", "beta", "ring", 10), -EEXIST);
	t_assert_rc_errno(xos_com_register("beta", "alpha", "ring", 99), -EEXIST);
	/* Same pair, another mechanism; a pair of one ICF with itself. */
	t_assert_rc(xos_com_register("beta", "alpha", "pipe", 30), 0);
	t_assert_rc(xos_com_register("alpha", "alpha", "ring", 1), 0);
	t_assert_rc(xos_com_register("alpha", "alpha", "ring", 2), -EEXIST);
	/* Same mechanism, another pair. */
	t_assert_rc(xos_com_register("alpha", "gamma", "ring", 7), 0);

	/* The refused duplicates changed nothing. */
	t_assert_rc(xos_com_list("alpha", "beta", infos, 4), 2);
	t_assert_str(infos[0].mechanism, "ring");
	t_assert_uint(infos[0].cost, 10);
	t_assert_str(infos[1].mechanism, "pipe");
	t_assert_uint(infos[1].cost, 30);
	t_assert_rc(xos_com_list("alpha", "alpha", infos, 4), 1);
	t_assert_uint(infos[0].cost, 1);
}

static void test_register_invalid_names(void **state)
{
	static const char *const bad[] = {
		NULL, "", "UPPER", "has space", "a.b", "abcdefghijklmnopqrstuvwxyz012345", /* 32 */
	};
	int before = count(NULL, NULL);

	(void)state;
	for (size_t i = 0; i < XOS_ARRAY_SIZE(bad); i++) {
		t_assert_rc_errno(xos_com_register(bad[i], "beta", "ring", 1), -EINVAL);
		t_assert_rc_errno(xos_com_register("alpha", bad[i], "ring", 1), -EINVAL);
		t_assert_rc_errno(xos_com_register("alpha", "beta", bad[i], 1), -EINVAL);
	}
	t_assert_int(count(NULL, NULL), before);
	/* 31 characters, digits, '-' and '_' are fine. */
	t_assert_rc(xos_com_register("abcdefghijklmnopqrstuvwxyz01234", "b-2", "x_y", 1), 0);
	t_assert_int(count(NULL, NULL), before + 1);
}

/* ---- xos_com_list ----------------------------------------------------------- */

static void register_sample(void)
{
	t_assert_rc(xos_com_register("alpha", "beta", "tcp", 700), 0);
	t_assert_rc(xos_com_register("beta", "alpha", "ring", 2), 0);
	t_assert_rc(xos_com_register("alpha", "beta", "pipe", 600), 0);
	t_assert_rc(xos_com_register("alpha", "alpha", "ring", 1), 0);
	t_assert_rc(xos_com_register("gamma", "alpha", "unix", 550), 0);
	t_assert_rc(xos_com_register("beta", "gamma", "pipe", 600), 0);
}

static void test_list_either_order_cheapest_first(void **state)
{
	struct xos_com_info ab[8], ba[8];
	int n;

	(void)state;
	register_sample();
	n = xos_com_list("alpha", "beta", ab, 8);
	t_assert_int(n, 3);
	t_assert_rc(xos_com_list("beta", "alpha", ba, 8), 3);
	for (int i = 0; i < n; i++) {
		assert_true(pair_is(&ab[i], "alpha", "beta"));
		t_assert_str(ab[i].mechanism, ba[i].mechanism);
		t_assert_uint(ab[i].cost, ba[i].cost);
	}
	t_assert_str(ab[0].mechanism, "ring");
	t_assert_uint(ab[0].cost, 2);
	t_assert_str(ab[1].mechanism, "pipe");
	t_assert_uint(ab[1].cost, 600);
	t_assert_str(ab[2].mechanism, "tcp");
	t_assert_uint(ab[2].cost, 700);
}

static void test_list_wildcards(void **state)
{
	struct xos_com_info infos[64];
	int base = count(NULL, NULL), n;

	(void)state;
	register_sample();
	/* Everything touching alpha: 3 with beta, 1 with itself, 1 with gamma. */
	n = xos_com_list("alpha", NULL, infos, 64);
	t_assert_int(n, 5);
	assert_sorted(infos, n);
	for (int i = 0; i < n; i++)
		assert_true(strcmp(infos[i].icf_a, "alpha") == 0 ||
			    strcmp(infos[i].icf_b, "alpha") == 0);
	t_assert_str(infos[0].mechanism, "ring");
	t_assert_uint(infos[0].cost, 1);
	assert_true(pair_is(&infos[0], "alpha", "alpha"));
	t_assert_rc(xos_com_list(NULL, "alpha", NULL, 0), 5);

	t_assert_rc(xos_com_list("gamma", NULL, infos, 64), 2);
	assert_sorted(infos, 2);
	t_assert_str(infos[0].mechanism, "unix");
	assert_true(pair_is(&infos[0], "alpha", "gamma"));
	t_assert_str(infos[1].mechanism, "pipe");
	assert_true(pair_is(&infos[1], "beta", "gamma"));

	n = xos_com_list(NULL, NULL, infos, 64);
	t_assert_int(n, base + 6);
	assert_sorted(infos, n);
	t_assert_rc(xos_com_list(NULL, "nobody", infos, 64), 0);
	t_assert_rc(xos_com_list("alpha", "nobody", infos, 64), 0);
}

static void test_list_count_exceeds_n(void **state)
{
	struct xos_com_info infos[4];

	(void)state;
	register_sample();
	t_assert_rc(xos_com_list("alpha", "beta", NULL, 0), 3);
	memset(infos, 0x5a, sizeof(infos));
	t_assert_rc(xos_com_list("alpha", "beta", infos, 1), 3);
	t_assert_str(infos[0].mechanism, "ring");
	/* Only n entries written. */
	for (size_t i = 1; i < XOS_ARRAY_SIZE(infos); i++)
		for (size_t b = 0; b < sizeof(infos[i]); b++)
			if (((unsigned char *)&infos[i])[b] != 0x5a)
				fail_msg("xos_com_list(.., 1) wrote byte %zu of infos[%zu]", b, i);
	memset(infos, 0x5a, sizeof(infos));
	t_assert_rc(xos_com_list("alpha", "beta", infos, 2), 3);
	t_assert_str(infos[1].mechanism, "pipe");
	assert_true(((unsigned char *)&infos[2])[0] == 0x5a);
}

static void test_list_invalid_arguments(void **state)
{
	struct xos_com_info infos[2];

	(void)state;
	register_sample();
	t_assert_rc_errno(xos_com_list("alpha", "beta", NULL, 1), -EINVAL);
	t_assert_rc_errno(xos_com_list(NULL, NULL, NULL, 5), -EINVAL);
	t_assert_rc_errno(xos_com_list("UPPER", NULL, infos, 2), -EINVAL);
	t_assert_rc_errno(xos_com_list(NULL, "a b", infos, 2), -EINVAL);
	t_assert_rc_errno(xos_com_list("", "beta", infos, 2), -EINVAL);
	t_assert_rc_errno(xos_com_list("alpha", "abcdefghijklmnopqrstuvwxyz012345", infos, 2),
			  -EINVAL);
}

/* Names handed out stay valid while the table grows ("never moved or freed"). */
static void test_list_names_stay_valid(void **state)
{
	struct xos_com_info info;
	char mech[16];

	(void)state;
	register_sample();
	t_assert_rc(xos_com_list("alpha", "alpha", &info, 1), 1);
	for (int i = 0; i < 64; i++) {
		snprintf(mech, sizeof(mech), "m%d", i);
		t_assert_rc(xos_com_register("alpha", "delta", mech, (unsigned int)i), 0);
	}
	t_assert_str(info.icf_a, "alpha");
	t_assert_str(info.icf_b, "alpha");
	t_assert_str(info.mechanism, "ring");
	t_assert_rc(xos_com_list("delta", NULL, NULL, 0), 64);
}

/* ---- xos__com_best ------------------------------------------------------------ */

static void test_best(void **state)
{
	const char *mech = NULL;

	(void)state;
	register_sample();
	t_assert_uint(xos__com_best("alpha", "beta", &mech), 2);
	t_assert_str(mech, "ring");
	mech = NULL;
	t_assert_uint(xos__com_best("beta", "alpha", &mech), 2);
	t_assert_str(mech, "ring");
	t_assert_uint(xos__com_best("gamma", "beta", &mech), 600);
	t_assert_str(mech, "pipe");
	t_assert_uint(xos__com_best("alpha", "alpha", NULL), 1);
	/* A cheaper mechanism registered later wins. */
	t_assert_rc(xos_com_register("gamma", "beta", "ring", 3), 0);
	t_assert_uint(xos__com_best("beta", "gamma", &mech), 3);
	t_assert_str(mech, "ring");

	t_assert_uint(xos__com_best("alpha", "nobody", &mech), UINT_MAX);
	t_assert_uint(xos__com_best("nobody", "nobody", NULL), UINT_MAX);
	t_assert_uint(xos__com_best("beta", "beta", NULL), UINT_MAX);
}

static void test_best_empty_table(void **state)
{
	(void)state;
	/* After a reset, before anything initialises: no entry at all. */
	xos__runtime_reset();
	t_assert_uint(xos__com_best("thread", "thread", NULL), UINT_MAX);
	t_assert_rc(xos_com_register("alpha", "beta", "ring", 5), 0);
	t_assert_uint(xos__com_best("alpha", "beta", NULL), 5);
}

/* The built-ins describe how they talk: rings first, every pair covered. */
static void test_builtin_entries(void **state)
{
	static const char *const pairs[][2] = {
		{ "thread", "thread" }, { "thread", "process" }, { "process", "process" },
	};
	struct xos_com_info infos[16];

	(void)state;
	for (size_t i = 0; i < XOS_ARRAY_SIZE(pairs); i++) {
		const char *mech = NULL;
		int n = xos_com_list(pairs[i][0], pairs[i][1], infos, 16);

		assert_true(n >= 1 && n <= 16);
		assert_sorted(infos, n);
		t_assert_str(infos[0].mechanism, "ring");
		t_assert_uint(xos__com_best(pairs[i][1], pairs[i][0], &mech), infos[0].cost);
		t_assert_str(mech, "ring");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, t_reset)
		T(test_register_eexist_either_order),
		T(test_register_invalid_names),
		T(test_list_either_order_cheapest_first),
		T(test_list_wildcards),
		T(test_list_count_exceeds_n),
		T(test_list_invalid_arguments),
		T(test_list_names_stay_valid),
		T(test_best),
		T(test_best_empty_table),
		T(test_builtin_entries),
#undef T
	};

	t_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
