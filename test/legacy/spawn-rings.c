// SPDX-License-Identifier: MIT
/*
 * posix_spawn, as GNU make starts every recipe (adddup2 onto 0, 1 or 2):
 * the rings the spawned program inherits below fd 64 stay on their rings,
 * every hold taken for it is let go when it is reaped, and what the shim
 * cannot follow still moves back to the kernel first.
 *
 *   1. /bin/echo spawned with the pipe dup2'ed onto 1, the parent closing
 *      its end at once: the line through the ring, the channel never moved
 *      back; reaped, the ring has one holder (the parent's read end), and
 *      none once that is closed.
 *   2. /bin/cat spawned by posix_spawnp (PATH searched) between two pipes
 *      (stdin and stdout), the parent writing after the spawn: both on
 *      rings, every byte through them.
 *   3. A pipe made close-on-exec that the child is not given stays on its
 *      ring through the spawn (it moved back for every spawn before).
 *   4. A ring the child would get at fd 70: moved back first, "spawn with
 *      the fd beyond the first 64", and the bytes still arrive.
 *   5. More file actions than the shim keeps: it cannot tell the child's
 *      fds, so the pipe moves back ("spawn of another program"), no byte
 *      lost.
 *   6. A spawn that fails after the shim held the ring for it (E2BIG):
 *      the holds go.
 *
 * On the build before, 1, 2 and 3 fail (every ring moved back at every
 * spawn).  Without arguments: runs itself under $XOS_RUN --policy=perf.
 * Exit 0: passed; 1: failed; 77: skipped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ring-checks.h"
#include "self-under-shim.h"

#define PROG "spawn-rings"

extern char **environ;

static struct shim_area *area;

static int fail(const char *what)
{
	fprintf(stderr, PROG ": %s\n", what);
	return 1;
}

/* 1 */
static int echo_spawned(void)
{
	char *argv[] = { "echo", "hello from a spawn", NULL }, buf[128];
	posix_spawn_file_actions_t fa;
	struct shim_chan *c;
	struct shim_ring *r;
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0 || !(c = pipe_chan(area, p[0])) || c->ring < 0)
		return fail("pipe on a ring");
	r = &area->ring[c->ring];
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	if (posix_spawn(&pid, "/bin/echo", &fa, NULL, argv, environ))
		return fail("posix_spawn echo");
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	read_all(p[0], buf, sizeof(buf));
	if (strcmp(buf, "hello from a spawn\n"))
		return fail("echo's line did not arrive");
	if (!reaped_ok(pid) || stayed_on_ring(PROG, "echo's stdout", c, strlen(buf)))
		return 1;
	if (atomic_load(&r->holders) != 1) {
		fprintf(stderr, "spawn-rings: echo reaped, the ring has %d holders, not 1\n", atomic_load(&r->holders));
		return 1;
	}
	close(p[0]);
	if (atomic_load(&r->holders) != 0)
		return fail("the ring is still held after every fd was closed");
	return 0;
}

/* 2 */
static int cat_between(void)
{
	char *argv[] = { "cat", NULL }, buf[256];
	const char *text = "through cat's stdin and stdout\n";
	posix_spawn_file_actions_t fa;
	struct shim_chan *ci, *co;
	int in[2], out[2];
	pid_t pid;

	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || !(ci = pipe_chan(area, in[0])) || !(co = pipe_chan(area, out[0])))
		return fail("pipes");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	if (posix_spawnp(&pid, "cat", &fa, NULL, argv, environ))
		return fail("posix_spawnp cat");
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	if (write(in[1], text, strlen(text)) != (ssize_t)strlen(text))
		return fail("write");
	close(in[1]);
	read_all(out[0], buf, sizeof(buf));
	close(out[0]);
	if (strcmp(buf, text) || !reaped_ok(pid))
		return fail("cat did not give back what it was given");
	return stayed_on_ring(PROG, "cat's stdin", ci, strlen(text)) || stayed_on_ring(PROG, "cat's stdout", co, strlen(text));
}

