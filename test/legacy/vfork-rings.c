// SPDX-License-Identifier: MIT
/*
 * A pipe a vfork child copies onto its stdin or stdout stays on its ring
 * through the child's exec, as Python's subprocess and dash start every
 * command, and every byte and every ring hold is accounted for.
 *
 *   1. vfork, dup2 the pipe onto 1, close both ends, exec /bin/echo: the
 *      parent reads the line through the ring (its bytes counted on the
 *      ring, the channel never moved back).
 *   2. The same with a write through the copy before the exec, and the
 *      parent closing its end the moment it wakes: the child's bytes come
 *      first, then echo's, none lost.
 *   3. A failed exec that got as far as holding the ring for the image
 *      (an argument too long for the kernel: E2BIG), then a second try
 *      that runs: the ring is held once, by the image, and once every fd
 *      is closed nobody holds it.
 *   4. An exec with LD_PRELOAD gone from the environment (an image the
 *      shim does not reach): the pipe goes back to the kernel first,
 *      "exec from a vfork child", and the line still arrives.
 *   5. The child reads: a pipe the parent filled, dup2'ed onto 0 for
 *      /bin/cat, the parent closing both ends at once.
 *
 * On the build before (a vfork child's copy moved the ring back at once)
 * 1, 2, 3 and 5 fail: the channel was moved back, "copied by a vfork
 * child".  Without arguments: runs itself under $XOS_RUN --policy=perf.
 * Exit 0: passed; 1: failed; 77: skipped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ring-checks.h"
#include "self-under-shim.h"

#define PROG "vfork-rings"

extern char **environ;

static struct shim_area *area;

static int fail(const char *what)
{
	fprintf(stderr, PROG ": %s\n", what);
	return 1;
}

/* 1 and 2: echo's output (after @pre, written by the vfork child through
 * its copy) through the ring. */
static int echo_through(const char *name, const char *pre)
{
	const char *line = "hello from echo\n";
	char want[128], buf[128];
	struct shim_chan *c;
	int p[2];
	pid_t pid;

	if (pipe(p) < 0 || !(c = pipe_chan(area, p[0])))
		return fail("pipe");
	pid = vfork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		if (pre && write(1, pre, strlen(pre)) != (ssize_t)strlen(pre))
			_exit(126);
		execl("/bin/echo", "echo", "hello from echo", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	read_all(p[0], buf, sizeof(buf));
	close(p[0]);
	if (pid < 0 || !reaped_ok(pid))
		return fail("echo failed");
	snprintf(want, sizeof(want), "%s%s", pre ? pre : "", line);
	if (strcmp(buf, want)) {
		fprintf(stderr, "vfork-rings: %s: read \"%s\", not \"%s\"\n", name, buf, want);
		return 1;
	}
	return stayed_on_ring(PROG, name, c, strlen(want));
}

/* 3: a failed exec after the ring was held for its image, then one that runs. */
static int failed_then_ran(void)
{
	char buf[128];
	struct shim_chan *c;
	struct shim_ring *r;
	int p[2];
	pid_t pid;

	/* An argument longer than the kernel takes (MAX_ARG_STRLEN, 128 KiB):
	 * the exec fails with E2BIG once everything before it was done. */
	char *huge = malloc(200 * 1024);

	if (!huge)
		return fail("malloc");
	memset(huge, 'x', 200 * 1024 - 1);
	huge[200 * 1024 - 1] = '\0';
	if (pipe(p) < 0 || !(c = pipe_chan(area, p[0])) || c->ring < 0)
		return fail("pipe on a ring");
	r = &area->ring[c->ring];
	pid = vfork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		if (execl("/bin/echo", "echo", huge, (char *)NULL) < 0 && errno != E2BIG)
			_exit(126);
		execl("/bin/echo", "echo", "second try", (char *)NULL);
		_exit(127);
	}
	free(huge);
	close(p[1]);
	read_all(p[0], buf, sizeof(buf));
	if (pid < 0 || !reaped_ok(pid) || strcmp(buf, "second try\n"))
		return fail("the second try did not run");
	if (stayed_on_ring(PROG, "failed exec, then one that ran", c, 11))
		return 1;
	/* The read end, ours, is the ring's only holder now. */
	if (atomic_load(&r->holders) != 1 || atomic_load(&r->ends[1]) != 0) {
		fprintf(stderr, "vfork-rings: after the image ended, %d holders (%d writers), not 1 (0)\n",
			atomic_load(&r->holders), atomic_load(&r->ends[1]));
		return 1;
	}
	close(p[0]);
	if (atomic_load(&r->holders) != 0)
		return fail("the ring is still held after every fd was closed");
	return 0;
}

/* 4: the image will not load the shim: the ring goes back first. */
static int unmanaged_image(void)
{
	char buf[128], *env[] = { "PATH=/usr/bin:/bin", NULL };
	struct shim_chan *c;
	int p[2];
	pid_t pid;

	if (pipe(p) < 0 || !(c = pipe_chan(area, p[0])))
		return fail("pipe");
	pid = vfork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execle("/bin/echo", "echo", "unmanaged", (char *)NULL, env);
		_exit(127);
	}
	close(p[1]);
	read_all(p[0], buf, sizeof(buf));
	close(p[0]);
	if (pid < 0 || !reaped_ok(pid) || strcmp(buf, "unmanaged\n"))
		return fail("the unmanaged echo's line did not arrive");
	return moved_back(PROG, "a pipe an unmanaged image inherited", c, "exec from a vfork child");
}

/* 5: cat reads what the parent wrote, the parent closing both ends at once. */
static int cat_reads(void)
{
	const char *text = "bytes written before the vfork\n";
	char buf[128];
	struct shim_chan *c;
	int p[2], out[2];
	pid_t pid;

	if (pipe(p) < 0 || pipe(out) < 0 || !(c = pipe_chan(area, p[0])))
		return fail("pipe");
	if (write(p[1], text, strlen(text)) != (ssize_t)strlen(text))
		return fail("write");
	pid = vfork();
	if (pid == 0) {
		dup2(p[0], 0);
		dup2(out[1], 1);
		close(p[0]);
		close(p[1]);
		close(out[0]);
		close(out[1]);
		execl("/bin/cat", "cat", (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	close(p[1]);
	close(out[1]);
	read_all(out[0], buf, sizeof(buf));
	close(out[0]);
	if (pid < 0 || !reaped_ok(pid) || strcmp(buf, text))
		return fail("cat did not give back what it was given");
	return stayed_on_ring(PROG, "cat's stdin", c, strlen(text));
}

static int under_shim(void)
{
	area = area_map();
	if (!area)
		return fail("no shim area (XOS_SHIM_AREA)");
	if (echo_through("echo's stdout", NULL) || echo_through("a write through the copy, then echo's", "first ") ||
	    failed_then_ran() || unmanaged_image() || cat_reads())
		return 1;
	printf("ok: rings kept through a vfork child's exec (stdout, stdin, a failed try), moved back for an unmanaged image\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--under-shim"))
		return under_shim();
	return self_under_shim(NULL);
}
