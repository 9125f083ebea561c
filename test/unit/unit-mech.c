/* SPDX-License-Identifier: MIT */
/*
 * Description: the registry of mechanisms (xos_mech_register,
 * xos_mech_unregister, xos_mech_list): argument checks (-EINVAL, errno
 * untouched), the built-ins listed first, a duplicate name refused
 * (-EBUSY), an unregistered mechanism gone from the list and from
 * xos_chan_open, refused while a channel uses it (-EBUSY), and the
 * register_com entries that follow from each ICF's crossings and each
 * mechanism's needs; a readv member without read refused (-EINVAL); a
 * registered stream mechanism's readv used for a large message-mode
 * receive, and a table built before readv existed (smaller ops_size)
 * still carrying every message intact.
 */
#include "unit.h"

static bool listed(const struct xos_mech *m)
{
	const struct xos_mech *all[32];
	int n = xos_mech_list(all, 32);

	for (int i = 0; i < n && i < 32; i++)
		if (all[i] == m)
			return true;
	return false;
}

/* Is @mech registered between @a and @b, at @cost? */
static bool connected(const char *a, const char *b, const char *mech, unsigned int cost)
{
	struct xos_com_info com[64];
	int n = xos_com_list(a, b, com, 64);

	for (int i = 0; i < n && i < 64; i++)
		if (strcmp(com[i].mechanism, mech) == 0)
			return com[i].cost == cost;
	return false;
}

static void test_args(void **state)
{
	struct xos_mech bad = xos__mech_unix;
	struct xos_mech_ops no_rx = *xos__mech_unix.ops;

	(void)state;
	t_assert_rc_errno(xos_mech_register(NULL), -EINVAL);
	t_assert_rc_errno(xos_mech_unregister(NULL), -EINVAL);
	t_assert_rc_errno(xos_mech_list(NULL, 1), -EINVAL);
	bad.name = "Bad Name";
	t_assert_rc_errno(xos_mech_register(&bad), -EINVAL);
	bad.name = "much-too-long-name"; /* over 15 characters: no room in a control block */
	t_assert_rc_errno(xos_mech_register(&bad), -EINVAL);
	bad.name = "t-flags";
	bad.flags = 1u << 7;
	t_assert_rc_errno(xos_mech_register(&bad), -EINVAL);
	bad.flags = 0;
	bad.ops_size = sizeof(struct xos_mech_ops) + 8; /* built against a newer library */
	t_assert_rc_errno(xos_mech_register(&bad), -EINVAL);
	no_rx.read = NULL; /* neither a whole stream nor a whole frame mechanism */
	bad.ops = &no_rx;
	bad.ops_size = sizeof(no_rx);
	t_assert_rc_errno(xos_mech_register(&bad), -EINVAL);
	t_assert_rc_errno(xos_mech_unregister(&bad), -EINVAL);
	no_rx = *xos__mech_ring.ops; /* a whole frame mechanism... */
	no_rx.readv = xos__mech_unix.ops->readv; /* ...with a stream readv but no read */
	bad.name = "t-readv";
	t_assert_rc_errno(xos_mech_register(&bad), -EINVAL);
	t_assert_rc_errno(xos_mech_register(&xos__mech_ring), -EBUSY);
}

static void test_builtins_first(void **state)
{
	const struct xos_mech *all[8];
	int n;

	(void)state;
	n = xos_mech_list(NULL, 0);
	if (n < 4)
		fail_msg("xos_mech_list counts %d mechanisms, want at least 4", n);
	t_assert_int(xos_mech_list(all, 8), n);
	t_assert_ptr(all[0], &xos__mech_ring);
	t_assert_ptr(all[1], &xos__mech_pipe);
	t_assert_ptr(all[2], &xos__mech_unix);
	t_assert_ptr(all[3], &xos__mech_tcp);
}

/* The built-in table of register_com entries, from crossings and needs alone. */
static void test_com_follows_crossings(void **state)
{
	static const char *const pairs[][2] = {
		{ "thread", "thread" }, { "thread", "process" }, { "process", "process" },
	};

	(void)state;
	for (size_t i = 0; i < XOS_ARRAY_SIZE(pairs); i++) {
		t_assert_int(connected(pairs[i][0], pairs[i][1], "ring", 200), true);
		t_assert_int(connected(pairs[i][0], pairs[i][1], "unix", 55000), true);
		t_assert_int(connected(pairs[i][0], pairs[i][1], "pipe", 60000), true);
		t_assert_int(connected(pairs[i][0], pairs[i][1], "tcp", 70000), true);
	}
}

