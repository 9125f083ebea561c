// SPDX-License-Identifier: MIT
/*
 * A wake-up owed to a reader asleep in read() is never taken by another
 * thread's poll, epoll or read.
 *
 * Under the shim a pipe's bytes go through a ring; a reader that finds it
 * empty sleeps in read() on the kernel pipe, and a writer that publishes
 * sends it a bell (one byte, counted in the ring's area).  python3's
 * multiprocessing Pool polls its result pipe in one thread while another
 * reads it: the poll took the bell, the reader slept on beside a full
 * ring, the worker waited for room, and the Pool hung.
 *
 * Here thread R sleeps in read(); the main thread, on R's CPU and ahead
 * of it (SCHED_FIFO), rings a bell as a writer does (counted, then one
 * byte into the kernel pipe) and looks at the pipe with poll and epoll
 * before R can run: the byte must still be in the kernel pipe afterwards.
 * Then a real byte is written and R must get it.  R can run all the same
 * (the kernel gives a task starved by a SCHED_FIFO thread a turn; once in
 * ~250 runs here it did, and took its own bell): a try in which R's run
 * count moved proves nothing and is made again.
 *
 * Without arguments: runs itself under $XOS_RUN --policy=perf.
 * Exit 0: passed; 1: failed; 77: skipped (no SCHED_FIFO, no shim).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../shim-area-map.h"
#include "self-under-shim.h"

static int rfd, fdw;
static atomic_int got = -1, reader_tid;
static char got_byte;

static void *reader(void *arg)
{
	(void)arg;
	atomic_store(&reader_tid, (int)syscall(SYS_gettid));
	atomic_store(&got, (int)read(rfd, &got_byte, 1));
	return NULL;
}

static void nap_ms(int ms)
{
	struct timespec t = { 0, (long)ms * 1000000L };

	nanosleep(&t, NULL);
}

/* The live ring direction with a reader asleep on it (R's), or NULL. */
static struct shim_dir *sleeping_dir(struct shim_area *a)
{
	for (int i = 0; i < SHIM_MAX_RING; i++) {
		struct shim_ring *r = &a->ring[i];

		if (atomic_load(&r->mode) == SHIM_RING_LIVE && atomic_load(&r->dir[0].rwait) == 1)
			return &r->dir[0];
	}
	return NULL;
}

/* Bytes in the kernel pipe, asked of the kernel itself (not the shim). */
static int kernel_bytes(int fd)
{
	int n = -1;

	return syscall(SYS_ioctl, fd, FIONREAD, &n) == 0 ? n : -1;
}

static int fail(const char *what)
{
	fprintf(stderr, "bell-owed: %s\n", what);
	return 1;
}

/* A failed check's state, for a failure seen only under load: the ring's
 * counts, the kernel pipe, where R is and how often it ran. */
