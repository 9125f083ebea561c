/* SPDX-License-Identifier: MIT */
/*
 * Description: a pipe on a ring holds what the kernel pipe holds, no more.
 * A legacy program measures its pipes natively and under
 * `xos-run --policy=perf` (its pipes on rings) and must see the same
 * numbers: how many bytes a blocking writer puts in before it blocks (for
 * several write sizes, the kernel counting page buffers), where an
 * O_NONBLOCK writer gets EAGAIN after the pipe was partly filled and read,
 * F_GETPIPE_SZ after F_SETPIPE_SZ, the smaller capacity then, EBUSY when
 * shrinking below what is unread, and a size beyond the ring's.
 * (Before: the ring took 512 KiB whatever the pipe's size.)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char buf[1 << 20];

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static char proc_state(pid_t pid)
{
	char path[64], line[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return '?';
	p = fgets(line, sizeof(line), f) ? strrchr(line, ')') : NULL;
	fclose(f);
	return p && p[1] ? p[2] : '?';
}

/* Bytes a blocking writer of @chunk-byte writes puts into pipe @p (sized
 * @size if > 0, after @pre bytes were written and @eaten read) before it
 * blocks: a child writes, the parent watches its count settle while the
 * child sleeps. */
static long blocking_capacity(size_t chunk, int size)
{
	volatile long *count = mmap(NULL, sizeof(long), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int p[2];
	long last = -1, result;
	int stable = 0;
	pid_t pid;

	if (count == MAP_FAILED || pipe(p) < 0)
		exit(99);
	if (size > 0 && fcntl(p[1], F_SETPIPE_SZ, size) < 0)
		exit(98);
	*count = 0;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		for (;;) {
			ssize_t n = write(p[1], buf, chunk);

			if (n <= 0)
				_exit(1);
			*count += n;
		}
	}
	for (int i = 0; i < 400 && stable < 4; i++) {
		nap_ms(50);
		if (*count == last && proc_state(pid) == 'S')
			stable++;
		else
			stable = 0;
		last = *count;
	}
	result = *count;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(p[0]);
	close(p[1]);
	munmap((void *)count, sizeof(long));
	return result;
}

/* Where an O_NONBLOCK writer of @chunk bytes stops after @pre bytes were
 * written blocking and @eaten read back. */
static long nonblock_after(size_t pre, size_t eaten, size_t chunk)
{
	int p[2];
	long total = 0;

	if (pipe(p) < 0)
		exit(99);
	for (size_t done = 0; done < pre; done += chunk)
		if (write(p[1], buf, chunk) != (ssize_t)chunk)
			exit(97);
	if (eaten && read(p[0], buf + (1 << 19), eaten) != (ssize_t)eaten)
		exit(96);
	total = (long)pre;
	if (fcntl(p[1], F_SETFL, fcntl(p[1], F_GETFL) | O_NONBLOCK) < 0)
		exit(95);
	for (;;) {
		ssize_t n = write(p[1], buf, chunk);

		if (n < 0) {
			if (errno != EAGAIN)
				exit(94);
			break;
		}
		total += n;
	}
	close(p[0]);
	close(p[1]);
	return total;
}

/* F_SETPIPE_SZ to @size once @pre bytes are unread: its answer or -errno. */
static long resize_with(size_t pre, int size)
{
	int p[2];
	long rc;

	if (pipe(p) < 0)
		exit(99);
	for (size_t done = 0; done < pre; done += 100)
		if (write(p[1], buf, 100) != 100)
			exit(93);
	rc = fcntl(p[1], F_SETPIPE_SZ, size);
	rc = rc < 0 ? -errno : fcntl(p[0], F_GETPIPE_SZ);
	close(p[0]);
	close(p[1]);
	return rc;
}

