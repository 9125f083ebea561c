/* SPDX-License-Identifier: MIT */
/*
 * Description: how the runtime binds channels.  A channel is unbound
 * until an EF that uses one of its ends is created (or an end is used),
 * then carried by the mechanism the policy picks from the register_com
 * table for the two ICFs: perf takes the cheapest (ring); isolation takes
 * a kernel-mediated one when an end isolates memory; balanced when both
 * do.  XOS_CHAN and attr.mechanism force one.  Ends given to a process EF
 * are forgotten by the creator without closing them for the peer.
 */
#include "chan-test.h"

struct echo_arg {
	struct xos_chan *end;
	char mech[16];
};

/* Echo one message back on a bidirectional end, and say what carries it. */
static int echo(void *p)
{
	struct echo_arg a = *(struct echo_arg *)p;
	char buf[64];
	ssize_t n = xos_chan_recv(a.end, buf, sizeof(buf));

	EF_CHECK(n > 0);
	EF_CHECK(strcmp(xos_chan_mechanism(a.end), a.mech) == 0);
	EF_CHECK(xos_chan_send(a.end, buf, (size_t)n) == n);
	EF_CHECK(xos_chan_recv(a.end, buf, sizeof(buf)) == 0);
	EF_CHECK(xos_chan_close(a.end) == 0);
	return 0;
}

/* Open an unbound channel, give end 1 to an EF in @icf, check the mechanism chosen. */
static void check_binding(const char *policy, const char *icf, const char *want)
{
	struct xos_chan_attr attr;
	struct xos_chan *ends[2];
	struct echo_arg a;
	struct xos_ef *ef;
	char buf[64];

	assert_int_equal(xos_policy_set(policy), 0);
	xos_chan_attr_init(&attr);
	attr.flags = XOS_CHAN_F_BIDIR;
	attr.name = "bind";
	assert_int_equal(xos_chan_open(ends, &attr), 0);
	/* Forced: bound at open.  Otherwise unbound until an EF takes an end. */
	assert_string_equal(xos_chan_mechanism(ends[0]), getenv("XOS_CHAN") ? want : "");
	a.end = ends[1];
	snprintf(a.mech, sizeof(a.mech), "%s", want);
	ef = t_start(icf, echo, &a, sizeof(a), &ends[1], 1);
	if (strcmp(xos_chan_mechanism(ends[0]), want) != 0)
		fail_msg("policy %s, EF in %s: bound to %s, want %s", policy, icf,
			 xos_chan_mechanism(ends[0]), want);
	assert_int_equal(xos_chan_send(ends[0], "ping", 4), 4);
	assert_int_equal(xos_chan_recv(ends[0], buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(xos_chan_close(ends[0]), 0);
	t_join_ok(ef, "echo");
}

static void test_policy_binding(void **state)
{
	(void)state;
	/* The creator (main) counts as the process ICF. */
	check_binding("perf", "thread", "ring");
	check_binding("perf", "process", "ring");
	check_binding("balanced", "thread", "ring");  /* the thread isolates nothing */
	check_binding("balanced", "process", "unix"); /* both ends isolate memory */
	check_binding("isolation", "thread", "unix"); /* main isolates memory */
	check_binding("isolation", "process", "unix");
	assert_int_equal(xos_policy_set("perf"), 0);
}

static void test_forced(void **state)
{
	(void)state;
	setenv("XOS_CHAN", "pipe", 1);
	check_binding("perf", "thread", "pipe");
	check_binding("isolation", "process", "pipe");
	unsetenv("XOS_CHAN");
	assert_int_equal(xos_policy_set("perf"), 0);
	setenv("XOS_CHAN", "warp", 1);
	{
		struct xos_chan *ends[2];

		assert_int_equal(xos_chan_open(ends, NULL), -EINVAL);
	}
	unsetenv("XOS_CHAN");
}

static void test_used_before_binding(void **state)
{
	struct xos_chan *ends[2];
	char buf[8];

	(void)state;
	assert_int_equal(xos_chan_open(ends, NULL), 0);
	assert_string_equal(xos_chan_mechanism(ends[1]), "");
	assert_int_equal(xos_chan_send(ends[0], "x", 1), 1);
	assert_string_equal(xos_chan_mechanism(ends[0]), "ring");
	assert_string_equal(xos_chan_mechanism(ends[1]), "ring"); /* bound, not taken in yet */
	assert_int_equal(xos_chan_recv(ends[1], buf, sizeof(buf)), 1);
	assert_int_equal(xos_chan_close(ends[0]), 0);
	assert_int_equal(xos_chan_close(ends[1]), 0);
}

/* Two process EFs, each given one end; the creator keeps none: EOF must still come. */
struct fwd_arg {
	struct xos_chan *end;
	int n;
};

static int produce(void *p)
{
	struct fwd_arg a = *(struct fwd_arg *)p;

	for (int i = 0; i < a.n; i++)
		EF_CHECK(xos_chan_send(a.end, &i, sizeof(i)) == sizeof(i));
	EF_CHECK(xos_chan_close(a.end) == 0);
	return 0;
}

static int consume(void *p)
{
	struct fwd_arg a = *(struct fwd_arg *)p;
	int v, i = 0;
	ssize_t n;

	while ((n = xos_chan_recv(a.end, &v, sizeof(v))) == sizeof(v))
		EF_CHECK(v == i++);
	EF_CHECK(n == 0);
	EF_CHECK(i == a.n);
	EF_CHECK(xos_chan_close(a.end) == 0);
	return 0;
}

static void test_handed_over_ends(void **state)
{
	(void)state;
	for (int m = 0; m < NMECHS; m++) {
		struct xos_chan *ends[2], *other[2];
		struct fwd_arg pa, ca;
		struct xos_ef *c, *p;

		/* A channel the EFs do not own: they must not keep it alive. */
		t_open(other, mechs[m], 0, 0);
		t_open(ends, mechs[m], 0, 0);
		ca = (struct fwd_arg){ ends[1], 1000 };
		pa = (struct fwd_arg){ ends[0], 1000 };
		c = t_start("process", consume, &ca, sizeof(ca), &ends[1], 1);
		p = t_start("process", produce, &pa, sizeof(pa), &ends[0], 1);
		t_join_ok(p, "producer");
		t_join_ok(c, "consumer");
		/* The other channel still works here, and its EOF is ours alone. */
		assert_int_equal(xos_chan_send(other[0], "y", 1), 1);
		assert_int_equal(xos_chan_close(other[0]), 0);
		{
			char b[4];

			assert_int_equal(xos_chan_recv(other[1], b, sizeof(b)), 1);
			assert_int_equal(xos_chan_recv(other[1], b, sizeof(b)), 0);
		}
		assert_int_equal(xos_chan_close(other[1]), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_binding),
		cmocka_unit_test(test_forced),
		cmocka_unit_test(test_used_before_binding),
		cmocka_unit_test(test_handed_over_ends),
	};

	unsetenv("XOS_CHAN");
	unsetenv("XOS_POLICY");
	unsetenv("XOS_ICF");
	alarm(120);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
