/* SPDX-License-Identifier: MIT */
/*
 * Description: live mutate of an EF with a memory domain.  A 100k-node
 * list in the EF's domain, sequenced messages with its creator over pipes
 * the EF attached, and thread->process->thread->... mutations mid-run:
 * nothing lost or reordered, same result as without mutations.  In process
 * form the EF cannot write its creator's memory.  What does not move:
 * globals written after creation, __thread variables, fds not attached.
 * Uses only <xos.h>.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <xos.h>

#include "../domains-require.h"

#define NODES 100000
#define ROUNDS 48

struct node {
	struct node *next;
	uint64_t value;
};

struct msg {
	uint32_t op;
	uint32_t seq;
	uint64_t value;
};

enum { OP_WORK = 1, OP_END, OP_POKE, OP_PEEK, OP_TLS_SET, OP_TLS_GET, OP_FD_OPEN, OP_FD_CHECK,
       OP_ICF, OP_SLEEP };

struct job {
	int in, out;     /* the EF's ends */
	int use_malloc;  /* plain malloc (routed) instead of xos_malloc */
	uint64_t *poke;  /* a creator address the EF writes to (OP_POKE) */
};

static uint64_t host_global = 1111;
static __thread uint64_t tls_value;

static void read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t r;

		/* A blocking read is not a safe point: wait in short steps, yielding between. */
		if (xos_ef_self() && poll(&pfd, 1, 2) == 0) {
			xos_ef_yield();
			continue;
		}
		r = read(fd, p, len);

		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			_exit(90);
		}
		p += r;
		len -= (size_t)r;
	}
}

static void write_full(int fd, const void *buf, size_t len)
{
	if (write(fd, buf, len) != (ssize_t)len)
		_exit(91);
}

static void *alloc(const struct job *j, size_t n)
{
	return j->use_malloc ? malloc(n) : xos_malloc(n);
}

static void release(const struct job *j, void *p)
{
	if (j->use_malloc)
		free(p);
	else
		xos_free(p);
}

/*
 * The EF: a list in its heap; each WORK message adds a node, drops the
 * head, and answers with the sequence number and the list's sum.
 */
static int list_worker(void *arg)
{
	const struct job *j = arg;
	struct node *head = NULL;
	uint32_t expect = 0;
	int memfd = -1;
	struct stat st_open;

	if (xos_ef_fd_attach(j->in) < 0 || xos_ef_fd_attach(j->out) < 0)
		return 80;
	for (uint64_t i = 0; i < NODES; i++) {
		struct node *n = alloc(j, sizeof(*n));

		if (!n)
			return 81;
		n->value = i * 7 + 3;
		n->next = head;
		head = n;
	}
	for (;;) {
		struct msg m, r = { 0 };

		read_full(j->in, &m, sizeof(m));
		r.op = m.op;
		r.seq = m.seq;
		switch (m.op) {
		case OP_WORK: {
			struct node *n = alloc(j, sizeof(*n)), *old = head;
			uint64_t sum = 0;

			if (m.seq != expect++)
				return 82; /* lost or reordered */
			if (!n)
				return 83;
			n->value = m.value;
			n->next = head->next;
			head = n;
			release(j, old);
			for (struct node *p = head; p; p = p->next)
				sum += p->value;
			r.value = sum;
			break;
		}
		case OP_POKE: /* write the creator's memory: its global and its heap */
			host_global = m.value;
			*j->poke = m.value;
			break;
		case OP_PEEK:
			r.value = host_global;
			break;
		case OP_TLS_SET:
			tls_value = m.value;
			break;
		case OP_TLS_GET:
			r.value = tls_value;
			break;
		case OP_FD_OPEN: /* an fd the EF opens and does not attach */
			memfd = memfd_create("ef-private", MFD_CLOEXEC);
			fstat(memfd, &st_open);
			r.value = (uint64_t)memfd;
			break;
		case OP_FD_CHECK: { /* is fd still the file it opened? */
			struct stat st;

			r.value = fstat(memfd, &st) == 0 && st.st_ino == st_open.st_ino &&
				  st.st_dev == st_open.st_dev;
			break;
		}
		case OP_ICF:
			r.value = (uint64_t)getpid();
			break;
		case OP_SLEEP: /* no safe point for a while */
			write_full(j->out, &r, sizeof(r));
			sleep(30);
			break;
		case OP_END: {
			uint64_t sum = 0;

			for (struct node *p = head; p; p = p->next)
				sum += p->value;
			r.value = sum;
			write_full(j->out, &r, sizeof(r));
			return (int)(sum % 1000003);
		}
		default:
			return 84;
		}
		write_full(j->out, &r, sizeof(r));
		/* The one place the creator may move us. */
		xos_ef_yield();
	}
}

