/* SPDX-License-Identifier: MIT */
/*
 * Description: a peer that dies, or turns hostile, while it holds a
 * channel's control-block lock (the lock xos_chan_switch() and the first
 * bind take).  The peer's code knows the control block's layout (it is
 * in the peer's own memory), so it takes the lock directly:
 *  1. a process EF holding end 1 takes the lock and is SIGKILLed (not yet
 *     reaped: a zombie): xos_chan_switch() on end 0 gives -EPIPE at once,
 *     and so do later sends;
 *  2. a forked copy of the program (it shares every descriptor, so only
 *     the lock's owner tag can tell) takes it and is SIGKILLed: -EPIPE;
 *  3. a live holder that never lets go, and a forged lock word naming no
 *     process: the switch gives up with -ETIMEDOUT within the documented
 *     bound (2 s), and once that holder is killed, -EPIPE.
 *  5. the reader of a multi-producer channel scribbles over its whole
 *     control page (where the writers' send lock used to be): the writers'
 *     next send fails (-EPIPE or -EPROTO) instead of blocking forever.
 * Before the lock had an owner, cases 1-4 spun forever, and before the
 * writers' lock left the control page, case 5 blocked (the watchdog fails
 * the test).
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xos.h>

#include "../../src/chan/chan_i.h"

#define WATCHDOG_S 20
/* end 1, generation 5, pid 0 */
#define CTL_LOCK_WORD_FORGED ((1u << 30) | (5u << 22))

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

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void open_bound(struct xos_chan *ends[2])
{
	struct xos_chan_attr attr;
	char c;

	xos_chan_attr_init(&attr);
	attr.mechanism = "ring";
	if (xos_chan_open(ends, &attr) < 0) {
		printf("Bail out! xos_chan_open\n");
		exit(99);
	}
	/* One message through: both ends have their path, the control lock is idle. */
	if (xos_chan_send(ends[0], "x", 1) != 1 || xos_chan_recv(ends[1], &c, 1) != 1) {
		printf("Bail out! first message\n");
		exit(99);
	}
}

/* ---- 1: a process EF dies holding the lock ---------------------------------- */

struct holder_arg {
	struct xos_chan *end;
	int report_fd;
};

static int holder_ef(void *p)
{
	struct holder_arg *a = p;
	pid_t pid = getpid();

	(void)xos__chan_lock(a->end);
	if (write(a->report_fd, &pid, sizeof(pid)) != sizeof(pid))
		return 1;
	for (;;)
		pause();
}

static void test_process_ef_killed(void)
{
	struct xos_chan *ends[2];
	struct xos_ef_attr attr;
	struct xos_ef_exit ex;
	struct holder_arg a;
	struct xos_ef *ef;
	int fds[2], rc;
	pid_t pid;
	double t0;
	ssize_t n;

	open_bound(ends);
	if (pipe(fds) < 0)
		exit(99);
	a = (struct holder_arg){ .end = ends[1], .report_fd = fds[1] };
	xos_ef_attr_init(&attr);
	attr.icf = "process";
	attr.chans = &ends[1];
	attr.nchans = 1;
	rc = xos_ef_create(&ef, &attr, holder_ef, &a, sizeof(a));
	CHECK(rc == 0, "xos_ef_create(process) = %d", rc);
	if (rc < 0)
		return;
	n = read(fds[0], &pid, sizeof(pid));
	CHECK(n == sizeof(pid), "the holder EF reported its pid (%zd)", n);
	kill(pid, SIGKILL);
	usleep(20000); /* dead, not reaped */
	t0 = now_s();
	rc = xos_chan_switch(ends[0], "pipe");
	CHECK(rc == -EPIPE, "switch with a dead process-EF holder = %d (%s), want -EPIPE", rc,
	      strerror(-rc));
	CHECK(now_s() - t0 < 1.0, "dead holder noticed in %.3f s, want < 1 s", now_s() - t0);
	rc = (int)xos_chan_send(ends[0], "y", 1);
	CHECK(rc == -EPIPE, "send after the holder died = %d, want -EPIPE", rc);
	rc = xos_ef_join(ef, &ex);
	CHECK(rc == 0 && ex.how == XOS_EF_KILLED, "join = %d, how %d", rc, (int)ex.how);
	xos_chan_close(ends[0]);
	close(fds[0]);
	close(fds[1]);
	printf("ok 1 - a process EF killed holding the control lock: -EPIPE\n");
}

/* ---- 2 and 3: a forked copy holds the lock ------------------------------------ */

