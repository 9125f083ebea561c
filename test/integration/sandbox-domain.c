/* SPDX-License-Identifier: MIT */
/*
 * Description: EFs with memory domains (<xos/mutate.h>) and the sandbox.
 * A domain EF runs in the sandbox (its heap from xos_malloc, safe points
 * with xos_ef_yield); a domain EF in a thread creates sandboxed EFs (the
 * fork happens on its host's stack, not on the domain's); an EF in a
 * process or a thread is mutated into the sandbox (from_pivot): it goes on
 * confined (pid 2, read-only view) with the fd it attached and its
 * channel ends (a ring and a pipe, every message in order); mutate out of
 * the sandbox is refused with -EOPNOTSUPP (no to_pivot) and the EF goes on
 * where it was; a sandboxed EF is dumped while it runs; a request to a
 * sandboxed EF that died fails with -ESRCH instead of waiting for ever.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../domains-require.h"
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

/* Work until moved into a sandbox, then show it is confined and still has its fd. */
static int until_sandboxed(void *arg)
{
	int fd = *(int *)arg;

	if (xos_ef_fd_attach(fd) < 0)
		return 1;
	/* Safe points until the creator's mutate lands (the EF is pid 2 there). */
	for (int i = 0; i < 20000 && getpid() != 2; i++) {
		xos_ef_yield();
		usleep(100);
	}
	if (getpid() != 2)
		return 2;
	if (open("/etc/xos-sandbox-escape", O_WRONLY | O_CREAT, 0644) >= 0 || errno != EROFS)
		return 3;
	if (write(fd, "moved", 5) != 5)
		return 4;
	return 0;
}

static void test_mutate_into_sandbox(void **state)
{
	static const char *const from[] = { "process", "thread" };

	(void)state;
	for (size_t i = 0; i < sizeof(from) / sizeof(from[0]); i++) {
		struct xos_ef_attr attr;
		struct xos_ef_exit ex;
		struct xos_ef *ef;
		char buf[8] = { 0 };
		int p[2];

		assert_int_equal(pipe(p), 0);
		xos_ef_attr_init(&attr);
		attr.icf = from[i];
		attr.flags = XOS_EF_F_DOMAIN;
		assert_int_equal(xos_ef_create(&ef, &attr, until_sandboxed, &p[1], sizeof(p[1])), 0);
		assert_int_equal(xos_ef_mutate(ef, "sandbox"), 0);
		assert_string_equal(xos_ef_icf(ef), "sandbox");
		assert_int_equal(xos_ef_join(ef, &ex), 0);
		t_assert_exit(ex, XOS_EF_EXITED, 0);
		close(p[1]);
		assert_int_equal(read(p[0], buf, sizeof(buf) - 1), 5);
		assert_string_equal(buf, "moved");
		close(p[0]);
	}
}

/* Echo value+1 on each of two channels until each sends 0; report where it ended. */
struct echo_job {
	struct xos_chan *ch[2];
};

static int echo_two(void *arg)
{
	const struct echo_job *j = arg;
	uint64_t expect[2] = { 1, 1 };
	int done = 0;

	while (done < 2) {
		int idle = 1;

		for (int c = 0; c < 2; c++) {
			uint64_t v;
			ssize_t rc = xos_chan_recv(j->ch[c], &v, sizeof(v));

			if (rc == -EAGAIN || (rc == 0 && expect[c] == 0))
				continue;
			if (rc != (ssize_t)sizeof(v))
				return 10 + c;
			idle = 0;
			if (v == 0) {
				done++;
				expect[c] = 0;
				continue;
			}
			if (v != expect[c]++)
				return 20 + c; /* lost or reordered */
			v += 1000;
			while ((rc = xos_chan_send(j->ch[c], &v, sizeof(v))) == -EAGAIN)
				xos_ef_yield();
			if (rc != (ssize_t)sizeof(v))
				return 30 + c;
		}
		if (idle)
			xos_ef_yield();
	}
	return getpid() == 2 ? 0 : 40; /* pid 2: it ended in the sandbox */
}

