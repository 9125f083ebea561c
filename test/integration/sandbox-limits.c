/* SPDX-License-Identifier: MIT */
/*
 * Description: resource limits of the sandbox ICF, set by EF options.
 * sandbox.mem: an allocation beyond the limit fails cleanly (malloc
 * returns NULL) while smaller ones work; sandbox.cpu: an EF that spins is
 * killed by SIGXCPU and reported so; sandbox.nofile: descriptors run out
 * at the limit (EMFILE).  Malformed options make xos_ef_create() fail
 * with -EINVAL before anything runs; options for other ICFs are ignored.
 */
#include <signal.h>
#include <unistd.h>

#include "sandbox-helpers.h"

/* Under AddressSanitizer, make a failed allocation return NULL as libc does
 * (exported: the build hides symbols by default, and ASan looks it up). */
__attribute__((visibility("default"))) const char *__asan_default_options(void);
__attribute__((visibility("default"))) const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

static int allocate(void *arg)
{
	size_t small = 16u << 20, big = *(size_t *)arg;
	char *p = malloc(small);
	void *q;

	if (!p)
		return 1; /* within the limit: must work */
	memset(p, 1, small);
	q = malloc(big);
	if (q) {
		memset(q, 1, big);
		return 2; /* beyond the limit: must fail */
	}
	free(p);
	return 0;
}

static void test_memory_limit(void **state)
{
	size_t big = 512u << 20;

	(void)state;
	t_assert_exit(t_sandbox_run("sandbox.mem=128M", allocate, &big, sizeof(big)), XOS_EF_EXITED, 0);
	/* The same EF with room enough. */
	big = 64u << 20;
	t_assert_exit(t_sandbox_run("sandbox.mem=256M", allocate, &big, sizeof(big)), XOS_EF_EXITED, 2);
}

static int spin(void *arg)
{
	volatile unsigned long n = 0;

	(void)arg;
	for (;;)
		n++;
	return 0;
}

static void test_cpu_limit(void **state)
{
	(void)state;
	t_assert_exit(t_sandbox_run("sandbox.cpu=1", spin, NULL, 0), XOS_EF_KILLED, SIGXCPU);
}

static int open_many(void *arg)
{
	int highest = -1, fd;

	(void)arg;
	while ((fd = dup(0)) >= 0)
		highest = fd;
	return errno == EMFILE ? highest : -errno;
}

static void test_nofile_limit(void **state)
{
	(void)state;
	t_assert_exit(t_sandbox_run("sandbox.nofile=32", open_many, NULL, 0), XOS_EF_EXITED, 31);
}

static int nothing(void *arg)
{
	(void)arg;
	return 9;
}

static void test_bad_options(void **state)
{
	static const char *const bad[] = {
		"sandbox.mem=lots", "sandbox.mem=-1", "sandbox.mem=5T", "sandbox.bogus=1",
		"sandbox.allow=no_such_call", "sandbox.allow=socket::connect", "sandbox.allow=99999",
		"sandbox.rw=relative/path", "sandbox.rw=", "sandbox.nofile=1", "sandbox.cpu=1s",
		"nodot", "sandbox.", ".mem=1", "sandbox.mem=1,", "sandbox.mem=1,,sandbox.cpu=1",
		"Sandbox.mem=1", "sandbox.mem=\x01",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = 0;
		struct xos_ef *ef = t_sandbox_start(bad[i], nothing, NULL, 0, &rc);

		if (ef || rc != -EINVAL)
			fail_msg("options \"%s\": create = %d, want -EINVAL", bad[i], rc);
	}
	/* Well formed, for another ICF: ignored here. */
	t_assert_exit(t_sandbox_run("process.whatever=1,sandbox.nofile=64,kvm.vcpus", nothing, NULL, 0),
		      XOS_EF_EXITED, 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memory_limit),
		cmocka_unit_test(test_cpu_limit),
		cmocka_unit_test(test_nofile_limit),
		cmocka_unit_test(test_bad_options),
	};

	t_sandbox_require();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