struct run {
	struct xos_ef *ef;
	int to_ef, from_ef;
	uint32_t seq;
};

static int start(struct run *r, struct job *j, unsigned int flags)
{
	struct xos_ef_attr attr;
	int a[2], b[2], rc;

	assert_int_equal(pipe2(a, O_CLOEXEC), 0);
	assert_int_equal(pipe2(b, O_CLOEXEC), 0);
	j->in = a[0];
	j->out = b[1];
	r->to_ef = a[1];
	r->from_ef = b[0];
	r->seq = 0;
	xos_ef_attr_init(&attr);
	attr.icf = "thread";
	attr.flags = flags;
	rc = xos_ef_create(&r->ef, &attr, list_worker, j, sizeof(*j));
	if (rc < 0) {
		close(a[0]), close(a[1]), close(b[0]), close(b[1]);
		return rc;
	}
	return 0;
}

/* Move the EF to @mutate_to (when not NULL), then send it @op and take its answer. */
static uint64_t ask(struct run *r, uint32_t op, uint64_t value, const char *mutate_to)
{
	struct msg m = { op, op == OP_WORK ? r->seq++ : 0, value }, a;

	if (mutate_to) {
		int rc = xos_ef_mutate(r->ef, mutate_to);

		if (rc < 0)
			fail_msg("xos_ef_mutate(%s) = %d (%s)", mutate_to, rc, strerror(-rc));
		assert_string_equal(xos_ef_icf(r->ef), mutate_to);
	}
	write_full(r->to_ef, &m, sizeof(m));
	read_full(r->from_ef, &a, sizeof(a));
	assert_int_equal(a.op, m.op);
	assert_int_equal(a.seq, m.seq);
	return a.value;
}

static int finish(struct run *r, uint64_t *ret_sum)
{
	struct xos_ef_exit ex;

	*ret_sum = ask(r, OP_END, 0, NULL);
	assert_int_equal(xos_ef_join(r->ef, &ex), 0);
	assert_int_equal(ex.how, XOS_EF_EXITED);
	close(r->to_ef);
	close(r->from_ef);
	return ex.status;
}

/* Run the workload, mutating every @every rounds (0: never); fill @sums. */
static int workload(unsigned int flags, unsigned int every, uint64_t *sums, uint64_t *ret_final,
		    int *ret_mutations)
{
	struct run r;
	struct job j = { 0 };
	int mutations = 0, rc;

	j.use_malloc = !!(flags & XOS_EF_F_DOMAIN_MALLOC);
	rc = start(&r, &j, flags);
	if (rc < 0)
		return rc;
	for (uint32_t i = 0; i < ROUNDS; i++) {
		const char *to = NULL;

		if (every && i % every == every - 1) {
			to = strcmp(xos_ef_icf(r.ef), "thread") == 0 ? "process" : "thread";
			mutations++;
		}
		sums[i] = ask(&r, OP_WORK, 1000 + i, to);
	}
	*ret_mutations = mutations;
	return finish(&r, ret_final);
}

static void check_same_as_unmutated(unsigned int flags)
{
	uint64_t plain[ROUNDS], moved[ROUNDS], final_plain, final_moved;
	int status_plain, status_moved, mutations = 0, none = 0;

	status_plain = workload(flags, 0, plain, &final_plain, &none);
	if (status_plain == -EOPNOTSUPP) {
		print_message("skip: malloc here is not libxos's (ASan or valgrind owns it), "
			      "so XOS_EF_F_DOMAIN_MALLOC cannot route it\n");
		skip();
		return;
	}
	status_moved = workload(flags, 3, moved, &final_moved, &mutations);
	assert_true(mutations >= 15); /* thread->process->thread->process... */
	for (int i = 0; i < ROUNDS; i++)
		assert_int_equal(moved[i], plain[i]);
	assert_int_equal(final_moved, final_plain);
	assert_int_equal(status_moved, status_plain);
	assert_true(status_plain >= 0);
}

