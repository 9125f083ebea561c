/* SPDX-License-Identifier: MIT */
/*
 * Description: the mechanism choice (xos__policy_choose_mech in
 * src/runtime/policy.c), which is pure, so every combination is checked.
 * A table lists, for every policy x isolation of the two ICFs x set of
 * registered mechanisms (shared memory and kernel-mediated, kernel only,
 * shared memory only, one the channel layer lacks, none), the mechanism
 * chosen and the rule the explanation gives.  Then: a forced mechanism
 * wins everywhere, the explanation lists every cost and stars the pick,
 * short buffers stay terminated, and xos__policy_mech_serves.
 */
#include "unit.h"

/* ---- registered sets, cheapest first as xos_com_list() returns them ---- */
enum cset { CS_ALL, CS_KERNEL, CS_SHARED, CS_UNKNOWN_FIRST, CS_NONE, CS_COUNT_ };

static const struct xos__mech_cand cs_all[] = {
	{ "ring", 200, true, false }, { "unix", 55000, true, true },
	{ "pipe", 60000, true, true }, { "tcp", 70000, true, true, true },
};
static const struct xos__mech_cand cs_kernel[] = {
	{ "unix", 55000, true, true }, { "pipe", 60000, true, true },
};
static const struct xos__mech_cand cs_shared[] = {
	{ "ring", 200, true, false },
};
/* A mechanism registered by an ICF but missing from the channel layer is skipped. */
static const struct xos__mech_cand cs_unknown_first[] = {
	{ "vsock", 100, false, true }, { "ring", 200, true, false }, { "pipe", 60000, true, true },
};

static const struct {
	const struct xos__mech_cand *c;
	size_t n;
	const char *name;
} csets[CS_COUNT_] = {
	[CS_ALL] = { cs_all, 4, "all" },
	[CS_KERNEL] = { cs_kernel, 2, "kernel" },
	[CS_SHARED] = { cs_shared, 1, "shared" },
	[CS_UNKNOWN_FIRST] = { cs_unknown_first, 3, "unknown-first" },
	[CS_NONE] = { NULL, 0, "none" },
};

#define N XOS_ISO_NONE
#define M XOS_ISO_MEMORY
#define S XOS_ISO_SYSCALLS

static const struct row {
	enum xos__policy policy;
	enum xos_isolation a, b;
	enum cset cs;
	const char *want;
	const char *rule; /* in the explanation */
} rows[] = {
	/* perf: always the cheapest the layer has. */
	{ XOS_POLICY_PERF, N, N, CS_ALL, "ring", "policy perf: cheapest" },
	{ XOS_POLICY_PERF, M, M, CS_ALL, "ring", "policy perf: cheapest" },
	{ XOS_POLICY_PERF, S, N, CS_ALL, "ring", "policy perf: cheapest" },
	{ XOS_POLICY_PERF, M, M, CS_KERNEL, "unix", "policy perf: cheapest" },
	{ XOS_POLICY_PERF, M, M, CS_SHARED, "ring", "policy perf: cheapest" },
	{ XOS_POLICY_PERF, N, N, CS_UNKNOWN_FIRST, "ring", "policy perf: cheapest" },
	{ XOS_POLICY_PERF, N, N, CS_NONE, "ring", "ring by default" },
	/* spread places EFs on hosts; for a channel it is perf. */
	{ XOS_POLICY_SPREAD, N, N, CS_ALL, "ring", "policy spread: cheapest" },
	{ XOS_POLICY_SPREAD, M, M, CS_ALL, "ring", "policy spread: cheapest" },
	{ XOS_POLICY_SPREAD, M, M, CS_KERNEL, "unix", "policy spread: cheapest" },
	{ XOS_POLICY_SPREAD, M, M, CS_SHARED, "ring", "policy spread: cheapest" },
	{ XOS_POLICY_SPREAD, N, N, CS_UNKNOWN_FIRST, "ring", "policy spread: cheapest" },
	{ XOS_POLICY_SPREAD, N, N, CS_NONE, "ring", "ring by default" },
	/* balanced: kernel-mediated only when both ends isolate memory. */
	{ XOS_POLICY_BALANCED, N, N, CS_ALL, "ring", "policy balanced: cheapest" },
	{ XOS_POLICY_BALANCED, M, N, CS_ALL, "ring", "policy balanced: cheapest" },
	{ XOS_POLICY_BALANCED, N, S, CS_ALL, "ring", "policy balanced: cheapest" },
	{ XOS_POLICY_BALANCED, M, M, CS_ALL, "unix", "both ends isolate memory: kernel-mediated" },
	{ XOS_POLICY_BALANCED, S, M, CS_ALL, "unix", "both ends isolate memory: kernel-mediated" },
	{ XOS_POLICY_BALANCED, M, M, CS_KERNEL, "unix", "both ends isolate memory: kernel-mediated" },
	{ XOS_POLICY_BALANCED, M, M, CS_SHARED, "ring", "no kernel-mediated mechanism registered: cheapest" },
	{ XOS_POLICY_BALANCED, M, M, CS_UNKNOWN_FIRST, "pipe", "both ends isolate memory: kernel-mediated" },
	{ XOS_POLICY_BALANCED, M, M, CS_NONE, "ring", "ring by default" },
	/* isolation: kernel-mediated as soon as one end isolates memory. */
	{ XOS_POLICY_ISOLATION, N, N, CS_ALL, "ring", "no end isolates memory: cheapest" },
	{ XOS_POLICY_ISOLATION, M, N, CS_ALL, "unix", "an end isolates memory: kernel-mediated" },
	{ XOS_POLICY_ISOLATION, N, S, CS_ALL, "unix", "an end isolates memory: kernel-mediated" },
	{ XOS_POLICY_ISOLATION, M, M, CS_ALL, "unix", "an end isolates memory: kernel-mediated" },
	{ XOS_POLICY_ISOLATION, M, N, CS_KERNEL, "unix", "an end isolates memory: kernel-mediated" },
	{ XOS_POLICY_ISOLATION, M, N, CS_SHARED, "ring", "no kernel-mediated mechanism registered: cheapest" },
	{ XOS_POLICY_ISOLATION, N, N, CS_UNKNOWN_FIRST, "ring", "no end isolates memory: cheapest" },
	{ XOS_POLICY_ISOLATION, M, N, CS_UNKNOWN_FIRST, "pipe", "an end isolates memory: kernel-mediated" },
	{ XOS_POLICY_ISOLATION, M, M, CS_NONE, "ring", "ring by default" },
};

