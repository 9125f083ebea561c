/* SPDX-License-Identifier: MIT */
/*
 * Description: the channel API's contract on one thread: argument
 * checks (negative errno, errno untouched), attributes, names, the
 * mechanism getter before and after binding, message boundaries and
 * truncation, stream mode, zero-copy calls out of order, statistics.
 */
#include "chan-test.h"

static void test_args(void **state)
{
	struct xos_chan_attr attr;
	struct xos_chan *ends[2];
	char c;

	(void)state;
	errno = 7777;
	assert_int_equal(xos_chan_open(NULL, NULL), -EINVAL);
	xos_chan_attr_init(&attr);
	attr.flags = 1u << 20;
	assert_int_equal(xos_chan_open(ends, &attr), -EINVAL);
	xos_chan_attr_init(&attr);
	attr.mechanism = "carrier-pigeon";
	assert_int_equal(xos_chan_open(ends, &attr), -ENOENT);
	xos_chan_attr_init(&attr);
	attr.capacity = 100;
	assert_int_equal(xos_chan_open(ends, &attr), -EINVAL);
	xos_chan_attr_init(&attr);
	attr.reserved[0] = &attr;
	assert_int_equal(xos_chan_open(ends, &attr), -EINVAL);
	assert_int_equal(xos_chan_send(NULL, &c, 1), -EINVAL);
	assert_int_equal(xos_chan_recv(NULL, &c, 1), -EINVAL);
	assert_int_equal(xos_chan_close(NULL), -EINVAL);
	assert_int_equal(xos_chan_fd(NULL), -EINVAL);
	assert_int_equal(xos_chan_switch(NULL, "ring"), -EINVAL);
	assert_string_equal(xos_chan_mechanism(NULL), "");
	assert_string_equal(xos_chan_name(NULL), "");
	assert_int_equal(errno, 7777);

	xos_chan_attr_init(&attr);
	attr.name = "api";
	assert_int_equal(xos_chan_open(ends, &attr), 0);
	assert_string_equal(xos_chan_name(ends[0]), "api");
	assert_string_equal(xos_chan_mechanism(ends[0]), ""); /* unbound */
	/* unidirectional: end 1 cannot send, end 0 cannot receive */
	assert_int_equal(xos_chan_send(ends[1], &c, 1), -EBADF);
	assert_int_equal(xos_chan_recv(ends[0], &c, 1), -EBADF);
	assert_int_equal(xos_chan_fd(ends[0]), -EBADF);
	assert_int_equal(xos_chan_switch(ends[0], "warp"), -ENOENT);
	assert_int_equal(xos_chan_commit(ends[0], 1), -EINVAL);
	assert_int_equal(xos_chan_consume(ends[1], 1), -EINVAL);
	assert_int_equal(xos_chan_close(ends[0]), 0);
	assert_int_equal(xos_chan_close(ends[1]), 0);
	assert_int_equal(errno, 7777);
}