/* The list in xos_malloc memory: works whatever allocator the program has. */
static void test_mutate_list_xos_malloc(void **state)
{
	(void)state;
	check_same_as_unmutated(XOS_EF_F_DOMAIN);
}

/* The list in plain malloc memory, routed to the domain (not under ASan: it owns malloc). */
static void test_mutate_list_plain_malloc(void **state)
{
	(void)state;
	check_same_as_unmutated(XOS_EF_F_DOMAIN_MALLOC);
}

/* In process form the EF writes its copy of the creator's memory, never the creator's. */
static void test_process_cannot_write_host(void **state)
{
	uint64_t *heap_word = malloc(sizeof(*heap_word));
	struct run r;
	struct job j = { 0 };

	(void)state;
	*heap_word = 2222;
	j.poke = heap_word;
	assert_int_equal(start(&r, &j, XOS_EF_F_DOMAIN), 0);
	assert_int_equal(ask(&r, OP_ICF, 0, NULL), (uint64_t)getpid());
	assert_int_not_equal(ask(&r, OP_ICF, 0, "process"), (uint64_t)getpid());
	ask(&r, OP_POKE, 9999, NULL);
	assert_int_equal(ask(&r, OP_PEEK, 0, NULL), 9999); /* its own copy changed */
	assert_int_equal(host_global, 1111);                /* not the creator's */
	assert_int_equal(*heap_word, 2222);
	/* Back in a thread it shares the creator's globals again: its write did not move. */
	assert_int_equal(ask(&r, OP_PEEK, 0, "thread"), 1111);
	assert_int_equal(ask(&r, OP_ICF, 0, NULL), (uint64_t)getpid());
	/* And in thread form a write is the creator's memory. */
	ask(&r, OP_POKE, 3333, NULL);
	assert_int_equal(host_global, 3333);
	assert_int_equal(*heap_word, 3333);
	host_global = 1111;
	{
		uint64_t sum;

		finish(&r, &sum);
	}
	free(heap_word);
}

/* __thread variables and fds the EF did not attach stay behind. */
static void test_what_does_not_move(void **state)
{
	struct run r;
	struct job j = { 0 };
	uint64_t sum;

	(void)state;
	assert_int_equal(start(&r, &j, XOS_EF_F_DOMAIN), 0);
	ask(&r, OP_TLS_SET, 77, NULL);
	assert_int_equal(ask(&r, OP_TLS_GET, 0, NULL), 77);
	ask(&r, OP_WORK, 1, "process");
	/* A process made by fork copies the thread's TLS... */
	assert_int_equal(ask(&r, OP_TLS_GET, 0, NULL), 77);
	ask(&r, OP_FD_OPEN, 0, NULL);
	assert_int_equal(ask(&r, OP_FD_CHECK, 0, NULL), 1);
	ask(&r, OP_WORK, 2, "thread");
	/* ...but the new thread has its own: the value did not move. */
	assert_int_equal(ask(&r, OP_TLS_GET, 0, NULL), 0);
	/* The memfd opened in process form, not attached, stayed in the process. */
	assert_int_equal(ask(&r, OP_FD_CHECK, 0, NULL), 0);
	finish(&r, &sum);
}

/* ---- a channel end owned by a mutated EF ---------------------------------------- */

static ssize_t chan_recv_wait(struct xos_chan *end, void *buf, size_t len)
{
	ssize_t rc;

	while ((rc = xos_chan_recv(end, buf, len)) == -EAGAIN) {
		if (xos_ef_self())
			xos_ef_yield();
		else
			usleep(50);
	}
	return rc;
}

static int chan_echo(void *arg)
{
	struct xos_chan *end = *(struct xos_chan **)arg;
	uint32_t expect = 0;

	for (;;) {
		struct msg m;
		ssize_t rc = chan_recv_wait(end, &m, sizeof(m));

		if (rc != (ssize_t)sizeof(m))
			return 70;
		if (m.op == OP_END)
			return (int)expect;
		if (m.seq != expect++)
			return 71;
		m.value = m.value * 3;
		if (m.op == OP_ICF)
			m.value = (uint64_t)getpid();
		if (xos_chan_send(end, &m, sizeof(m)) != (ssize_t)sizeof(m))
			return 72;
	}
}

