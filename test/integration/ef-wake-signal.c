/* SPDX-License-Identifier: MIT */
/*
 * Description: a request to an EF asleep on a pipe, unix or tcp channel
 * interrupts its sleep with SIGURG (src/runtime/wake.c).  What a program
 * would notice if that went wrong: its own SIGURG disposition (a handler,
 * or ignored) replaced or called by xos; the EF's own blocking read()
 * failing with EINTR when the signal comes; an EF asleep on a channel
 * that no longer comes back to its safe point, or loses a message, after
 * the interruptions; a sandboxed EF (the sandbox ICF's own wake) that does
 * not survive a dump while asleep on a pipe, unix or ring end.  Each
 * scenario runs in a process of its own (the handler is installed once per
 * process).  Uses only <xos.h>.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <xos.h>

#include "../domains-require.h"

#define MUTATES 6

#define FLOOD_MSGS 3000

struct job {
	struct xos_chan *end;
	uint64_t msgs;              /* it receives 1, 2, ... msgs, then EOF */
	int raw_rfd;                /* a plain pipe the EF reads itself (-1: none) */
	_Atomic pid_t *tid;         /* where the EF says which thread it is on (shared), or NULL */
};

/* Take 1, 2, 3 ... in order until EOF; first, maybe, one blocking read() of its own. */
static int asleep(void *arg)
{
	struct job *j = arg;
	uint64_t next = 1, v;
	ssize_t n;

	if (j->tid)
		atomic_store(j->tid, (pid_t)syscall(SYS_gettid));
	if (j->raw_rfd >= 0) {
		char c;

		n = read(j->raw_rfd, &c, 1); /* SIGURG arrives meanwhile: restarted, not EINTR */
		if (n != 1)
			return n < 0 && errno == EINTR ? 60 : 61;
	}
	while ((n = xos_chan_recv(j->end, &v, sizeof(v))) == (ssize_t)sizeof(v))
		if (v != next++)
			return 64;
	if (n != 0)
		return 62;
	return next - 1 == j->msgs ? 0 : 63;
}

static int urg_calls;

static void count_urg(int sig)
{
	(void)sig;
	urg_calls++;
}

/* Open a channel of @mech and start the EF (in @icf) on its end @c[1], with @j (its end filled in). */
static int start_in(const char *icf, const char *mech, struct xos_chan *c[2], struct job *j, struct xos_ef **ret_ef)
{
	struct xos_chan_attr ca;
	struct xos_ef_attr attr;

	xos_chan_attr_init(&ca);
	ca.mechanism = mech;
	if (xos_chan_open(c, &ca) < 0)
		return 10;
	j->end = c[1];
	xos_ef_attr_init(&attr);
	attr.icf = icf;
	attr.flags = XOS_EF_F_DOMAIN;
	attr.domain_size = 1u << 20;
	attr.chans = &c[1];
	attr.nchans = 1;
	return xos_ef_create(ret_ef, &attr, asleep, j, sizeof(*j)) < 0 ? 11 : 0;
}

static int start_asleep(const char *mech, struct xos_chan *c[2], struct job *j, struct xos_ef **ret_ef)
{
	return start_in("thread", mech, c, j, ret_ef);
}

/*
 * In this process: an EF asleep in xos_chan_recv on @mech, mutated thread
 * -> process -> thread MUTATES times with one message between; exit 0 if
 * every mutate and every message went through.
 */
static int scenario(const char *mech)
{
	struct xos_chan *c[2];
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	struct job j = { .msgs = MUTATES, .raw_rfd = -1 };
	int rc = start_asleep(mech, c, &j, &ef);

	if (rc)
		return rc;
	for (uint64_t i = 1; i <= MUTATES; i++) {
		usleep(2000); /* asleep in its receive */
		if (xos_ef_mutate(ef, i % 2 ? "process" : "thread") < 0)
			return 12;
		if (xos_chan_send(c[0], &i, sizeof(i)) != (ssize_t)sizeof(i))
			return 13;
	}
	xos_chan_close(c[0]);
	if (xos_ef_join(ef, &ex) < 0 || ex.status != 0)
		return 14;
	return 0;
}

