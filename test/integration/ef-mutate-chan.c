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
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <xos.h>

#include "../domains-require.h"

#define MSGS 600
#define WINDOW 8
#define MUTATE_EVERY 50

struct msg {
	uint32_t seq;
	uint16_t end;
	uint16_t sw;     /* 1: the EF switches this channel to ring, 2: to the job's mechanism */
	uint64_t value;
};

struct job {
	struct xos_chan *ch[2];
	char second[8];  /* "pipe", "unix" or "tcp" */
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
			/* A live switch made here, maybe in process form: its new path must come back. */
			if (m.sw && xos_chan_switch(j->ch[c], m.sw == 1 ? "ring" : j->second) < 0)
				return 74;
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

static void run(const char *second, const char *first_icf, bool switches)
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
	snprintf(job.second, sizeof(job.second), "%s", second);

	xos_ef_attr_init(&attr);
	attr.icf = first_icf;
	attr.flags = XOS_EF_F_DOMAIN;
	attr.chans = owned;
	attr.nchans = 2;
	assert_int_equal(xos_ef_create(&ef, &attr, echo, &job, sizeof(job)), 0);

	while (got[0] < MSGS || got[1] < MSGS) {
		for (int c = 0; c < 2; c++) {
			struct msg m;
			ssize_t rc;

			while (sent[c] < MSGS && sent[c] - got[c] < WINDOW) {
				m = (struct msg){ sent[c], 0, 0, (uint64_t)sent[c] * 2 + (uint64_t)c };
				/* Now and then the EF switches the kernel channel, or we do. */
				if (switches && c == 1 && sent[c] % 70 == 35)
					m.sw = (uint16_t)(sent[c] / 70 % 2 + 1);
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
			if (switches && c == 0 && got[c] % 90 == 45)
				assert_int_equal(xos_chan_switch(mine[c], got[c] / 90 % 2 ? "ring" : second), 0);
		}
		/* Mutate with messages in flight both ways. */
		if (replies >= next_mutate && got[0] < MSGS - WINDOW && got[1] < MSGS - WINDOW) {
			const char *other = strcmp(first_icf, "thread") ? "thread" : "process";
			const char *to = mutates % 2 ? first_icf : other;

			assert_int_equal(xos_ef_mutate(ef, to), 0);
			assert_string_equal(xos_ef_icf(ef), to);
			mutates++;
			next_mutate += MUTATE_EVERY;
		}
	}
	for (int c = 0; c < 2; c++) {
		struct msg end = { 0, 1, 0, 0 };
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
	if (switches) {
		struct xos_chan_stats st[2];

		/* Both channels changed mechanism (their first binding counts no switch). */
		assert_int_equal(xos_chan_stats(mine[0], &st[0]), 0);
		assert_int_equal(xos_chan_stats(mine[1], &st[1]), 0);
		print_message("switches seen by the creator's ends: %llu, %llu\n",
			      (unsigned long long)st[0].switches, (unsigned long long)st[1].switches);
		assert_true(st[0].switches >= 3 && st[1].switches >= 3);
	}
	print_message("ring + %s, from %s%s: %u messages each way on each channel, %u mutates\n",
		      second, first_icf, switches ? ", live switches" : "", MSGS, mutates);
	xos_chan_close(mine[0]);
	xos_chan_close(mine[1]);
}

static void test_ring_and_pipe(void **state)
{
	(void)state;
	run("pipe", "thread", false);
}

static void test_ring_and_unix(void **state)
{
	(void)state;
	run("unix", "thread", false);
}

/* tcp: the socket moves, each side submits through an io_uring of its own. */
static void test_ring_and_tcp(void **state)
{
	(void)state;
	run("tcp", "thread", false);
	run("tcp", "process", false);
	run("tcp", "thread", true);
	run("tcp", "process", true);
}

/* Created as a process: process -> thread -> process ... */
static void test_from_process(void **state)
{
	(void)state;
	run("pipe", "process", false);
}

/* Switches by either side while the EF is in either form: paths made in a process come back. */
static void test_with_live_switches(void **state)
{
	(void)state;
	run("pipe", "thread", true);
	run("unix", "process", true);
}

/* An end the EF closed in process form: the creator frees what it kept; the other moves on. */
static int close_one(void *arg)
{
	struct job *j = arg;
	struct msg m;
	ssize_t rc;

	xos_chan_close(j->ch[1]);
	while ((rc = xos_chan_recv(j->ch[0], &m, sizeof(m))) == -EAGAIN)
		xos_ef_yield();
	if (rc != (ssize_t)sizeof(m))
		return 80;
	m.value += 1;
	return xos_chan_send(j->ch[0], &m, sizeof(m)) == (ssize_t)sizeof(m) ? 0 : 81;
}

static void test_closed_in_process(void **state)
{
	struct xos_chan *a[2], *b[2], *owned[2];
	struct xos_chan_attr cattr;
	struct xos_ef_attr attr;
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	struct job job = { { NULL, NULL }, "pipe" };
	struct msg m = { 7, 0, 0, 41 };
	ssize_t rc;

	(void)state;
	xos_chan_attr_init(&cattr);
	cattr.flags = XOS_CHAN_F_BIDIR | XOS_CHAN_F_NONBLOCK;
	cattr.mechanism = "ring";
	assert_int_equal(xos_chan_open(a, &cattr), 0);
	assert_int_equal(xos_chan_open(b, &cattr), 0);
	owned[0] = job.ch[0] = a[1];
	owned[1] = job.ch[1] = b[1];
	xos_ef_attr_init(&attr);
	attr.icf = "process";
	attr.flags = XOS_EF_F_DOMAIN;
	attr.chans = owned;
	attr.nchans = 2;
	assert_int_equal(xos_ef_create(&ef, &attr, close_one, &job, sizeof(job)), 0);
	/* Wait until it closed b's end (our end sees EOF), then bring it back. */
	while ((rc = xos_chan_recv(b[0], &m, sizeof(m))) == -EAGAIN)
		usleep(100);
	assert_int_equal(rc, 0);
	assert_int_equal(xos_ef_mutate(ef, "thread"), 0);
	m = (struct msg){ 7, 0, 0, 41 };
	assert_int_equal(xos_chan_send(a[0], &m, sizeof(m)), sizeof(m));
	while ((rc = xos_chan_recv(a[0], &m, sizeof(m))) == -EAGAIN)
		usleep(100);
	assert_int_equal(rc, sizeof(m));
	assert_int_equal(m.value, 42);
	assert_int_equal(xos_ef_join(ef, &ex), 0);
	assert_int_equal(ex.status, 0);
	xos_chan_close(a[0]);
	xos_chan_close(b[0]);
}

/* An end the EF opened in process form has nothing to come back to: refused, it runs on. */
static int open_one(void *arg)
{
	struct job *j = arg;
	struct xos_chan *extra[2];
	struct msg m;
	ssize_t rc;

	if (xos_chan_open(extra, NULL) < 0)
		return 90;
	m = (struct msg){ 0, 0, 0, 1 };
	if (xos_chan_send(j->ch[0], &m, sizeof(m)) != (ssize_t)sizeof(m))
		return 91;
	while ((rc = xos_chan_recv(j->ch[0], &m, sizeof(m))) == -EAGAIN)
		xos_ef_yield();
	xos_chan_close(extra[0]);
	xos_chan_close(extra[1]);
	return rc == (ssize_t)sizeof(m) ? 0 : 92;
}

static void test_opened_in_process(void **state)
{
	struct xos_chan *a[2], *owned[1];
	struct xos_chan_attr cattr;
	struct xos_ef_attr attr;
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	struct job job = { { NULL, NULL }, "pipe" };
	struct msg m;
	ssize_t rc;

	(void)state;
	xos_chan_attr_init(&cattr);
	cattr.flags = XOS_CHAN_F_BIDIR | XOS_CHAN_F_NONBLOCK;
	assert_int_equal(xos_chan_open(a, &cattr), 0);
	owned[0] = job.ch[0] = a[1];
	xos_ef_attr_init(&attr);
	attr.icf = "process";
	attr.flags = XOS_EF_F_DOMAIN;
	attr.chans = owned;
	attr.nchans = 1;
	assert_int_equal(xos_ef_create(&ef, &attr, open_one, &job, sizeof(job)), 0);
	while ((rc = xos_chan_recv(a[0], &m, sizeof(m))) == -EAGAIN)
		usleep(100);
	assert_int_equal(rc, sizeof(m));
	assert_int_equal(xos_ef_mutate(ef, "thread"), -EBUSY);
	assert_string_equal(xos_ef_icf(ef), "process");
	assert_int_equal(xos_chan_send(a[0], &m, sizeof(m)), sizeof(m));
	assert_int_equal(xos_ef_join(ef, &ex), 0);
	assert_int_equal(ex.status, 0);
	xos_chan_close(a[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_and_pipe),
		cmocka_unit_test(test_ring_and_unix),
		cmocka_unit_test(test_ring_and_tcp),
		cmocka_unit_test(test_from_process),
		cmocka_unit_test(test_with_live_switches),
		cmocka_unit_test(test_closed_in_process),
		cmocka_unit_test(test_opened_in_process),
	};

	t_domains_require();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
