/* SPDX-License-Identifier: MIT */
/*
 * Description: every mechanism between a thread pair and a process pair,
 * with real EFs: sequenced messages of random sizes (10^6 on the ring,
 * 250000 on the kernel mechanisms, whose ~4 us per message would make it
 * 5 s per run otherwise) arrive in order
 * and intact (copy and zero-copy APIs, message and stream mode), EOF after
 * the writer closes, -EPIPE for a writer whose reader closed, non-blocking
 * calls and poll readiness, and a peer killed with SIGKILL mid-stream
 * seen as EOF / -EPIPE without a hang, and several producers (threads and
 * processes mixed) on one end of a multi-producer channel.
 *
 * XOS_TEST_MSGS=N sends N messages per ordering test instead (e.g. 1000000
 * to run every mechanism at 10^6; lower for slow machines).
 */
#include "config.h"

#include <sched.h>
#include <stdatomic.h>
#include <sys/resource.h>

#include "chan-test.h"

#define MAX_MSG 16384

struct order_arg {
	struct xos_chan *end;
	uint64_t n;
	int zero_copy; /* odd messages via reserve/commit, peek/consume/release */
	int stream;    /* the channel is a byte stream */
};

static int order_writer(void *p)
{
	struct order_arg a = *(struct order_arg *)p;
	uint8_t *buf = malloc(MAX_MSG);

	EF_CHECK(buf);
	for (uint64_t seq = 0; seq < a.n; seq++) {
		size_t len = seq_size(seq, MAX_MSG);

		if (a.zero_copy && (seq & 1)) {
			void *dst;

			EF_CHECK(xos_chan_reserve(a.end, len, &dst) == 0);
			seq_fill(dst, seq, len);
			EF_CHECK(xos_chan_commit(a.end, len) == 0);
		} else {
			seq_fill(buf, seq, len);
			EF_CHECK(xos_chan_send(a.end, buf, len) == (ssize_t)len);
		}
	}
	free(buf);
	EF_CHECK(xos_chan_close(a.end) == 0);
	return 0;
}

