/* SPDX-License-Identifier: MIT */
/*
 * Description: argument validation of every public function of <xos/ef.h>
 * that takes arguments: xos_ef_create (and that *ret is untouched on
 * failure), xos_ef_join, xos_ef_exit, xos_policy_set/get, xos_icf_force,
 * xos_isolation_name and the EF accessors; and that errno is never changed
 * by a failing call (<xos/ef.h>: "errno is left untouched").
 */
#include "unit.h"

#include <sys/wait.h>

static const char *const builtin_icfs[] = { "thread", "process" };
#define FOR_EACH_ICF(name) \
	for (const char *const *name = builtin_icfs; name < builtin_icfs + 2; name++)

/* Never stored by xos_ef_create(): *ret must keep it on failure. */
#define RET_SENTINEL ((struct xos_ef *)(uintptr_t)0x5e471e1)

static int return_arg(void *arg)
{
	return arg ? *(int *)arg : 0;
}

/* xos_ef_create() with @attr must fail with @want, leaving *ret and errno alone. */
#define t_assert_create_fails(attr, want)                                                 \
	do {                                                                              \
		struct xos_ef *t_ef_ = RET_SENTINEL;                                      \
		int t_arg_ = 1;                                                           \
		t_assert_rc_errno(xos_ef_create(&t_ef_, (attr), return_arg, &t_arg_,      \
						sizeof(t_arg_)),                          \
				  (want));                                                \
		t_assert_ptr(t_ef_, RET_SENTINEL);                                        \
	} while (0)

static struct xos_ef_attr default_attr(void)
{
	struct xos_ef_attr attr;

	memset(&attr, 0xff, sizeof(attr));
	xos_ef_attr_init(&attr);
	return attr;
}

/* ---- xos_ef_attr_init --------------------------------------------------------- */

static void test_attr_init(void **state)
{
	struct xos_ef_attr attr = default_attr();

	(void)state;
	t_assert_ptr(attr.name, NULL);
	t_assert_ptr(attr.icf, NULL);
	t_assert_ptr(attr.icfs, NULL);
	t_assert_int(attr.isolation, XOS_ISO_NONE);
	t_assert_int(attr.perf, XOS_PERF_ANY);
	t_assert_uint(attr.flags, 0);
	t_assert_ptr(attr.chans, NULL);
	t_assert_uint(attr.nchans, 0);
	for (size_t i = 0; i < XOS_ARRAY_SIZE(attr.reserved); i++)
		t_assert_ptr(attr.reserved[i], NULL);
	xos_ef_attr_init(NULL); /* harmless */
}

/* ---- xos_ef_create: direct arguments -------------------------------------------- */

static void test_create_null_arguments(void **state)
{
	struct xos_ef *ef = RET_SENTINEL;
	int arg = 3;

	(void)state;
	t_assert_rc_errno(xos_ef_create(NULL, NULL, return_arg, &arg, sizeof(arg)), -EINVAL);
	t_assert_rc_errno(xos_ef_create(&ef, NULL, NULL, &arg, sizeof(arg)), -EINVAL);
	t_assert_ptr(ef, RET_SENTINEL);
	t_assert_rc_errno(xos_ef_create(&ef, NULL, return_arg, NULL, 1), -EINVAL);
	t_assert_ptr(ef, RET_SENTINEL);
	t_assert_rc_errno(xos_ef_create(&ef, NULL, return_arg, NULL, sizeof(arg)), -EINVAL);
	t_assert_ptr(ef, RET_SENTINEL);
	/* No EF was left behind by any of them. */
	t_assert_uint(xos__ef_count(), 0);
}

static void test_create_arg_too_big(void **state)
{
	struct xos_ef *ef = RET_SENTINEL;
	char small[16] = { 0 };

	(void)state;
	/* Checked before copying: the buffer is much smaller than the size given. */
	t_assert_rc_errno(xos_ef_create(&ef, NULL, return_arg, small, (256u << 20) + 1), -E2BIG);
	t_assert_ptr(ef, RET_SENTINEL);
	t_assert_rc_errno(xos_ef_create(&ef, NULL, return_arg, small, SIZE_MAX), -E2BIG);
	t_assert_ptr(ef, RET_SENTINEL);
}