#define WHY_LEN 512

static const char *choose(enum xos__policy p, const char *forced, enum xos_isolation a,
			  enum xos_isolation b, enum cset cs, char *why, size_t why_len)
{
	struct xos__settings set = { .policy = p, .forced_mech = forced };
	struct xos__chan_pair pair = { .a = "icf-a", .b = "icf-b", .iso_a = a, .iso_b = b };

	memset(why, 'x', why_len);
	return xos__policy_choose_mech(&set, &pair, csets[cs].c, csets[cs].n, why, why_len);
}

static void test_mech_table(void **state)
{
	char why[WHY_LEN];

	(void)state;
	for (size_t k = 0; k < XOS_ARRAY_SIZE(rows); k++) {
		const struct row *r = &rows[k];
		const char *got = choose(r->policy, NULL, r->a, r->b, r->cs, why, sizeof(why));

		if (!memchr(why, '\0', sizeof(why)))
			fail_msg("row %zu: why not terminated", k);
		if (!got || strcmp(got, r->want) != 0 || !strstr(why, r->rule))
			fail_msg("row %zu (policy %s, isolation %s/%s, %s registered): got %s (\"%s\"), "
				 "want %s (\"%s\")", k, xos__policy_name(r->policy), xos_isolation_name(r->a),
				 xos_isolation_name(r->b), csets[r->cs].name, got ? got : "(null)", why,
				 r->want, r->rule);
	}
}

/* Every policy x isolation pair x set appears in the table at least for perf's neighbours. */
static void test_mech_table_covers_policies(void **state)
{
	bool seen[XOS_POLICY_COUNT_][CS_COUNT_] = { { false } };

	(void)state;
	for (size_t k = 0; k < XOS_ARRAY_SIZE(rows); k++)
		seen[rows[k].policy][rows[k].cs] = true;
	for (int p = 0; p < XOS_POLICY_COUNT_; p++)
		for (int c = 0; c < CS_COUNT_; c++)
			if (!seen[p][c])
				fail_msg("no row for policy %s with %s registered",
					 xos__policy_name((enum xos__policy)p), csets[c].name);
}

