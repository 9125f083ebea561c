/* SPDX-License-Identifier: MIT */
/*
 * bench-startup: what xos-run adds to a program's start, and what the shim
 * adds to a fork.
 *
 *  - start-up: `xos-run --policy=perf -- /bin/true` against `/bin/true`,
 *    in alternating rounds (A B A B ...) so that a change of the machine's
 *    load hits both; each round runs each command BATCH times.  Reported:
 *    the median of the per-round ratios and of the per-round differences,
 *    with the 10th-90th percentile spread.
 *    In the same rounds, the floors: a static launcher that only execs
 *    /bin/true (what any launcher adds: a second program image) and one
 *    that vforks, execs and waits (what a launcher that stays adds).
 *  - fork13-style throughput: fork, _exit, wait in a loop for a fixed time,
 *    natively, under LD_PRELOAD=libxos-shim.so and under xos-run; rounds
 *    alternate the three; ratios are per round, then the median.
 *  - fork + exec /bin/true + wait in a loop: natively, with a preloaded
 *    library that does nothing (the floor of any LD_PRELOAD library: the
 *    loader maps and relocates it in every image) and under xos-run.
 *
 * The machine may be shared: the load average is printed with the figures.
 * Environment: XOS_RUN (the xos-run binary), XOS_SHIM (libxos-shim.so),
 * LAUNCH_FLOOR (bench/launch-floor), EMPTY_PRELOAD (the do-nothing
 * library), BENCH_ROUNDS (default 21), BENCH_FORK_SECONDS (default 0.5),
 * BENCH_SPAWNS (fork+exec+waits a run, default 100).
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define BATCH 5
#define MAX_ROUNDS 200

/* CPU time (user + system, us) and minor page faults of the last run()
 * and its descendants: counts a shared machine disturbs less than wall time. */
static double last_cpu_us, last_faults;