/* 3, 4 */
static int kept_and_high(void)
{
	char *argv[] = { "sh", "-c", "echo high >/proc/self/fd/70", NULL }, buf[64];
	posix_spawn_file_actions_t fa;
	struct shim_chan *cq, *ch;
	int q[2], h[2];
	pid_t pid;

	if (pipe2(q, O_CLOEXEC) < 0 || pipe2(h, O_CLOEXEC) < 0 || !(cq = pipe_chan(area, q[0])) || !(ch = pipe_chan(area, h[0])))
		return fail("pipes");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, h[1], 70);
	if (posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ))
		return fail("posix_spawn sh");
	posix_spawn_file_actions_destroy(&fa);
	close(h[1]);
	read_all(h[0], buf, sizeof(buf));
	close(h[0]);
	if (strcmp(buf, "high\n") || !reaped_ok(pid))
		return fail("the line through fd 70 did not arrive");
	if (moved_back(PROG, "the pipe at fd 70", ch, "spawn with the fd beyond the first 64"))
		return 1;
	if (write(q[1], "q", 1) != 1 || read(q[0], buf, 1) != 1)
		return fail("the pipe the child was not given");
	close(q[0]);
	close(q[1]);
	return stayed_on_ring(PROG, "a close-on-exec pipe the child was not given", cq, 1);
}

/* 5 */
static int too_many_actions(void)
{
	char *argv[] = { "echo", "still here", NULL }, buf[64];
	posix_spawn_file_actions_t fa;
	struct shim_chan *c;
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0 || !(c = pipe_chan(area, p[0])))
		return fail("pipe");
	posix_spawn_file_actions_init(&fa);
	for (int i = 0; i < 40; i++)
		posix_spawn_file_actions_addclose(&fa, 200 + i);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	if (posix_spawn(&pid, "/bin/echo", &fa, NULL, argv, environ))
		return fail("posix_spawn with 41 actions");
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	read_all(p[0], buf, sizeof(buf));
	close(p[0]);
	if (strcmp(buf, "still here\n") || !reaped_ok(pid))
		return fail("the line did not arrive");
	return moved_back(PROG, "a spawn the shim could not follow", c, "spawn of another program");
}

/* 6 */
static int failed_spawn(void)
{
	char *argv[] = { "echo", NULL, NULL };
	posix_spawn_file_actions_t fa;
	struct shim_chan *c;
	struct shim_ring *r;
	int p[2], holders;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0 || !(c = pipe_chan(area, p[0])) || c->ring < 0)
		return fail("pipe on a ring");
	r = &area->ring[c->ring];
	holders = atomic_load(&r->holders);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	/* An argument longer than the kernel takes (MAX_ARG_STRLEN, 128 KiB):
	 * the spawn fails with E2BIG after the shim held the ring for it. */
	argv[1] = malloc(200 * 1024);
	if (!argv[1])
		return fail("malloc");
	memset(argv[1], 'x', 200 * 1024 - 1);
	argv[1][200 * 1024 - 1] = '\0';
	if (posix_spawn(&pid, "/bin/echo", &fa, NULL, argv, environ) == 0) {
		waitpid(pid, NULL, 0);
		return fail("a spawn with a 200 KiB argument succeeded");
	}
	free(argv[1]);
	posix_spawn_file_actions_destroy(&fa);
	if (atomic_load(&r->holders) != holders) {
		fprintf(stderr, "spawn-rings: after a failed spawn the ring has %d holders, %d before\n",
			atomic_load(&r->holders), holders);
		return 1;
	}
	close(p[0]);
	close(p[1]);
	return 0;
}

static int under_shim(void)
{
	area = area_map();
	if (!area)
		return fail("no shim area (XOS_SHIM_AREA)");
	if (echo_spawned() || cat_between() || kept_and_high() || too_many_actions() || failed_spawn())
		return 1;
	printf("ok: rings kept through posix_spawn (stdout, stdin, a pipe not given), moved back where the shim cannot follow\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--under-shim"))
		return under_shim();
	return self_under_shim(NULL);
}
