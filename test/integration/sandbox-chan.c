/* SPDX-License-Identifier: MIT */
/*
 * Description: a sandboxed EF exchanges channel messages correctly.  Over a
 * bidirectional channel on each mechanism the sandbox declares (ring, pipe,
 * unix), a sandboxed EF answers two thousand messages of varied sizes with
 * the copy API and with the zero-copy API (peek/consume/release,
 * reserve/commit); every answer arrives intact and in order, and the EF
 * sees EOF when its creator closes.  A channel left to the runtime is
 * bound to a mechanism the sandbox declared with register_com (ring under
 * perf, a kernel-mediated one under isolation), never tcp.
 */
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

#include "sandbox-helpers.h"

#define MESSAGES 2000
#define MAX_MSG 4096

struct job {
	struct xos_chan *end;
	int zero_copy;
};

/* Size of message @i: mostly small, some up to MAX_MSG. */
static size_t msg_size(uint32_t i)
{
	uint32_t h = i * 2654435761u;

	return 4 + ((h >> 7) % 8 == 0 ? (h >> 12) % (MAX_MSG - 4) : (h >> 12) % 60);
}

static void msg_fill(uint8_t *buf, uint32_t i, size_t len)
{
	memcpy(buf, &i, 4);
	for (size_t k = 4; k < len; k++)
		buf[k] = (uint8_t)(i * 31 + k);
}

/* Answer each message with every byte after the first four plus one; count them. */
static int answer(void *arg)
{
	const struct job *job = arg;
	uint8_t buf[MAX_MSG];
	int n = 0;

	for (;;) {
		ssize_t len;

		if (job->zero_copy) {
			const void *in;
			void *out;

			len = xos_chan_peek(job->end, &in);
			if (len <= 0)
				return len == 0 ? n : -1000 + (int)len;
			if (xos_chan_reserve(job->end, (size_t)len, &out) < 0)
				return -2000;
			memcpy(out, in, (size_t)len);
			for (ssize_t k = 4; k < len; k++)
				((uint8_t *)out)[k]++;
			if (xos_chan_consume(job->end, (size_t)len) < 0 || xos_chan_release(job->end) < 0)
				return -3000;
			if (xos_chan_commit(job->end, (size_t)len) < 0)
				return -4000;
		} else {
			len = xos_chan_recv(job->end, buf, sizeof(buf));
			if (len <= 0)
				return len == 0 ? n : -1000 + (int)len;
			for (ssize_t k = 4; k < len; k++)
				buf[k]++;
			if (xos_chan_send(job->end, buf, (size_t)len) != len)
				return -5000;
		}
		n++;
	}
}

static void converse(const char *mech, int zero_copy, const char *want_mech)
{
	struct xos_chan_attr cattr;
	struct xos_chan *ends[2];
	struct xos_ef_attr attr;
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	struct job job;
	uint8_t out[MAX_MSG], in[MAX_MSG];
	const char *label = mech ? mech : "unforced";
	int rc;

	xos_chan_attr_init(&cattr);
	cattr.flags = XOS_CHAN_F_BIDIR;
	cattr.mechanism = mech;
	cattr.max_msg = MAX_MSG;
	cattr.capacity = 64 * 1024;
	assert_int_equal(xos_chan_open(ends, &cattr), 0);
	job = (struct job){ .end = ends[1], .zero_copy = zero_copy };
	xos_ef_attr_init(&attr);
	attr.icf = "sandbox";
	attr.chans = &ends[1];
	attr.nchans = 1;
	rc = xos_ef_create(&ef, &attr, answer, &job, sizeof(job));
	if (rc < 0)
		fail_msg("%s: create = %d (%s)", label, rc, strerror(-rc));
	assert_string_equal(xos_ef_icf(ef), "sandbox");

	for (uint32_t i = 0; i < MESSAGES; i++) {
		size_t len = msg_size(i);
		ssize_t got;

		msg_fill(out, i, len);
		assert_int_equal(xos_chan_send(ends[0], out, len), (ssize_t)len);
		got = xos_chan_recv(ends[0], in, sizeof(in));
		if (got != (ssize_t)len)
			fail_msg("%s: answer %u: %zd bytes, want %zu", label, i, got, len);
		for (size_t k = 4; k < len; k++)
			out[k]++;
		if (memcmp(in, out, len) != 0)
			fail_msg("%s: answer %u corrupted", label, i);
	}
	/* Checked after traffic: the creator's end learns of a switch by using it. */
	if (strcmp(xos_chan_mechanism(ends[0]), want_mech) != 0)
		fail_msg("channel opened on %s: carried by %s, want %s", label,
			 xos_chan_mechanism(ends[0]), want_mech);
	assert_int_equal(xos_chan_close(ends[0]), 0);
	assert_int_equal(xos_ef_join(ef, &ex), 0);
	if (ex.how != XOS_EF_EXITED || ex.status != MESSAGES)
		fail_msg("%s%s: EF %s %d, want exited with %d", label, zero_copy ? " zero-copy" : "",
			 ex.how == XOS_EF_KILLED ? "killed by" : "exited with", ex.status, MESSAGES);
}

static void test_mechanisms(void **state)
{
	static const char *const mechs[] = { "ring", "pipe", "unix" };

	(void)state;
	for (size_t m = 0; m < sizeof(mechs) / sizeof(mechs[0]); m++) {
		converse(mechs[m], 0, mechs[m]);
		converse(mechs[m], 1, mechs[m]);
	}
}

/* Unbound channels get a mechanism the sandbox declared: never tcp. */
static void test_default_binding(void **state)
{
	struct xos_com_info infos[16];
	int n = xos_com_list("process", "sandbox", infos, 16);

	(void)state;
	assert_true(n > 0);
	for (int i = 0; i < n && i < 16; i++)
		assert_string_not_equal(infos[i].mechanism, "tcp");
	/* perf: the cheapest (the ring, through a memfd mapped before the fork). */
	assert_int_equal(xos_policy_set("perf"), 0);
	converse(NULL, 0, "ring");
	/* isolation: the kernel between a process and a sandbox, cheapest first. */
	assert_int_equal(xos_policy_set("isolation"), 0);
	converse(NULL, 1, "unix");
	assert_int_equal(xos_policy_set("perf"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mechanisms),
		cmocka_unit_test(test_default_binding),
	};

	signal(SIGPIPE, SIG_IGN);
	t_sandbox_require();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