/* Stream mode: read exactly @len bytes, in pieces of whatever size comes. */
static int read_exact(struct xos_chan *end, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = xos_chan_recv(end, buf + got, len - got);

		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static int order_reader(void *p)
{
	struct order_arg a = *(struct order_arg *)p;
	uint8_t *buf = malloc(MAX_MSG);
	uint8_t tmp;

	EF_CHECK(buf);
	for (uint64_t seq = 0; seq < a.n; seq++) {
		size_t len = seq_size(seq, MAX_MSG);

		if (a.stream) {
			/* Read the header first, then the rest, to cut across frames. */
			EF_CHECK(read_exact(a.end, buf, SEQ_HDR) == 0);
			EF_CHECK(read_exact(a.end, buf + SEQ_HDR, len - SEQ_HDR) == 0);
			EF_CHECK(seq_check(buf, len, seq) == 0);
		} else if (a.zero_copy && (seq & 1)) {
			const void *src;
			ssize_t n = xos_chan_peek(a.end, &src);

			EF_CHECK(n == (ssize_t)len);
			EF_CHECK(seq_check(src, len, seq) == 0);
			EF_CHECK(xos_chan_consume(a.end, len) == 0);
			EF_CHECK(xos_chan_release(a.end) == 0);
		} else {
			ssize_t n = xos_chan_recv(a.end, buf, MAX_MSG);

			EF_CHECK(n == (ssize_t)len);
			EF_CHECK(seq_check(buf, len, seq) == 0);
		}
	}
	EF_CHECK(xos_chan_recv(a.end, &tmp, 1) == 0); /* EOF */
	EF_CHECK(xos_chan_recv(a.end, &tmp, 1) == 0); /* and it stays */
	free(buf);
	EF_CHECK(xos_chan_close(a.end) == 0);
	return 0;
}

static void run_order(const char *mech, const char *icf, uint64_t n, unsigned int flags, int zero_copy)
{
	struct xos_chan *ends[2];
	struct order_arg ra, wa;
	struct xos_ef *r, *w;
	double t0 = t_now();

	t_open(ends, mech, flags, 0);
	ra = (struct order_arg){ ends[1], n, zero_copy, !!(flags & XOS_CHAN_F_STREAM) };
	wa = (struct order_arg){ ends[0], n, zero_copy, !!(flags & XOS_CHAN_F_STREAM) };
	r = t_start(icf, order_reader, &ra, sizeof(ra), &ends[1], 1);
	w = t_start(icf, order_writer, &wa, sizeof(wa), &ends[0], 1);
	t_join_ok(w, "writer");
	t_join_ok(r, "reader");
	printf("# %-5s %-7s %s%s: %llu messages in %.2f s\n", mech, icf,
	       flags & XOS_CHAN_F_STREAM ? "stream" : "messages", zero_copy ? "+zero-copy" : "",
	       (unsigned long long)n, t_now() - t0);
}

static void test_order(void **state)
{
	const char *mech = *state;

	for (int i = 0; i < NICFS; i++)
		run_order(mech, icfs[i], t_msgs(strcmp(mech, "ring") == 0 ? 1000000 : 250000), 0, 0);
}

static void test_order_zero_copy_stream(void **state)
{
	const char *mech = *state;

	for (int i = 0; i < NICFS; i++) {
		run_order(mech, icfs[i], t_msgs(1000000) / 20, 0, 1);
		run_order(mech, icfs[i], t_msgs(1000000) / 20, XOS_CHAN_F_STREAM, 0);
	}
}

/* ---- EOF and EPIPE -------------------------------------------------------- */

struct pair_arg {
	struct xos_chan *end;
	int count;
};

static int send_then_close(void *p)
{
	struct pair_arg a = *(struct pair_arg *)p;

	for (int i = 0; i < a.count; i++)
		EF_CHECK(xos_chan_send(a.end, &i, sizeof(i)) == sizeof(i));
	EF_CHECK(xos_chan_close(a.end) == 0);
	return 0;
}

static int read_count_then_eof(void *p)
{
	struct pair_arg a = *(struct pair_arg *)p;
	int v;

	for (int i = 0; i < a.count; i++) {
		ssize_t n = xos_chan_recv(a.end, &v, sizeof(v));

		if (n != sizeof(v))
			fprintf(stderr, "recv %d: %zd\n", i, n);
		EF_CHECK(n == sizeof(v));
		EF_CHECK(v == i);
	}
	EF_CHECK(xos_chan_recv(a.end, &v, sizeof(v)) == 0);
	EF_CHECK(xos_chan_close(a.end) == 0);
	return 0;
}

static int read_one_then_close(void *p)
{
	struct pair_arg a = *(struct pair_arg *)p;
	char buf[2048];

	EF_CHECK(xos_chan_recv(a.end, buf, sizeof(buf)) > 0);
	EF_CHECK(xos_chan_close(a.end) == 0);
	return 0;
}

/* Send until -EPIPE; fail if it takes more than 10 s. */
static int send_until_epipe(void *p)
{
	struct pair_arg a = *(struct pair_arg *)p;
	char buf[1024] = { 0 };
	double t0 = t_now();
	ssize_t rc;

	do {
		rc = xos_chan_send(a.end, buf, sizeof(buf));
		EF_CHECK(t_now() - t0 < 10);
	} while (rc == sizeof(buf));
	EF_CHECK(rc == -EPIPE);
	EF_CHECK(xos_chan_send(a.end, buf, 1) == -EPIPE);
	EF_CHECK(xos_chan_close(a.end) == 0);
	return 0;
}

static void test_eof_epipe(void **state)
{
	const char *mech = *state;

	for (int i = 0; i < NICFS; i++) {
		struct xos_chan *ends[2];
		struct pair_arg ra, wa;
		struct xos_ef *r, *w;

		t_open(ends, mech, 0, 0);
		ra = (struct pair_arg){ ends[1], 100 };
		wa = (struct pair_arg){ ends[0], 100 };
		r = t_start(icfs[i], read_count_then_eof, &ra, sizeof(ra), &ends[1], 1);
		w = t_start(icfs[i], send_then_close, &wa, sizeof(wa), &ends[0], 1);
		t_join_ok(w, "EOF writer");
		t_join_ok(r, "EOF reader");

		t_open(ends, mech, 0, 0);
		ra = (struct pair_arg){ ends[1], 1 };
		wa = (struct pair_arg){ ends[0], 0 };
		r = t_start(icfs[i], read_one_then_close, &ra, sizeof(ra), &ends[1], 1);
		w = t_start(icfs[i], send_until_epipe, &wa, sizeof(wa), &ends[0], 1);
		t_join_ok(w, "EPIPE writer");
		t_join_ok(r, "EPIPE reader");
	}
}

/* ---- non-blocking calls and poll readiness ----------------------------------- */

static int poll_in(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int rc = poll(&pfd, 1, ms);

	return rc == 1 && (pfd.revents & (POLLIN | POLLHUP)) ? 1 : rc;
}

/* end 1 of a bidirectional channel: ask for data, wait for it with poll. */
static int nb_reader(void *p)
{
	struct pair_arg a = *(struct pair_arg *)p;
	int v = 0, fd;

	EF_CHECK(xos_chan_set_nonblock(a.end, true) == 0);
	fd = xos_chan_fd(a.end);
	EF_CHECK(fd >= 0);
	EF_CHECK(xos_chan_recv(a.end, &v, sizeof(v)) == -EAGAIN);
	EF_CHECK(poll_in(fd, 0) == 0);
	for (int round = 0; round < 50; round++) {
		EF_CHECK(xos_chan_send(a.end, &round, sizeof(round)) == sizeof(round)); /* "go" */
		EF_CHECK(poll_in(fd, 10000) == 1);
		EF_CHECK(xos_chan_recv(a.end, &v, sizeof(v)) == sizeof(v));
		EF_CHECK(v == round * 3);
		/* drained: not readable any more once a call said so */
		EF_CHECK(xos_chan_recv(a.end, &v, sizeof(v)) == -EAGAIN);
		EF_CHECK(poll_in(fd, 0) == 0);
	}
	EF_CHECK(xos_chan_send(a.end, &v, sizeof(v)) == sizeof(v)); /* "close now" */
	/* EOF is readable too */
	EF_CHECK(poll_in(fd, 10000) == 1);
	EF_CHECK(xos_chan_recv(a.end, &v, sizeof(v)) == 0);
	EF_CHECK(xos_chan_fd(a.end) == fd); /* stable */
	EF_CHECK(xos_chan_close(a.end) == 0);
	return 0;
}

static int nb_writer(void *p)
{
	struct pair_arg a = *(struct pair_arg *)p;
	int v;

	for (int round = 0; round < 50; round++) {
		EF_CHECK(xos_chan_recv(a.end, &v, sizeof(v)) == sizeof(v));
		EF_CHECK(v == round);
		usleep(1000); /* the reader is in poll() by now, most of the time */
		v = round * 3;
		EF_CHECK(xos_chan_send(a.end, &v, sizeof(v)) == sizeof(v));
	}
	EF_CHECK(xos_chan_recv(a.end, &v, sizeof(v)) == sizeof(v));
	EF_CHECK(xos_chan_close(a.end) == 0);
	return 0;
}

/* A non-blocking writer on a full channel gets -EAGAIN, then room once read. */
static int nb_fill(void *p)
{
	struct pair_arg a = *(struct pair_arg *)p;
	char buf[512] = { 0 };
	int sent = 0;
	ssize_t rc;

	EF_CHECK(xos_chan_set_nonblock(a.end, true) == 0);
	while ((rc = xos_chan_send(a.end, buf, sizeof(buf))) == sizeof(buf))
		EF_CHECK(++sent < 1000000);
	EF_CHECK(rc == -EAGAIN);
	EF_CHECK(sent > 0);
	EF_CHECK(xos_chan_set_nonblock(a.end, false) == 0);
	/* tell the reader how many (blocking: it drains) */
	buf[0] = 1;
	memcpy(buf + 1, &sent, sizeof(sent));
	EF_CHECK(xos_chan_send(a.end, buf, sizeof(buf)) == sizeof(buf));
	EF_CHECK(xos_chan_close(a.end) == 0);
	return 0;
}

static int nb_drain(void *p)
{
	struct pair_arg a = *(struct pair_arg *)p;
	char buf[512];
	int n = 0, sent;

	for (;;) {
		EF_CHECK(xos_chan_recv(a.end, buf, sizeof(buf)) == sizeof(buf));
		if (buf[0] == 1)
			break;
		n++;
	}
	memcpy(&sent, buf + 1, sizeof(sent));
	EF_CHECK(n == sent);
	EF_CHECK(xos_chan_recv(a.end, buf, sizeof(buf)) == 0);
	EF_CHECK(xos_chan_close(a.end) == 0);
	return 0;
}

/*
 * On a new channel of @mech (@capacity), @writer (end 0) starts first and
 * has @lead_us to fill it before @reader (end 1) starts; both end well.
 */
static void run_filled(const char *mech, const char *icf, size_t capacity, xos_ef_fn writer, xos_ef_fn reader,
		       useconds_t lead_us, const char *what)
{
	struct xos_chan *ends[2];
	struct pair_arg ra, wa;
	struct xos_ef *r, *w;

	t_open(ends, mech, 0, capacity);
	ra = (struct pair_arg){ ends[1], 0 };
	wa = (struct pair_arg){ ends[0], 0 };
	w = t_start(icf, writer, &wa, sizeof(wa), &ends[0], 1);
	usleep(lead_us);
	r = t_start(icf, reader, &ra, sizeof(ra), &ends[1], 1);
	t_join_ok(w, what);
	t_join_ok(r, what);
}

static void test_nonblock_poll(void **state)
{
	const char *mech = *state;

	for (int i = 0; i < NICFS; i++) {
		struct xos_chan *ends[2];
		struct pair_arg ra, wa;
		struct xos_ef *r, *w;

		t_open(ends, mech, XOS_CHAN_F_BIDIR, 0);
		ra = (struct pair_arg){ ends[1], 0 };
		wa = (struct pair_arg){ ends[0], 0 };
		r = t_start(icfs[i], nb_reader, &ra, sizeof(ra), &ends[1], 1);
		w = t_start(icfs[i], nb_writer, &wa, sizeof(wa), &ends[0], 1);
		t_join_ok(w, "poll writer");
		t_join_ok(r, "poll reader");
		run_filled(mech, icfs[i], 65536, nb_fill, nb_drain, 300000, "non-blocking writer on a full channel");
	}
}

/*
 * Messages of every size up to the channel's largest, small and big mixed,
 * sent without blocking into a channel nobody reads yet: frames bigger
 * than the kernel object's room are written in part, their rest kept and
 * finished by later calls.
 * Each arrives whole, once, in order.
 */
#define BIG_MSGS 400

/* Every third message small enough to be written in one piece (chan.c COALESCE_MAX). */
static size_t big_len(int k)
{
	return k % 3 == 0 ? (size_t)(k % 250) + 1 : (size_t)(k * 7919) % 16384 + 1;
}

static int nb_big_writer(void *p)
{
	struct pair_arg a = *(struct pair_arg *)p;
	static char buf[16384];
	int eagain = 0;

	EF_CHECK(xos_chan_set_nonblock(a.end, true) == 0);
	for (int k = 0; k < BIG_MSGS; k++) {
		size_t len = big_len(k);
		ssize_t rc;

		for (size_t i = 0; i < len; i++)
			buf[i] = (char)(k * 31 + (int)i);
		while ((rc = xos_chan_send(a.end, buf, len)) == -EAGAIN) {
			eagain++;
			usleep(200);
		}
		EF_CHECK(rc == (ssize_t)len);
	}
	EF_CHECK(eagain > 0); /* the channel was full at least once */
	EF_CHECK(xos_chan_set_nonblock(a.end, false) == 0);
	EF_CHECK(xos_chan_close(a.end) == 0); /* a rest still kept goes out first */
	return 0;
}

static int big_reader(void *p)
{
	struct pair_arg a = *(struct pair_arg *)p;
	static char buf[16384];

	for (int k = 0; k < BIG_MSGS; k++) {
		size_t len = big_len(k);

		EF_CHECK(xos_chan_recv(a.end, buf, sizeof(buf)) == (ssize_t)len);
		for (size_t i = 0; i < len; i++)
			EF_CHECK(buf[i] == (char)(k * 31 + (int)i));
	}
	EF_CHECK(xos_chan_recv(a.end, buf, sizeof(buf)) == 0);
	EF_CHECK(xos_chan_close(a.end) == 0);
	return 0;
}

static void test_nonblock_big(void **state)
{
	for (int i = 0; i < NICFS; i++)
		run_filled(*state, icfs[i], 65536, nb_big_writer, big_reader, 100000, "big messages, non-blocking");
}

/*
 * The first receive on a fresh end of a stream mechanism takes a big
 * message straight into the caller's buffer, as every later one does.  It
 * used to go through the general path, which read all that was there
 * (512 KiB here) into a frame buffer fresh from mmap: a page fault for
 * every 4 KiB, 2 ms on a virtual machine.  Counted as the receiving
 * thread's own page faults (the buffer given is already touched).
 */
#define FIRST_MSGS 8

static int first_writer(void *p)
{
	struct pair_arg a = *(struct pair_arg *)p;
	static char buf[65536];

	memset(buf, 0x3c, sizeof(buf));
	for (int k = 0; k < FIRST_MSGS; k++)
		EF_CHECK(xos_chan_send(a.end, buf, sizeof(buf)) == sizeof(buf));
	EF_CHECK(xos_chan_close(a.end) == 0);
	return 0;
}

static void test_first_read_direct(void **state)
{
	const char *mech = *state;
	static char buf[65536];

	if (strcmp(mech, "ring") == 0)
		skip(); /* a ring's reader maps the writer's pages: its faults are the ring's, not a buffer's */
#ifdef __SANITIZE_ADDRESS__
	skip(); /* AddressSanitizer's allocator touches shadow and header pages of the end's buffers itself */
#endif
	for (int i = 0; i < NICFS; i++) {
		struct xos_chan *ends[2];
		struct pair_arg wa;
		struct rusage r0, r1;
		struct xos_ef *w;
		long faults;

		t_open(ends, mech, 0, 4u << 20);
		wa = (struct pair_arg){ ends[0], 0 };
		w = t_start(icfs[i], first_writer, &wa, sizeof(wa), &ends[0], 1);
		t_join_ok(w, "writer of the first messages"); /* all of them wait in the kernel object */
		memset(buf, 0, sizeof(buf));
		assert_int_equal(getrusage(RUSAGE_THREAD, &r0), 0);
		assert_int_equal(xos_chan_recv(ends[1], buf, sizeof(buf)), sizeof(buf));
		assert_int_equal(getrusage(RUSAGE_THREAD, &r1), 0);
		faults = r1.ru_minflt - r0.ru_minflt;
		if (faults >= 64)
			fail_msg("%s, %s pair: the first receive took %ld page faults", mech, icfs[i], faults);
		assert_int_equal((unsigned char)buf[0], 0x3c);
		for (int k = 1; k < FIRST_MSGS; k++)
			assert_int_equal(xos_chan_recv(ends[1], buf, sizeof(buf)), sizeof(buf));
		assert_int_equal(xos_chan_recv(ends[1], buf, sizeof(buf)), 0);
		assert_int_equal(xos_chan_close(ends[1]), 0);
	}
}

/* ---- a peer killed with SIGKILL mid-stream ---------------------------------------- */

static int send_then_die(void *p)
{
	struct pair_arg a = *(struct pair_arg *)p;
	char buf[200];

	signal(SIGKILL, SIG_DFL);
	for (int i = 0; i < a.count; i++) {
		memset(buf, i & 0xff, sizeof(buf));
		memcpy(buf, &i, sizeof(i));
		EF_CHECK(xos_chan_send(a.end, buf, sizeof(buf)) == sizeof(buf));
	}
	raise(SIGKILL);
	return 99;
}

static int read_until_eof(void *p)
{
	struct pair_arg a = *(struct pair_arg *)p;
	char buf[200];
	double t0 = t_now();
	int i = 0;
	ssize_t n;

	while ((n = xos_chan_recv(a.end, buf, sizeof(buf))) == sizeof(buf)) {
		int v;

		memcpy(&v, buf, sizeof(v));
		EF_CHECK(v == i);
		i++;
	}
	EF_CHECK(n == 0);
	EF_CHECK(i == a.count);
	EF_CHECK(t_now() - t0 < 5);
	EF_CHECK(xos_chan_close(a.end) == 0);
	return 0;
}

static int read_then_die(void *p)
{
	struct pair_arg a = *(struct pair_arg *)p;
	char buf[1024];

	for (int i = 0; i < a.count; i++)
		EF_CHECK(xos_chan_recv(a.end, buf, sizeof(buf)) > 0);
	raise(SIGKILL);
	return 99;
}

static void test_peer_killed(void **state)
{
	const char *mech = *state;

	/* The victim is a process EF; the survivor in each ICF (a thread of this process, or a process). */
	for (int i = 0; i < NICFS; i++) {
		struct xos_chan *ends[2];
		struct pair_arg ra, wa;
		struct xos_ef *r, *w;
		struct xos_ef_exit ex;

		t_open(ends, mech, 0, 0);
		ra = (struct pair_arg){ ends[1], 3000 };
		wa = (struct pair_arg){ ends[0], 3000 };
		r = t_start(icfs[i], read_until_eof, &ra, sizeof(ra), &ends[1], 1);
		w = t_start("process", send_then_die, &wa, sizeof(wa), &ends[0], 1);
		ex = t_join(w);
		assert_int_equal(ex.how, XOS_EF_KILLED);
		t_join_ok(r, "reader of a killed writer");

		t_open(ends, mech, 0, 0);
		ra = (struct pair_arg){ ends[1], 10 };
		wa = (struct pair_arg){ ends[0], 0 };
		w = t_start(icfs[i], send_until_epipe, &wa, sizeof(wa), &ends[0], 1);
		r = t_start("process", read_then_die, &ra, sizeof(ra), &ends[1], 1);
		ex = t_join(r);
		assert_int_equal(ex.how, XOS_EF_KILLED);
		t_join_ok(w, "writer of a killed reader");
	}
}

/* ---- several producers on end 0 ---------------------------------------------------- */

#define WRITERS 3

struct mp_arg {
	struct xos_chan *end;
	int id, n;
};

static int mp_writer(void *p)
{
	struct mp_arg a = *(struct mp_arg *)p;
	int msg[2] = { a.id, 0 };

	for (int i = 0; i < a.n; i++) {
		msg[1] = i;
		if (i & 1) {
			void *dst;

			EF_CHECK(xos_chan_reserve(a.end, sizeof(msg), &dst) == 0);
			memcpy(dst, msg, sizeof(msg));
			EF_CHECK(xos_chan_commit(a.end, sizeof(msg)) == 0);
		} else {
			EF_CHECK(xos_chan_send(a.end, msg, sizeof(msg)) == sizeof(msg));
		}
	}
	EF_CHECK(xos_chan_close(a.end) == 0);
	return 0;
}

static int mp_reader(void *p)
{
	struct mp_arg a = *(struct mp_arg *)p;
	int next[WRITERS] = { 0 }, msg[2];
	ssize_t n;

	while ((n = xos_chan_recv(a.end, msg, sizeof(msg))) == sizeof(msg)) {
		EF_CHECK(msg[0] >= 0 && msg[0] < WRITERS);
		EF_CHECK(msg[1] == next[msg[0]]); /* each writer's messages in order */
		next[msg[0]]++;
	}
	EF_CHECK(n == 0); /* EOF only once every writer closed */
	for (int w = 0; w < WRITERS; w++)
		EF_CHECK(next[w] == a.n);
	EF_CHECK(xos_chan_close(a.end) == 0);
	return 0;
}

static void test_multi_producer(void **state)
{
	const char *mech = *state;

	for (int i = 0; i < NICFS; i++) {
		struct xos_chan *ends[2];
		struct xos_ef *r, *w[WRITERS];
		struct mp_arg ra, wa;
		int n = 20000;

		t_open(ends, mech, XOS_CHAN_F_MULTI_PRODUCER, 65536);
		ra = (struct mp_arg){ ends[1], -1, n };
		r = t_start(icfs[i], mp_reader, &ra, sizeof(ra), &ends[1], 1);
		for (int k = 0; k < WRITERS; k++) {
			wa = (struct mp_arg){ ends[0], k, n };
			/* mixed: writers in this ICF and in the other */
			w[k] = t_start(icfs[(i + k) % NICFS], mp_writer, &wa, sizeof(wa), &ends[0], 1);
		}
		assert_int_equal(xos_chan_close(ends[0]), 0); /* the creator's own hold */
		for (int k = 0; k < WRITERS; k++)
			t_join_ok(w[k], "producer");
		t_join_ok(r, "consumer");
	}
}

/*
 * Process writers forked while a thread writer of the same end is between
 * reserve and commit: a copy must not inherit the thread's reservation
 * (its first send failed with -EBUSY), and waits for the lock the thread
 * holds.  The thread keeps a reservation open most of the time, so most
 * forks land inside one.
 */
#define FORKED_WRITERS 40

static _Atomic int reserve_loop_stop;

static int mp_reserve_loop(void *p)
{
	struct mp_arg a = *(struct mp_arg *)p;
	int msg[2] = { 0, 0 };

	while (!atomic_load(&reserve_loop_stop)) {
		struct timespec t0, t;
		void *dst;

		EF_CHECK(xos_chan_reserve(a.end, sizeof(msg), &dst) == 0);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		do /* held open ~200 us: a fork of the creator's falls in here */
			clock_gettime(CLOCK_MONOTONIC, &t);
		while ((t.tv_sec - t0.tv_sec) * 1000000000L + t.tv_nsec - t0.tv_nsec < 200000);
		memcpy(dst, msg, sizeof(msg));
		EF_CHECK(xos_chan_commit(a.end, sizeof(msg)) == 0);
		msg[1]++;
		sched_yield();
	}
	EF_CHECK(xos_chan_close(a.end) == 0);
	return 0;
}

static int mp_read_mixed(void *p)
{
	struct mp_arg a = *(struct mp_arg *)p;
	int msg[2], next0 = 0, forked = 0;
	unsigned char seen[FORKED_WRITERS] = { 0 };
	ssize_t n;

	while ((n = xos_chan_recv(a.end, msg, sizeof(msg))) == sizeof(msg)) {
		if (msg[0] == 0) {
			EF_CHECK(msg[1] == next0);
			next0++;
			continue;
		}
		EF_CHECK(msg[0] >= 1 && msg[0] <= FORKED_WRITERS && !seen[msg[0] - 1]);
		seen[msg[0] - 1] = 1;
		forked++;
	}
	EF_CHECK(n == 0);
	EF_CHECK(forked == FORKED_WRITERS);
	EF_CHECK(xos_chan_close(a.end) == 0);
	return 0;
}

static void test_multi_producer_fork_mid_reserve(void **state)
{
	const char *mech = *state;
	struct xos_chan *ends[2];
	struct xos_ef *r, *loop, *w[FORKED_WRITERS];
	struct mp_arg ra, la, wa;

	atomic_store(&reserve_loop_stop, 0);
	t_open(ends, mech, XOS_CHAN_F_MULTI_PRODUCER, 0);
	ra = (struct mp_arg){ ends[1], -1, 0 };
	r = t_start("process", mp_read_mixed, &ra, sizeof(ra), &ends[1], 1);
	la = (struct mp_arg){ ends[0], 0, 0 };
	loop = t_start("thread", mp_reserve_loop, &la, sizeof(la), &ends[0], 1);
	for (int k = 0; k < FORKED_WRITERS; k++) {
		wa = (struct mp_arg){ ends[0], k + 1, 1 };
		w[k] = t_start("process", mp_writer, &wa, sizeof(wa), &ends[0], 1);
	}
	for (int k = 0; k < FORKED_WRITERS; k++)
		t_join_ok(w[k], "writer forked during another's reservation");
	atomic_store(&reserve_loop_stop, 1);
	t_join_ok(loop, "writer holding reservations");
	assert_int_equal(xos_chan_close(ends[0]), 0);
	t_join_ok(r, "consumer");
}

#define MECH_TESTS(fn)                                                           \
	cmocka_unit_test_prestate(fn, (void *)"ring"),                           \
	cmocka_unit_test_prestate(fn, (void *)"pipe"),                           \
	cmocka_unit_test_prestate(fn, (void *)"unix"),                           \
	cmocka_unit_test_prestate(fn, (void *)"tcp")

int main(void)
{
	const struct CMUnitTest tests[] = {
		MECH_TESTS(test_order),
		MECH_TESTS(test_order_zero_copy_stream),
		MECH_TESTS(test_eof_epipe),
		MECH_TESTS(test_nonblock_poll),
		MECH_TESTS(test_nonblock_big),
		MECH_TESTS(test_first_read_direct),
		MECH_TESTS(test_peer_killed),
		MECH_TESTS(test_multi_producer),
		MECH_TESTS(test_multi_producer_fork_mid_reserve),
	};

	unsetenv("XOS_CHAN");
	if (getenv("T_FILTER"))
		cmocka_set_test_filter(getenv("T_FILTER"));
	alarm(240); /* a hang is a failure */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
