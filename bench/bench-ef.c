/* SPDX-License-Identifier: MIT */
/*
 * bench-ef: what an EF costs over the raw primitive its ICF wraps.
 *
 * Measures, in one run and interleaved round by round (so that machine
 * noise hits both sides alike), create+join of an empty EF under the
 * thread ICF against raw pthread_create+pthread_join, and under the
 * process ICF against raw fork+_exit+waitpid.  Reports the median of the
 * per-round ratios with their spread, and the median round of each side,
 * one `figure: NAME = VALUE UNIT` line each.
 *
 * Usage: bench-ef [ROUNDS]   (default 9)
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xos.h>

#include "bench.h"

#define THREAD_ITERS 2000
#define FORK_ITERS 300

static void *raw_thread(void *arg)
{
	return arg;
}

static int empty_ef(void *arg)
{
	(void)arg;
	return 0;
}

static double round_pthread(void)
{
	double t0 = bench_now_us();

	for (int i = 0; i < THREAD_ITERS; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, raw_thread, NULL) || pthread_join(t, NULL))
			abort();
	}
	return (bench_now_us() - t0) / THREAD_ITERS;
}

static double round_fork(void)
{
	double t0 = bench_now_us();

	for (int i = 0; i < FORK_ITERS; i++) {
		pid_t pid = fork();

		if (pid < 0)
			abort();
		if (pid == 0)
			_exit(0);
		if (waitpid(pid, NULL, 0) != pid)
			abort();
	}
	return (bench_now_us() - t0) / FORK_ITERS;
}

static double round_xos(const char *icf, int iters)
{
	struct xos_ef_attr attr;
	double t0;

	xos_ef_attr_init(&attr);
	attr.icf = icf;
	t0 = bench_now_us();
	for (int i = 0; i < iters; i++) {
		struct xos_ef *ef;
		struct xos_ef_exit ex;
		int rc = xos_ef_create(&ef, &attr, empty_ef, NULL, 0);

		if (rc < 0 || xos_ef_join(ef, &ex) < 0 || ex.status != 0) {
			fprintf(stderr, "bench-ef: %s EF failed: %s\n", icf, strerror(rc < 0 ? -rc : EIO));
			exit(1);
		}
	}
	return (bench_now_us() - t0) / iters;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 9;
	double *pt, *xt, *fk, *xp;

	if (rounds < 1 || rounds > 64) {
		fprintf(stderr, "bench-ef: ROUNDS must be 1..64\n");
		return 2;
	}
	pt = calloc((size_t)rounds, sizeof(double));
	xt = calloc((size_t)rounds, sizeof(double));
	fk = calloc((size_t)rounds, sizeof(double));
	xp = calloc((size_t)rounds, sizeof(double));
	if (!pt || !xt || !fk || !xp)
		return 1;

	/* warm up both paths (runtime init, page faults of the stacks) */
	round_xos("thread", 100);
	round_xos("process", 20);
	for (int r = 0; r < rounds; r++) {
		/* alternate which side goes first so drift does not favour one */
		if (r % 2) {
			pt[r] = round_pthread();
			xt[r] = round_xos("thread", THREAD_ITERS);
			fk[r] = round_fork();
			xp[r] = round_xos("process", FORK_ITERS);
		} else {
			xt[r] = round_xos("thread", THREAD_ITERS);
			pt[r] = round_pthread();
			xp[r] = round_xos("process", FORK_ITERS);
			fk[r] = round_fork();
		}
	}
	/* The ratios first, per round (bench_median sorts its array in place). */
	bench_ratio_figure("thread_icf_vs_pthread", xt, pt, rounds, "xos time / raw time; goal <= 1.3");
	bench_ratio_figure("process_icf_vs_fork", xp, fk, rounds, "xos time / raw time; goal <= 1.1");
	printf("figure: raw_pthread_create_join = %.2f us\n", bench_median(pt, rounds));
	printf("figure: xos_thread_create_join = %.2f us\n", bench_median(xt, rounds));
	printf("figure: raw_fork_wait = %.2f us\n", bench_median(fk, rounds));
	printf("figure: xos_process_create_join = %.2f us\n", bench_median(xp, rounds));
	free(pt);
	free(xt);
	free(fk);
	free(xp);
	return 0;
}