static void measure(void)
{
	static const size_t chunks[] = { 4096, 100, 5000, 1 };

	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++)
		printf("blocking writer, %zu-byte writes: %ld\n", chunks[i], blocking_capacity(chunks[i], 0));
	printf("O_NONBLOCK after 10000 written, 150 read, 100-byte writes: %ld\n", nonblock_after(10000, 150, 100));
	printf("O_NONBLOCK after 20000 written, 4096-byte writes: %ld\n", nonblock_after(20480, 0, 4096));
	printf("O_NONBLOCK after 3000 written, 1000 read, 3000-byte writes: %ld\n", nonblock_after(3000, 1000, 3000));
	printf("F_SETPIPE_SZ 16384, then F_GETPIPE_SZ: %ld\n", resize_with(0, 16384));
	printf("blocking writer after F_SETPIPE_SZ 16384, 4096-byte writes: %ld\n", blocking_capacity(4096, 16384));
	printf("blocking writer after F_SETPIPE_SZ 8192, 100-byte writes: %ld\n", blocking_capacity(100, 8192));
	printf("F_SETPIPE_SZ 4096 with 10000 unread: %ld\n", resize_with(10000, 4096));
	printf("F_SETPIPE_SZ 1 MiB, then F_GETPIPE_SZ: %ld\n", resize_with(1000, 1 << 20));
	printf("blocking writer after F_SETPIPE_SZ 1 MiB, 4096-byte writes: %ld\n", blocking_capacity(4096, 1 << 20));
	fflush(stdout);
}

/* Run @args, its standard output into @out; its exit status. */
static int run(char *const args[], char *out, size_t len)
{
	int p[2], st;
	size_t used = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		alarm(60);
		execv(args[0], args);
		_exit(127);
	}
	close(p[1]);
	while (used + 1 < len && (n = read(p[0], out + used, len - 1 - used)) > 0)
		used += (size_t)n;
	out[used] = '\0';
	close(p[0]);
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
	char *run_path = getenv("XOS_RUN"), *shim = getenv("XOS_SHIM");
	char self[4096], native[4096], managed[4096], stats[4096], stats_arg[4200], json[65536];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int st_native, st_managed, fd, failed = 0;
	char *nl_n, *nl_m, *p_n, *p_m;

	if (argc == 2 && !strcmp(argv[1], "measure")) {
		measure();
		return 0;
	}
	if (!run_path || !shim || access(run_path, X_OK) != 0 || access(shim, R_OK) != 0) {
		printf("SKIP: XOS_RUN and XOS_SHIM must name xos-run and libxos-shim.so\n");
		return 77;
	}
	if (len <= 0)
		return 99;
	self[len] = '\0';
	snprintf(stats, sizeof(stats), "/tmp/xos-pipe-capacity-%d.json", (int)getpid());
	snprintf(stats_arg, sizeof(stats_arg), "--stats=%s", stats);
	{
		char *nat[] = { self, "measure", NULL };
		char *man[] = { run_path, "--policy=perf", stats_arg, "--", self, "measure", NULL };

		st_native = run(nat, native, sizeof(native));
		st_managed = run(man, managed, sizeof(managed));
	}
	fd = open(stats, O_RDONLY);
	len = fd >= 0 ? read(fd, json, sizeof(json) - 1) : -1;
	json[len > 0 ? len : 0] = '\0';
	if (fd >= 0)
		close(fd);
	unlink(stats);
	if (st_native != 0 || st_managed != 0) {
		printf("not ok - exit status: native %d, under the shim %d\n", st_native, st_managed);
		return 1;
	}
	if (!strstr(json, "\"mechanism\": \"ring\"") && !strstr(json, "\"upgraded\": 1")) {
		printf("not ok - under --policy=perf no pipe went on a ring\n");
		failed++;
	}
	/* Line by line: each measure the same natively and on the ring. */
	for (p_n = native, p_m = managed; *p_n || *p_m; p_n = nl_n + 1, p_m = nl_m + 1) {
		nl_n = strchr(p_n, '\n');
		nl_m = strchr(p_m, '\n');
		if (!nl_n || !nl_m) {
			printf("not ok - output lengths differ\n");
			return 1;
		}
		*nl_n = *nl_m = '\0';
		if (!strcmp(p_n, p_m)) {
			printf("ok - %s\n", p_n);
		} else {
			printf("not ok - native \"%s\", under the shim \"%s\"\n", p_n, p_m);
			failed++;
		}
	}
	return failed ? 1 : 0;
}
