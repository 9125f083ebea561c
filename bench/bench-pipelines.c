/* SPDX-License-Identifier: MIT */
/*
 * bench-pipelines: Debian's own tools in the patterns shells and build
 * tools use, natively and under `xos-run --policy=perf`, in the same run.
 *
 *  - stream:   a two-stage stream of BENCH_STREAM_MB MiB (default 1024):
 *              head -c N /dev/zero | md5sum
 *  - count:    the same bytes to a reader that only counts them, the
 *              pipe the whole cost: head -c N /dev/zero | wc -c
 *  - text:     a 5-stage text pipeline on generated text (BENCH_TEXT_MB,
 *              default 20): tr | sort | uniq -c | sort -rn | head
 *  - pool:     python3 multiprocessing Pool(2).map whose results total
 *              BENCH_POOL_MB MiB (default 100), 1 MiB per task (skipped
 *              without /usr/bin/python3)
 *  - spawn:    fork + exec /bin/true + wait, BENCH_SPAWNS times (default 200)
 *  - script:   a shell loop running /bin/true BENCH_SPAWNS times (dash
 *              starts each command with vfork)
 *  - subprocess: python3 subprocess.run(["/bin/true"]) BENCH_SPAWNS / 2
 *              times (vfork too, from a process of ~30 MiB)
 *  - subprocess_late: the same late in a run, as in a long build: after
 *              5,000 pipes made and closed, with its output into a pipe
 *              the shell made before them (each child inherits it); the
 *              calls alone are timed (the program prints their seconds),
 *              the CPU ratio is the whole command's
 *  - capture:  python3 subprocess.run(["/bin/echo", ...], stdout=PIPE)
 *              BENCH_SPAWNS / 2 times: each small output read back
 *  - capture_stream: python3 reading BENCH_STREAM_MB MiB from a Popen'd
 *              `head -c N /dev/zero` through stdout=PIPE, 1 MiB readinto
 *              at a time (the pipe is copied onto the vfork child's stdout)
 *  - fork13:   fork + _exit + wait for BENCH_FORK_SECONDS (default 1),
 *              forks per second (higher is better), plus page faults per
 *              fork (the children's minor faults, a counter)
 *  - true:     `xos-run -- /bin/true` against `/bin/true`, 5 runs a round
 *
 * The ceiling, measured natively in the same rounds (a third run after
 * native and perf) where the case has one that is a true bound: what the
 * case would take if its pipe cost nothing, so <case>_ceiling = native /
 * ceiling is the most any pipe mechanism can speed it up and
 * <case>_of_ceiling = ceiling / perf (1: as fast as with no pipe).
 * stream: md5sum of the same bytes from a tmpfs file (one copy out of
 * memory, as from a ring); count: the writer alone, head -c N /dev/zero
 * > /dev/null (no pipeline is faster than its writer).  Not text5 (sort
 * reading a file sizes its buffers otherwise and runs longer than within
 * the pipeline) nor pool (Python copies each received message two or
 * three times into fresh memory whatever carries it: most of the page
 * faults of a run are there).
 *
 * Each round runs native then perf (A B A B ...), so that a change of the
 * machine's load hits both; per case the median of the per-round ratios
 * perf/native of the wall time (of the throughput for fork13) is printed
 * with its min-max spread, and the ratio of CPU time (user + system of
 * every process, from wait4), which a shared machine disturbs less.
 * The load average is printed with the figures.
 *
 * Environment: XOS_RUN (xos-run), XOS_SHIM (libxos-shim.so), BENCH_ROUNDS
 * (default 5), the sizes above, and BENCH_CASES: only the cases whose
 * names it contains (e.g. "capture capture_stream"; default: all).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define MAX_ROUNDS 64

struct sample {
	double wall_s, cpu_s;
};

static double tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* Run @argv, stdout to @out_fd (or /dev/null); its wall and CPU time. */
static int run(char *const argv[], int out_fd, struct sample *s)
{
	struct rusage ru;
	double t0 = bench_now_s();
	pid_t pid = fork();
	int ws;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (out_fd < 0)
			out_fd = open("/dev/null", O_WRONLY);
		dup2(out_fd, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	if (wait4(pid, &ws, 0, &ru) < 0)
		return -errno;
	/* wait4's usage covers the child only; its descendants are reaped by
	 * it and counted in its children's usage, which wait4 includes. */
	s->wall_s = bench_now_s() - t0;
	s->cpu_s = tv_s(ru.ru_utime) + tv_s(ru.ru_stime);
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

static double pick(double *v, int n, double p)
{
	qsort(v, (size_t)n, sizeof(*v), bench_cmp_double);
	return v[(int)(p * (n - 1) + 0.5)];
}

/* fork + _exit + wait for @secs: "forks faults-per-fork" on stdout. */
static int fork_loop(double secs)
{
	double end = bench_now_s() + secs;
	unsigned long n = 0;
	struct rusage ru;

	while (bench_now_s() < end) {
		pid_t pid = fork();

		if (pid < 0)
			return 1;
		if (pid == 0)
			_exit(0);
		if (waitpid(pid, NULL, 0) != pid)
			return 1;
		n++;
	}
	getrusage(RUSAGE_CHILDREN, &ru);
	printf("%lu %.2f\n", n, n ? (double)ru.ru_minflt / (double)n : 0.0);
	return 0;
}

/* fork + exec /bin/true + wait, @n times. */
static int spawn_loop(long n)
{
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		int ws;

		if (pid < 0)
			return 1;
		if (pid == 0) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		if (waitpid(pid, &ws, 0) != pid || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
			return 1;
	}
	return 0;
}

struct bench_case {
	const char *name;
	char *argv[8];  /* native command; under perf: xos-run --policy=perf -- argv */
	bool rate;      /* fork13: the command prints forks, higher is better */
	int repeat;     /* runs per round (short commands) */
	bool self_timed; /* the command prints the seconds of its timed part: the "wall" */
	char *ceiling[8]; /* native, the same work with no pipe to carry it (or none) */
};

static char xos_run[4096], self[4096], fork_secs[32], spawns[32], stream_cmd[256], text_cmd[512], pool_cmd[512];
static char script_cmd[128], subprocess_cmd[160], late_cmd[400], capture_cmd[256], capture_stream_cmd[512];
static char stream_head[128], stream_ceiling_cmd[256], count_cmd[256], count_ceiling_cmd[256];
static char zero_file[] = "/dev/shm/bench-pipelines-zero-XXXXXX", text[] = "/tmp/bench-pipelines-XXXXXX";

/* The inputs (the ceiling's in memory): removed however the bench ends. */
static void remove_inputs(void)
{
	if (!strstr(zero_file, "XXXXXX"))
		unlink(zero_file);
	if (!strstr(text, "XXXXXX"))
		unlink(text);
}

/* Named at start (the command names it), filled by make_input when the case runs. */
static int name_ceiling_file(void)
{
	int z = mkstemp(zero_file);

	if (z < 0)
		return -errno;
	close(z);
	return 0;
}

/* @path := the output of `sh -c @cmd`. */
static int make_input(const char *path, const char *cmd)
{
	char line[600];

	snprintf(line, sizeof(line), "%s > %s", cmd, path);
	return system(line) == 0 ? 0 : -EIO;
}

static void perf_argv(char *const in[], char *out[])
{
	int i = 0;

	out[i++] = xos_run;
	out[i++] = "--policy=perf";
	out[i++] = "--";
	for (int k = 0; in[k]; k++)
		out[i++] = in[k];
	out[i] = NULL;
}

/* Is @word one of the space- or comma-separated words of @list? */
static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == ' ' || p[-1] == ',') && (p[n] == '\0' || p[n] == ' ' || p[n] == ','))
			return true;
	return false;
}

