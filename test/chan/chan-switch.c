/* SPDX-License-Identifier: MIT */
/*
 * Description: live switch.  For every ordered pair of mechanisms (A, B)
 * and both a thread pair and a process pair of EFs, a channel starts on
 * A and is moved to B and back while traffic flows, with full sequence
 * verification (no byte lost, duplicated or reordered):
 *  - unidirectional: the writer switches A -> B a third of the way in,
 *    the reader switches B -> A at two thirds;
 *  - bidirectional: both ends send and receive at once (a window keeps
 *    them from deadlocking), end 0 switches A -> B, end 1 later B -> A.
 * Odd messages go through the zero-copy calls, so paths are retired with
 * data consumed in place.
 */
#include "chan-test.h"

#define MAX_MSG 4096
#define WINDOW 16

struct sw_arg {
	struct xos_chan *end;
	uint64_t n;
	char first[8], second[8]; /* the mechanisms the test moves between */
	int role;                 /* 0: end 0, 1: end 1 */
};

static int send_seq(struct xos_chan *end, uint8_t *buf, uint64_t seq)
{
	size_t len = seq_size(seq, MAX_MSG);

	if (seq & 1) {
		void *dst;

		if (xos_chan_reserve(end, len, &dst) != 0)
			return -1;
		seq_fill(dst, seq, len);
		return xos_chan_commit(end, len);
	}
	seq_fill(buf, seq, len);
	return xos_chan_send(end, buf, len) == (ssize_t)len ? 0 : -1;
}

static int recv_seq(struct xos_chan *end, uint8_t *buf, uint64_t seq)
{
	size_t len = seq_size(seq, MAX_MSG);

	if (seq & 1) {
		const void *src;
		ssize_t n = xos_chan_peek(end, &src);

		if (n != (ssize_t)len || seq_check(src, len, seq) != 0) {
			fprintf(stderr, "peek seq %llu on %s: %zd (want %zu), check %d\n",
				(unsigned long long)seq, xos_chan_mechanism(end), n, len,
				n > 0 ? seq_check(src, (size_t)n, seq) : -1);
			return -1;
		}
		if (xos_chan_consume(end, len) != 0)
			return -1;
		/* Release every other time: switches happen with data still held. */
		return (seq & 2) ? xos_chan_release(end) : 0;
	}
	{
		ssize_t n = xos_chan_recv(end, buf, MAX_MSG);

		if (n != (ssize_t)len || seq_check(buf, len, seq) != 0) {
			fprintf(stderr, "recv seq %llu on %s: %zd (want %zu), check %d\n",
				(unsigned long long)seq, xos_chan_mechanism(end), n, len,
				n > 0 ? seq_check(buf, (size_t)n, seq) : -1);
			return -1;
		}
	}
	return 0;
}

static int uni_writer(void *p)
{
	struct sw_arg a = *(struct sw_arg *)p;
	uint8_t buf[MAX_MSG];
	struct xos_chan_stats st;

	for (uint64_t seq = 0; seq < a.n; seq++) {
		if (seq == a.n / 3) {
			EF_CHECK(xos_chan_switch(a.end, a.second) == 0);
			EF_CHECK(strcmp(xos_chan_mechanism(a.end), a.second) == 0);
		}
		EF_CHECK(send_seq(a.end, buf, seq) == 0);
	}
	EF_CHECK(xos_chan_stats(a.end, &st) == 0);
	EF_CHECK(st.switches >= 1);
	EF_CHECK(xos_chan_close(a.end) == 0);
	return 0;
}

static int uni_reader(void *p)
{
	struct sw_arg a = *(struct sw_arg *)p;
	uint8_t buf[MAX_MSG];
	struct xos_chan_stats st;

	for (uint64_t seq = 0; seq < a.n; seq++) {
		if (seq == 2 * a.n / 3) {
			int rc = xos_chan_switch(a.end, a.first);

			if (rc)
				fprintf(stderr, "reader switch to %s: %d\n", a.first, rc);
			EF_CHECK(rc == 0);
		}
		EF_CHECK(recv_seq(a.end, buf, seq) == 0);
	}
	EF_CHECK(xos_chan_recv(a.end, buf, sizeof(buf)) == 0);
	EF_CHECK(xos_chan_stats(a.end, &st) == 0);
	EF_CHECK(st.msgs_received == a.n);
	EF_CHECK(xos_chan_close(a.end) == 0);
	return 0;
}