/* Its channel ends move with it into the sandbox: a ring and a pipe, mid-stream, nothing lost. */
static void test_mutate_into_sandbox_with_channels(void **state)
{
	static const char *const mech[2] = { "ring", "pipe" };
	struct xos_chan *a[2], *b[2], *mine[2], *owned[2];
	struct xos_chan_attr cattr;
	struct xos_ef_attr attr;
	struct xos_ef_exit ex;
	struct echo_job job;
	struct xos_ef *ef;
	uint64_t sent[2] = { 0, 0 };

	(void)state;
	xos_chan_attr_init(&cattr);
	cattr.flags = XOS_CHAN_F_BIDIR;
	cattr.mechanism = mech[0];
	assert_int_equal(xos_chan_open(a, &cattr), 0);
	cattr.mechanism = mech[1];
	assert_int_equal(xos_chan_open(b, &cattr), 0);
	mine[0] = a[0], mine[1] = b[0];
	owned[0] = job.ch[0] = a[1];
	owned[1] = job.ch[1] = b[1];
	assert_int_equal(xos_chan_set_nonblock(a[1], true), 0);
	assert_int_equal(xos_chan_set_nonblock(b[1], true), 0);
	xos_ef_attr_init(&attr);
	attr.icf = "process";
	attr.flags = XOS_EF_F_DOMAIN;
	attr.chans = owned;
	attr.nchans = 2;
	assert_int_equal(xos_ef_create(&ef, &attr, echo_two, &job, sizeof(job)), 0);
	for (int round = 0; round < 300; round++) {
		if (round == 100)
			assert_int_equal(xos_ef_mutate(ef, "sandbox"), 0);
		for (int c = 0; c < 2; c++) {
			uint64_t v = ++sent[c];

			assert_int_equal(xos_chan_send(mine[c], &v, sizeof(v)), sizeof(v));
			assert_int_equal(xos_chan_recv(mine[c], &v, sizeof(v)), sizeof(v));
			assert_true(v == sent[c] + 1000);
		}
	}
	assert_string_equal(xos_ef_icf(ef), "sandbox");
	for (int c = 0; c < 2; c++) {
		uint64_t end = 0;

		assert_int_equal(xos_chan_send(mine[c], &end, sizeof(end)), sizeof(end));
	}
	assert_int_equal(xos_ef_join(ef, &ex), 0);
	t_assert_exit(ex, XOS_EF_EXITED, 0);
	xos_chan_close(a[0]);
	xos_chan_close(b[0]);
}

static void test_mutate_out_refused(void **state)
{
	static const char *const to[] = { "process", "thread" };

	(void)state;
	for (size_t i = 0; i < sizeof(to) / sizeof(to[0]); i++) {
		struct xos_ef *ef = start_domain("sandbox", heap_work);
		struct xos_ef_exit ex;

		/* A sandbox is left only by ending: no to_pivot. */
		assert_int_equal(xos_ef_mutate(ef, to[i]), -EOPNOTSUPP);
		assert_string_equal(xos_ef_icf(ef), "sandbox");
		assert_int_equal(xos_ef_join(ef, &ex), 0);
		t_assert_exit(ex, XOS_EF_EXITED, 99500);
	}
}

/* Safe points for a while (long enough to be dumped), then a result. */
static int yield_a_while(void *arg)
{
	(void)arg;
	for (int i = 0; i < 300; i++) {
		xos_ef_yield();
		usleep(1000);
	}
	return 17;
}

static void test_dump(void **state)
{
	char path[] = "sandbox-domain.image", exe[4096];
	struct xos_ef *ef = start_domain("sandbox", yield_a_while);
	struct xos_ef_exit ex;

	(void)state;
	assert_int_equal(xos_ef_dump(ef, path), 0);
	assert_int_equal(xos_image_check(path, exe, sizeof(exe)), 0);
	unlink(path);
	/* Dumping parked it for a moment; it goes on to its end. */
	assert_int_equal(xos_ef_join(ef, &ex), 0);
	t_assert_exit(ex, XOS_EF_EXITED, 17);
}

/* Safe points with long gaps, then a forbidden call: it dies between two. */
static int die_later(void *arg)
{
	(void)arg;
	xos_ef_yield();
	usleep(50000);
	syscall(SYS_ptrace, 0, 0, 0, 0);
	for (;;)
		xos_ef_yield();
	return 0;
}

static void test_request_to_dead_ef(void **state)
{
	char path[] = "sandbox-domain-dead.image";
	struct xos_ef *ef = start_domain("sandbox", die_later);
	struct xos_ef_exit ex;
	int rc;

	(void)state;
	usleep(200000); /* it is dead by now: a request must not wait forever */
	rc = xos_ef_dump(ef, path);
	assert_int_equal(rc, -ESRCH);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(xos_ef_join(ef, &ex), 0);
	t_assert_exit(ex, XOS_EF_KILLED, SIGSYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_domain_ef_in_sandbox),
		cmocka_unit_test(test_domain_ef_creates_sandboxes),
		cmocka_unit_test(test_mutate_into_sandbox),
		cmocka_unit_test(test_mutate_into_sandbox_with_channels),
		cmocka_unit_test(test_mutate_out_refused),
		cmocka_unit_test(test_dump),
		cmocka_unit_test(test_request_to_dead_ef),
	};

	t_sandbox_require();
	t_domains_require();
	alarm(60); /* a request that waits for a dead EF must fail the test, not hang it */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
