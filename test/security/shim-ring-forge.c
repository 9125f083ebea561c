/* SPDX-License-Identifier: MIT */
/*
 * Description: a process of the run forges the shim's shared area under a
 * legacy program whose pipe is on a ring (xos-run --policy=perf).  The
 * program must never crash or copy outside the ring's slot: impossible
 * cursors (head far ahead of tail, tail ahead of head, tail moved back)
 * make its read or write fail with EIO, and a forged data offset is not
 * even looked at (the program reads its bytes intact).
 *
 * The forger knows the area's layout from src/shim/area.h and finds the
 * area by XOS_SHIM_AREA, as any process of the run can.  Without arguments
 * this program runs each attack under `$XOS_RUN --policy=perf`.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../shim-area-map.h"

#define BIG (96u << 20) /* more than the whole area: a copy this long leaves it */

static const char *const attacks[] = { "read-head", "write-tail", "rewind", "ring-off" };

/* In a separate process: rewrite the first live ring's pipe direction. */
static int forge(const char *how)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		struct shim_area *a = area_map();

		if (!a)
			_exit(3);
		for (int i = 0; i < SHIM_MAX_RING; i++) {
			struct shim_ring *r = &a->ring[i];
			struct shim_dir *D = &r->dir[0];
			uint64_t t = atomic_load(&D->tail);

			if (atomic_load(&r->mode) != SHIM_RING_LIVE)
				continue;
			if (!strcmp(how, "read-head"))
				atomic_store(&D->head, t + (1ull << 40));
			else if (!strcmp(how, "write-tail"))
				atomic_store(&D->tail, atomic_load(&D->head) + (1ull << 40));
			else if (!strcmp(how, "rewind"))
				atomic_store(&D->tail, t - 50);
			else
				a->ring_off = 1ull << 46;
			_exit(0);
		}
		_exit(4); /* no ring: the pipe was not upgraded */
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Under the shim: one attack; 0 when it was stopped. */
static int victim(const char *how)
{
	char msg[100], *big = malloc(BIG);
	int p[2], rc;
	ssize_t n;

	for (int i = 0; i < 100; i++)
		msg[i] = (char)i;
	if (!big || pipe(p) < 0 || write(p[1], msg, 100) != 100)
		return 10;
	if (!strcmp(how, "rewind") && read(p[0], big, 50) != 50)
		return 11;
	rc = forge(how);
	if (rc != 0) {
		fprintf(stderr, "forger failed (%d): %s\n", rc, rc == 4 ? "pipe not on a ring" : "no area");
		return 12;
	}
	if (!strcmp(how, "write-tail")) {
		memset(big, 'x', BIG);
		n = write(p[1], big, BIG);
	} else {
		n = read(p[0], big, BIG);
	}
	if (!strcmp(how, "ring-off")) {
		/* The offset is the build's, not the area's: the bytes arrive. */
		if (n != 100 || memcmp(big, msg, 100) != 0) {
			fprintf(stderr, "%s: read %zd, want the 100 bytes written\n", how, n);
			return 13;
		}
		return 0;
	}
	if (n != -1 || errno != EIO) {
		fprintf(stderr, "%s: got %zd (%s), want -1 EIO\n", how, n, n < 0 ? strerror(errno) : "no error");
		return 14;
	}
	/* Broken for good: the next use fails the same way, on both ends. */
	if (read(p[0], big, 10) != -1 || errno != EIO || write(p[1], msg, 1) != -1 || errno != EIO) {
		fprintf(stderr, "%s: the broken channel was used again\n", how);
		return 15;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *run = getenv("XOS_RUN"), *shim = getenv("XOS_SHIM");
	char self[4096];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int failed = 0;

	if (argc == 2)
		return getenv("XOS_SHIM_AREA") ? victim(argv[1]) : 99;
	if (!run || !shim || access(run, X_OK) != 0 || access(shim, R_OK) != 0) {
		printf("SKIP: XOS_RUN and XOS_SHIM must name xos-run and libxos-shim.so\n");
		return 77;
	}
	if (len <= 0)
		return 99;
	self[len] = '\0';
	for (size_t i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++) {
		pid_t pid = fork();
		int st;

		if (pid == 0) {
			alarm(20);
			execl(run, run, "--policy=perf", "--", self, attacks[i], (char *)NULL);
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, &st, 0) != pid)
			return 99;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			printf("ok - %s: stopped, no crash\n", attacks[i]);
		} else {
			printf("not ok - %s: %s %d\n", attacks[i], WIFSIGNALED(st) ? "killed by signal" : "exit",
			       WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
			failed++;
		}
	}
	return failed ? 1 : 0;
}