/* Both ways at once: send while fewer than WINDOW ahead of what we received. */
static int bidi(void *p)
{
	struct sw_arg a = *(struct sw_arg *)p;
	uint8_t buf[MAX_MSG];
	uint64_t s = 0, r = 0;
	uint64_t switch_at = a.role == 0 ? a.n / 3 : 2 * a.n / 3;
	const char *target = a.role == 0 ? a.second : a.first;
	bool switched = false;

	while (s < a.n || r < a.n) {
		if (!switched && s == switch_at) {
			EF_CHECK(xos_chan_switch(a.end, target) == 0);
			switched = true;
		}
		if (s < a.n && s < r + WINDOW) {
			EF_CHECK(send_seq(a.end, buf, s) == 0);
			s++;
		} else {
			EF_CHECK(recv_seq(a.end, buf, r) == 0);
			r++;
		}
	}
	EF_CHECK(xos_chan_release(a.end) == 0);
	EF_CHECK(xos_chan_close(a.end) == 0);
	return 0;
}

static void run_pair(const char *icf, const char *m1, const char *m2, bool bidir, uint64_t n)
{
	struct xos_chan *ends[2];
	struct sw_arg a0, a1;
	struct xos_ef *e0, *e1;

	t_open(ends, m1, bidir ? XOS_CHAN_F_BIDIR : 0, 256 * 1024);
	a0 = (struct sw_arg){ .end = ends[0], .n = n, .role = 0 };
	snprintf(a0.first, sizeof(a0.first), "%s", m1);
	snprintf(a0.second, sizeof(a0.second), "%s", m2);
	a1 = a0;
	a1.end = ends[1];
	a1.role = 1;
	e1 = t_start(icf, bidir ? bidi : uni_reader, &a1, sizeof(a1), &ends[1], 1);
	e0 = t_start(icf, bidir ? bidi : uni_writer, &a0, sizeof(a0), &ends[0], 1);
	t_join_ok(e0, bidir ? "bidirectional end 0" : "writer");
	t_join_ok(e1, bidir ? "bidirectional end 1" : "reader");
}

static void test_switch_pairs(void **state)
{
	const char *icf = *state;
	uint64_t n = 30000; /* enough that no end finishes before the other switches */
	double t0 = t_now();

	for (int i = 0; i < NMECHS; i++) {
		for (int j = 0; j < NMECHS; j++) {
			if (i == j)
				continue;
			run_pair(icf, mechs[i], mechs[j], false, n);
			run_pair(icf, mechs[i], mechs[j], true, n);
		}
	}
	printf("# %s pairs: 12 ordered mechanism pairs x {uni, bidi}, %llu messages each way, %.2f s\n",
	       icf, (unsigned long long)n, t_now() - t0);
}

/* Many switches in a row, by both ends, while a writer streams. */
static int hop_writer(void *p)
{
	struct sw_arg a = *(struct sw_arg *)p;
	uint8_t buf[MAX_MSG];

	for (uint64_t seq = 0; seq < a.n; seq++) {
		if (seq % 1000 == 500)
			EF_CHECK(xos_chan_switch(a.end, mechs[(seq / 1000) % NMECHS]) == 0);
		EF_CHECK(send_seq(a.end, buf, seq) == 0);
	}
	EF_CHECK(xos_chan_close(a.end) == 0);
	return 0;
}

static int hop_reader(void *p)
{
	struct sw_arg a = *(struct sw_arg *)p;
	uint8_t buf[MAX_MSG];

	for (uint64_t seq = 0; seq < a.n; seq++) {
		if (seq % 1000 == 0 && seq) {
			int rc = xos_chan_switch(a.end, mechs[(seq / 1000 + 2) % NMECHS]);

			/* Near the end the writer may have closed: nothing to switch with. */
			EF_CHECK(rc == 0 || (rc == -EPIPE && seq > a.n - 5000));
		}
		EF_CHECK(recv_seq(a.end, buf, seq) == 0);
	}
	EF_CHECK(xos_chan_recv(a.end, buf, sizeof(buf)) == 0);
	EF_CHECK(xos_chan_close(a.end) == 0);
	return 0;
}

static void test_many_switches(void **state)
{
	const char *icf = *state;
	struct xos_chan *ends[2];
	struct sw_arg a0 = { .n = 20000 }, a1 = { .n = 20000 };
	struct xos_ef *e0, *e1;

	t_open(ends, "ring", 0, 0);
	a0.end = ends[0];
	a1.end = ends[1];
	e1 = t_start(icf, hop_reader, &a1, sizeof(a1), &ends[1], 1);
	e0 = t_start(icf, hop_writer, &a0, sizeof(a0), &ends[0], 1);
	t_join_ok(e0, "hopping writer");
	t_join_ok(e1, "hopping reader");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(test_switch_pairs, (void *)"thread"),
		cmocka_unit_test_prestate(test_switch_pairs, (void *)"process"),
		cmocka_unit_test_prestate(test_many_switches, (void *)"thread"),
		cmocka_unit_test_prestate(test_many_switches, (void *)"process"),
	};

	unsetenv("XOS_CHAN");
	if (getenv("T_FILTER"))
		cmocka_set_test_filter(getenv("T_FILTER"));
	alarm(600);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