enum side { NATIVE, PERF, CEILING };

/* One measurement: wall and CPU seconds (or forks/s and faults per fork). */
static void measure(const struct bench_case *c, enum side side, struct sample *s, double *faults)
{
	static const char *const side_name[] = { "native", "perf", "ceiling" };
	char *argv[16];
	struct sample one = { 0, 0 };
	char buf[128] = "";
	int p[2] = { -1, -1 };

	if (side == PERF)
		perf_argv(c->argv, argv);
	else
		memcpy(argv, side == CEILING ? c->ceiling : c->argv, sizeof(c->argv));
	s->wall_s = s->cpu_s = 0;
	if ((c->rate || c->self_timed) && pipe(p) < 0)
		exit(1);
	for (int k = 0; k < c->repeat; k++) {
		if (run(argv, p[1], &one) != 0) {
			fprintf(stderr, "bench-pipelines: %s (%s) failed\n", c->name, side_name[side]);
			exit(1);
		}
		s->wall_s += one.wall_s;
		s->cpu_s += one.cpu_s;
	}
	if (c->self_timed && side != CEILING) {
		ssize_t got;

		close(p[1]);
		got = read(p[0], buf, sizeof(buf) - 1);
		close(p[0]);
		buf[got > 0 ? got : 0] = '\0';
		s->wall_s = strtod(buf, NULL);
	}
	if (c->rate) {
		ssize_t got;
		double forks = 0;

		close(p[1]);
		got = read(p[0], buf, sizeof(buf) - 1);
		close(p[0]);
		buf[got > 0 ? got : 0] = '\0';
		sscanf(buf, "%lf %lf", &forks, faults);
		s->wall_s = forks / strtod(fork_secs, NULL); /* forks per second */
	}
}