static void test_channel_across_mutate(void **state)
{
	struct xos_chan_attr cattr;
	struct xos_chan *ends[2];
	struct xos_ef_attr attr;
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	uint32_t seq = 0;

	(void)state;
	xos_chan_attr_init(&cattr);
	cattr.flags = XOS_CHAN_F_BIDIR | XOS_CHAN_F_NONBLOCK;
	assert_int_equal(xos_chan_open(ends, &cattr), 0);
	xos_ef_attr_init(&attr);
	attr.icf = "thread";
	attr.flags = XOS_EF_F_DOMAIN;
	attr.chans = &ends[1];
	attr.nchans = 1;
	assert_int_equal(xos_ef_create(&ef, &attr, chan_echo, &ends[1], sizeof(ends[1])), 0);
	for (int i = 0; i < 40; i++) {
		struct msg m = { i % 7 == 0 ? OP_ICF : OP_WORK, seq++, (uint64_t)i }, r;

		if (i == 20) {
			assert_int_equal(xos_ef_mutate(ef, "process"), 0);
			assert_string_equal(xos_ef_icf(ef), "process");
		}
		assert_int_equal(xos_chan_send(ends[0], &m, sizeof(m)), sizeof(m));
		assert_int_equal(chan_recv_wait(ends[0], &r, sizeof(r)), sizeof(r));
		assert_int_equal(r.seq, m.seq);
		if (m.op == OP_ICF) {
			if (i < 20)
				assert_int_equal(r.value, (uint64_t)getpid());
			else
				assert_int_not_equal(r.value, (uint64_t)getpid());
		} else {
			assert_int_equal(r.value, (uint64_t)i * 3);
		}
	}
	{
		struct msg end = { OP_END, 0, 0 };

		assert_int_equal(xos_chan_send(ends[0], &end, sizeof(end)), sizeof(end));
	}
	assert_int_equal(xos_ef_join(ef, &ex), 0);
	assert_int_equal(ex.how, XOS_EF_EXITED);
	assert_int_equal(ex.status, 40);
	xos_chan_close(ends[0]);
}

/* A process EF killed before its next safe point: mutate fails, join reports the kill. */
static void test_mutate_dead_process(void **state)
{
	struct run r;
	struct job j = { 0 };
	struct xos_ef_exit ex;
	struct msg m = { OP_SLEEP, 0, 0 }, a;
	pid_t pid, killer;

	(void)state;
	assert_int_equal(start(&r, &j, XOS_EF_F_DOMAIN), 0);
	pid = (pid_t)ask(&r, OP_ICF, 0, "process");
	assert_int_not_equal(pid, getpid());
	write_full(r.to_ef, &m, sizeof(m));
	read_full(r.from_ef, &a, sizeof(a)); /* it sleeps now, far from a safe point */
	killer = fork();
	if (killer == 0) {
		usleep(300000);
		kill(pid, SIGKILL);
		_exit(0);
	}
	assert_int_equal(xos_ef_mutate(r.ef, "thread"), -ESRCH);
	waitpid(killer, NULL, 0);
	assert_string_equal(xos_ef_icf(r.ef), "process");
	assert_int_equal(xos_ef_join(r.ef, &ex), 0);
	assert_int_equal(ex.how, XOS_EF_KILLED);
	assert_int_equal(ex.status, SIGKILL);
	close(r.to_ef);
	close(r.from_ef);
}

/*
 * An EF that ends as soon as it runs in its new process, while the thread
 * host it left is still busy (it unmaps the EF's 64 MiB of touched domain
 * before it answers): the mutate succeeded, and says so; the join gives the
 * EF's own exit.  Before the answer was ordered first, the new process's
 * "ended" often reached the creator first: -ESRCH, and the join then read
 * the thread host's "moved" (-32767) as the exit status.
 */
struct quick {
	pid_t creator;
	_Atomic int *ready;
};

