/* SPDX-License-Identifier: MIT */
/*
 * Description: the same EF program, unchanged, under every ICF (thread,
 * process and, where this machine allows it, sandbox).
 * Uses only <xos.h>: arguments by value, exit statuses (returned and via
 * xos_ef_exit), identity, nesting, many EFs at once, and what each ICF
 * promises beyond that: memory isolation and crash containment where the
 * ICF's features say so, full int statuses, stdio written once.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define XOS_USE_VERSION 1
#include <xos.h>
#include <xos/vic.h>

static const char *const icfs[] = { "thread", "process", "sandbox" };
#define NICFS (sizeof(icfs) / sizeof(icfs[0]))
static bool icf_available[NICFS];
/* Every ICF this machine offers; the others are reported skipped once, in main(). */
#define FOR_EACH_ICF(name)                                         \
	for (const char *const *name = icfs; name < icfs + NICFS; name++) \
		if (icf_available[name - icfs])

static unsigned int features_of(const char *icf)
{
	struct xos_icf_info info[16];
	int n = xos_icf_list(info, 16);

	for (int i = 0; i < n && i < 16; i++)
		if (strcmp(info[i].name, icf) == 0)
			return info[i].features;
	fail_msg("ICF %s not listed", icf);
	return 0;
}

/* Create an EF running fn(arg) in exactly ICF @icf. */
static struct xos_ef *start(const char *icf, xos_ef_fn fn, const void *arg, size_t size)
{
	struct xos_ef_attr attr;
	struct xos_ef *ef = NULL;
	int rc;

	xos_ef_attr_init(&attr);
	attr.icf = icf;
	rc = xos_ef_create(&ef, &attr, fn, arg, size);
	assert_int_equal(rc, 0);
	assert_non_null(ef);
	assert_string_equal(xos_ef_icf(ef), icf);
	return ef;
}

static struct xos_ef_exit finish(struct xos_ef *ef)
{
	struct xos_ef_exit ex = { 0 };

	assert_int_equal(xos_ef_join(ef, &ex), 0);
	return ex;
}

/* ---- arguments are copied at creation --------------------------------------- */

#define BIG (1u << 20)

static int checksum_arg(void *arg)
{
	const unsigned char *p = arg;
	uint32_t sum = 0;

	usleep(20000); /* give the creator time to scribble on its buffer */
	for (size_t i = 0; i < BIG; i++)
		sum = sum * 31 + p[i];
	return (int)(sum & INT_MAX);
}

static void test_args_by_value(void **state)
{
	(void)state;
	FOR_EACH_ICF(icf) {
		unsigned char *buf = malloc(BIG);
		uint32_t expect = 0;
		struct xos_ef *ef;
		struct xos_ef_exit ex;

		assert_non_null(buf);
		for (size_t i = 0; i < BIG; i++)
			buf[i] = (unsigned char)(i * 7 + 3);
		for (size_t i = 0; i < BIG; i++)
			expect = expect * 31 + buf[i];
		ef = start(*icf, checksum_arg, buf, BIG);
		memset(buf, 0xee, BIG); /* the EF must not see this */
		ex = finish(ef);
		assert_int_equal(ex.how, XOS_EF_EXITED);
		assert_int_equal(ex.status, (int)(expect & INT_MAX));
		free(buf);
	}
}

/* ---- exit statuses --------------------------------------------------------- */

static int return_value(void *arg)
{
	return *(int *)arg;
}

static void deep_exit(int depth, int status)
{
	if (depth > 0)
		deep_exit(depth - 1, status);
	else
		xos_ef_exit(status);
	fail_msg("xos_ef_exit returned");
}

static int exit_from_depth(void *arg)
{
	deep_exit(10, *(int *)arg);
	return -1;
}

static void test_exit_status(void **state)
{
	static const int values[] = { 0, 1, 7, 255, 256, 1000, -5, INT_MAX, INT_MIN };

	(void)state;
	FOR_EACH_ICF(icf) {
		for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
			struct xos_ef_exit ex = finish(start(*icf, return_value, &values[i], sizeof(int)));

			assert_int_equal(ex.how, XOS_EF_EXITED);
			assert_int_equal(ex.status, values[i]);
			ex = finish(start(*icf, exit_from_depth, &values[i], sizeof(int)));
			assert_int_equal(ex.how, XOS_EF_EXITED);
			assert_int_equal(ex.status, values[i]);
		}
	}
}

/* ---- identity ----------------------------------------------------------- */

static int check_self(void *arg)
{
	const char *icf = arg;
	struct xos_ef *self = xos_ef_self();

	if (!self)
		return 1;
	if (strcmp(xos_ef_icf(self), icf) != 0)
		return 2;
	if (strcmp(xos_ef_name(self), "ident") != 0)
		return 3;
	if (xos_ef_id(self) == 0)
		return 4;
	return 0;
}