static void test_create_null_arg_zero_size_ok(void **state)
{
	struct xos_ef *ef = RET_SENTINEL;
	struct xos_ef_exit ex = { 0 };

	(void)state;
	/* NULL arg with size 0 and NULL attr are fine: the defaults apply. */
	t_assert_rc(xos_ef_create(&ef, NULL, return_arg, NULL, 0), 0);
	assert_true(ef != RET_SENTINEL && ef != NULL);
	t_assert_rc(xos_ef_join(ef, &ex), 0);
	t_assert_int(ex.how, XOS_EF_EXITED);
	t_assert_int(ex.status, 0);
}

/* ---- xos_ef_create: attributes ----------------------------------------------------- */

static void test_create_attr_out_of_range(void **state)
{
	struct xos_ef_attr attr;

	(void)state;
	attr = default_attr();
	attr.isolation = XOS_ISO_COUNT_;
	t_assert_create_fails(&attr, -EINVAL);
	attr.isolation = (enum xos_isolation)-1;
	t_assert_create_fails(&attr, -EINVAL);

	attr = default_attr();
	attr.perf = (enum xos_perf_hint)(XOS_PERF_COMM + 1);
	t_assert_create_fails(&attr, -EINVAL);
	attr.perf = (enum xos_perf_hint)-1;
	t_assert_create_fails(&attr, -EINVAL);

	attr = default_attr();
	attr.flags = 1u << 7; /* not an XOS_EF_F_* flag */
	t_assert_create_fails(&attr, -EINVAL);
	attr.flags = 0;
	attr.domain_size = 1 << 20; /* a size without XOS_EF_F_DOMAIN */
	t_assert_create_fails(&attr, -EINVAL);
	attr.domain_size = 0;
	attr.flags = 0x80000000u;
	t_assert_create_fails(&attr, -EINVAL);

	for (size_t i = 0; i < XOS_ARRAY_SIZE(attr.reserved); i++) {
		attr = default_attr();
		attr.reserved[i] = &attr;
		t_assert_create_fails(&attr, -EINVAL);
	}
	t_assert_uint(xos__ef_count(), 0);
}

static void test_create_attr_icf_name(void **state)
{
	static const char *const bad[] = {
		"", "Thread", "has space", "thread,process", "abcdefghijklmnopqrstuvwxyz012345",
	};
	struct xos_ef_attr attr;

	(void)state;
	for (size_t i = 0; i < XOS_ARRAY_SIZE(bad); i++) {
		attr = default_attr();
		attr.icf = bad[i];
		t_assert_create_fails(&attr, -EINVAL);
	}
	/* Well-formed but not registered, or not meeting the requirements. */
	attr = default_attr();
	attr.icf = "nosuch";
	t_assert_create_fails(&attr, -ENOENT);
	attr.icf = "thread";
	attr.isolation = XOS_ISO_MEMORY;
	t_assert_create_fails(&attr, -EPERM);
	attr.isolation = XOS_ISO_NONE;
	attr.icfs = "process";
	t_assert_create_fails(&attr, -EPERM);
	/* No acceptable ICF at all. */
	attr = default_attr();
	attr.isolation = XOS_ISO_KERNEL;
	t_assert_create_fails(&attr, -ENODEV);
	/* Malformed acceptable set. */
	attr = default_attr();
	attr.icfs = "thread,,process";
	t_assert_create_fails(&attr, -EINVAL);
	t_assert_uint(xos__ef_count(), 0);
}

static void test_create_attr_name_length(void **state)
{
	char name[XOS_EF_NAME_MAX + 8];
	struct xos_ef_attr attr = default_attr();
	struct xos_ef *ef = NULL;

	(void)state;
	memset(name, 'n', sizeof(name));
	name[sizeof(name) - 1] = '\0';
	attr.name = name;
	t_assert_create_fails(&attr, -ENAMETOOLONG);
	name[XOS_EF_NAME_MAX] = '\0'; /* 48 characters */
	t_assert_create_fails(&attr, -ENAMETOOLONG);
	name[XOS_EF_NAME_MAX - 1] = '\0'; /* 47: fits */
	t_assert_rc(xos_ef_create(&ef, &attr, return_arg, NULL, 0), 0);
	t_assert_str(xos_ef_name(ef), name);
	t_assert_rc(xos_ef_join(ef, NULL), 0);
}

