/* SPDX-License-Identifier: MIT */
/*
 * Description: a thread EF that ends without closing the channel ends it
 * was given (it returns, or calls xos_ef_exit()) must not leave its peers
 * waiting forever: a process EF's exit closes its ends, and the runtime
 * does the same at a thread EF's end.
 *  1-2. a writer thread EF returns after one message: the reader EF
 *     (thread, then process) reads it, then gets end of file;
 *  3-4. the same when the writer calls xos_ef_exit() from a nested call;
 *  5. a reader thread EF returns without closing: the writer's next send
 *     gets -EPIPE;
 *  6. multi-producer: two writer thread EFs share end 0, one closes it,
 *     the other returns without closing; main closes its own use: the
 *     reader gets both messages, then end of file;
 *  7. as 1, the writer running on its own memory domain (XOS_EF_F_DOMAIN).
 * Before the fix the readers of 1-4, 6 and 7 blocked forever (the watchdog
 * fails the test) and the send of 5 succeeded.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <xos.h>

#include "../domains-require.h"

static int failures;

#define CHECK(cond, ...)                                                        \
	do {                                                                    \
		if (!(cond)) {                                                  \
			printf("not ok: %s:%d: ", __FILE__, __LINE__);          \
			printf(__VA_ARGS__);                                    \
			printf("\n");                                           \
			failures++;                                             \
		}                                                               \
	} while (0)

struct job {
	struct xos_chan *end;
	int how; /* writer: 0 return, 1 xos_ef_exit() deep down, 2 return from a domain */
};

static void leave(void)
{
	xos_ef_exit(0);
}

static int writer(void *p)
{
	struct job *j = p;

	if (xos_chan_send(j->end, "one", 3) != 3)
		return 1;
	if (j->how == 1)
		leave();
	return 0; /* the end stays open */
}

/* Reads until end of file: the count of messages, or 100 + what went wrong. */
static int reader(void *p)
{
	struct job *j = p;
	char buf[16];
	int n = 0;

	for (;;) {
		ssize_t r = xos_chan_recv(j->end, buf, sizeof(buf));

		if (r == 0)
			break;
		if (r < 0)
			return 100 + (int)-r % 100;
		n++;
	}
	xos_chan_close(j->end);
	return n;
}

static struct xos_ef *start(const char *icf, xos_ef_fn fn, struct xos_chan **end, int how)
{
	struct job j = { .end = *end, .how = how };
	struct xos_ef_attr attr;
	struct xos_ef *ef = NULL;
	int rc;

	xos_ef_attr_init(&attr);
	attr.icf = icf;
	if (how == 2)
		attr.flags = XOS_EF_F_DOMAIN; /* runs on its domain's stack, may mutate */
	attr.chans = end;
	attr.nchans = 1;
	rc = xos_ef_create(&ef, &attr, fn, &j, sizeof(j));
	CHECK(rc == 0, "xos_ef_create(%s) = %d", icf, rc);
	return ef;
}

static int join(struct xos_ef *ef)
{
	struct xos_ef_exit ex = { 0 };
	int rc = xos_ef_join(ef, &ex);

	CHECK(rc == 0 && ex.how == XOS_EF_EXITED, "join = %d, how %d", rc, (int)ex.how);
	return ex.status;
}

static void test_writer_leaves(const char *reader_icf, int how, int num)
{
	struct xos_chan *ends[2];
	struct xos_ef *w, *r;
	int got;

	if (xos_chan_open(ends, NULL) < 0)
		return;
	r = start(reader_icf, reader, &ends[1], 0);
	w = start("thread", writer, &ends[0], how);
	if (!r || !w)
		return;
	CHECK(join(w) == 0, "writer failed");
	got = join(r);
	CHECK(got == 1, "%s reader: %d messages then EOF, want 1 (status %d)", reader_icf, got, got);
	printf("ok %d - thread writer %s, %s reader sees EOF\n", num,
	       how == 1 ? "calls xos_ef_exit()" : how == 2 ? "with a domain returns" : "returns",
	       reader_icf);
}

static int quitter(void *p)
{
	(void)p;
	return 0; /* never reads, never closes */
}

static void test_reader_leaves(void)
{
	struct xos_chan *ends[2];
	struct xos_ef *r;
	ssize_t rc;

	if (xos_chan_open(ends, NULL) < 0)
		return;
	r = start("thread", quitter, &ends[1], 0);
	if (!r)
		return;
	join(r);
	rc = xos_chan_send(ends[0], "x", 1);
	CHECK(rc == -EPIPE, "send after the reader thread EF ended = %zd, want -EPIPE", rc);
	xos_chan_close(ends[0]);
	printf("ok 5 - thread reader returns: the writer gets -EPIPE\n");
}

struct mp_job {
	struct xos_chan *end;
	int close_it;
};

static int mp_writer(void *p)
{
	struct mp_job *j = p;

	if (xos_chan_send(j->end, "mp", 2) != 2)
		return 1;
	if (j->close_it)
		xos_chan_close(j->end);
	return 0;
}

static void test_multi_producer(void)
{
	struct xos_chan_attr cattr;
	struct xos_chan *ends[2];
	struct xos_ef *w[2], *r;
	int got;

	xos_chan_attr_init(&cattr);
	cattr.flags = XOS_CHAN_F_MULTI_PRODUCER;
	if (xos_chan_open(ends, &cattr) < 0)
		return;
	r = start("thread", reader, &ends[1], 0);
	for (int i = 0; i < 2; i++) {
		struct mp_job j = { .end = ends[0], .close_it = i == 0 };
		struct xos_ef_attr attr;
		int rc;

		xos_ef_attr_init(&attr);
		attr.icf = "thread";
		attr.chans = &ends[0];
		attr.nchans = 1;
		rc = xos_ef_create(&w[i], &attr, mp_writer, &j, sizeof(j));
		CHECK(rc == 0, "xos_ef_create(mp writer) = %d", rc);
		if (rc < 0)
			return;
	}
	CHECK(join(w[0]) == 0 && join(w[1]) == 0, "a writer failed");
	xos_chan_close(ends[0]); /* main's own use */
	got = join(r);
	CHECK(got == 2, "multi-producer reader: %d messages then EOF, want 2", got);
	printf("ok 6 - multi-producer: a writer thread EF that returns counts as closed\n");
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	unsetenv("XOS_ICF");
	alarm(20); /* a reader blocked forever is the bug: SIGALRM fails the test */
	printf("1..7\n");
	test_writer_leaves("thread", 0, 1);
	test_writer_leaves("process", 0, 2);
	test_writer_leaves("thread", 1, 3);
	test_writer_leaves("process", 1, 4);
	test_reader_leaves();
	test_multi_producer();
	if (t_domains_available())
		test_writer_leaves("thread", 2, 7);
	else
		printf("ok 7 # SKIP no memory domains in this libxos\n");
	return failures ? 1 : 0;
}