static void test_identity(void **state)
{
	(void)state;
	assert_null(xos_ef_self());
	FOR_EACH_ICF(icf) {
		struct xos_ef_attr attr;
		struct xos_ef *a, *b;
		struct xos_ef_exit ex;

		xos_ef_attr_init(&attr);
		attr.icf = *icf;
		attr.name = "ident";
		assert_int_equal(xos_ef_create(&a, &attr, check_self, *icf, strlen(*icf) + 1), 0);
		assert_int_equal(xos_ef_create(&b, &attr, check_self, *icf, strlen(*icf) + 1), 0);
		assert_string_equal(xos_ef_name(a), "ident");
		assert_true(xos_ef_id(a) != xos_ef_id(b));
		ex = finish(a);
		assert_int_equal(ex.status, 0);
		ex = finish(b);
		assert_int_equal(ex.status, 0);
	}
}

/* ---- nesting ------------------------------------------------------------- */

struct nest {
	char icf[16];
	int depth;
};

static int nested(void *arg)
{
	struct nest n = *(struct nest *)arg;
	struct xos_ef_attr attr;
	struct xos_ef *child;
	struct xos_ef_exit ex;
	uint64_t my_id = xos_ef_id(xos_ef_self());

	if (n.depth == 0)
		return 1;
	n.depth--;
	xos_ef_attr_init(&attr);
	attr.icf = n.icf;
	if (xos_ef_create(&child, &attr, nested, &n, sizeof(n)) < 0)
		return -1000;
	if (xos_ef_id(child) == my_id)
		return -2000;
	if (xos_ef_join(child, &ex) < 0 || ex.how != XOS_EF_EXITED || ex.status < 0)
		return -3000;
	return ex.status + 1;
}

static void test_nesting(void **state)
{
	(void)state;
	FOR_EACH_ICF(icf) {
		struct nest n = { .depth = 5 };
		struct xos_ef_exit ex;

		snprintf(n.icf, sizeof(n.icf), "%s", *icf);
		ex = finish(start(*icf, nested, &n, sizeof(n)));
		assert_int_equal(ex.how, XOS_EF_EXITED);
		assert_int_equal(ex.status, 6);
	}
}

/* ---- many at once --------------------------------------------------------- */

static int square(void *arg)
{
	int v = *(int *)arg;

	usleep(1000);
	return v * v;
}

static void test_many(void **state)
{
	(void)state;
	FOR_EACH_ICF(icf) {
		struct xos_ef *efs[48];

		for (int i = 0; i < 48; i++)
			efs[i] = start(*icf, square, &i, sizeof(i));
		/* join in reverse order: join order must not matter */
		for (int i = 47; i >= 0; i--) {
			struct xos_ef_exit ex = finish(efs[i]);

			assert_int_equal(ex.status, i * i);
		}
	}
}

/* ---- memory isolation follows the ICF's features ------------------------- */

static volatile int shared_global;

static int write_global(void *arg)
{
	shared_global = *(int *)arg;
	return shared_global;
}

static void test_memory_isolation(void **state)
{
	(void)state;
	FOR_EACH_ICF(icf) {
		int value = 4242;
		struct xos_ef_exit ex;

		shared_global = 0;
		ex = finish(start(*icf, write_global, &value, sizeof(value)));
		assert_int_equal(ex.status, value);
		if (features_of(*icf) & XOS_ICF_F_SHARED_MEMORY)
			assert_int_equal(shared_global, value);
		else
			assert_int_equal(shared_global, 0);
	}
}

/* ---- crashes are contained where the ICF says so ----------------------------- */

static int crash(void *arg)
{
	/* A process EF inherits its creator's handlers, as a thread shares them:
	 * undo cmocka's, so the signal does what it does to a plain program. */
	signal(*(int *)arg, SIG_DFL);
	raise(*(int *)arg);
	return 0;
}

static void test_crash_contained(void **state)
{
	static const int sigs[] = { SIGSEGV, SIGKILL, SIGABRT, SIGTERM };

	(void)state;
	FOR_EACH_ICF(icf) {
		if (!(features_of(*icf) & XOS_ICF_F_CRASH_CONTAINED))
			continue;
		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
			struct xos_ef_exit ex = finish(start(*icf, crash, &sigs[i], sizeof(int)));

			assert_int_equal(ex.how, XOS_EF_KILLED);
			assert_int_equal(ex.status, sigs[i]);
		}
	}
}

/* ---- a handle joined from the wrong process -------------------------------- */

static int join_foreign(void *arg)
{
	struct xos_ef *sibling = *(struct xos_ef **)arg;

	return xos_ef_join(sibling, NULL);
}

static int sleep_a_bit(void *arg)
{
	(void)arg;
	usleep(20000);
	return 5;
}

