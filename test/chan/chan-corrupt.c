/* SPDX-License-Identifier: MIT */
/*
 * Description: an untrusted peer.  The shared state of a ring is
 * corrupted the ways a buggy or hostile peer could: indices out of
 * range, unaligned or running backwards, frame headers with impossible
 * lengths or types, a PAD frame of the wrong size (one fills the end of
 * the area, a short one puts the next payload on a cache line), a tail ahead of the
 * head, a control counter promising a path that never comes.  Each time
 * the end under attack gets -EPROTO (and keeps getting it), never a
 * crash, an out-of-bounds access (ASan) or a hang (watchdog).
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../src/chan/chan_i.h"
#include "../../src/chan/fdstream.h"

void *xos__ring_shared(void *st, size_t *ret_len);

#define PAGE 4096u
#define CAP 65536u

/* Offsets in struct ring_dir (ring.c): head at 0, tail at 64. */
#define HEAD_OFF 0
#define TAIL_OFF 64

struct victim {
	struct xos_chan *ends[2];
	uint8_t *map;        /* the reader's view of the shared area */
	uint8_t *data;       /* direction 0's data area */
	_Atomic uint64_t *head, *tail;
};

static void setup(struct victim *v, bool nonblock)
{
	struct xos_chan_attr attr;
	size_t len;
	char buf[64];

	xos_chan_attr_init(&attr);
	attr.mechanism = "ring";
	attr.capacity = CAP;
	attr.flags = nonblock ? XOS_CHAN_F_NONBLOCK : 0;
	assert_int_equal(xos_chan_open(v->ends, &attr), 0);
	/* One message through, so both ends have taken their path in. */
	assert_int_equal(xos_chan_send(v->ends[0], "hello", 5), 5);
	assert_int_equal(xos_chan_recv(v->ends[1], buf, sizeof(buf)), 5);
	v->map = xos__ring_shared(v->ends[1]->rx->st, &len);
	assert_int_equal(len, PAGE + CAP);
	v->head = (_Atomic uint64_t *)(void *)(v->map + HEAD_OFF);
	v->tail = (_Atomic uint64_t *)(void *)(v->map + TAIL_OFF);
	v->data = v->map + PAGE;
}

static void teardown(struct victim *v)
{
	xos_chan_close(v->ends[0]);
	xos_chan_close(v->ends[1]);
}

/* The reader gets -EPROTO now and on every later call. */
static void expect_eproto(struct victim *v)
{
	char buf[64];
	const void *view;

	assert_int_equal(xos_chan_recv(v->ends[1], buf, sizeof(buf)), -EPROTO);
	assert_int_equal(xos_chan_recv(v->ends[1], buf, sizeof(buf)), -EPROTO);
	assert_int_equal(xos_chan_peek(v->ends[1], &view), -EPROTO);
}

static void put_hdr(struct victim *v, uint64_t pos, uint32_t len, uint32_t type)
{
	struct xos__frame_hdr h = { len, type };

	memcpy(v->data + (pos & (CAP - 1)), &h, sizeof(h));
}

static void test_head_out_of_range(void **state)
{
	(void)state;
	for (int blocking = 0; blocking < 2; blocking++) {
		struct victim v;
		uint64_t h;

		setup(&v, !blocking);
		h = atomic_load(v.head);
		atomic_store(v.head, h + CAP + 8); /* more than the ring holds */
		expect_eproto(&v);
		teardown(&v);

		setup(&v, !blocking);
		atomic_store(v.head, atomic_load(v.head) - 16); /* backwards */
		expect_eproto(&v);
		teardown(&v);

		setup(&v, !blocking);
		atomic_store(v.head, atomic_load(v.head) + 3); /* unaligned */
		expect_eproto(&v);
		teardown(&v);

		setup(&v, !blocking);
		atomic_store(v.head, UINT64_MAX - 7);
		expect_eproto(&v);
		teardown(&v);
	}
}