int main(int argc, char **argv)
{
	const char *xr = getenv("XOS_RUN"), *shim = getenv("XOS_SHIM"), *r = getenv("BENCH_ROUNDS");
	const char *smb = getenv("BENCH_STREAM_MB"), *tmb = getenv("BENCH_TEXT_MB");
	const char *fs = getenv("BENCH_FORK_SECONDS"), *sp = getenv("BENCH_SPAWNS"), *pmb = getenv("BENCH_POOL_MB");
	const char *only = getenv("BENCH_CASES");
	bool have_python = access("/usr/bin/python3", X_OK) == 0;
	int rounds = r ? atoi(r) : 5;
	char load[128] = "?";
	static double wall[MAX_ROUNDS], cpu[MAX_ROUNDS], ceil_ratio[MAX_ROUNDS], of_ceil[MAX_ROUNDS];
	FILE *f;
	ssize_t n;

	if (argc == 3 && strcmp(argv[1], "--fork-loop") == 0)
		return fork_loop(strtod(argv[2], NULL));
	if (argc == 3 && strcmp(argv[1], "--spawn-loop") == 0)
		return spawn_loop(atol(argv[2]));
	if (!xr || !shim) {
		fprintf(stderr, "bench-pipelines: set XOS_RUN and XOS_SHIM (make bench-pipelines does)\n");
		return 2;
	}
	if (rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "bench-pipelines: BENCH_ROUNDS must be 1..%d\n", MAX_ROUNDS);
		return 2;
	}
	snprintf(xos_run, sizeof(xos_run), "%s", xr);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 1;
	self[n] = '\0';
	snprintf(fork_secs, sizeof(fork_secs), "%s", fs ? fs : "1");
	snprintf(spawns, sizeof(spawns), "%s", sp ? sp : "200");
	snprintf(script_cmd, sizeof(script_cmd), "i=0; while [ $i -lt %ld ]; do /bin/true; i=$((i + 1)); done",
		 atol(spawns));
	snprintf(subprocess_cmd, sizeof(subprocess_cmd),
		 "import subprocess\nfor _ in range(%ld): subprocess.run(['/bin/true'], check=True)\n",
		 atol(spawns) / 2);
	snprintf(late_cmd, sizeof(late_cmd),
		 "/usr/bin/python3 -c 'import os, subprocess, time\n"
		 "for _ in range(5000): r, w = os.pipe(); os.close(r); os.close(w)\n"
		 "t = time.perf_counter()\n"
		 "for _ in range(%ld): subprocess.run([\"/bin/true\"], check=True)\n"
		 "print(time.perf_counter() - t)' | cat",
		 atol(spawns) / 2);
	atexit(remove_inputs);
	if ((n = name_ceiling_file()) < 0) {
		fprintf(stderr, "bench-pipelines: cannot make a file in /dev/shm: %s\n", strerror((int)-n));
		return 1;
	}
	snprintf(stream_head, sizeof(stream_head), "head -c %lld /dev/zero", (long long)(smb ? atol(smb) : 1024) << 20);
	snprintf(stream_cmd, sizeof(stream_cmd), "%s | md5sum", stream_head);
	snprintf(count_cmd, sizeof(count_cmd), "%s | wc -c", stream_head);
	snprintf(count_ceiling_cmd, sizeof(count_ceiling_cmd), "%s > /dev/null", stream_head);
	snprintf(capture_cmd, sizeof(capture_cmd),
		 "import subprocess\nfor i in range(%ld):\n"
		 "    assert subprocess.run(['/bin/echo', str(i)], stdout=subprocess.PIPE, check=True).stdout == b'%%d\\n' %% i\n",
		 atol(spawns) / 2);
	snprintf(capture_stream_cmd, sizeof(capture_stream_cmd),
		 "import subprocess\n"
		 "p = subprocess.Popen(['head', '-c', '%lld', '/dev/zero'], stdout=subprocess.PIPE, bufsize=0)\n"
		 "b = memoryview(bytearray(1 << 20)); n = 0\n"
		 "while True:\n    k = p.stdout.readinto(b)\n    if not k: break\n    n += k\n"
		 "assert p.wait() == 0 and n == %lld\n",
		 (long long)(smb ? atol(smb) : 1024) << 20, (long long)(smb ? atol(smb) : 1024) << 20);

	/* The text: words from a linear congruential generator. */
	{
		int fd = mkstemp(text);
		long long want = (long long)(tmb ? atol(tmb) : 20) << 20, have = 0;
		unsigned x = 12345;

		if (fd < 0 || !(f = fdopen(fd, "w")))
			return 1;
		while (have < want) {
			x = x * 1103515245u + 12345u;
			have += fprintf(f, "word%u %u\n", (x >> 16) % 5000, x % 977);
		}
		fclose(f);
	}
	snprintf(text_cmd, sizeof(text_cmd), "tr a-z A-Z < %s | sort | uniq -c | sort -rn | head -n 3", text);
	/* The workers' results come back to the parent through the Pool's pipes. */
	snprintf(pool_cmd, sizeof(pool_cmd),
		 "import multiprocessing as m\n"
		 "def f(i):\n    return bytes([i & 255]) * (1 << 20)\n"
		 "if __name__ == '__main__':\n"
		 "    with m.Pool(2) as p:\n"
		 "        n = sum(len(r) for r in p.map(f, range(%ld), chunksize=1))\n"
		 "    assert n == %ld << 20\n",
		 pmb ? atol(pmb) : 100, pmb ? atol(pmb) : 100);
	snprintf(stream_ceiling_cmd, sizeof(stream_ceiling_cmd), "md5sum < %s", zero_file);

	struct bench_case cases[] = {
		{ "stream", { "/bin/sh", "-c", stream_cmd, NULL }, false, 1, false,
		  { "/bin/sh", "-c", stream_ceiling_cmd, NULL } },
		{ "count", { "/bin/sh", "-c", count_cmd, NULL }, false, 1, false, { "/bin/sh", "-c", count_ceiling_cmd, NULL } },
		{ "text5", { "/bin/sh", "-c", text_cmd, NULL }, false, 1 },
		{ "pool", { "/usr/bin/python3", "-c", pool_cmd, NULL }, false, 1 },
		{ "spawn", { self, "--spawn-loop", spawns, NULL }, false, 1 },
		{ "script", { "/bin/sh", "-c", script_cmd, NULL }, false, 1 },
		{ "subprocess", { "/usr/bin/python3", "-c", subprocess_cmd, NULL }, false, 1 },
		{ "subprocess_late", { "/bin/sh", "-c", late_cmd, NULL }, false, 1, true },
		{ "capture", { "/usr/bin/python3", "-c", capture_cmd, NULL }, false, 1 },
		{ "capture_stream", { "/usr/bin/python3", "-c", capture_stream_cmd, NULL }, false, 1 },
		{ "fork13", { self, "--fork-loop", fork_secs, NULL }, true, 1 },
		{ "true", { "/bin/true", NULL }, false, 5 },
	};

	if ((f = fopen("/proc/loadavg", "r"))) {
		if (fgets(load, sizeof(load), f))
			load[strcspn(load, "\n")] = '\0';
		fclose(f);
	}
	printf("bench-pipelines: %d rounds, native then --policy=perf in each, load average at start: %s\n", rounds,
	       load);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		double faults_n = 0, faults_p = 0, nat_wall = 0, per_wall = 0, ceil_wall = 0;
		int rc = 0;

		if (only && !has_word(only, cases[c].name))
			continue;
		if ((strcmp(cases[c].argv[0], "/usr/bin/python3") == 0 || cases[c].argv[2] == late_cmd) &&
		    !have_python) {
			printf("bench-pipelines: %s skipped: no /usr/bin/python3\n", cases[c].name);
			continue;
		}
		/* The ceiling's input, in memory (tmpfs) while the case runs. */
		if (cases[c].argv[2] == stream_cmd)
			rc = make_input(zero_file, stream_head);
		if (rc < 0) {
			fprintf(stderr, "bench-pipelines: %s: cannot make its ceiling's input in /dev/shm: %s\n",
				cases[c].name, strerror(-rc));
			return 1;
		}
		for (int i = 0; i < rounds; i++) {
			struct sample a, b, z;

			measure(&cases[c], NATIVE, &a, &faults_n);
			measure(&cases[c], PERF, &b, &faults_p);
			/* fork13's "wall" is a rate: perf/native either way. */
			wall[i] = b.wall_s / a.wall_s;
			cpu[i] = a.cpu_s > 0 ? b.cpu_s / a.cpu_s : 0;
			nat_wall += a.wall_s / rounds;
			per_wall += b.wall_s / rounds;
			if (cases[c].ceiling[0]) {
				measure(&cases[c], CEILING, &z, NULL);
				ceil_ratio[i] = a.wall_s / z.wall_s;
				of_ceil[i] = z.wall_s / b.wall_s;
				ceil_wall += z.wall_s / rounds;
			}
		}
		if (cases[c].rate) {
			printf("figure: %s_native = %.0f forks/s (%.2f faults/fork)\n", cases[c].name, nat_wall, faults_n);
			printf("figure: %s_perf = %.0f forks/s (%.2f faults/fork)\n", cases[c].name, per_wall, faults_p);
			printf("figure: %s_throughput_ratio = %.3f x (min %.3f, max %.3f; goal >= 0.95)\n", cases[c].name,
			       pick(wall, rounds, 0.5), pick(wall, rounds, 0), pick(wall, rounds, 1));
		} else {
			printf("figure: %s_native = %.4f s, perf = %.4f s (per round, mean)\n", cases[c].name, nat_wall,
			       per_wall);
			printf("figure: %s_speedup = %.3f x (native/perf wall; min %.3f, max %.3f)\n", cases[c].name,
			       1 / pick(wall, rounds, 0.5), 1 / pick(wall, rounds, 1), 1 / pick(wall, rounds, 0));
			printf("figure: %s_cpu_ratio = %.3f x (perf/native CPU time; min %.3f, max %.3f)\n",
			       cases[c].name, pick(cpu, rounds, 0.5), pick(cpu, rounds, 0), pick(cpu, rounds, 1));
			if (cases[c].ceiling[0]) {
				double ceil = pick(ceil_ratio, rounds, 0.5);

				printf("figure: %s_ceiling = %.3f x (native wall / the same work with no pipe, %.4f s: the most "
				       "any pipe can speed it up; min %.3f, max %.3f)\n",
				       cases[c].name, ceil, ceil_wall, pick(ceil_ratio, rounds, 0), pick(ceil_ratio, rounds, 1));
				printf("figure: %s_of_ceiling = %.3f x (ceiling wall / perf wall: 1 is as fast as no pipe at all; "
				       "min %.3f, max %.3f)\n",
				       cases[c].name, pick(of_ceil, rounds, 0.5), pick(of_ceil, rounds, 0), pick(of_ceil, rounds, 1));
			}
		}
		fflush(stdout);
		if (cases[c].argv[2] == stream_cmd)
			(void)truncate(zero_file, 0); /* its GiB of memory back; the name goes at exit */
	}
	if ((f = fopen("/proc/loadavg", "r"))) {
		if (fgets(load, sizeof(load), f))
			load[strcspn(load, "\n")] = '\0';
		fclose(f);
	}
	printf("bench-pipelines: load average at end: %s\n", load);
	return 0;
}