/* Run @argv (with @preload as LD_PRELOAD, or none) and wait; its stdout to @out_fd, or /dev/null. */
static int run(char *const argv[], const char *preload, int out_fd)
{
	pid_t pid = fork();
	struct rusage ru;
	int ws;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (out_fd >= 0)
			dup2(out_fd, 1);
		if (preload)
			setenv("LD_PRELOAD", preload, 1);
		else
			unsetenv("LD_PRELOAD");
		execv(argv[0], argv);
		_exit(127);
	}
	if (wait4(pid, &ws, 0, &ru) < 0)
		return -errno;
	last_cpu_us = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
		      (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
	last_faults = (double)ru.ru_minflt;
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

/* Mean wall time of BATCH runs, in us; their mean CPU time and faults in @cpu_us, @faults. */
static double batch_us(char *const argv[], double *cpu_us, double *faults)
{
	double t0 = bench_now_us();

	*cpu_us = *faults = 0;
	for (int i = 0; i < BATCH; i++) {
		if (run(argv, NULL, -1) != 0) {
			fprintf(stderr, "bench-startup: %s failed\n", argv[0]);
			exit(1);
		}
		*cpu_us += last_cpu_us / BATCH;
		*faults += last_faults / BATCH;
	}
	return (bench_now_us() - t0) / BATCH;
}

static double pct(double *v, int n, double p)
{
	qsort(v, (size_t)n, sizeof(*v), bench_cmp_double);
	return v[(int)(p * (n - 1) + 0.5)];
}

/* The fork13-style loop, in this process: forks completed in @secs. */
static int fork_loop(double secs)
{
	double end = bench_now_s() + secs;
	unsigned long n = 0;

	while (bench_now_s() < end) {
		{
			pid_t pid = fork();

			if (pid < 0)
				return 1;
			if (pid == 0)
				_exit(0);
			if (waitpid(pid, NULL, 0) != pid)
				return 1;
			n++;
		}
	}
	printf("%lu\n", n);
	return 0;
}

/* fork + exec /bin/true + wait, @n times; prints the time they took (s). */
static int spawn_loop(long n)
{
	double t0 = bench_now_s();

	for (long i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return 1;
		if (pid == 0) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		if (waitpid(pid, NULL, 0) != pid)
			return 1;
	}
	printf("%.9f\n", bench_now_s() - t0);
	return 0;
}

/* The number the loop run as @argv (preloaded or not) printed. */
static double loop_result(char *const argv[], const char *preload)
{
	char buf[64] = "";
	int p[2];
	ssize_t got;

	if (pipe(p) < 0)
		return 0;
	if (run(argv, preload, p[1]) != 0) {
		fprintf(stderr, "bench-startup: %s %s failed\n", argv[0], argv[1]);
		exit(1);
	}
	close(p[1]);
	got = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	if (got <= 0)
		return 0;
	buf[got] = '\0';
	return strtod(buf, NULL);
}

int main(int argc, char **argv)
{
	const char *xos_run = getenv("XOS_RUN"), *shim = getenv("XOS_SHIM");
	const char *floor_bin = getenv("LAUNCH_FLOOR"), *empty = getenv("EMPTY_PRELOAD");
	const char *r = getenv("BENCH_ROUNDS"), *fs = getenv("BENCH_FORK_SECONDS"), *sp = getenv("BENCH_SPAWNS");
	int rounds = r ? atoi(r) : 21;
	double secs = fs ? strtod(fs, NULL) : 0.5;
	static double ratio[MAX_ROUNDS], diff[MAX_ROUNDS], a_us[MAX_ROUNDS], b_us[MAX_ROUNDS];
	static double pre[MAX_ROUNDS], run_r[MAX_ROUNDS], cpu_d[MAX_ROUNDS], flt_a[MAX_ROUNDS], flt_b[MAX_ROUNDS];
	static double exec_d[MAX_ROUNDS], wait_d[MAX_ROUNDS], own_d[MAX_ROUNDS];
	long spawns = sp ? atol(sp) : 100;
	char self[4096], secs_s[32], spawns_s[32], load[128] = "?";
	FILE *f;

	if (argc == 3 && strcmp(argv[1], "--fork-loop") == 0)
		return fork_loop(strtod(argv[2], NULL));
	if (argc == 3 && strcmp(argv[1], "--spawn-loop") == 0)
		return spawn_loop(atol(argv[2]));
	if (!xos_run || !shim || !floor_bin || !empty) {
		fprintf(stderr, "bench-startup: set XOS_RUN, XOS_SHIM, LAUNCH_FLOOR and EMPTY_PRELOAD "
				"(make bench-startup does)\n");
		return 2;
	}
	if (rounds < 3 || rounds > MAX_ROUNDS || secs <= 0 || spawns < 1) {
		fprintf(stderr, "bench-startup: BENCH_ROUNDS must be 3..%d, BENCH_FORK_SECONDS > 0, BENCH_SPAWNS >= 1\n",
			MAX_ROUNDS);
		return 2;
	}
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len <= 0)
		return 1;
	self[len] = '\0';
	snprintf(secs_s, sizeof(secs_s), "%g", secs);
	snprintf(spawns_s, sizeof(spawns_s), "%ld", spawns);
	f = fopen("/proc/loadavg", "r");
	if (f) {
		if (fgets(load, sizeof(load), f))
			load[strcspn(load, "\n")] = '\0';
		fclose(f);
	}
	printf("bench-startup: %d rounds, load average at start: %s, %ld CPUs\n", rounds, load,
	       sysconf(_SC_NPROCESSORS_ONLN));

	/* ---- start-up ---- */
	{
		char *a[] = { (char *)xos_run, "--policy=perf", "--", "/bin/true", NULL };
		char *b[] = { "/bin/true", NULL };
		char *e[] = { (char *)floor_bin, "exec", "/bin/true", NULL };
		char *w[] = { (char *)floor_bin, "wait", "/bin/true", NULL };

		for (int i = 0; i < rounds; i++) {
			double cpu_a, cpu_b, cpu_x, flt_x, e_us, w_us;

			a_us[i] = batch_us(a, &cpu_a, &flt_a[i]);
			b_us[i] = batch_us(b, &cpu_b, &flt_b[i]);
			e_us = batch_us(e, &cpu_x, &flt_x);
			w_us = batch_us(w, &cpu_x, &flt_x);
			ratio[i] = a_us[i] / b_us[i];
			diff[i] = a_us[i] - b_us[i];
			cpu_d[i] = cpu_a - cpu_b;
			exec_d[i] = e_us - b_us[i];
			wait_d[i] = w_us - b_us[i];
			own_d[i] = a_us[i] - w_us;
		}
		printf("figure: startup_true_native = %.0f us\n", bench_median(b_us, rounds));
		printf("figure: startup_true_xos_run = %.0f us\n", bench_median(a_us, rounds));
		printf("figure: startup_xos_run_extra = %.0f us (p10 %.0f, p90 %.0f; goal <= 1000)\n",
		       bench_median(diff, rounds), pct(diff, rounds, 0.1), pct(diff, rounds, 0.9));
		printf("figure: startup_xos_run_ratio = %.2f x (p10 %.2f, p90 %.2f)\n", bench_median(ratio, rounds),
		       pct(ratio, rounds, 0.1), pct(ratio, rounds, 0.9));
		printf("figure: startup_xos_run_extra_cpu = %.0f us CPU (p10 %.0f, p90 %.0f)\n", bench_median(cpu_d, rounds),
		       pct(cpu_d, rounds, 0.1), pct(cpu_d, rounds, 0.9));
		printf("figure: startup_faults = %.1f native, %.1f xos-run (minor page faults per start)\n",
		       bench_median(flt_b, rounds), bench_median(flt_a, rounds));
		printf("figure: startup_exec_floor = %.0f us (p10 %.0f, p90 %.0f; a launcher that only execs the program)\n",
		       bench_median(exec_d, rounds), pct(exec_d, rounds, 0.1), pct(exec_d, rounds, 0.9));
		printf("figure: startup_wait_floor = %.0f us (p10 %.0f, p90 %.0f; one that vforks, execs and waits)\n",
		       bench_median(wait_d, rounds), pct(wait_d, rounds, 0.1), pct(wait_d, rounds, 0.9));
		printf("figure: startup_xos_run_over_wait_floor = %.0f us (p10 %.0f, p90 %.0f; "
		       "xos-run's own work and the shim's load)\n",
		       bench_median(own_d, rounds), pct(own_d, rounds, 0.1), pct(own_d, rounds, 0.9));
	}

	/* ---- fork13-style throughput ---- */
	{
		char *native[] = { self, "--fork-loop", secs_s, NULL };
		char *managed[] = { (char *)xos_run, "--policy=perf", "--", self, "--fork-loop", secs_s, NULL };
		int n = rounds / 3 < 3 ? 3 : rounds / 3;
		double nat[MAX_ROUNDS];

		for (int i = 0; i < n; i++) {
			double x = loop_result(native, NULL) / secs;
			double y = loop_result(native, shim) / secs;
			double z = loop_result(managed, NULL) / secs;

			nat[i] = x;
			pre[i] = y / x;
			run_r[i] = z / x;
		}
		printf("figure: fork13_native = %.0f forks/s\n", bench_median(nat, n));
		printf("figure: fork13_preload_ratio = %.3f x (p10 %.3f, p90 %.3f; goal >= 0.95)\n",
		       bench_median(pre, n), pct(pre, n, 0.1), pct(pre, n, 0.9));
		printf("figure: fork13_xos_run_ratio = %.3f x (p10 %.3f, p90 %.3f; goal >= 0.95)\n",
		       bench_median(run_r, n), pct(run_r, n, 0.1), pct(run_r, n, 0.9));
	}

	/* ---- fork + exec + wait: the shim's cost and any preload's ---- */
	{
		char *native[] = { self, "--spawn-loop", spawns_s, NULL };
		char *managed[] = { (char *)xos_run, "--policy=perf", "--", self, "--spawn-loop", spawns_s, NULL };
		int n = rounds / 3 < 3 ? 3 : rounds / 3;
		double nat[MAX_ROUNDS];

		for (int i = 0; i < n; i++) {
			double x = loop_result(native, NULL);
			double y = loop_result(native, empty);
			double z = loop_result(managed, NULL);

			nat[i] = x / (double)spawns * 1e6;
			pre[i] = x / y;
			run_r[i] = x / z;
		}
		printf("figure: spawn_native = %.0f us per fork+exec+wait of /bin/true\n", bench_median(nat, n));
		printf("figure: spawn_empty_preload_ratio = %.3f x (p10 %.3f, p90 %.3f; "
		       "a preloaded library that does nothing: the floor of LD_PRELOAD)\n",
		       bench_median(pre, n), pct(pre, n, 0.1), pct(pre, n, 0.9));
		printf("figure: spawn_xos_run_ratio = %.3f x (p10 %.3f, p90 %.3f; goal >= 0.97)\n",
		       bench_median(run_r, n), pct(run_r, n, 0.1), pct(run_r, n, 0.9));
	}
	f = fopen("/proc/loadavg", "r");
	if (f) {
		if (fgets(load, sizeof(load), f))
			load[strcspn(load, "\n")] = '\0';
		fclose(f);
		printf("bench-startup: load average at end: %s\n", load);
	}
	return 0;
}
