/* SPDX-License-Identifier: MIT */
/*
 * bench-shim: what the legacy shim costs and what it buys, in one run.
 *
 *  (a) fork+exit+wait and pthread_create+join in a plain program, natively
 *      and under xos-run with the shim preloaded (no policy: nothing is
 *      upgraded), rounds interleaved; goal: ratio <= 1.05.  Again pinned
 *      to one CPU: the shim's own cost without the scheduler's placement.
 *  (b) test/legacy/pingpong over pipes: 8-byte round trip and a 1 GiB
 *      stream, natively and under xos-run --policy=perf (rings); goals:
 *      >= 20x lower round trip, >= 5x throughput.
 *  (c) the same over a loopback TCP connection.
 *  (d) the 8-byte round trip again, each side waiting in poll (pipes) or
 *      epoll_wait (loopback TCP) before each read, as an event loop does:
 *      the readiness path of the rings against the kernel's.
 * Rounds alternate native and shim (A B A B ...); every ratio is the
 * median of the per-round ratios, printed with their spread (min-max), and
 * the absolute values are the medians of each side.  Within a round of (a)
 * each side is the best of its batches (others' load on the shared
 * machine only ever adds time).
 *
 * Usage: bench-shim [ROUNDS]   (default 9; (b) and (c) run half as many)
 * Environment: XOS_RUN, XOS_SHIM, PINGPONG (paths; defaults: the build tree).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define BATCHES 8
#define FORK_ITERS 100
#define THREAD_ITERS 500
#define PP_ROUNDS 20000
#define PP_MIB 1024

static void *nothing(void *arg)
{
	return arg;
}

/* The measured side: "fork_us X thread_us Y", each the best of BATCHES
 * batches (the machine is shared: the best batch is the one least
 * disturbed by others). */
static int measure(bool pin)
{
	double best_fork = 1e18, best_thread = 1e18;

	/* Pinned: where the scheduler puts a new thread or child (and what a
	 * cross-CPU wakeup costs on this machine) is taken out of the figure. */
	if (pin) {
		cpu_set_t set;
		int cpu = sched_getcpu();

		CPU_ZERO(&set);
		CPU_SET(cpu < 0 ? 0 : cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) < 0)
			return 1;
	}

	for (int b = 0; b < BATCHES; b++) {
		double t0 = bench_now_us(), t1, t2;

		for (int i = 0; i < FORK_ITERS; i++) {
			pid_t pid = fork();
			int st;

			if (pid == 0)
				_exit(0);
			if (pid < 0 || waitpid(pid, &st, 0) != pid)
				return 1;
		}
		t1 = bench_now_us();
		for (int i = 0; i < THREAD_ITERS; i++) {
			pthread_t t;

			if (pthread_create(&t, NULL, nothing, NULL) || pthread_join(t, NULL))
				return 1;
		}
		t2 = bench_now_us();
		if ((t1 - t0) / FORK_ITERS < best_fork)
			best_fork = (t1 - t0) / FORK_ITERS;
		if ((t2 - t1) / THREAD_ITERS < best_thread)
			best_thread = (t2 - t1) / THREAD_ITERS;
	}
	printf("fork_us %.3f thread_us %.3f\n", best_fork, best_thread);
	return 0;
}

