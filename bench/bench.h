/* SPDX-License-Identifier: MIT */
/*
 * What every benchmark in bench/ needs: a monotonic clock, the median of a
 * run of samples and the median of per-round ratios (the machines are
 * noisy: medians and ratios hold, single samples do not).
 */
#ifndef XOS_BENCH_H
#define XOS_BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline double bench_now_us(void)
{
	return (double)bench_now_ns() / 1e3;
}

static inline double bench_now_s(void)
{
	return (double)bench_now_ns() / 1e9;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of @v[0..@n); sorts @v in place (so v[0] is then the best). */
static inline double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * One "figure:" line: the median of the per-round ratios num[i] / den[i]
 * (rounds alternated A B A B ...) with their spread; @what says what the
 * ratio is and its goal.  At most 64 rounds.
 */
static inline void bench_ratio_figure(const char *name, const double *num, const double *den, int n, const char *what)
{
	double r[64], median;

	if (n < 1 || n > 64)
		return;
	for (int i = 0; i < n; i++)
		r[i] = num[i] / den[i];
	median = bench_median(r, n); /* sorts r: first, before r[0] and r[n - 1] are read */
	printf("figure: %s = %.3f x (%s; median of %d alternating rounds, spread %.3f-%.3f)\n", name, median, what,
	       n, r[0], r[n - 1]);
}

#endif /* XOS_BENCH_H */