static void test_create_attr_chans(void **state)
{
	struct xos_chan *const none[2] = { NULL, NULL };
	struct xos_ef_attr attr = default_attr();

	(void)state;
	attr.nchans = 1;
	attr.chans = NULL;
	t_assert_create_fails(&attr, -EINVAL);
	attr.nchans = 2;
	attr.chans = none;
	t_assert_create_fails(&attr, -EINVAL);
	attr.nchans = 1;
	t_assert_create_fails(&attr, -EINVAL);
	/* chans without nchans: nothing to bind, fine. */
	{
		struct xos_ef *ef = NULL;

		attr.nchans = 0;
		t_assert_rc(xos_ef_create(&ef, &attr, return_arg, NULL, 0), 0);
		t_assert_rc(xos_ef_join(ef, NULL), 0);
	}
}

/* A failing creation on a fresh runtime (init included) leaves errno alone too. */
static void test_create_fresh_runtime_keeps_errno(void **state)
{
	struct xos_ef_attr attr = default_attr();

	(void)state;
	xos__runtime_reset();
	attr.icf = "nosuch";
	t_assert_create_fails(&attr, -ENOENT);
	xos__runtime_reset();
	attr.icf = NULL;
	attr.isolation = XOS_ISO_KERNEL;
	t_assert_create_fails(&attr, -ENODEV);
}

/* Successful calls leave errno alone as well ("errno is left untouched"). */
static void test_success_keeps_errno(void **state)
{
	(void)state;
	xos__runtime_reset();
	FOR_EACH_ICF(icf) {
		struct xos_ef_attr attr = default_attr();
		struct xos_ef *ef = NULL;
		struct xos_ef_exit ex = { 0 };
		int arg = 5;

		attr.icf = *icf;
		t_assert_rc_errno(xos_ef_create(&ef, &attr, return_arg, &arg, sizeof(arg)), 0);
		t_assert_rc_errno(xos_ef_join(ef, &ex), 0);
		t_assert_int(ex.status, 5);
	}
	t_assert_rc_errno(xos_policy_set("balanced"), 0);
	t_assert_rc_errno(xos_icf_force("process"), 0);
	t_assert_rc_errno(xos_icf_force(NULL), 0);
	t_assert_rc_errno(xos_icf_list(NULL, 0), (int)xos__builtin_count());
}

/* ---- xos_ef_join ----------------------------------------------------------------- */

static void test_join_invalid(void **state)
{
	unsigned char garbage[sizeof(struct xos_ef) + 64];
	struct xos_ef_exit ex = { .how = 77, .status = 77 };

	(void)state;
	t_assert_rc_errno(xos_ef_join(NULL, &ex), -EINVAL);
	t_assert_rc_errno(xos_ef_join(NULL, NULL), -EINVAL);
	memset(garbage, 0xa5, sizeof(garbage));
	t_assert_rc_errno(xos_ef_join((struct xos_ef *)garbage, &ex), -EINVAL);
	memset(garbage, 0, sizeof(garbage));
	t_assert_rc_errno(xos_ef_join((struct xos_ef *)garbage, &ex), -EINVAL);
	/* ret_exit untouched on failure. */
	t_assert_int(ex.how, 77);
	t_assert_int(ex.status, 77);
}

static int join_self(void *arg)
{
	struct xos_ef *self = xos_ef_self();
	int rc;

	(void)arg;
	if (!self)
		return 1000;
	errno = T_ERRNO_SENTINEL;
	rc = xos_ef_join(self, NULL);
	if (errno != T_ERRNO_SENTINEL)
		return 1001;
	return rc;
}

static void test_join_self_edeadlk(void **state)
{
	(void)state;
	FOR_EACH_ICF(icf) {
		struct xos_ef_attr attr = default_attr();
		struct xos_ef *ef = NULL;
		struct xos_ef_exit ex = { 0 };

		attr.icf = *icf;
		t_assert_rc(xos_ef_create(&ef, &attr, join_self, NULL, 0), 0);
		/* The refused join freed nothing: the creator's join works. */
		t_assert_rc(xos_ef_join(ef, &ex), 0);
		t_assert_int(ex.how, XOS_EF_EXITED);
		if (ex.status != -EDEADLK)
			fail_msg("%s: xos_ef_join(xos_ef_self()) in the EF = %d (%s), want %d "
				 "(EDEADLK)%s", *icf, ex.status, t_errname(ex.status), -EDEADLK,
				 ex.status == 1001 ? ": errno changed" : "");
	}
}