static int run_child(int (*fn)(const char *), const char *mech)
{
	pid_t pid = fork();
	int ws;

	if (pid == 0)
		_exit(fn(mech));
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	assert_true(WIFEXITED(ws));
	return WEXITSTATUS(ws);
}

/* SIGURG at its default: the mutates cut the waits; xos's handler is then installed, with SA_RESTART. */
static int default_disposition(const char *mech)
{
	struct sigaction now;
	int rc = scenario(mech);

	if (rc)
		return rc;
	if (sigaction(SIGURG, NULL, &now) < 0 || now.sa_handler == SIG_DFL || now.sa_handler == SIG_IGN)
		return 20;
	return (now.sa_flags & SA_RESTART) ? 0 : 21;
}

/* The program's own handler stays, and xos never calls it; the waits end at their next look. */
static int own_handler(const char *mech)
{
	struct sigaction sa = { .sa_handler = count_urg }, now;
	int rc;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGURG, &sa, NULL);
	rc = scenario(mech);
	if (rc)
		return rc;
	if (sigaction(SIGURG, NULL, &now) < 0 || now.sa_handler != count_urg)
		return 30;
	return urg_calls == 0 ? 0 : 31;
}

/* Ignored by the program: it stays ignored. */
static int ignored(const char *mech)
{
	struct sigaction now;
	int rc;

	signal(SIGURG, SIG_IGN);
	rc = scenario(mech);
	if (rc)
		return rc;
	if (sigaction(SIGURG, NULL, &now) < 0 || now.sa_handler != SIG_IGN)
		return 40;
	return 0;
}

/*
 * The EF's own read() on a plain pipe, in a process where xos's handler
 * is installed, gets SIGURG (as a late wake-up would bring it): the read
 * goes on and returns the byte written after.
 */
