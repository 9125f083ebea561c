/* SPDX-License-Identifier: MIT */
/*
 * Description: the policy's rule for ICFs with XOS_ICF_F_RESTRICTED
 * (src/runtime/policy.c): such an ICF is ranked only for EFs that ask for
 * at least its isolation level, or that name it (attr.icf, a non-empty
 * acceptable set, the forced ICF); otherwise the explanation says why it
 * was passed over.  The same ICF without the feature is ranked as before,
 * so the rule hangs on the declaration alone, not on a name.
 */
#include "unit.h"

static const struct xos_icf icf_thread = {
	.name = "thread", .isolation = XOS_ISO_NONE, .features = XOS_ICF_F_SHARED_MEMORY,
	.create_cost = 20000,
};
static const struct xos_icf icf_process = {
	.name = "process", .isolation = XOS_ISO_MEMORY, .features = XOS_ICF_F_PIVOT,
	.create_cost = 150000,
};
static const struct xos_icf icf_jail = {
	.name = "jail", .isolation = XOS_ISO_SYSCALLS,
	.features = XOS_ICF_F_OWN_FDS | XOS_ICF_F_RESTRICTED, .create_cost = 600000,
};
static const struct xos_icf icf_open_jail = {
	.name = "jail", .isolation = XOS_ISO_SYSCALLS, .features = XOS_ICF_F_OWN_FDS,
	.create_cost = 600000,
};

static void cands_of(const struct xos_icf *third, struct xos__candidate c[3])
{
	const struct xos_icf *icfs[3] = { &icf_thread, &icf_process, third };

	for (int i = 0; i < 3; i++)
		c[i] = (struct xos__candidate){ .icf = icfs[i], .available = true, .reason = "",
						.com_cost = 200, .com_mech = "ring" };
}

static const char *choose(const struct xos_icf *third, const char *policy, const char *forced,
			  enum xos_isolation iso, const char *icf, const char *set, char *why,
			  size_t why_len, int *ret_rc)
{
	struct xos__candidate c[3];
	struct xos__settings s = { 0 };
	struct xos_ef_attr attr;
	size_t idx = 99;

	cands_of(third, c);
	t_assert_rc(xos__policy_parse(policy, &s.policy), 0);
	if (forced)
		snprintf(s.forced_icf, sizeof(s.forced_icf), "%s", forced);
	xos_ef_attr_init(&attr);
	attr.isolation = iso;
	attr.icf = icf;
	attr.icfs = set;
	*ret_rc = xos__policy_choose(&s, &attr, c, 3, &idx, why, why_len);
	return *ret_rc == 0 ? c[idx].icf->name : NULL;
}

static void test_restricted_rule(void **state)
{
	static const struct {
		const char *policy, *forced;
		enum xos_isolation iso;
		const char *icf, *set, *want, *want_open;
	} rows[] = {
		/* Not asked for: passed over; the same ICF unrestricted is chosen. */
		{ "isolation", NULL, XOS_ISO_NONE, NULL, NULL, "process", "jail" },
		{ "isolation", NULL, XOS_ISO_MEMORY, NULL, NULL, "process", "jail" },
		{ "balanced", NULL, XOS_ISO_MEMORY, NULL, NULL, "process", "process" },
		/* Asked for by isolation level: every policy. */
		{ "isolation", NULL, XOS_ISO_SYSCALLS, NULL, NULL, "jail", "jail" },
		{ "perf", NULL, XOS_ISO_SYSCALLS, NULL, NULL, "jail", "jail" },
		{ "balanced", NULL, XOS_ISO_SYSCALLS, NULL, NULL, "jail", "jail" },
		/* Named: explicitly, in the acceptable set, forced. */
		{ "perf", NULL, XOS_ISO_NONE, "jail", NULL, "jail", "jail" },
		{ "isolation", NULL, XOS_ISO_NONE, NULL, "thread,jail", "jail", "jail" },
		{ "perf", NULL, XOS_ISO_NONE, NULL, "jail", "jail", "jail" },
		{ "perf", "jail", XOS_ISO_NONE, NULL, NULL, "jail", "jail" },
		/* Forced, but the acceptable set leaves it out. */
		{ "isolation", "jail", XOS_ISO_NONE, NULL, "thread,process", "process", "process" },
	};
	char why[1024];
	int rc;

	(void)state;
	for (size_t i = 0; i < XOS_ARRAY_SIZE(rows); i++) {
		const char *got = choose(&icf_jail, rows[i].policy, rows[i].forced, rows[i].iso,
					 rows[i].icf, rows[i].set, why, sizeof(why), &rc);
		const char *got_open = choose(&icf_open_jail, rows[i].policy, rows[i].forced,
					      rows[i].iso, rows[i].icf, rows[i].set, why, sizeof(why), &rc);

		if (!got || strcmp(got, rows[i].want) || !got_open || strcmp(got_open, rows[i].want_open))
			fail_msg("row %zu: restricted -> %s (want %s), unrestricted -> %s (want %s)", i,
				 got ? got : "error", rows[i].want, got_open ? got_open : "error",
				 rows[i].want_open);
	}
}

static void test_explanation(void **state)
{
	char why[1024];
	int rc;

	(void)state;
	assert_string_equal(choose(&icf_jail, "isolation", NULL, XOS_ISO_NONE, NULL, NULL, why,
				   sizeof(why), &rc), "process");
	t_assert_contains(why, "jail (restricted, and the EF asks only for isolation none)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_restricted_rule),
		cmocka_unit_test(test_explanation),
	};

	t_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
