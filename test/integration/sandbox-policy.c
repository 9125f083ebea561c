/* SPDX-License-Identifier: MIT */
/*
 * Description: how the runtime chooses the sandbox, from its declared
 * isolation (syscalls) and its "restricted" feature only.  EFs that ask
 * for syscall-level isolation land in the sandbox under every policy;
 * --policy=isolation puts other EFs in processes, not in the sandbox,
 * because a restricted ICF is chosen only when asked for; naming it
 * (attr.icf, an acceptable set, the forced ICF) chooses it for any EF.
 */
#include "sandbox-helpers.h"

#define XOS_USE_VERSION 1
#include <xos/vic.h>

static int nothing(void *arg)
{
	(void)arg;
	return 0;
}

static const char *chosen(const char *policy, enum xos_isolation iso, const char *icfs)
{
	static char icf[32];
	struct xos_ef_attr attr;
	struct xos_ef *ef;
	struct xos_ef_exit ex;

	assert_int_equal(xos_policy_set(policy), 0);
	xos_ef_attr_init(&attr);
	attr.isolation = iso;
	attr.icfs = icfs;
	assert_int_equal(xos_ef_create(&ef, &attr, nothing, NULL, 0), 0);
	snprintf(icf, sizeof(icf), "%s", xos_ef_icf(ef));
	assert_int_equal(xos_ef_join(ef, &ex), 0);
	t_assert_exit(ex, XOS_EF_EXITED, 0);
	return icf;
}

static void test_policies(void **state)
{
	static const struct {
		const char *policy;
		enum xos_isolation iso;
		const char *icfs, *want;
	} rows[] = {
		{ "perf", XOS_ISO_SYSCALLS, NULL, "sandbox" },
		{ "balanced", XOS_ISO_SYSCALLS, NULL, "sandbox" },
		{ "isolation", XOS_ISO_SYSCALLS, NULL, "sandbox" },
		{ "isolation", XOS_ISO_NONE, NULL, "process" },
		{ "isolation", XOS_ISO_MEMORY, NULL, "process" },
		{ "perf", XOS_ISO_MEMORY, NULL, "process" },
		{ "perf", XOS_ISO_NONE, "sandbox", "sandbox" },
		{ "isolation", XOS_ISO_NONE, "thread,sandbox", "sandbox" },
		{ "perf", XOS_ISO_NONE, "thread,sandbox", "thread" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *got = chosen(rows[i].policy, rows[i].iso, rows[i].icfs);

		if (strcmp(got, rows[i].want) != 0)
			fail_msg("policy %s, isolation %s, set %s: %s, want %s", rows[i].policy,
				 xos_isolation_name(rows[i].iso), rows[i].icfs ? rows[i].icfs : "any",
				 got, rows[i].want);
	}
	assert_int_equal(xos_policy_set("perf"), 0);
}

static void test_forced(void **state)
{
	(void)state;
	assert_int_equal(xos_icf_force("sandbox"), 0);
	assert_string_equal(chosen("perf", XOS_ISO_NONE, NULL), "sandbox");
	/* The forced ICF is not in the EF's acceptable set: the policy decides. */
	assert_string_equal(chosen("perf", XOS_ISO_NONE, "thread"), "thread");
	assert_int_equal(xos_icf_force(NULL), 0);
}

static void test_listed_as_restricted(void **state)
{
	struct xos_icf_info infos[16];
	int n = xos_icf_list(infos, 16);

	(void)state;
	for (int i = 0; i < n && i < 16; i++) {
		if (strcmp(infos[i].name, "sandbox") != 0)
			continue;
		assert_int_equal(infos[i].isolation, XOS_ISO_SYSCALLS);
		assert_true(infos[i].features & XOS_ICF_F_RESTRICTED);
		assert_true(infos[i].features & XOS_ICF_F_CRASH_CONTAINED);
		assert_false(infos[i].features & XOS_ICF_F_SHARED_MEMORY);
		return;
	}
	fail_msg("sandbox not listed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policies),
		cmocka_unit_test(test_forced),
		cmocka_unit_test(test_listed_as_restricted),
	};

	t_sandbox_require();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