/* Run @argv, return its stdout+stderr in @buf; -1 on failure. */
static int run(char *const argv[], char *buf, size_t len)
{
	int p[2], st;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	while (got + 1 < len && (n = read(p[0], buf + got, len - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(p[0]);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "bench-shim: %s failed: %s\n", argv[0], buf);
		return -1;
	}
	return 0;
}

static double field(const char *buf, const char *key)
{
	const char *p = strstr(buf, key);

	return p ? atof(p + strlen(key)) : -1.0;
}

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 && argv[1][0] != '-' ? atoi(argv[1]) : 9;
	char *xos_run = (char *)env_or("XOS_RUN", "./xos-run");
	char *pingpong = (char *)env_or("PINGPONG", "./test/legacy/pingpong");
	char self[4096], buf[4096];
	double nf[32], sf[32], nt[32], st[32], pnf[32], psf[32], pnt[32], pst[32];
	ssize_t n;

	if (argc > 1 && strcmp(argv[1], "--measure") == 0)
		return measure(argc > 2 && strcmp(argv[2], "--pin") == 0);
	if (rounds < 1 || rounds > 32)
		rounds = 5;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 1;
	self[n] = '\0';
	if (!getenv("XOS_SHIM"))
		setenv("XOS_SHIM", "./.libs/libxos-shim.so", 1);
	unsetenv("XOS_POLICY");
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* (a) */
	for (int r = 0; r < rounds; r++) {
		char *native[] = { self, "--measure", NULL };
		char *shim[] = { xos_run, "--", self, "--measure", NULL };

		if (run(native, buf, sizeof(buf)))
			return 1;
		nf[r] = field(buf, "fork_us ");
		nt[r] = field(buf, "thread_us ");
		if (run(shim, buf, sizeof(buf)))
			return 1;
		sf[r] = field(buf, "fork_us ");
		st[r] = field(buf, "thread_us ");
	}
	for (int r = 0; r < rounds; r++) {
		char *native[] = { self, "--measure", "--pin", NULL };
		char *shim[] = { xos_run, "--", self, "--measure", "--pin", NULL };

		if (run(native, buf, sizeof(buf)))
			return 1;
		pnf[r] = field(buf, "fork_us ");
		pnt[r] = field(buf, "thread_us ");
		if (run(shim, buf, sizeof(buf)))
			return 1;
		psf[r] = field(buf, "fork_us ");
		pst[r] = field(buf, "thread_us ");
	}
	/* The ratios first: bench_median sorts its array in place. */
	bench_ratio_figure("fork_exit_wait_shim_ratio", sf, nf, rounds, "shim time / native time; goal <= 1.05");
	bench_ratio_figure("pthread_create_join_shim_ratio", st, nt, rounds, "shim time / native time; goal <= 1.05");
	bench_ratio_figure("fork_exit_wait_shim_ratio_pinned", psf, pnf, rounds, "one CPU");
	bench_ratio_figure("pthread_create_join_shim_ratio_pinned", pst, pnt, rounds, "one CPU; goal <= 1.05");
	printf("figure: fork_exit_wait_native = %.2f us\n", bench_median(nf, rounds));
	printf("figure: fork_exit_wait_shim = %.2f us\n", bench_median(sf, rounds));
	printf("figure: pthread_create_join_native = %.2f us\n", bench_median(nt, rounds));
	printf("figure: pthread_create_join_shim = %.2f us\n", bench_median(st, rounds));
	printf("figure: fork_exit_wait_pinned = %.2f us native, %.2f us shim\n", bench_median(pnf, rounds),
	       bench_median(psf, rounds));
	printf("figure: pthread_create_join_pinned = %.2f us native, %.2f us shim\n", bench_median(pnt, rounds),
	       bench_median(pst, rounds));

	/* (b) and (c) */
	for (int k = 0; k < 4; k++) {
		static const char *const kinds[] = { "pipe", "tcp", "pipe+poll", "tcp+epoll" };
		static const char *const names[] = { "pipe", "tcp", "pipe_poll", "tcp_epoll" };
		const char *kind = kinds[k], *name = names[k];
		bool rtt_only = k >= 2;
		char rounds_s[16], mib_s[16];
		double nr[32], pr[32], nb[32], pb[32];

		snprintf(rounds_s, sizeof(rounds_s), "%d", PP_ROUNDS);
		snprintf(mib_s, sizeof(mib_s), "%d", rtt_only ? 1 : PP_MIB);
		for (int r = 0; r < (rounds + 1) / 2; r++) {
			char *native[] = { pingpong, (char *)kind, rounds_s, mib_s, "-t", NULL };
			char *perf[] = { xos_run, "--policy=perf", "--", pingpong, (char *)kind, rounds_s, mib_s, "-t", NULL };

			if (run(native, buf, sizeof(buf)))
				return 1;
			nr[r] = field(buf, "rtt_us ");
			nb[r] = field(buf, "throughput_gbs ");
			if (run(perf, buf, sizeof(buf)))
				return 1;
			pr[r] = field(buf, "rtt_us ");
			pb[r] = field(buf, "throughput_gbs ");
		}
		{
			int m = (rounds + 1) / 2;
			char fig[64];

			snprintf(fig, sizeof(fig), "%s_rtt_improvement", name);
			bench_ratio_figure(fig, nr, pr, m, rtt_only ? "native time / perf time: lower; goal >= 5"
							       : "native time / perf time: lower; goal >= 20");
			if (!rtt_only) {
				snprintf(fig, sizeof(fig), "%s_stream_improvement", kind);
				bench_ratio_figure(fig, pb, nb, m, "perf GB/s / native GB/s; goal >= 5");
			}
			printf("figure: %s_rtt_native = %.3f us\n", name, bench_median(nr, m));
			printf("figure: %s_rtt_perf = %.3f us\n", name, bench_median(pr, m));
			if (rtt_only)
				continue;
			printf("figure: %s_stream_1GiB_native = %.3f GB/s\n", kind, bench_median(nb, m));
			printf("figure: %s_stream_1GiB_perf = %.3f GB/s\n", kind, bench_median(pb, m));
		}
	}
	return 0;
}
