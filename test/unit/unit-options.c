/* SPDX-License-Identifier: MIT */
/*
 * Description: EF options (src/runtime/options.c).  xos__options_valid
 * accepts exactly "icf.key[=value]" items separated by commas;
 * xos_ef_create refuses malformed ones with -EINVAL; an ICF's create
 * sees, through xos_ef_options_each, its own items in order (key without
 * the prefix, value or ""), never another ICF's; a negative return of the
 * callback stops the walk and fails the creation; bad arguments -EINVAL.
 */
#include "unit.h"

#include <pthread.h>

static void test_valid(void **state)
{
	static const char *const good[] = {
		"a.b", "a.b=", "a.b=c", "sandbox.mem=64M,sandbox.allow=socket:connect",
		"x-y_1.k-2_z=/path/with spaces:and=signs", "",
	};
	static const char *const bad[] = {
		"a", ".b", "a.", "a.b,", ",a.b", "a.b,,c.d", "A.b", "a.B", "a.b=\t", "a.b=x,y",
		"a b.c", "a.b c", "abcdefghijklmnopqrstuvwxyz0123456.k=1",
	};
	char big[XOS_EF_OPTIONS_MAX + 8];

	(void)state;
	assert_true(xos__options_valid(NULL));
	for (size_t i = 0; i < XOS_ARRAY_SIZE(good); i++)
		if (!xos__options_valid(good[i]))
			fail_msg("\"%s\" refused", good[i]);
	for (size_t i = 0; i < XOS_ARRAY_SIZE(bad); i++)
		if (xos__options_valid(bad[i]))
			fail_msg("\"%s\" accepted", bad[i]);
	memcpy(big, "a.b=", 4);
	memset(big + 4, 'x', sizeof(big) - 5);
	big[sizeof(big) - 1] = '\0';
	assert_false(xos__options_valid(big));
}

/* ---- a fake ICF that reads its options in create ------------------------------ */

static char seen[512];
static int stop_at; /* callback returns -EPROTO on this call (1-based); 0: never */

static int record(const char *key, const char *value, void *ctx)
{
	int *calls = ctx;
	size_t used = strlen(seen);

	if (++*calls == stop_at)
		return -EPROTO;
	snprintf(seen + used, sizeof(seen) - used, "[%s|%s]", key, value);
	return 0;
}

struct opt_ic {
	struct xos_ic ic;
	pthread_t tid;
};

static void *opt_main(void *arg)
{
	return (void *)(intptr_t)xos_ic_run(&((struct opt_ic *)arg)->ic);
}

static int opt_create(const struct xos_icf *icf, struct xos_ef *ef, struct xos_ic **ret_ic)
{
	struct opt_ic *o;
	int calls = 0, rc = xos_ef_options_each(ef, icf->name, record, &calls);

	if (rc < 0)
		return rc;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->ic.icf = icf;
	o->ic.ef = ef;
	if (pthread_create(&o->tid, NULL, opt_main, o)) {
		free(o);
		return -EAGAIN;
	}
	*ret_ic = &o->ic;
	return 0;
}

static int opt_wait(struct xos_ic *ic, struct xos_ef_exit *ret_exit)
{
	void *v;

	pthread_join(((struct opt_ic *)ic)->tid, &v);
	ret_exit->how = XOS_EF_EXITED;
	ret_exit->status = (int)(intptr_t)v;
	return 0;
}

static void opt_destroy(struct xos_ic *ic)
{
	free(ic);
}

static const struct xos_icf_ops opt_ops = {
	.create = opt_create, .wait = opt_wait, .destroy = opt_destroy,
};
static const struct xos_icf opt_icf = {
	.name = "opt", .isolation = XOS_ISO_NONE, XOS_ICF_OPS(opt_ops),
};

static int seven(void *arg)
{
	(void)arg;
	return 7;
}

static int run_with(const char *options)
{
	struct xos_ef_attr attr;
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	int rc;

	seen[0] = '\0';
	xos_ef_attr_init(&attr);
	attr.icf = "opt";
	attr.options = options;
	rc = xos_ef_create(&ef, &attr, seven, NULL, 0);
	if (rc < 0)
		return rc;
	t_assert_rc(xos_ef_join(ef, &ex), 0);
	t_assert_int(ex.status, 7);
	return 0;
}

static void test_icf_reads_its_own(void **state)
{
	char options[64];

	(void)state;
	t_assert_rc(xos_icf_register(&opt_icf), 0);
	stop_at = 0;
	t_assert_rc(run_with("opt.a=1,other.a=2,opt.flag,opt.path=/x:/y,opt-x.b=3"), 0);
	t_assert_str(seen, "[a|1][flag|][path|/x:/y]");
	t_assert_rc(run_with(NULL), 0);
	t_assert_str(seen, "");
	t_assert_rc(run_with(""), 0);
	t_assert_str(seen, "");
	/* The ICF refuses: the creation fails with its error, nothing ran. */
	stop_at = 2;
	t_assert_rc(run_with("opt.a=1,opt.b=2,opt.c=3"), -EPROTO);
	t_assert_str(seen, "[a|1]");
	stop_at = 0;
	/* Malformed: refused before any ICF sees it. */
	t_assert_rc_errno(run_with("opt.a=1,"), -EINVAL);
	t_assert_str(seen, "");
	/* The attributes are copied: changing them after create changes nothing. */
	snprintf(options, sizeof(options), "opt.k=v");
	t_assert_rc(run_with(options), 0);
	t_assert_str(seen, "[k|v]");
	t_assert_rc(xos_icf_unregister(&opt_icf), 0);
}

static void test_each_bad_arguments(void **state)
{
	struct xos_ef fake = { 0 };
	int calls = 0;

	(void)state;
	t_assert_rc_errno(xos_ef_options_each(NULL, "opt", record, &calls), -EINVAL);
	t_assert_rc_errno(xos_ef_options_each(&fake, "opt", record, &calls), -EINVAL);
	fake.magic = XOS_EF_MAGIC;
	t_assert_rc_errno(xos_ef_options_each(&fake, "Bad Name", record, &calls), -EINVAL);
	t_assert_rc_errno(xos_ef_options_each(&fake, "opt", NULL, &calls), -EINVAL);
	t_assert_rc_errno(xos_ef_options_each(&fake, "opt", record, &calls), 0);
	t_assert_int(calls, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_icf_reads_its_own),
		cmocka_unit_test(test_each_bad_arguments),
	};

	t_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