/* Fork a copy that takes end @idx's lock (or writes @forged) and waits to be killed. */
static pid_t fork_holder(struct xos_chan *ends[2], int idx, uint32_t forged)
{
	int fds[2];
	pid_t pid;
	char c = 0;

	if (pipe(fds) < 0)
		exit(99);
	pid = fork();
	if (pid < 0)
		exit(99);
	if (pid == 0) {
		if (forged)
			atomic_store(&ends[idx]->ctl->lock, forged);
		else
			(void)xos__chan_lock(ends[idx]);
		if (write(fds[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	if (read(fds[0], &c, 1) != 1)
		exit(99);
	close(fds[0]);
	return pid;
}

static void test_forked_copy_killed(void)
{
	struct xos_chan *ends[2];
	pid_t pid;
	double t0;
	int rc;

	open_bound(ends);
	pid = fork_holder(ends, 1, 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	t0 = now_s();
	rc = xos_chan_switch(ends[0], "pipe");
	CHECK(rc == -EPIPE, "switch with a dead holder sharing our fds = %d, want -EPIPE", rc);
	CHECK(now_s() - t0 < 1.0, "dead holder noticed in %.3f s, want < 1 s", now_s() - t0);
	rc = xos_chan_switch(ends[1], "pipe");
	CHECK(rc == -EPIPE, "the channel stays broken: %d, want -EPIPE", rc);
	xos_chan_close(ends[0]);
	xos_chan_close(ends[1]);
	printf("ok 2 - a forked copy killed holding the control lock: -EPIPE\n");
}

static void test_hostile_holder(uint32_t forged, const char *what, int num)
{
	struct xos_chan *ends[2];
	pid_t pid;
	double t0, took;
	int rc;

	open_bound(ends);
	pid = fork_holder(ends, 1, forged);
	t0 = now_s();
	rc = xos_chan_switch(ends[0], "pipe");
	took = now_s() - t0;
	CHECK(rc == -ETIMEDOUT, "%s: switch = %d (%s), want -ETIMEDOUT", what, rc, strerror(-rc));
	CHECK(took > 1.5 && took < 3.5, "%s: gave up after %.3f s, want about 2 s", what, took);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (!forged) {
		rc = xos_chan_switch(ends[0], "pipe");
		CHECK(rc == -EPIPE, "%s, then killed: switch = %d, want -EPIPE", what, rc);
	}
	xos_chan_close(ends[0]);
	xos_chan_close(ends[1]);
	printf("ok %d - %s: bounded\n", num, what);
}

/* ---- 5: a hostile reader and the writers' send lock ----------------------------- */

static int scribbler_ef(void *p)
{
	struct holder_arg *a = p;
	pid_t pid = getpid();

	/* The whole page the control block is on: every lock and counter in it. */
	memset((void *)a->end->ctl, 0xff, 4096);
	if (write(a->report_fd, &pid, sizeof(pid)) != sizeof(pid))
		return 1;
	for (;;)
		pause();
}

static void test_mp_hostile_reader(void)
{
	struct xos_chan_attr cattr;
	struct xos_chan *ends[2];
	struct xos_ef_attr attr;
	struct xos_ef_exit ex;
	struct holder_arg a;
	struct xos_ef *ef;
	int fds[2], rc;
	double t0;
	pid_t pid;
	char c;

	xos_chan_attr_init(&cattr);
	cattr.mechanism = "ring";
	cattr.flags = XOS_CHAN_F_MULTI_PRODUCER;
	if (xos_chan_open(ends, &cattr) < 0 || pipe(fds) < 0)
		exit(99);
	if (xos_chan_send(ends[0], "x", 1) != 1 || xos_chan_recv(ends[1], &c, 1) != 1)
		exit(99);
	a = (struct holder_arg){ .end = ends[1], .report_fd = fds[1] };
	xos_ef_attr_init(&attr);
	attr.icf = "process";
	attr.chans = &ends[1];
	attr.nchans = 1;
	rc = xos_ef_create(&ef, &attr, scribbler_ef, &a, sizeof(a));
	CHECK(rc == 0, "xos_ef_create(process) = %d", rc);
	if (rc < 0)
		return;
	if (read(fds[0], &pid, sizeof(pid)) != sizeof(pid))
		exit(99);
	t0 = now_s();
	rc = (int)xos_chan_send(ends[0], "y", 1);
	CHECK(rc == -EPIPE || rc == -EPROTO, "send after the reader scribbled = %d, want -EPIPE or -EPROTO",
	      rc);
	CHECK(now_s() - t0 < 2.0, "the send returned after %.3f s, want < 2 s", now_s() - t0);
	kill(pid, SIGKILL);
	rc = xos_ef_join(ef, &ex);
	CHECK(rc == 0 && ex.how == XOS_EF_KILLED, "join = %d, how %d", rc, (int)ex.how);
	xos_chan_close(ends[0]);
	close(fds[0]);
	close(fds[1]);
	printf("ok 5 - a hostile reader cannot take the multi-producer writers' lock\n");
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	unsetenv("XOS_CHAN");
	alarm(WATCHDOG_S); /* a hang is the bug: SIGALRM fails the test */
	printf("1..5\n");
	test_process_ef_killed();
	test_forked_copy_killed();
	test_hostile_holder(0, "a live holder that never lets go", 3);
	/* A word naming no process (pid 0) of the peer's end: no owner to ask. */
	test_hostile_holder(CTL_LOCK_WORD_FORGED, "a forged lock word", 4);
	test_mp_hostile_reader();
	return failures ? 1 : 0;
}