static int ends_in_process(void *arg)
{
	struct quick *q = arg;
	size_t len = 64u << 20;
	char *p = xos_malloc(len);

	if (!p)
		return 90;
	memset(p, 1, len);
	atomic_store(q->ready, 1);
	while (getpid() == q->creator)
		xos_ef_yield();
	return 7;
}

static void test_ends_at_once_in_process(void **state)
{
	_Atomic int *ready = mmap(NULL, sizeof(*ready), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	(void)state;
	assert_true(ready != MAP_FAILED);
	for (int i = 0; i < 8; i++) {
		struct quick q = { getpid(), ready };
		struct xos_ef_attr attr;
		struct xos_ef_exit ex;
		struct xos_ef *ef;

		atomic_store(ready, 0);
		xos_ef_attr_init(&attr);
		attr.icf = "thread";
		attr.flags = XOS_EF_F_DOMAIN;
		attr.domain_size = 96u << 20;
		assert_int_equal(xos_ef_create(&ef, &attr, ends_in_process, &q, sizeof(q)), 0);
		while (!atomic_load(ready))
			usleep(1000);
		assert_int_equal(xos_ef_mutate(ef, "process"), 0);
		assert_int_equal(xos_ef_join(ef, &ex), 0);
		assert_int_equal(ex.how, XOS_EF_EXITED);
		assert_int_equal(ex.status, 7);
	}
	munmap(ready, sizeof(*ready));
}

/* A domain EF creates a process EF (the fork happens on its host's stack). */
static int child_ef(void *arg)
{
	return *(int *)arg + 1;
}

static int parent_ef(void *arg)
{
	struct xos_ef_attr attr;
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	int v = *(int *)arg, rc;

	xos_ef_attr_init(&attr);
	attr.icf = "process";
	rc = xos_ef_create(&ef, &attr, child_ef, &v, sizeof(v));
	if (rc < 0)
		return 200 + (-rc % 50);
	if (xos_ef_join(ef, &ex) < 0 || ex.how != XOS_EF_EXITED)
		return 199;
	return ex.status;
}

static void test_nested_process_from_domain(void **state)
{
	struct xos_ef_attr attr;
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	int v = 41;

	(void)state;
	xos_ef_attr_init(&attr);
	attr.icf = "thread";
	attr.flags = XOS_EF_F_DOMAIN;
	assert_int_equal(xos_ef_create(&ef, &attr, parent_ef, &v, sizeof(v)), 0);
	assert_int_equal(xos_ef_join(ef, &ex), 0);
	assert_int_equal(ex.status, 42);
}

static void test_mutate_args(void **state)
{
	struct xos_ef_attr attr;
	struct xos_ef *ef;
	struct job j = { -1, -1, 0, NULL };

	(void)state;
	assert_int_equal(xos_ef_mutate(NULL, "process"), -EINVAL);
	assert_int_equal(xos_ef_yield(), -EPERM);
	assert_int_equal(xos_ef_fd_attach(0), -EPERM);
	/* An EF without a domain cannot move. */
	xos_ef_attr_init(&attr);
	attr.icf = "thread";
	int a[2];
	assert_int_equal(pipe2(a, O_CLOEXEC), 0);
	j.in = a[0];
	j.out = a[1];
	assert_int_equal(xos_ef_create(&ef, &attr, list_worker, &j, sizeof(j)), 0);
	assert_int_equal(xos_ef_mutate(ef, "process"), -EOPNOTSUPP);
	close(a[1]); /* it fails attaching (no domain) and returns 80 */
	struct xos_ef_exit ex;
	assert_int_equal(xos_ef_join(ef, &ex), 0);
	assert_int_equal(ex.status, 80);
	close(a[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mutate_args),
		cmocka_unit_test(test_mutate_list_xos_malloc),
		cmocka_unit_test(test_mutate_list_plain_malloc),
		cmocka_unit_test(test_process_cannot_write_host),
		cmocka_unit_test(test_what_does_not_move),
		cmocka_unit_test(test_channel_across_mutate),
		cmocka_unit_test(test_mutate_dead_process),
		cmocka_unit_test(test_nested_process_from_domain),
		cmocka_unit_test(test_ends_at_once_in_process),
	};

	t_domains_require();
	alarm(120);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
