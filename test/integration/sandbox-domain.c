/* SPDX-License-Identifier: MIT */
/*
 * Description: EFs with memory domains (<xos/mutate.h>) and the sandbox.
 * A domain EF runs in the sandbox (its heap from xos_malloc, safe points
 * with xos_ef_yield); a domain EF in a thread creates sandboxed EFs (the
 * fork happens on its host's stack, not on the domain's); mutate to or
 * from the sandbox is refused with -EOPNOTSUPP (the sandbox has no
 * to_pivot/from_pivot yet) and the EF goes on where it was.
 */
#include <unistd.h>

#include "sandbox-helpers.h"

#include <xos/mutate.h>

static int heap_work(void *arg)
{
	long *v = xos_malloc(1 << 20);
	long sum = 0;

	(void)arg;
	if (!v)
		return -1;
	for (int i = 0; i < 1000; i++) {
		v[i] = i;
		if (i % 100 == 0)
			xos_ef_yield();
	}
	for (int i = 0; i < 1000; i++)
		sum += v[i];
	xos_free(v);
	return (int)(sum % 100000); /* 499500 % 100000 */
}

static struct xos_ef *start_domain(const char *icf, xos_ef_fn fn)
{
	struct xos_ef_attr attr;
	struct xos_ef *ef;

	xos_ef_attr_init(&attr);
	attr.icf = icf;
	attr.flags = XOS_EF_F_DOMAIN;
	assert_int_equal(xos_ef_create(&ef, &attr, fn, NULL, 0), 0);
	return ef;
}

static void test_domain_ef_in_sandbox(void **state)
{
	struct xos_ef_exit ex;

	(void)state;
	assert_int_equal(xos_ef_join(start_domain("sandbox", heap_work), &ex), 0);
	t_assert_exit(ex, XOS_EF_EXITED, 99500);
}

static int create_sandboxes(void *arg)
{
	(void)arg;
	for (int i = 0; i < 3; i++) {
		struct xos_ef_attr attr;
		struct xos_ef_exit ex;
		struct xos_ef *ef;

		xos_ef_attr_init(&attr);
		attr.icf = "sandbox";
		if (xos_ef_create(&ef, &attr, heap_work, NULL, 0) < 0)
			return 1;
		if (xos_ef_join(ef, &ex) < 0 || ex.how != XOS_EF_EXITED || ex.status != 99500)
			return 2;
	}
	return 0;
}

static void test_domain_ef_creates_sandboxes(void **state)
{
	struct xos_ef_exit ex;

	(void)state;
	assert_int_equal(xos_ef_join(start_domain("thread", create_sandboxes), &ex), 0);
	t_assert_exit(ex, XOS_EF_EXITED, 0);
}

static void test_mutate_refused(void **state)
{
	static const char *const pairs[][2] = { { "sandbox", "process" }, { "sandbox", "thread" },
						{ "process", "sandbox" }, { "thread", "sandbox" } };
	(void)state;
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		struct xos_ef *ef = start_domain(pairs[i][0], heap_work);
		struct xos_ef_exit ex;

		assert_int_equal(xos_ef_mutate(ef, pairs[i][1]), -EOPNOTSUPP);
		assert_string_equal(xos_ef_icf(ef), pairs[i][0]);
		assert_int_equal(xos_ef_join(ef, &ex), 0);
		t_assert_exit(ex, XOS_EF_EXITED, 99500);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_domain_ef_in_sandbox),
		cmocka_unit_test(test_domain_ef_creates_sandboxes),
		cmocka_unit_test(test_mutate_refused),
	};

	t_sandbox_require();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
