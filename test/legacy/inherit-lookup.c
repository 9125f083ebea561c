// SPDX-License-Identifier: MIT
/*
 * An image started by exec finds the channels it inherited without reading
 * the run's whole channel table, still finds every one of them, and pays
 * nothing for one whose ring was moved back to the kernel before.
 *
 * Each image that inherits a pipe or a socket (a command in a pipeline, any
 * child whose output a build tool reads) asks the area which channel that
 * kernel object is.  The answer came from a search of the channel table,
 * whose pages are fresh in each image: a page fault per ~25 channels the
 * run had ever made, so every command of a long build or a Python loop got
 * slower as the run went on (0.3 ms more per 1,000 channels here).
 *
 *   1. /bin/true inheriting a pipe the run never recorded: its page faults
 *      with 12,000 channels made since stay within 20 of the first run's
 *      (+37 with the search: the table is mapped 16 pages at a fault).
 *   2. A recorded pipe inherited by /bin/echo: its bytes are counted on
 *      that channel (the child found it), also once the index is full
 *      (socket pairs made until it is) and the search is the fallback.
 *   3. /bin/true started by a vfork child with stdout a pipe whose ring
 *      went back to the kernel when an earlier vfork child exec'd a
 *      program without the shim (no LD_PRELOAD): no more page faults
 *      than with stdout /dev/null, give or take one (+4 when each image
 *      still served stdio for the moved-back ring).  The measured children
 *      run without address randomization: with it, where the stack and the
 *      libraries fall moves the count by +-2 between runs.
 *
 * Without arguments: runs itself under $XOS_RUN --policy=perf.
 * Exit 0: passed; 1: failed; 77: skipped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ring-checks.h"
#include "self-under-shim.h"

extern char **environ;

#define MANY 12000

static int fail(const char *what)
{
	fprintf(stderr, "inherit-lookup: %s\n", what);
	return 1;
}

/* Run @argv with @fd as its stdout, started by a fork child or (@by_vfork)
 * a vfork child, as dash and python3 start commands: its minor page
 * faults, or -1. */
static long run_with_stdout(int fd, char *const argv[], bool by_vfork, char *const envp[])
{
	char *const *volatile env = envp ? envp : environ;
	struct rusage ru;
	int st;
	pid_t pid = by_vfork ? vfork() : fork();

	if (pid == 0) {
		/* The same layout every run: faults then differ by what the
		 * shim does, not by where the stack and the libraries fell. */
		personality(ADDR_NO_RANDOMIZE);
		if (dup2(fd, 1) < 0)
			_exit(126);
		execve(argv[0], argv, env);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &st, 0, &ru) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	return ru.ru_minflt;
}

/* The fewest faults of /bin/true over five runs with @fd as stdout. */
static long true_faults(int fd, bool by_vfork)
{
	char *argv[] = { "/bin/true", NULL };
	long best = -1;

	for (int i = 0; i < 5; i++) {
		long f = run_with_stdout(fd, argv, by_vfork, NULL);

		if (f < 0)
			return -1;
		if (best < 0 || f < best)
			best = f;
	}
	return best;
}

/* 3: commands on a pipe moved back to the kernel cost what /dev/null does. */
static int moved_back_stdout(long *on_null, long *on_pipe)
{
	int p[2], nul = open("/dev/null", O_WRONLY | O_CLOEXEC);
	char *argv[] = { "/bin/true", NULL }, *no_shim[] = { "PATH=/usr/bin:/bin", NULL };

	if (nul < 0 || pipe(p) < 0)
		return fail("setup");
	/* An image the shim does not reach inherits it: it moves back. */
	if (run_with_stdout(p[1], argv, true, no_shim) < 0 || (*on_null = true_faults(nul, true)) < 0 ||
	    (*on_pipe = true_faults(p[1], true)) < 0)
		return fail("/bin/true from a vfork child");
	close(nul);
	close(p[0]);
	close(p[1]);
	if (*on_pipe > *on_null + 1) {
		fprintf(stderr, "inherit-lookup: /bin/true on a pipe moved back took %ld page faults, %ld on /dev/null\n",
			*on_pipe, *on_null);
		return 1;
	}
	return 0;
}

/* /bin/echo writes into a recorded pipe it inherited: are its bytes counted? */
static int echo_counted(struct shim_area *a, const char *when)
{
	char *argv[] = { "/bin/echo", "inherited", NULL };
	char buf[64], msg[160];
	struct shim_chan *c;
	uint64_t before;
	ssize_t n;
	int p[2];

	if (pipe(p) < 0)
		return fail("pipe");
	if (!(c = pipe_chan(a, p[0]))) {
		snprintf(msg, sizeof(msg), "%s: a pipe made under the shim is not recorded", when);
		return fail(msg);
	}
	before = atomic_load(&c->bytes_out) + atomic_load(&c->ring_bytes);
	if (run_with_stdout(p[1], argv, false, NULL) < 0)
		return fail("echo");
	close(p[1]);
	n = read(p[0], buf, sizeof(buf));
	close(p[0]);
	if (n != 10 || memcmp(buf, "inherited\n", 10) != 0) {
		snprintf(msg, sizeof(msg), "%s: read %zd bytes, not echo's line", when, n);
		return fail(msg);
	}
	if (atomic_load(&c->bytes_out) + atomic_load(&c->ring_bytes) - before != 10) {
		snprintf(msg, sizeof(msg), "%s: the child did not find the channel it inherited (%llu bytes counted, not 10)",
			 when, (unsigned long long)(atomic_load(&c->bytes_out) + atomic_load(&c->ring_bytes) - before));
		return fail(msg);
	}
	return 0;
}

static int under_shim(void)
{
	struct shim_area *a = area_map();
	long f0, f1, on_null, on_pipe;
	int raw[2], made = 0;

	if (!a)
		return fail("no shim area (XOS_SHIM_AREA)");
	/* A pipe the shim never saw, as a terminal's or a parent's would be. */
	if (moved_back_stdout(&on_null, &on_pipe))
		return 1;
	if (syscall(SYS_pipe2, raw, O_CLOEXEC) < 0)
		return fail("raw pipe");
	if ((f0 = true_faults(raw[1], false)) < 0)
		return fail("/bin/true");
	for (int i = 0; i < MANY; i++) {
		int p[2];

		if (pipe(p) < 0)
			return fail("pipe");
		close(p[0]);
		close(p[1]);
	}
	if ((f1 = true_faults(raw[1], false)) < 0)
		return fail("/bin/true");
	/* The table of 12,000 more channels is ~470 pages. */
	if (f1 - f0 > 20) {
		fprintf(stderr, "inherit-lookup: /bin/true took %ld page faults with %d more channels in the run, %ld before\n",
			f1, MANY, f0);
		return 1;
	}
	if (echo_counted(a, "indexed"))
		return 1;
	/* Fill the index: socket pairs (two keys each) until keys are left out. */
	while (!atomic_load(&a->ino_full) && made < SHIM_MAX_CHAN) {
		int s[2];

		if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) < 0)
			return fail("socketpair");
		close(s[0]);
		close(s[1]);
		made++;
	}
	if (!atomic_load(&a->ino_full))
		return fail("the index never filled");
	if (echo_counted(a, "index full"))
		return 1;
	printf("ok: /bin/true %ld page faults, %ld with %d more channels; inherited channels found, indexed and not; "
	       "%ld on a pipe moved back, %ld on /dev/null\n", f0, f1, MANY, on_pipe, on_null);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--under-shim"))
		return under_shim();
	return self_under_shim(NULL);
}