static int sleep_briefly(void *arg)
{
	(void)arg;
	usleep(1000);
	return 9;
}

/* Another process (not the creator's) cannot join: -ECHILD. */
static void test_join_other_process(void **state)
{
	struct xos_ef_attr attr = default_attr();
	struct xos_ef *ef = NULL;
	struct xos_ef_exit ex = { 0 };
	pid_t pid;
	int ws;

	(void)state;
	attr.icf = "process";
	t_assert_rc(xos_ef_create(&ef, &attr, sleep_briefly, NULL, 0), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int rc = xos_ef_join(ef, NULL);

		_exit(rc == -ECHILD ? 0 : 100 + (rc < 0 ? -rc : rc) % 100);
	}
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	assert_true(WIFEXITED(ws));
	if (WEXITSTATUS(ws) != 0)
		fail_msg("join from another process returned errno %d, want %d (ECHILD)",
			 WEXITSTATUS(ws) - 100, ECHILD);
	t_assert_rc(xos_ef_join(ef, &ex), 0);
	t_assert_int(ex.status, 9);
}

/* ---- xos_ef_exit ------------------------------------------------------------------ */

static void test_exit_outside_ef(void **state)
{
	(void)state;
	t_assert_ptr(xos_ef_self(), NULL);
	t_assert_rc_errno(xos_ef_exit(0), -EPERM);
	t_assert_rc_errno(xos_ef_exit(-1), -EPERM);
}

/* ---- policy, forced ICF -------------------------------------------------------------- */

static void test_policy_set(void **state)
{
	(void)state;
	t_assert_str(xos_policy_get(), "perf");
	t_assert_rc_errno(xos_policy_set(NULL), -EINVAL);
	t_assert_rc_errno(xos_policy_set("bogus"), -EINVAL);
	t_assert_rc_errno(xos_policy_set(""), -EINVAL);
	t_assert_rc_errno(xos_policy_set("Isolation"), -EINVAL);
	t_assert_str(xos_policy_get(), "perf");
	t_assert_rc(xos_policy_set("isolation"), 0);
	t_assert_str(xos_policy_get(), "isolation");
	/* A refused name keeps the policy in force. */
	t_assert_rc(xos_policy_set("bogus"), -EINVAL);
	t_assert_str(xos_policy_get(), "isolation");
	t_assert_rc(xos_policy_set("balanced"), 0);
	t_assert_str(xos_policy_get(), "balanced");
	t_assert_rc(xos_policy_set("perf"), 0);
	t_assert_str(xos_policy_get(), "perf");
}

static int init_unavailable(const struct xos_icf *icf, char *why, size_t why_len)
{
	(void)icf;
	snprintf(why, why_len, "test: never available");
	return -ENODEV;
}

static int never_create(const struct xos_icf *icf, struct xos_ef *ef, struct xos_ic **ret_ic)
{
	(void)icf, (void)ef, (void)ret_ic;
	return -EIO;
}

static int never_wait(struct xos_ic *ic, struct xos_ef_exit *ret_exit)
{
	(void)ic, (void)ret_exit;
	return -EIO;
}