static void test_messages_one_thread(void **state)
{
	(void)state;
	for (int m = 0; m < NMECHS; m++) {
		struct xos_chan *ends[2];
		struct xos_chan_stats st;
		char buf[64];
		const void *view;
		void *dst;

		t_open(ends, mechs[m], XOS_CHAN_F_NONBLOCK, 0);
		assert_string_equal(xos_chan_mechanism(ends[0]), mechs[m]);
		assert_int_equal(xos_chan_recv(ends[1], buf, sizeof(buf)), -EAGAIN);
		assert_int_equal(xos_chan_send(ends[0], "hello", 5), 5);
		assert_int_equal(xos_chan_send(ends[0], "", 0), 0); /* an empty message */
		assert_int_equal(xos_chan_send(ends[0], "world!", 6), 6);
		assert_int_equal(xos_chan_reserve(ends[0], 10, &dst), 0);
		assert_int_equal(xos_chan_send(ends[0], "x", 1), -EBUSY); /* reservation open */
		memcpy(dst, "zero-copy!", 10);
		assert_int_equal(xos_chan_commit(ends[0], 9), 0);
		assert_int_equal(xos_chan_reserve(ends[0], 4, &dst), 0);
		assert_int_equal(xos_chan_commit(ends[0], 0), 0); /* given back */

		/* boundaries kept; a short buffer is refused, the message stays */
		assert_int_equal(xos_chan_recv(ends[1], buf, 3), -EMSGSIZE);
		assert_int_equal(xos_chan_recv(ends[1], buf, sizeof(buf)), 5);
		assert_memory_equal(buf, "hello", 5);
		assert_int_equal(xos_chan_recv(ends[1], buf, sizeof(buf)), 0 + 0); /* empty message */
		assert_int_equal(xos_chan_peek(ends[1], &view), 6);
		assert_memory_equal(view, "world!", 6);
		assert_int_equal(xos_chan_consume(ends[1], 3), -EINVAL); /* whole messages */
		assert_int_equal(xos_chan_consume(ends[1], 6), 0);
		assert_int_equal(xos_chan_release(ends[1]), 0);
		assert_int_equal(xos_chan_recv(ends[1], buf, sizeof(buf)), 9);
		assert_memory_equal(buf, "zero-copy", 9);
		assert_int_equal(xos_chan_recv(ends[1], buf, sizeof(buf)), -EAGAIN);

		assert_int_equal(xos_chan_stats(ends[0], &st), 0);
		assert_int_equal(st.msgs_sent, 4);
		assert_int_equal(st.bytes_sent, 20);
		assert_int_equal(xos_chan_stats(ends[1], &st), 0);
		assert_int_equal(st.msgs_received, 4);
		assert_int_equal(st.bytes_received, 20);

		assert_int_equal(xos_chan_close(ends[0]), 0);
		assert_int_equal(xos_chan_recv(ends[1], buf, sizeof(buf)), 0);
		assert_int_equal(xos_chan_close(ends[1]), 0);
	}
}

static void test_stream_one_thread(void **state)
{
	(void)state;
	for (int m = 0; m < NMECHS; m++) {
		struct xos_chan *ends[2];
		char buf[64] = { 0 };
		const void *view;

		t_open(ends, mechs[m], XOS_CHAN_F_STREAM | XOS_CHAN_F_BIDIR, 0);
		assert_int_equal(xos_chan_send(ends[0], "abc", 3), 3);
		assert_int_equal(xos_chan_send(ends[0], "defgh", 5), 5);
		assert_int_equal(xos_chan_recv(ends[1], buf, 2), 2);
		assert_memory_equal(buf, "ab", 2);
		assert_int_equal(xos_chan_recv(ends[1], buf, sizeof(buf)), 6); /* across frames */
		assert_memory_equal(buf, "cdefgh", 6);
		assert_int_equal(xos_chan_send(ends[1], "back", 4), 4);
		assert_int_equal(xos_chan_peek(ends[0], &view), 4);
		assert_int_equal(xos_chan_consume(ends[0], 1), 0); /* partial, in stream mode */
		assert_int_equal(xos_chan_peek(ends[0], &view), 3);
		assert_memory_equal(view, "ack", 3);
		assert_int_equal(xos_chan_consume(ends[0], 3), 0);
		assert_int_equal(xos_chan_release(ends[0]), 0);
		assert_int_equal(xos_chan_close(ends[1]), 0);
		assert_int_equal(xos_chan_recv(ends[0], buf, sizeof(buf)), 0);
		assert_int_equal(xos_chan_send(ends[0], "x", 1), -EPIPE);
		assert_int_equal(xos_chan_close(ends[0]), 0);
	}
}

