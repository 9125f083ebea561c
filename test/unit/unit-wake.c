/* SPDX-License-Identifier: MIT */
/*
 * Description: whom the core signals when a request finds an EF asleep on a
 * descriptor (xos__wake_sleeper, src/runtime/wake.c), with fake ICFs and a
 * control page this test writes as an EF could.  The thread named in the
 * page is signalled only for an ICF whose hosts share the creator's trust
 * (shared memory or the pivot); an ICF with a wake operation is asked
 * instead, whatever the page names; an ICF with neither is not signalled;
 * an ICF built with the ops table before wake existed (a smaller ops_size)
 * is never asked, even if memory past its table looks like a function; an
 * EF that does not say it sleeps is left alone.  The "named thread" is
 * this test's own: the SIGURG it would get is counted.
 */
#include "unit.h"

#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>

static volatile sig_atomic_t urgs;
static int wakes;
static struct xos_ic *woken_ic;

static void count_urg(int sig)
{
	(void)sig;
	urgs++;
}

static int fake_wake(struct xos_ic *ic)
{
	wakes++;
	woken_ic = ic;
	return 0;
}

static int never_wake(struct xos_ic *ic)
{
	(void)ic;
	fail_msg("wake called for an ICF whose ops table has no wake member");
	return 0;
}

static int fake_create(const struct xos_icf *icf, struct xos_ef *ef, struct xos_ic **ret_ic)
{
	(void)icf, (void)ef, (void)ret_ic;
	return -ENOSYS;
}

static int fake_wait(struct xos_ic *ic, struct xos_ef_exit *ret_exit)
{
	(void)ic, (void)ret_exit;
	return -ENOSYS;
}

struct fake {
	struct xos_icf_ops ops;
	struct xos_icf icf;
	struct xos__icf_node node;
	struct xos__ef_ctl ctl;
	struct xos_ic ic;
	struct xos_ef ef;
};

/*
 * An EF of an ICF with @features and @wake (@old_table: ops_size without
 * the wake member), its control page naming this thread, saying it sleeps.
 */
static void fake_init(struct fake *f, unsigned int features, int (*wake)(struct xos_ic *), bool old_table)
{
	memset(f, 0, sizeof(*f));
	f->ops.create = fake_create;
	f->ops.wait = fake_wait;
	f->ops.wake = wake;
	f->icf.name = "fake";
	f->icf.features = features;
	f->icf.ops = &f->ops;
	f->icf.ops_size = old_table ? offsetof(struct xos_icf_ops, wake) : sizeof(f->ops);
	/* The core's copy, as registration makes it: NULL past the table it was built with. */
	f->node.icf = &f->icf;
	memcpy(&f->node.ops, &f->ops, f->icf.ops_size);
	f->ic.icf = &f->icf;
	f->ic.ef = &f->ef;
	f->ef.icf = &f->node;
	f->ef.ic = &f->ic;
	f->ef.ctl = &f->ctl;
	atomic_store(&f->ctl.wake_id, (uint64_t)(uint32_t)getpid() << 32 | (uint32_t)syscall(SYS_gettid));
	atomic_store(&f->ctl.sleeping, 1);
	urgs = 0;
	wakes = 0;
	woken_ic = NULL;
}

static void test_trusted_named_thread_signalled(void **state)
{
	struct fake f;

	(void)state;
	fake_init(&f, XOS_ICF_F_SHARED_MEMORY, NULL, false);
	xos__wake_sleeper(&f.ef);
	t_assert_int(urgs, 1);
	fake_init(&f, XOS_ICF_F_PIVOT | XOS_ICF_F_OWN_FDS, NULL, false);
	xos__wake_sleeper(&f.ef);
	t_assert_int(urgs, 1);
}

static void test_untrusted_named_thread_not_signalled(void **state)
{
	struct fake f;

	(void)state;
	fake_init(&f, XOS_ICF_F_OWN_FDS | XOS_ICF_F_RESTRICTED | XOS_ICF_F_CRASH_CONTAINED, NULL, false);
	xos__wake_sleeper(&f.ef);
	t_assert_int(urgs, 0);
}

static void test_wake_op_asked_instead(void **state)
{
	struct fake f;

	(void)state;
	fake_init(&f, XOS_ICF_F_RESTRICTED, fake_wake, false);
	xos__wake_sleeper(&f.ef);
	t_assert_int(wakes, 1);
	assert_ptr_equal(woken_ic, &f.ic);
	t_assert_int(urgs, 0);
	/* Even an ICF of the creator's trust: its own operation, not the page's word. */
	fake_init(&f, XOS_ICF_F_SHARED_MEMORY, fake_wake, false);
	xos__wake_sleeper(&f.ef);
	t_assert_int(wakes, 1);
	t_assert_int(urgs, 0);
}

static void test_old_ops_table_never_asked(void **state)
{
	struct fake f;

	(void)state;
	fake_init(&f, XOS_ICF_F_RESTRICTED, never_wake, true);
	xos__wake_sleeper(&f.ef);
	t_assert_int(urgs, 0);
}

static void test_not_sleeping_left_alone(void **state)
{
	struct fake f;

	(void)state;
	fake_init(&f, XOS_ICF_F_SHARED_MEMORY, NULL, false);
	atomic_store(&f.ctl.sleeping, 0);
	xos__wake_sleeper(&f.ef);
	t_assert_int(urgs, 0);
	fake_init(&f, XOS_ICF_F_RESTRICTED, fake_wake, false);
	atomic_store(&f.ctl.sleeping, 0);
	xos__wake_sleeper(&f.ef);
	t_assert_int(wakes, 0);
}

int main(void)
{
	struct sigaction sa = { .sa_handler = count_urg };
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trusted_named_thread_signalled),
		cmocka_unit_test(test_untrusted_named_thread_not_signalled),
		cmocka_unit_test(test_wake_op_asked_instead),
		cmocka_unit_test(test_old_ops_table_never_asked),
		cmocka_unit_test(test_not_sleeping_left_alone),
	};

	t_init();
	sigemptyset(&sa.sa_mask);
	sigaction(SIGURG, &sa, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