static void test_bad_frames(void **state)
{
	static const struct {
		uint32_t len, type;
		uint64_t publish; /* bytes the fake writer claims to have written */
	} cases[] = {
		{ 1u << 30, XOS_FRAME_DATA, 64 },  /* longer than max_msg */
		{ 40000, XOS_FRAME_DATA, 64 },     /* longer than max_msg (CAP / 4) */
		{ 100, XOS_FRAME_DATA, 64 },       /* longer than what was published */
		{ 8, 0, 64 },                      /* no such type */
		{ 8, 77, 64 },
		{ 8, XOS_FRAME_PAD, 64 },          /* a PAD that does not reach the end */
		{ 16, XOS_FRAME_SWITCH, 64 },      /* a switch to a path nobody sent */
		{ 3, XOS_FRAME_SWITCH, 64 },       /* a switch marker of the wrong size */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct victim v;
		uint64_t pos;

		setup(&v, true);
		pos = atomic_load(v.head);
		put_hdr(&v, pos, cases[i].len, cases[i].type);
		if (cases[i].type == XOS_FRAME_SWITCH && cases[i].len == 16) {
			struct xos__switch_marker mk = { .target = 12345, .seq = 1 };

			memcpy(v.data + (pos & (CAP - 1)) + 8, &mk, sizeof(mk));
		}
		atomic_store(v.head, pos + cases[i].publish);
		expect_eproto(&v);
		teardown(&v);
	}
}