static void test_register_unregister(void **state)
{
	struct xos_mech t = xos__mech_unix;
	struct xos__icf_node *sandbox;
	struct xos_chan_attr attr;
	struct xos_chan *ends[2];
	char c = 'x';

	(void)state;
	t.name = "t-unix";
	t.needs = XOS_ICF_X_NETWORK | XOS_ICF_X_INHERITS_FDS;
	t.cost = 12345;
	t_assert_rc(xos_mech_register(&t), 0);
	t_assert_int(listed(&t), true);
	/* Connected where both ICFs let its needs through, at its cost. */
	t_assert_int(connected("thread", "process", "t-unix", 12345), true);
	sandbox = xos__icf_find("sandbox");
	if (sandbox) { /* no network in the sandbox: never connected to it */
		xos__icf_put(sandbox);
		t_assert_int(connected("sandbox", "process", "t-unix", 12345), false);
	}

	xos_chan_attr_init(&attr);
	attr.mechanism = "t-unix";
	t_assert_rc(xos_chan_open(ends, &attr), 0);
	t_assert_str(xos_chan_mechanism(ends[0]), "t-unix");
	t_assert_rc(xos_chan_send(ends[0], &c, 1), 1);
	t_assert_rc(xos_chan_recv(ends[1], &c, 1), 1);
	t_assert_rc_errno(xos_mech_unregister(&t), -EBUSY); /* the channel's paths use it */
	t_assert_rc(xos_chan_close(ends[0]), 0);
	t_assert_rc(xos_chan_close(ends[1]), 0);
	t_assert_rc(xos_mech_unregister(&t), 0);
	t_assert_int(listed(&t), false);
	t_assert_rc(xos_chan_open(ends, &attr), -ENOENT);
	t_assert_rc(xos_mech_unregister(&t), -EINVAL);
	/* Its name is free again. */
	t_assert_rc(xos_mech_register(&t), 0);
	t_assert_rc(xos_mech_unregister(&t), 0);
}

static unsigned int readv_calls;

static ssize_t counting_readv(void *st, const struct iovec *iov, int iovcnt, bool nonblock)
{
	readv_calls++;
	return xos__mech_unix.ops->readv(st, iov, iovcnt, nonblock);
}

/* Send @n messages of 4 KiB and one byte through @mech, each read back intact. */
static void round_messages(const char *mech, int n)
{
	struct xos_chan_attr attr;
	struct xos_chan *ends[2];
	static char out[4096], in[8192];

	xos_chan_attr_init(&attr);
	attr.mechanism = mech;
	t_assert_rc(xos_chan_open(ends, &attr), 0);
	for (int i = 0; i < n; i++) {
		memset(out, 'a' + i, sizeof(out));
		t_assert_rc(xos_chan_send(ends[0], out, sizeof(out)), (ssize_t)sizeof(out));
		t_assert_rc(xos_chan_send(ends[0], out, 1), 1);
		memset(in, 0, sizeof(in));
		t_assert_rc(xos_chan_recv(ends[1], in, sizeof(in)), (ssize_t)sizeof(out));
		t_assert_int(memcmp(in, out, sizeof(out)), 0);
		t_assert_rc(xos_chan_recv(ends[1], in, sizeof(in)), 1);
		t_assert_int(in[0], 'a' + i);
	}
	t_assert_rc(xos_chan_close(ends[0]), 0);
	t_assert_rc(xos_chan_close(ends[1]), 0);
}

/* A plugged-in stream mechanism gets the direct receive through its readv member. */
static void test_readv_member(void **state)
{
	struct xos_mech t = xos__mech_unix;
	struct xos_mech_ops ops = *xos__mech_unix.ops;

	(void)state;
	ops.readv = counting_readv;
	t.ops = &ops;
	t.name = "t-readv";
	t_assert_rc(xos_mech_register(&t), 0);
	readv_calls = 0;
	round_messages("t-readv", 3);
	if (readv_calls == 0)
		fail_msg("readv never called for 3 large receives");
	t_assert_rc(xos_mech_unregister(&t), 0);

	/* Built before readv existed: the table ends at handover_load; read does it all. */
	t.ops_size = offsetof(struct xos_mech_ops, readv);
	t.name = "t-old";
	t_assert_rc(xos_mech_register(&t), 0);
	readv_calls = 0;
	round_messages("t-old", 3);
	t_assert_int(readv_calls, 0);
	t_assert_rc(xos_mech_unregister(&t), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_builtins_first),
		cmocka_unit_test(test_com_follows_crossings),
		cmocka_unit_test(test_register_unregister),
		cmocka_unit_test(test_readv_member),
	};

	t_init();
	unsetenv("XOS_CHAN");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