/* Ends on different hosts: only a mechanism that crosses hosts, whatever the policy or XOS_CHAN. */
static void test_mech_apart(void **state)
{
	struct xos__chan_pair pair = { .a = "thread", .b = "process", .apart = true };
	char why[WHY_LEN];

	(void)state;
	for (int p = 0; p < XOS_POLICY_COUNT_; p++) {
		struct xos__settings set = { .policy = (enum xos__policy)p };
		const char *got;

		for (int c = 0; c < CS_COUNT_; c++) {
			got = xos__policy_choose_mech(&set, &pair, csets[c].c, csets[c].n, why, sizeof(why));
			if (c == CS_ALL) {
				t_assert_str(got, "tcp");
				assert_true(strstr(why, "ends on different hosts") != NULL);
			} else if (got) {
				fail_msg("policy %s, %s registered: %s crosses no host", xos__policy_name(set.policy),
					 csets[c].name, got);
			} else {
				assert_true(strstr(why, "no mechanism crosses hosts") != NULL);
			}
		}
		set.forced_mech = "ring";
		got = xos__policy_choose_mech(&set, &pair, cs_all, 4, why, sizeof(why));
		t_assert_str(got, "tcp");
		assert_true(strstr(why, "XOS_CHAN ignored") != NULL);
	}
	/* The same pair on one host: the ring, as ever. */
	pair.apart = false;
	{
		struct xos__settings set = { .policy = XOS_POLICY_PERF };

		t_assert_str(xos__policy_choose_mech(&set, &pair, cs_all, 4, why, sizeof(why)), "ring");
	}
}

static void test_mech_forced(void **state)
{
	char why[WHY_LEN];

	(void)state;
	for (int p = 0; p < XOS_POLICY_COUNT_; p++)
		for (int c = 0; c < CS_COUNT_; c++) {
			const char *got = choose((enum xos__policy)p, "tcp", M, M, (enum cset)c, why,
						 sizeof(why));

			t_assert_str(got, "tcp");
			t_assert_str(why, "forced (XOS_CHAN=tcp)");
		}
	/* Even one registered nowhere: the operator asked for it. */
	t_assert_str(choose(XOS_POLICY_PERF, "pipe", N, N, CS_SHARED, why, sizeof(why)), "pipe");
}

static void test_mech_why_lists_costs(void **state)
{
	char why[WHY_LEN];

	(void)state;
	t_assert_str(choose(XOS_POLICY_ISOLATION, NULL, M, N, CS_ALL, why, sizeof(why)), "unix");
	t_assert_str(why, "policy isolation: an end isolates memory: kernel-mediated "
			  "(cost: ring 200, *unix 55000, pipe 60000, tcp 70000)");
	t_assert_str(choose(XOS_POLICY_PERF, NULL, N, N, CS_NONE, why, sizeof(why)), "ring");
	t_assert_str(why, "no mechanism registered between icf-a and icf-b: ring by default");
}

static void test_mech_why_short_buffer(void **state)
{
	char why[64];

	(void)state;
	for (size_t len = 1; len <= sizeof(why); len++) {
		t_assert_str(choose(XOS_POLICY_BALANCED, NULL, M, M, CS_ALL, why, len), "unix");
		if (!memchr(why, '\0', len))
			fail_msg("why_len %zu: not terminated", len);
	}
}

static void test_mech_serves(void **state)
{
	struct xos__settings set = { .policy = XOS_POLICY_PERF };

	(void)state;
	t_assert_int(xos__policy_mech_serves(&set, "ring", cs_all, 4), true);
	t_assert_int(xos__policy_mech_serves(&set, "tcp", cs_all, 4), true);
	t_assert_int(xos__policy_mech_serves(&set, "tcp", cs_kernel, 2), false);
	t_assert_int(xos__policy_mech_serves(&set, "ring", cs_kernel, 2), false);
	/* Nothing registered: whatever carries it serves. */
	t_assert_int(xos__policy_mech_serves(&set, "pipe", NULL, 0), true);
	/* Forced: only the forced one, registered or not. */
	set.forced_mech = "pipe";
	t_assert_int(xos__policy_mech_serves(&set, "pipe", cs_shared, 1), true);
	t_assert_int(xos__policy_mech_serves(&set, "ring", cs_shared, 1), false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mech_table),
		cmocka_unit_test(test_mech_table_covers_policies),
		cmocka_unit_test(test_mech_forced),
		cmocka_unit_test(test_mech_apart),
		cmocka_unit_test(test_mech_why_lists_costs),
		cmocka_unit_test(test_mech_why_short_buffer),
		cmocka_unit_test(test_mech_serves),
	};

	t_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