static int own_read_restarted(const char *mech)
{
	_Atomic pid_t *tid = mmap(NULL, sizeof(*tid), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct xos_chan *c[2];
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	struct job j;
	int p[2], rc;

	/* First a scenario, so that xos's handler is in place. */
	rc = default_disposition(mech);
	if (rc)
		return rc;
	if (tid == MAP_FAILED || pipe(p) < 0)
		return 50;
	j = (struct job){ .msgs = MUTATES, .raw_rfd = p[0], .tid = tid };
	rc = start_asleep(mech, c, &j, &ef);
	if (rc)
		return rc;
	while (!atomic_load(tid))
		usleep(1000);
	usleep(20000); /* in its read() */
	for (int i = 0; i < 3; i++) {
		syscall(SYS_tgkill, getpid(), atomic_load(tid), SIGURG);
		usleep(5000);
	}
	if (write(p[1], "x", 1) != 1)
		return 53;
	for (uint64_t i = 1; i <= MUTATES; i++)
		if (xos_chan_send(c[0], &i, sizeof(i)) != (ssize_t)sizeof(i))
			return 54;
	xos_chan_close(c[0]);
	if (xos_ef_join(ef, &ex) < 0)
		return 55;
	return ex.status;
}

/*
 * Anyone may send the EF's thread SIGURG: a flood of it (another process,
 * every few microseconds) while 3,000 messages stream to the EF and it is
 * mutated to a process and back ends its waits over and over; every
 * message arrives once, in order, and the EF ends as it should.
 */
static int flood(const char *mech)
{
	_Atomic pid_t *tid = mmap(NULL, sizeof(*tid), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	_Atomic int *stop = (_Atomic int *)(tid + 1);
	struct xos_chan *c[2];
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	struct job j;
	pid_t flooder, me = getpid();
	int rc;

	rc = default_disposition(mech); /* xos's handler in place: the flood reaches its waits */
	if (rc)
		return rc;
	if (tid == MAP_FAILED)
		return 70;
	j = (struct job){ .msgs = FLOOD_MSGS, .raw_rfd = -1, .tid = tid };
	rc = start_asleep(mech, c, &j, &ef);
	if (rc)
		return rc;
	while (!atomic_load(tid))
		usleep(1000);
	flooder = fork();
	if (flooder == 0) {
		while (!atomic_load(stop)) {
			syscall(SYS_tgkill, me, atomic_load(tid), SIGURG);
			usleep(20);
		}
		_exit(0);
	}
	for (uint64_t i = 1; i <= FLOOD_MSGS; i++) {
		if (xos_chan_send(c[0], &i, sizeof(i)) != (ssize_t)sizeof(i))
			return 71;
		if (i % 100 == 0)
			usleep(500); /* the EF catches up and sleeps */
		if (i == FLOOD_MSGS / 3 && xos_ef_mutate(ef, "process") < 0)
			return 72;
		if (i == 2 * FLOOD_MSGS / 3 && xos_ef_mutate(ef, "thread") < 0)
			return 73;
	}
	/* The flooder holds copies of the channel's fds: gone before the EOF. */
	atomic_store(stop, 1);
	waitpid(flooder, NULL, 0);
	xos_chan_close(c[0]);
	return xos_ef_join(ef, &ex) < 0 ? 74 : ex.status;
}

/*
 * In a sandbox, whose EF the creator finds and signals itself (the ICF's
 * wake): asleep in xos_chan_recv on @mech, dumped MUTATES times with one
 * message between; every dump and every message goes through (a pipe's or
 * socket's poll cut by SIGURG inside the sandbox's filter; a ring's wait on
 * its word and the request's, futex_waitv(2), which the filter refused:
 * the EF died of SIGSYS at its first wait).  77 where no sandbox.
 */
static int sandboxed(const char *mech)
{
	struct xos_icf_info infos[16];
	struct xos_chan *c[2];
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	struct job j = { .msgs = MUTATES, .raw_rfd = -1 };
	char path[64];
	int n = xos_icf_list(infos, 16), rc = 77;

	for (int i = 0; i < n && i < 16; i++)
		if (strcmp(infos[i].name, "sandbox") == 0 && infos[i].available)
			rc = 0;
	if (rc)
		return rc;
	rc = start_in("sandbox", mech, c, &j, &ef);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "/tmp/xos-wake-sandboxed.%d.img", (int)getpid());
	for (uint64_t i = 1; i <= MUTATES; i++) {
		usleep(2000); /* asleep in its receive */
		rc = xos_ef_dump(ef, path);
		unlink(path);
		if (rc < 0) {
			fprintf(stderr, "# dump %llu: %s\n", (unsigned long long)i, strerror(-rc));
			if (xos_ef_join(ef, &ex) == 0)
				fprintf(stderr, "# the EF: how %d, status %d\n", ex.how, ex.status);
			return 80;
		}
		if (xos_chan_send(c[0], &i, sizeof(i)) != (ssize_t)sizeof(i))
			return 81;
	}
	xos_chan_close(c[0]);
	if (xos_ef_join(ef, &ex) < 0 || ex.how != XOS_EF_EXITED)
		return 82;
	return ex.status;
}

struct scenario {
	int (*fn)(const char *mech);
	const char *mech;
};

static void test_scenario(void **state)
{
	const struct scenario *sc = *state;
	int rc = run_child(sc->fn, sc->mech);

	if (rc == 77)
		skip();
	assert_int_equal(rc, 0);
}

#define SCENARIO(name, fn, mech) { name, test_scenario, NULL, NULL, (void *)&(const struct scenario){ fn, mech } }

int main(void)
{
	const struct CMUnitTest tests[] = {
		SCENARIO("SIGURG at its default, pipe", default_disposition, "pipe"),
		SCENARIO("SIGURG at its default, unix", default_disposition, "unix"),
		SCENARIO("SIGURG at its default, tcp", default_disposition, "tcp"),
		SCENARIO("the program's SIGURG handler kept, never called", own_handler, "unix"),
		SCENARIO("SIGURG ignored by the program, kept", ignored, "pipe"),
		SCENARIO("the EF's own read() restarted after SIGURG", own_read_restarted, "pipe"),
		SCENARIO("a flood of SIGURG at the EF, pipe", flood, "pipe"),
		SCENARIO("a flood of SIGURG at the EF, unix", flood, "unix"),
		SCENARIO("a flood of SIGURG at the EF, tcp", flood, "tcp"),
		SCENARIO("in a sandbox, dumped while asleep, pipe", sandboxed, "pipe"),
		SCENARIO("in a sandbox, dumped while asleep, unix", sandboxed, "unix"),
		SCENARIO("in a sandbox, dumped while asleep, ring", sandboxed, "ring"),
	};

	t_domains_require();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
