/* SPDX-License-Identifier: MIT */
/*
 * What every benchmark in bench/ needs: a monotonic clock and the median
 * of a run of samples (the machines are noisy: medians and ratios hold,
 * single samples do not).
 */
#ifndef XOS_BENCH_H
#define XOS_BENCH_H

#include <stdint.h>
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

#endif /* XOS_BENCH_H */