static void test_join_foreign_handle(void **state)
{
	(void)state;
	struct xos_ef *sibling = start("process", sleep_a_bit, NULL, 0);
	struct xos_ef_exit ex = finish(start("process", join_foreign, &sibling, sizeof(sibling)));

	/* the copy of the handle in another process is not its to join */
	assert_int_equal(ex.status, -ECHILD);
	ex = finish(sibling);
	assert_int_equal(ex.status, 5);
}

/* ---- stdio: what is buffered before and inside a process EF comes out once --- */

static int print_unflushed(void *arg)
{
	(void)arg;
	printf("[ef]");
	return 0;
}

static void test_stdio_once(void **state)
{
	(void)state;
	FOR_EACH_ICF(icf) {
		char path[] = "/tmp/xos-stdio-XXXXXX";
		int fd = mkstemp(path), ws;
		char out[64] = { 0 };
		pid_t pid;

		assert_true(fd >= 0);
		fflush(NULL);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct xos_ef_attr attr;
			struct xos_ef *ef;

			dup2(fd, STDOUT_FILENO);
			setvbuf(stdout, NULL, _IOFBF, 4096);
			printf("[main]");
			xos_ef_attr_init(&attr);
			attr.icf = *icf;
			if (xos_ef_create(&ef, &attr, print_unflushed, NULL, 0) < 0 || xos_ef_join(ef, NULL) < 0)
				_exit(3);
			printf("[end]");
			exit(0);
		}
		assert_int_equal(waitpid(pid, &ws, 0), pid);
		assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
		assert_true(pread(fd, out, sizeof(out) - 1, 0) > 0);
		assert_string_equal(out, "[main][ef][end]");
		close(fd);
		unlink(path);
	}
}

/* ---- SIGCHLD ignored: process EFs are reaped by the kernel, joins still work --- */

static void test_sigchld_ignored(void **state)
{
	struct sigaction old, ign = { .sa_handler = SIG_IGN };
	int v = 77;

	(void)state;
	sigaction(SIGCHLD, &ign, &old);
	struct xos_ef_exit ex = finish(start("process", return_value, &v, sizeof(v)));
	sigaction(SIGCHLD, &old, NULL);
	assert_int_equal(ex.how, XOS_EF_EXITED);
	assert_int_equal(ex.status, 77);
}

/* ---- the policy decides when nothing is forced ------------------------------ */

static int nothing(void *arg)
{
	(void)arg;
	return 0;
}

static void test_policy_choices(void **state)
{
	static const struct {
		const char *policy;
		enum xos_isolation iso;
		const char *expect;
	} rows[] = {
		{ "perf", XOS_ISO_NONE, "thread" },         { "perf", XOS_ISO_MEMORY, "process" },
		{ "balanced", XOS_ISO_NONE, "process" },    { "balanced", XOS_ISO_MEMORY, "process" },
		{ "isolation", XOS_ISO_NONE, "process" },   { "isolation", XOS_ISO_MEMORY, "process" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct xos_ef_attr attr;
		struct xos_ef *ef;

		assert_int_equal(xos_policy_set(rows[i].policy), 0);
		xos_ef_attr_init(&attr);
		attr.isolation = rows[i].iso;
		assert_int_equal(xos_ef_create(&ef, &attr, nothing, NULL, 0), 0);
		assert_string_equal(xos_ef_icf(ef), rows[i].expect);
		finish(ef);
	}
	xos_ef_attr_init(&(struct xos_ef_attr){ 0 });
	{
		struct xos_ef_attr attr;
		struct xos_ef *ef = (struct xos_ef *)0x1;

		xos_ef_attr_init(&attr);
		attr.isolation = XOS_ISO_KERNEL; /* no ICF of this machine gives a kernel of its own */
		assert_int_equal(xos_ef_create(&ef, &attr, nothing, NULL, 0), -ENODEV);
		assert_ptr_equal(ef, (struct xos_ef *)0x1);
	}
	assert_int_equal(xos_policy_set("perf"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args_by_value),
		cmocka_unit_test(test_exit_status),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_memory_isolation),
		cmocka_unit_test(test_crash_contained),
		cmocka_unit_test(test_join_foreign_handle),
		cmocka_unit_test(test_stdio_once),
		cmocka_unit_test(test_sigchld_ignored),
		cmocka_unit_test(test_policy_choices),
	};

	struct xos_icf_info info[16];
	int n;

	/* The forced ICF and policy of the environment would change the answers. */
	unsetenv("XOS_ICF");
	unsetenv("XOS_POLICY");
	n = xos_icf_list(info, 16);
	for (size_t i = 0; i < NICFS; i++) {
		for (int j = 0; j < n && j < 16; j++)
			if (strcmp(info[j].name, icfs[i]) == 0 && info[j].available)
				icf_available[i] = true;
		/* thread and process are the foundation: never skipped. */
		if (!icf_available[i] && i >= 2)
			printf("# ICF %s unavailable here: its rounds are skipped\n", icfs[i]);
		else if (!icf_available[i])
			return 99;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