static void test_large_messages_one_thread(void **state)
{
	(void)state;
	/* Messages of 1 KiB and more, received with buffers larger, equal and too small. */
	for (int m = 0; m < NMECHS; m++) {
		struct xos_chan *ends[2];
		uint8_t *buf = malloc(65536), *msg = malloc(65536);

		assert_non_null(buf);
		assert_non_null(msg);
		t_open(ends, mechs[m], XOS_CHAN_F_NONBLOCK, 0);
		assert_int_equal(xos_chan_recv(ends[1], buf, 65536), -EAGAIN);
		seq_fill(msg, 1, 3000);
		assert_int_equal(xos_chan_send(ends[0], msg, 3000), 3000);
		assert_int_equal(xos_chan_recv(ends[1], buf, 65536), 3000);
		assert_int_equal(seq_check(buf, 3000, 1), 0);
		/* two at once: the second arrives with the first and still comes out whole */
		seq_fill(msg, 2, 1500);
		assert_int_equal(xos_chan_send(ends[0], msg, 1500), 1500);
		seq_fill(msg, 3, 1600);
		assert_int_equal(xos_chan_send(ends[0], msg, 1600), 1600);
		assert_int_equal(xos_chan_recv(ends[1], buf, 65536), 1500);
		assert_int_equal(seq_check(buf, 1500, 2), 0);
		assert_int_equal(xos_chan_recv(ends[1], buf, 1600), 1600);
		assert_int_equal(seq_check(buf, 1600, 3), 0);
		/* too big for the buffer: refused, kept, then received whole */
		seq_fill(msg, 4, 5000);
		assert_int_equal(xos_chan_send(ends[0], msg, 5000), 5000);
		assert_int_equal(xos_chan_recv(ends[1], buf, 2048), -EMSGSIZE);
		assert_int_equal(xos_chan_recv(ends[1], buf, 4999), -EMSGSIZE);
		assert_int_equal(xos_chan_recv(ends[1], buf, 5000), 5000);
		assert_int_equal(seq_check(buf, 5000, 4), 0);
		assert_int_equal(xos_chan_recv(ends[1], buf, 65536), -EAGAIN);
		assert_int_equal(xos_chan_close(ends[0]), 0);
		assert_int_equal(xos_chan_recv(ends[1], buf, 65536), 0);
		assert_int_equal(xos_chan_close(ends[1]), 0);
		free(buf);
		free(msg);
	}
}

static void test_ring_large_messages_on_a_line(void **state)
{
	struct xos_chan *ends[2];
	const void *view;
	void *dst;
	char small[3] = "abc";

	(void)state;
	/* On the ring, messages of 512 bytes or more start on a 64-byte line, wherever the cursor is. */
	t_open(ends, "ring", XOS_CHAN_F_NONBLOCK, 16384); /* wraps around several times */
	for (int i = 0; i < 40; i++) {
		size_t len = 512 + (size_t)i * 40;

		assert_int_equal(xos_chan_send(ends[0], small, (size_t)(i % 3) + 1), (i % 3) + 1);
		assert_int_equal(xos_chan_reserve(ends[0], len, &dst), 0);
		assert_int_equal((uintptr_t)dst % 64, 0);
		memset(dst, i, len);
		assert_int_equal(xos_chan_commit(ends[0], len), 0);
		assert_int_equal(xos_chan_peek(ends[1], &view), (i % 3) + 1);
		assert_memory_equal(view, small, (size_t)(i % 3) + 1);
		assert_int_equal(xos_chan_consume(ends[1], (size_t)(i % 3) + 1), 0);
		assert_int_equal(xos_chan_peek(ends[1], &view), (ssize_t)len);
		assert_int_equal((uintptr_t)view % 64, 0);
		assert_int_equal(((const unsigned char *)view)[len - 1], i);
		assert_int_equal(xos_chan_consume(ends[1], len), 0);
		assert_int_equal(xos_chan_release(ends[1]), 0);
	}
	assert_int_equal(xos_chan_close(ends[0]), 0);
	assert_int_equal(xos_chan_close(ends[1]), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_messages_one_thread),
		cmocka_unit_test(test_stream_one_thread),
		cmocka_unit_test(test_large_messages_one_thread),
		cmocka_unit_test(test_ring_large_messages_on_a_line),
	};

	unsetenv("XOS_CHAN");
	alarm(60);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
