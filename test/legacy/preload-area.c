// SPDX-License-Identifier: MIT
/*
 * The shim preloaded by hand (no xos-run, no XOS_SHIM_AREA) makes its
 * private area only when a ring needs it: under XOS_POLICY=perf at the
 * image's first pipe or socket, and never without that policy (nothing
 * would use or read it).  A command that makes no channel pays nothing for
 * an area; a pipe made later still goes on a ring and carries its bytes
 * to a fork child exactly.
 *
 * The area is a shared anonymous mapping of tens of GiB of address space
 * (reserved nowhere): /proc/self/maps shows it as "/dev/zero (deleted)".
 *
 * Without arguments: runs itself with LD_PRELOAD=$XOS_SHIM, once with
 * XOS_POLICY=perf and once without.  Exit 0: passed; 1: failed; 77: skipped.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "area.h"

#define BYTES (4u << 20)

static int fail(const char *mode, const char *what)
{
	fprintf(stderr, "preload-area (%s): %s\n", mode, what);
	return 1;
}

/* The shim's private area in this process, or NULL. */
static struct shim_area *area_mapped(void)
{
	char line[512];
	unsigned long lo, hi;
	struct shim_area *found = NULL;
	FILE *f = fopen("/proc/self/maps", "re");

	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && hi - lo >= (1ul << 30) &&
		    strstr(line, "/dev/zero"))
			found = (struct shim_area *)lo;
	fclose(f);
	return found;
}

/* Bytes the area says went through rings, over all its channels. */
static uint64_t ring_bytes(const struct shim_area *a)
{
	uint64_t sum = 0;

	for (uint32_t i = 0; i < a->nchan && i < SHIM_MAX_CHAN; i++)
		sum += a->chan[i].ring_bytes;
	return sum;
}

/* A fork child writes BYTES into a pipe; the parent reads them back. */
static int pipe_to_child(const char *mode)
{
	static char buf[65536];
	size_t got = 0;
	int p[2], st;
	pid_t pid;

	if (pipe(p) < 0)
		return fail(mode, "pipe");
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		for (size_t sent = 0; sent < BYTES;) {
			for (size_t i = 0; i < sizeof(buf); i++)
				buf[i] = (char)((sent + i) * 7);
			ssize_t n = write(p[1], buf, sizeof(buf));

			if (n <= 0)
				_exit(1);
			sent += (size_t)n;
		}
		_exit(0);
	}
	close(p[1]);
	for (ssize_t n; (n = read(p[0], buf, sizeof(buf))) > 0; got += (size_t)n)
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != (char)((got + (size_t)i) * 7))
				return fail(mode, "the child's bytes came back wrong");
	close(p[0]);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return fail(mode, "the writer failed");
	if (got != BYTES)
		return fail(mode, "bytes lost");
	return 0;
}

static int preloaded(const char *mode)
{
	bool perf = strcmp(mode, "perf") == 0;
	struct shim_area *a;

	if (area_mapped())
		return fail(mode, "an area before any channel was made");
	if (pipe_to_child(mode))
		return 1;
	a = area_mapped();
	if (!a != !perf)
		return fail(mode, perf ? "no area after a pipe under XOS_POLICY=perf" : "an area without XOS_POLICY=perf");
	if (a && ring_bytes(a) != BYTES)
		return fail(mode, "the pipe's bytes did not go through its ring");
	/* A second pipe uses the same area, shared with the fork child. */
	if (pipe_to_child(mode))
		return 1;
	if (area_mapped() != a || (a && ring_bytes(a) != 2 * BYTES))
		return fail(mode, "the second pipe did not use the same area's ring");
	return 0;
}

static int run(const char *self, const char *mode)
{
	const char *shim = getenv("XOS_SHIM");
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		setenv("LD_PRELOAD", shim, 1);
		unsetenv("XOS_SHIM_AREA");
		if (strcmp(mode, "perf") == 0)
			setenv("XOS_POLICY", "perf", 1);
		else
			unsetenv("XOS_POLICY");
		execl(self, self, "--preloaded", mode, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return 1;
	return WEXITSTATUS(st);
}

int main(int argc, char **argv)
{
	const char *shim = getenv("XOS_SHIM");

	if (argc == 3 && strcmp(argv[1], "--preloaded") == 0)
		return preloaded(argv[2]);
	if (!shim || access(shim, R_OK) != 0) {
		printf("SKIP: XOS_SHIM must name libxos-shim.so\n");
		return 77;
	}
	if (run(argv[0], "perf") || run(argv[0], "none"))
		return 1;
	printf("ok: a hand-preloaded shim makes its area at the first pipe under perf, never without\n");
	return 0;
}