static void test_icf_force(void **state)
{
	static const struct xos_icf_ops ops = {
		.init = init_unavailable, .create = never_create, .wait = never_wait,
	};
	static const struct xos_icf down = {
		.name = "down", .isolation = XOS_ISO_KERNEL, XOS_ICF_OPS(ops),
	};
	struct xos_ef *ef = NULL;

	(void)state;
	t_assert_rc_errno(xos_icf_force("Bad Name"), -EINVAL);
	t_assert_rc_errno(xos_icf_force(""), -EINVAL);
	t_assert_rc_errno(xos_icf_force("abcdefghijklmnopqrstuvwxyz012345"), -EINVAL);
	t_assert_rc_errno(xos_icf_force("nosuch"), -ENOENT);
	t_assert_rc(xos_icf_register(&down), 0);
	t_assert_rc_errno(xos_icf_force("down"), -ENODEV);
	t_assert_rc(xos_icf_force(NULL), 0);

	/* Forcing works, and stops. */
	t_assert_rc(xos_icf_force("process"), 0);
	t_assert_rc(xos_ef_create(&ef, NULL, return_arg, NULL, 0), 0);
	t_assert_str(xos_ef_icf(ef), "process");
	t_assert_rc(xos_ef_join(ef, NULL), 0);
	/* A failed force keeps the one in force. */
	t_assert_rc(xos_icf_force("nosuch"), -ENOENT);
	t_assert_rc(xos_ef_create(&ef, NULL, return_arg, NULL, 0), 0);
	t_assert_str(xos_ef_icf(ef), "process");
	t_assert_rc(xos_ef_join(ef, NULL), 0);
	t_assert_rc(xos_icf_force(NULL), 0);
	t_assert_rc(xos_ef_create(&ef, NULL, return_arg, NULL, 0), 0);
	t_assert_str(xos_ef_icf(ef), "thread");
	t_assert_rc(xos_ef_join(ef, NULL), 0);
}

/* ---- xos_ic_run (<xos/vic.h>) ------------------------------------------------------ */

static void test_ic_run_invalid(void **state)
{
	unsigned char garbage[sizeof(struct xos_ef)];
	struct xos_ic ic = { .icf = &xos__icf_thread, .ef = NULL };

	(void)state;
	t_assert_rc_errno(xos_ic_run(NULL), -EINVAL);
	t_assert_rc_errno(xos_ic_run(&ic), -EINVAL);
	memset(garbage, 0xa5, sizeof(garbage));
	ic.ef = (struct xos_ef *)garbage;
	t_assert_rc_errno(xos_ic_run(&ic), -EINVAL);
	t_assert_ptr(xos_ef_self(), NULL);
}

/* ---- the host kit (<xos/vic.h>) ----------------------------------------------------------- */

static void never(void *arg)
{
	(void)arg;
	_exit(99);
}

static void test_host_kit_invalid(void **state)
{
	unsigned char garbage[sizeof(struct xos_ef)];
	struct xos_ef *bad = (struct xos_ef *)garbage;
	struct xos_ic ic = { .icf = &xos__icf_thread, .ef = NULL }, *ret_ic = NULL;

	(void)state;
	memset(garbage, 0xa5, sizeof(garbage));
	t_assert_rc_errno(xos_ic_fork(NULL, NULL, NULL), -EINVAL);
	t_assert_rc_errno(xos_ic_fork(bad, never, NULL), -EINVAL);
	t_assert_rc_errno(xos_ef_domain_leave(NULL), -EINVAL);
	t_assert_rc_errno(xos_ef_domain_leave(bad), -EINVAL);
	t_assert_rc_errno(xos_ef_image_write(NULL, 1), -EINVAL);
	t_assert_rc_errno(xos_ef_image_write(bad, 1), -EINVAL);
	t_assert_rc_errno(xos_ef_image_read(NULL, 0), -EINVAL);
	t_assert_rc_errno(xos_ef_image_read(bad, 0), -EINVAL);
	t_assert_rc_errno(xos_ef_pivot_take(NULL), -EINVAL);
	t_assert_rc_errno(xos_ef_pivot_take(&ic), -EINVAL);
	t_assert_rc_errno(xos_ef_pivot_give(NULL, &ret_ic), -EINVAL);
	t_assert_rc_errno(xos_ef_pivot_give(&ic, &ret_ic), -EINVAL);
	ic.ef = bad;
	t_assert_rc_errno(xos_ef_pivot_take(&ic), -EINVAL);
	t_assert_rc_errno(xos_ef_pivot_give(&ic, &ret_ic), -EINVAL);
	t_assert_rc_errno(xos_ef_pivot_give(&ic, NULL), -EINVAL);
	/* The void ones ignore what they cannot use. */
	xos_ef_pivot_drop(NULL);
	xos_ef_pivot_drop(&ic);
	xos_ef_ended_elsewhere(NULL);
	xos_ef_ended_elsewhere(bad);
}

