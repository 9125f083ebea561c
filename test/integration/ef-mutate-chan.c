/* SPDX-License-Identifier: MIT */
/*
 * Description: channel ends owned by an EF keep working across repeated
 * mutates thread->process->thread->process...  The EF echoes sequenced
 * messages on a ring and on a pipe (or unix) channel, both directions,
 * while its creator keeps a window of messages in flight and mutates it
 * mid-stream: every sequence number checked on both sides, nothing lost,
 * duplicated or reordered, same final count and sum.  Uses only <xos.h>.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <xos.h>

#define MSGS 600
#define WINDOW 8
#define MUTATE_EVERY 50

struct msg {
	uint32_t seq;
	uint32_t end;
	uint64_t value;
};

struct job {
	struct xos_chan *ch[2];
};

/* The EF: echo value*3 on the channel each message came from; check each stream's order. */
static int echo(void *arg)
{
	struct job *j = arg;
	uint32_t expect[2] = { 0, 0 };
	int done = 0;

	while (done < 2) {
		int idle = 1;

		for (int c = 0; c < 2; c++) {
			struct msg m;
			ssize_t rc = xos_chan_recv(j->ch[c], &m, sizeof(m));

			if (rc == -EAGAIN)
				continue;
			if (rc != (ssize_t)sizeof(m))
				return 70;
			idle = 0;
			if (m.end) {
				done++;
				continue;
			}
			if (m.seq != expect[c]++)
				return 71;
			m.value = m.value * 3;
			while ((rc = xos_chan_send(j->ch[c], &m, sizeof(m))) == -EAGAIN)
				xos_ef_yield();
			if (rc != (ssize_t)sizeof(m))
				return 72;
		}
		if (idle)
			xos_ef_yield();
	}
	return expect[0] == MSGS && expect[1] == MSGS ? 0 : 73;
}

static void run(const char *second)
{
	struct xos_chan *a[2], *b[2];
	struct xos_chan_attr cattr;
	struct xos_ef_attr attr;
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	struct job job;
	struct xos_chan *mine[2], *owned[2];
	uint32_t sent[2] = { 0, 0 }, got[2] = { 0, 0 };
	uint64_t sum = 0, want = 0;
	unsigned int mutates = 0, replies = 0, next_mutate = MUTATE_EVERY;

	xos_chan_attr_init(&cattr);
	cattr.flags = XOS_CHAN_F_BIDIR | XOS_CHAN_F_NONBLOCK;
	cattr.mechanism = "ring";
	cattr.name = "mc-ring";
	assert_int_equal(xos_chan_open(a, &cattr), 0);
	cattr.mechanism = second;
	cattr.name = "mc-kernel";
	assert_int_equal(xos_chan_open(b, &cattr), 0);
	mine[0] = a[0], mine[1] = b[0];
	owned[0] = job.ch[0] = a[1];
	owned[1] = job.ch[1] = b[1];

	xos_ef_attr_init(&attr);
	attr.icf = "thread";
	attr.flags = XOS_EF_F_DOMAIN;
	attr.chans = owned;
	attr.nchans = 2;
	assert_int_equal(xos_ef_create(&ef, &attr, echo, &job, sizeof(job)), 0);

	while (got[0] < MSGS || got[1] < MSGS) {
		for (int c = 0; c < 2; c++) {
			struct msg m;
			ssize_t rc;

			while (sent[c] < MSGS && sent[c] - got[c] < WINDOW) {
				m = (struct msg){ sent[c], 0, (uint64_t)sent[c] * 2 + (uint64_t)c };
				rc = xos_chan_send(mine[c], &m, sizeof(m));
				if (rc == -EAGAIN)
					break;
				assert_int_equal(rc, sizeof(m));
				want += m.value * 3;
				sent[c]++;
			}
			rc = xos_chan_recv(mine[c], &m, sizeof(m));
			if (rc == -EAGAIN)
				continue;
			assert_int_equal(rc, sizeof(m));
			assert_int_equal(m.seq, got[c]);
			assert_int_equal(m.value, ((uint64_t)got[c] * 2 + (uint64_t)c) * 3);
			sum += m.value;
			got[c]++;
			replies++;
		}
		/* Mutate with messages in flight both ways. */
		if (replies >= next_mutate && got[0] < MSGS - WINDOW && got[1] < MSGS - WINDOW) {
			const char *to = mutates % 2 ? "thread" : "process";

			assert_int_equal(xos_ef_mutate(ef, to), 0);
			assert_string_equal(xos_ef_icf(ef), to);
			mutates++;
			next_mutate += MUTATE_EVERY;
		}
	}
	for (int c = 0; c < 2; c++) {
		struct msg end = { 0, 1, 0 };
		ssize_t rc;

		while ((rc = xos_chan_send(mine[c], &end, sizeof(end))) == -EAGAIN)
			usleep(50);
		assert_int_equal(rc, sizeof(end));
	}
	assert_int_equal(xos_ef_join(ef, &ex), 0);
	assert_int_equal(ex.how, XOS_EF_EXITED);
	assert_int_equal(ex.status, 0);
	assert_true(sum == want);
	assert_true(mutates >= 8);
	print_message("ring + %s: %u messages each way on each channel, %u mutates\n", second, MSGS,
		      mutates);
	xos_chan_close(mine[0]);
	xos_chan_close(mine[1]);
}

static void test_ring_and_pipe(void **state)
{
	(void)state;
	run("pipe");
}

static void test_ring_and_unix(void **state)
{
	(void)state;
	run("unix");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_and_pipe),
		cmocka_unit_test(test_ring_and_unix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
