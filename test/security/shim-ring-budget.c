/* SPDX-License-Identifier: MIT */
/*
 * Description: the rings' memory budget, forged by a process of the run
 * (xos-run --policy=perf).  Lowered so that three socketpairs fit: the
 * first three go on rings, the next ones stay native, and all of them
 * carry their bytes; a ring that may not grow carries a 256 KiB stream in
 * its first 4 KiB.  Raised past the build's budget while the area says
 * that budget is spent: new socketpairs still stay native (the shim never
 * takes more than the build allows).
 *
 * Without arguments this program runs itself under `$XOS_RUN --policy=perf`.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../shim-area-map.h"

#define STREAM (256u << 10)

/* In another process of the run, as an attacker would. */
static int forge(uint64_t budget, uint64_t used)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		struct shim_area *a = area_map();

		if (!a)
			_exit(3);
		a->ring_budget = budget;
		if (used)
			atomic_store(&a->ring_used, used);
		_exit(0);
	}
	return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Is the newest channel of the area (socketpair end @fd's) on a ring? */
static int upgraded(const struct shim_area *a, int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		return -1;
	for (uint32_t i = atomic_load(&a->nchan); i-- > 0;)
		if (a->chan[i].ino[0] == (uint64_t)st.st_ino || a->chan[i].ino[1] == (uint64_t)st.st_ino)
			return (int)atomic_load(&a->chan[i].upgraded);
	return -1;
}

static void *drain(void *arg)
{
	static char buf[65536];
	size_t got = 0;
	ssize_t n;

	while (got < STREAM && (n = read(*(int *)arg, buf, sizeof(buf))) > 0)
		got += (size_t)n;
	return (void *)got;
}

static int pair_ok(int sv[2])
{
	char buf[100];

	return write(sv[0], "0123456789", 10) == 10 && read(sv[1], buf, sizeof(buf)) == 10 &&
	       !memcmp(buf, "0123456789", 10);
}

static int victim(void)
{
	const struct shim_area *a = area_map();
	int sv[6][2], want[6] = { 1, 1, 1, 0, 0, 0 }, failed = 0, big[2];
	static char buf[STREAM];
	pthread_t t;
	void *got;

	if (!a)
		return 10;
	/* Room for three more rings at their first size (two directions). */
	if (forge(atomic_load(&a->ring_used) + 3 * 2 * SHIM_RING_MIN, 0))
		return 11;
	for (int i = 0; i < 6; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]))
			return 12;
		if (upgraded(a, sv[i][0]) != want[i]) {
			printf("not ok - socketpair %d: upgraded %d, want %d\n", i, upgraded(a, sv[i][0]), want[i]);
			failed++;
		}
		if (!pair_ok(sv[i])) {
			printf("not ok - socketpair %d: bytes lost\n", i);
			failed++;
		}
	}
	if (!failed)
		printf("ok - three socketpairs on rings, three native past the budget, all carry bytes\n");
	/* The budget is spent: the first ring cannot grow, and still streams. */
	pthread_create(&t, NULL, drain, &sv[0][1]);
	memset(buf, 'x', sizeof(buf));
	if (write(sv[0][0], buf, sizeof(buf)) != (ssize_t)sizeof(buf) || pthread_join(t, &got) || (size_t)got != STREAM) {
		printf("not ok - a ring that may not grow lost bytes\n");
		failed++;
	} else {
		printf("ok - a ring held to its first size streams 256 KiB\n");
	}
	/* A budget above the build's is the build's. */
	if (forge(~0ull, SHIM_RING_BUDGET))
		return 13;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, big) || upgraded(a, big[0]) != 0 || !pair_ok(big)) {
		printf("not ok - a forged budget above the build's was taken\n");
		failed++;
	} else {
		printf("ok - a forged budget above the build's is not taken\n");
	}
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *run = getenv("XOS_RUN"), *shim = getenv("XOS_SHIM");
	char self[4096];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	pid_t pid;
	int st;

	if (argc == 2 && !strcmp(argv[1], "victim"))
		return getenv("XOS_SHIM_AREA") ? victim() : 99;
	if (!run || !shim || access(run, X_OK) != 0 || access(shim, R_OK) != 0) {
		printf("SKIP: XOS_RUN and XOS_SHIM must name xos-run and libxos-shim.so\n");
		return 77;
	}
	if (len <= 0)
		return 99;
	self[len] = '\0';
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		alarm(30);
		execl(run, run, "--policy=perf", "--", self, "victim", (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return 99;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