static void test_pad_at_the_end(void **state)
{
	struct victim v;
	uint64_t pos, room;
	char buf[64];

	(void)state;
	/* A well-formed PAD is skipped; a PAD claiming to wrap further is refused. */
	setup(&v, true);
	pos = atomic_load(v.head);
	room = CAP - (pos & (CAP - 1));
	put_hdr(&v, pos, (uint32_t)(room - 8), XOS_FRAME_PAD);
	put_hdr(&v, 0, 2, XOS_FRAME_DATA);
	memcpy(v.data + 8, "ok", 2);
	atomic_store(v.head, pos + room + 16);
	assert_int_equal(xos_chan_recv(v.ends[1], buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "ok", 2);
	teardown(&v);

	setup(&v, true);
	pos = atomic_load(v.head);
	room = CAP - (pos & (CAP - 1));
	put_hdr(&v, pos, (uint32_t)(room + 8), XOS_FRAME_PAD);
	atomic_store(v.head, pos + room + 16);
	expect_eproto(&v);
	teardown(&v);
}

static void test_pad_to_a_line(void **state)
{
	struct victim v;
	uint64_t pos, lead;
	char buf[64];

	(void)state;
	/* A short PAD that puts the next payload on a cache line is skipped... */
	setup(&v, true);
	pos = atomic_load(v.head);
	lead = (56 - (pos & 63)) & 63;
	assert_true(lead >= 16);
	put_hdr(&v, pos, (uint32_t)(lead - 8), XOS_FRAME_PAD);
	put_hdr(&v, pos + lead, 2, XOS_FRAME_DATA);
	memcpy(v.data + ((pos + lead + 8) & (CAP - 1)), "ok", 2);
	atomic_store(v.head, pos + lead + 16);
	assert_int_equal(xos_chan_recv(v.ends[1], buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "ok", 2);
	teardown(&v);

	/* ...one that stops anywhere else is refused, */
	setup(&v, true);
	pos = atomic_load(v.head);
	lead = (56 - (pos & 63)) & 63;
	put_hdr(&v, pos, (uint32_t)(lead - 16), XOS_FRAME_PAD);
	put_hdr(&v, pos + lead - 8, 2, XOS_FRAME_DATA);
	atomic_store(v.head, pos + lead + 8);
	expect_eproto(&v);
	teardown(&v);

	/* ...and so is one of a line or more that does not reach the end. */
	setup(&v, true);
	pos = atomic_load(v.head);
	lead = (56 - (pos & 63)) & 63;
	put_hdr(&v, pos, (uint32_t)(lead + 64 - 8), XOS_FRAME_PAD);
	put_hdr(&v, pos + lead + 64, 2, XOS_FRAME_DATA);
	atomic_store(v.head, pos + lead + 64 + 16);
	expect_eproto(&v);
	teardown(&v);
}

static void test_tail_corrupted(void **state)
{
	struct victim v;
	char msg[1000] = { 0 };
	void *dst;

	(void)state;
	/* The writer validates the reader's tail too. */
	setup(&v, true);
	atomic_store(v.tail, atomic_load(v.head) + 64); /* ahead of what was written */
	for (int i = 0; i < 200; i++) {
		ssize_t rc = xos_chan_send(v.ends[0], msg, sizeof(msg));

		if (rc == -EPROTO)
			break;
		assert_true(rc == sizeof(msg) || rc == -EAGAIN);
	}
	assert_int_equal(xos_chan_send(v.ends[0], msg, sizeof(msg)), -EPROTO);
	assert_int_equal(xos_chan_reserve(v.ends[0], 10, &dst), -EPROTO);
	teardown(&v);

	setup(&v, true);
	atomic_store(v.tail, 0xdeadbeefdeadbee0ull); /* anywhere */
	assert_int_equal(xos_chan_send(v.ends[0], msg, sizeof(msg)), -EPROTO);
	teardown(&v);
}

static void test_frame_changed_under_reader(void **state)
{
	struct victim v;
	const void *view;
	char buf[64];

	(void)state;
	/* A header rewritten after the reader validated it changes nothing: one copy is used. */
	setup(&v, true);
	assert_int_equal(xos_chan_send(v.ends[0], "abcdef", 6), 6);
	assert_int_equal(xos_chan_peek(v.ends[1], &view), 6);
	put_hdr(&v, atomic_load(v.head) - 16, 1u << 30, XOS_FRAME_DATA);
	assert_int_equal(xos_chan_consume(v.ends[1], 6), 0);
	assert_int_equal(xos_chan_release(v.ends[1]), 0);
	assert_int_equal(xos_chan_recv(v.ends[1], buf, sizeof(buf)), -EAGAIN);
	teardown(&v);
}

/* The write descriptor of a kernel mechanism's end 0, to write frames by hand. */
static int raw_wfd(struct xos_chan *end)
{
	return ((struct xos__fds_end *)end->tx->st)->wfd;
}

static void test_frame_in_pieces(void **state)
{
	static const char *const kmechs[] = { "pipe", "unix", "tcp" };

	(void)state;
	/* A large frame arriving in pieces: -EAGAIN until it is whole; EOF if its writer dies half-way. */
	for (size_t k = 0; k < sizeof(kmechs) / sizeof(kmechs[0]); k++) {
		struct xos_chan_attr attr;
		struct xos_chan *ends[2];
		struct xos__frame_hdr h = { 4000, XOS_FRAME_DATA };
		static uint8_t msg[4000], buf[8192];
		int fd;

		for (size_t i = 0; i < sizeof(msg); i++)
			msg[i] = (uint8_t)(i * 7);
		xos_chan_attr_init(&attr);
		attr.mechanism = kmechs[k];
		attr.flags = XOS_CHAN_F_NONBLOCK;
		assert_int_equal(xos_chan_open(ends, &attr), 0);
		assert_int_equal(xos_chan_send(ends[0], "hi", 2), 2);
		assert_int_equal(xos_chan_recv(ends[1], buf, sizeof(buf)), 2);
		fd = raw_wfd(ends[0]);
		assert_int_equal(write(fd, &h, 5), 5); /* part of the header */
		assert_int_equal(xos_chan_recv(ends[1], buf, sizeof(buf)), -EAGAIN);
		assert_int_equal(write(fd, (char *)&h + 5, 3), 3);
		assert_int_equal(write(fd, msg, 1000), 1000); /* a quarter of the payload */
		assert_int_equal(xos_chan_recv(ends[1], buf, sizeof(buf)), -EAGAIN);
		assert_int_equal(write(fd, msg + 1000, 3000), 3000);
		assert_int_equal(xos_chan_recv(ends[1], buf, sizeof(buf)), 4000);
		assert_memory_equal(buf, msg, 4000);
		/* the writer goes away in the middle of the next one */
		assert_int_equal(write(fd, &h, 8), 8);
		assert_int_equal(write(fd, msg, 2000), 2000);
		assert_int_equal(xos_chan_recv(ends[1], buf, sizeof(buf)), -EAGAIN);
		assert_int_equal(xos_chan_close(ends[0]), 0);
		assert_int_equal(xos_chan_recv(ends[1], buf, sizeof(buf)), 0);
		assert_int_equal(xos_chan_close(ends[1]), 0);
	}
}

static void test_phantom_path(void **state)
{
	struct victim v;
	char buf[64];

	(void)state;
	/* The peer claims it sent a path over the control socket and sent nothing. */
	setup(&v, false);
	atomic_fetch_add(&v.ends[1]->ctl->sent[1], 1);
	assert_int_equal(xos_chan_recv(v.ends[1], buf, sizeof(buf)), -EPROTO);
	teardown(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_head_out_of_range),
		cmocka_unit_test(test_bad_frames),
		cmocka_unit_test(test_pad_at_the_end),
		cmocka_unit_test(test_pad_to_a_line),
		cmocka_unit_test(test_tail_corrupted),
		cmocka_unit_test(test_frame_changed_under_reader),
		cmocka_unit_test(test_frame_in_pieces),
		cmocka_unit_test(test_phantom_path),
	};

	unsetenv("XOS_CHAN");
	alarm(60);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