/* xos_ic_fork without an EF: a child that runs the callback and never returns here. */
static void test_host_kit_fork(void **state)
{
	int ws = 0, pid;

	(void)state;
	pid = xos_ic_fork(NULL, never, NULL);
	t_assert_rc(pid > 0, 1);
	t_assert_rc(waitpid(pid, &ws, 0), pid);
	t_assert_rc(WIFEXITED(ws) && WEXITSTATUS(ws) == 99, 1);
}

/* ---- xos_image_error (<xos/mutate.h>) ---------------------------------------------------- */

static void test_image_error(void **state)
{
	(void)state;
	assert_non_null(strstr(xos_image_error(-ESTALE), "different binary"));
	assert_string_equal(xos_image_error(ENODATA), xos_image_error(-ENODATA));
	assert_string_equal(xos_image_error(-ENOENT), strerror(ENOENT));
}

/* ---- names and accessors --------------------------------------------------------------- */

static void test_isolation_name(void **state)
{
	(void)state;
	t_assert_str(xos_isolation_name(XOS_ISO_NONE), "none");
	t_assert_str(xos_isolation_name(XOS_ISO_MEMORY), "memory");
	t_assert_str(xos_isolation_name(XOS_ISO_SYSCALLS), "syscalls");
	t_assert_str(xos_isolation_name(XOS_ISO_KERNEL), "kernel");
	t_assert_ptr(xos_isolation_name(XOS_ISO_COUNT_), NULL);
	t_assert_ptr(xos_isolation_name((enum xos_isolation)-1), NULL);
	t_assert_ptr(xos_isolation_name((enum xos_isolation)1000), NULL);
}

static void test_accessors_invalid(void **state)
{
	unsigned char garbage[sizeof(struct xos_ef)];
	const struct xos_ef *g = (const struct xos_ef *)garbage;

	(void)state;
	memset(garbage, 0xa5, sizeof(garbage));
	errno = T_ERRNO_SENTINEL;
	t_assert_uint(xos_ef_id(NULL), 0);
	t_assert_str(xos_ef_name(NULL), ""); /* never NULL */
	t_assert_str(xos_ef_icf(NULL), "");
	t_assert_uint(xos_ef_id(g), 0);
	t_assert_str(xos_ef_name(g), "");
	t_assert_str(xos_ef_icf(g), "");
	t_assert_int(errno, T_ERRNO_SENTINEL);
}

static void test_accessors_valid(void **state)
{
	struct xos_ef_attr attr = default_attr();
	struct xos_ef *a = NULL, *b = NULL;

	(void)state;
	attr.name = "worker";
	attr.icf = "thread";
	t_assert_rc(xos_ef_create(&a, &attr, sleep_briefly, NULL, 0), 0);
	attr.name = NULL;
	attr.icf = "process";
	t_assert_rc(xos_ef_create(&b, &attr, sleep_briefly, NULL, 0), 0);
	t_assert_str(xos_ef_name(a), "worker");
	t_assert_str(xos_ef_icf(a), "thread");
	t_assert_str(xos_ef_icf(b), "process");
	assert_true(xos_ef_id(a) != 0 && xos_ef_id(b) != 0 && xos_ef_id(a) != xos_ef_id(b));
	/* Unnamed EFs get a name anyway. */
	assert_true(xos_ef_name(b)[0] != '\0');
	t_assert_uint(xos__ef_count(), 2);
	t_assert_rc(xos_ef_join(a, NULL), 0);
	t_assert_rc(xos_ef_join(b, NULL), 0);
	t_assert_uint(xos__ef_count(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, t_reset, t_reset)
		T(test_attr_init),
		T(test_create_null_arguments),
		T(test_create_arg_too_big),
		T(test_create_null_arg_zero_size_ok),
		T(test_create_attr_out_of_range),
		T(test_create_attr_icf_name),
		T(test_create_attr_name_length),
		T(test_create_attr_chans),
		T(test_create_fresh_runtime_keeps_errno),
		T(test_success_keeps_errno),
		T(test_join_invalid),
		T(test_join_self_edeadlk),
		T(test_join_other_process),
		T(test_exit_outside_ef),
		T(test_policy_set),
		T(test_icf_force),
		T(test_ic_run_invalid),
		T(test_host_kit_invalid),
		T(test_host_kit_fork),
		T(test_image_error),
		T(test_isolation_name),
		T(test_accessors_invalid),
		T(test_accessors_valid),
#undef T
	};

	t_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