static int fail_at(const char *what, struct shim_dir *D)
{
	char path[96], stat[512] = "?", sched[128] = "?";
	int tid = atomic_load(&reader_tid);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	if ((f = fopen(path, "re"))) {
		if (!fgets(stat, sizeof(stat), f))
			stat[0] = '\0';
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", tid);
	if ((f = fopen(path, "re"))) {
		if (!fgets(sched, sizeof(sched), f))
			sched[0] = '\0';
		fclose(f);
	}
	fprintf(stderr, "bell-owed: state: bells %u, rwait %u, kernel bytes %d, R got %d, main on CPU %d; R: %s; R ran: %s",
		(unsigned)atomic_load(&D->bells), (unsigned)atomic_load(&D->rwait), kernel_bytes(rfd), atomic_load(&got),
		sched_getcpu(), stat, sched);
	return fail(what);
}

/* How many times R has been on a CPU (schedstat's third field), or -1. */
static long reader_runs(void)
{
	char path[96];
	unsigned long long t1, t2, runs;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", atomic_load(&reader_tid));
	if (!(f = fopen(path, "re")))
		return -1;
	n = fscanf(f, "%llu %llu %llu", &t1, &t2, &runs);
	fclose(f);
	return n == 3 ? (long)runs : -1;
}

enum { OWED_KEPT, OWED_TAKEN, OWED_R_RAN };

/*
 * One try: a writer's bell, then poll and epoll of the pipe before R can
 * run.  OWED_R_RAN when R ran anyway (the scheduler's fair server gives a
 * starved task a turn beside a SCHED_FIFO thread): it may have taken its
 * own bell, which proves nothing either way.
 */
static int try_owed(struct shim_dir *D, int ep, const char **what)
{
	struct sched_param fifo = { .sched_priority = 1 }, other = { 0 };
	struct epoll_event out;
	struct pollfd pf = { .fd = rfd, .events = POLLIN };
	long runs;
	int rc = OWED_KEPT;

	*what = NULL;
	nap_ms(20); /* R in the kernel now, not between the count and read() */
	if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &fifo) != 0)
		return -1;
	runs = reader_runs();
	/* A writer's bell: counted first, then sent.  R is runnable from
	 * here on but cannot run on this CPU before we yield. */
	atomic_fetch_add(&D->bells, 1);
	if (syscall(SYS_write, fdw, "", 1) != 1) {
		*what = "bell write";
		rc = OWED_TAKEN;
	} else if (poll(&pf, 1, 0) != 0) {
		*what = "poll reports a bell as data";
	} else if (kernel_bytes(rfd) != 1) {
		*what = "poll took the bell owed to the reader asleep in read()";
	} else if (epoll_wait(ep, &out, 1, 0) != 0) {
		*what = "epoll reports a bell as data";
	} else if (kernel_bytes(rfd) != 1) {
		*what = "epoll took the bell owed to the reader asleep in read()";
	}
	if (*what && rc == OWED_KEPT)
		rc = runs >= 0 && reader_runs() != runs ? OWED_R_RAN : OWED_TAKEN;
	pthread_setschedparam(pthread_self(), SCHED_OTHER, &other);
	return rc;
}

static int under_shim(void)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };
	struct sched_param fifo = { .sched_priority = 1 }, other = { 0 };
	struct shim_area *a = area_map();
	struct shim_dir *D = NULL;
	const char *what = NULL;
	cpu_set_t one;
	pthread_t t;
	int p[2], ep, rc = OWED_R_RAN;

	if (!a)
		return fail("no shim area (XOS_SHIM_AREA)");
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	if (sched_setaffinity(0, sizeof(one), &one) < 0 || pipe(p) < 0 || (ep = epoll_create1(0)) < 0)
		return fail("setup");
	rfd = p[0];
	fdw = p[1];
	ev.data.fd = rfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, rfd, &ev) < 0 || pthread_create(&t, NULL, reader, NULL) != 0)
		return fail("setup");
	for (int i = 0; i < 1000 && !(D = sleeping_dir(a)); i++)
		nap_ms(5);
	if (!D)
		return fail("the pipe is not on a ring, or its reader never slept");
	if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &fifo) != 0) {
		printf("SKIP: no SCHED_FIFO here\n");
		return 77;
	}
	pthread_setschedparam(pthread_self(), SCHED_OTHER, &other);
	/* Up to five tries while R keeps running in between (asleep again
	 * each time: a bell alone never ends its read). */
	for (int i = 0; i < 5 && rc == OWED_R_RAN; i++) {
		for (int k = 0; k < 200 && atomic_load(&D->rwait) != 1; k++)
			nap_ms(5);
		rc = try_owed(D, ep, &what);
		if (rc < 0)
			return fail("SCHED_FIFO");
		if (rc == OWED_R_RAN)
			fprintf(stderr, "bell-owed: R ran during try %d (%s): again\n", i + 1, what);
	}
	if (rc == OWED_TAKEN)
		return fail_at(what, D);
	if (rc == OWED_R_RAN) {
		printf("SKIP: the reader ran beside a SCHED_FIFO thread on its CPU in five tries\n");
		return 77;
	}
	/* Now real data: R must wake and get it. */
	if (write(fdw, "x", 1) != 1)
		return fail("write");
	for (int i = 0; i < 500 && atomic_load(&got) < 0; i++)
		nap_ms(10);
	if (atomic_load(&got) != 1 || got_byte != 'x')
		return fail("the reader still sleeps beside the byte 5 s later");
	pthread_join(t, NULL);
	return 0;
}

int main(int argc, char **argv)
{
	int rc;

	if (argc == 2 && !strcmp(argv[1], "--under-shim"))
		return under_shim();
	rc = self_under_shim(NULL);
	if (rc == 0)
		printf("ok: bells owed to a sleeping reader stay its own\n");
	return rc;
}
