/* SPDX-License-Identifier: MIT */
/*
 * Description: EFs die with their program.  A program makes a process EF,
 * a sandbox EF (outer, init and EF processes) and, from a thread EF that
 * then ends, another process EF; then it is SIGKILLed.  Within a second
 * none of the processes it made may remain: before, they all ran on,
 * reparented to PID 1 (here: to this test, a child subreaper).  Also
 * checked: the process EF made by the thread EF survives that thread's
 * end (the parent-death signal is tied to the forking thread).
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xos.h>

#define MAXP 64

static int report_fd = -1;

static int sleeper(void *arg)
{
	(void)arg;
	for (;;)
		sleep(1);
}

/* A process EF that says who it is, then sleeps. */
static int reporting_sleeper(void *arg)
{
	pid_t pid = getpid();

	(void)arg;
	if (write(report_fd, &pid, sizeof(pid)) != sizeof(pid))
		return 1;
	return sleeper(NULL);
}

static int make_ef(const char *icf, xos_ef_fn fn)
{
	struct xos_ef_attr attr;
	struct xos_ef *ef;
	int rc;

	xos_ef_attr_init(&attr);
	attr.icf = icf;
	rc = xos_ef_create(&ef, &attr, fn, NULL, 0);
	if (rc < 0)
		fprintf(stderr, "xos_ef_create(%s): %s\n", icf, strerror(-rc));
	return rc;
}

/* A thread EF that creates a process EF and ends at once. */
static int spawner(void *arg)
{
	(void)arg;
	return make_ef("process", reporting_sleeper) < 0;
}

static bool sandbox_available(void)
{
	struct xos_icf_info infos[16];
	int n = xos_icf_list(infos, 16);

	for (int i = 0; i < n && i < 16; i++)
		if (strcmp(infos[i].name, "sandbox") == 0)
			return infos[i].available;
	return false;
}

static _Noreturn void program(int ready_fd, bool with_sandbox)
{
	struct xos_ef_attr attr;
	struct xos_ef *t;
	struct xos_ef_exit ex;
	char c = 1;

	if (make_ef("process", sleeper) < 0 || (with_sandbox && make_ef("sandbox", sleeper) < 0))
		_exit(3);
	xos_ef_attr_init(&attr);
	attr.icf = "thread";
	if (xos_ef_create(&t, &attr, spawner, NULL, 0) < 0 || xos_ef_join(t, &ex) < 0 || ex.status)
		_exit(4);
	usleep(200 * 1000); /* its creator thread is gone: the process EF must live on */
	if (write(ready_fd, &c, 1) != 1)
		_exit(5);
	for (;;)
		pause();
}

static pid_t ppid_of(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p)
		return -1;
	return (pid_t)atoi(p + 4); /* ") S ppid" */
}

/* Every descendant of @root (by walking /proc until no new one appears). */
static int descendants(pid_t root, pid_t *out, int max)
{
	int n = 0, before;

	do {
		DIR *d = opendir("/proc");
		struct dirent *e;

		before = n;
		while (d && (e = readdir(d)) != NULL) {
			pid_t pid = (pid_t)atoi(e->d_name), pp;
			bool known = false, parent_in = false;

			if (pid <= 0)
				continue;
			for (int i = 0; i < n; i++)
				known |= out[i] == pid;
			if (known)
				continue;
			pp = ppid_of(pid);
			parent_in = pp == root;
			for (int i = 0; i < n && !parent_in; i++)
				parent_in = out[i] == pp;
			if (parent_in && n < max)
				out[n++] = pid;
		}
		if (d)
			closedir(d);
	} while (n != before);
	return n;
}

/* Gone: reaped here (we are their subreaper) or no such process. */
static bool gone(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	waitpid(pid, NULL, WNOHANG | __WALL);
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return true;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && (p[2] == 'Z' || p[2] == 'X');
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
	pid_t pids[MAXP], prog, nested = -1;
	int ready[2], rep[2], n, left = 0, failures = 0;
	bool with_sandbox;
	double t0;
	char c;

	setvbuf(stdout, NULL, _IONBF, 0);
	unsetenv("XOS_ICF");
	alarm(30);
	with_sandbox = sandbox_available();
	if (!with_sandbox)
		printf("# sandbox ICF unavailable here: process EFs only\n");
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0 || pipe(ready) < 0 || pipe(rep) < 0)
		return 99;
	prog = fork();
	if (prog < 0)
		return 99;
	if (prog == 0) {
		close(ready[0]);
		close(rep[0]);
		report_fd = rep[1];
		program(ready[1], with_sandbox);
	}
	close(ready[1]);
	close(rep[1]);
	if (read(ready[0], &c, 1) != 1) {
		printf("Bail out! the program failed to make its EFs\n");
		return 99;
	}
	if (read(rep[0], &nested, sizeof(nested)) != sizeof(nested))
		nested = -1;
	n = descendants(prog, pids, MAXP);
	printf("1..2\n# the program %d made %d processes:", (int)prog, n);
	for (int i = 0; i < n; i++)
		printf(" %d", (int)pids[i]);
	printf("\n");
	if (nested > 0 && !gone(nested) && n >= (with_sandbox ? 5 : 2)) {
		printf("ok 1 - a process EF outlives the thread EF that made it\n");
	} else {
		printf("not ok 1 - the process EF made by a thread EF (%d) is %s; %d processes\n",
		       (int)nested, nested > 0 && gone(nested) ? "gone" : "unknown", n);
		failures++;
	}

	kill(prog, SIGKILL);
	waitpid(prog, NULL, 0);
	t0 = now_s();
	do {
		left = 0;
		for (int i = 0; i < n; i++)
			left += !gone(pids[i]);
		if (left)
			usleep(10 * 1000);
	} while (left && now_s() - t0 < 1.0);
	if (left) {
		printf("not ok 2 - %d of the program's %d processes survived its SIGKILL by 1 s:", left, n);
		for (int i = 0; i < n; i++)
			if (!gone(pids[i]))
				printf(" %d", (int)pids[i]);
		printf("\n");
		failures++;
	} else {
		printf("ok 2 - all %d processes gone %.0f ms after the program's SIGKILL\n", n,
		       (now_s() - t0) * 1000);
	}
	/* Never leave them behind, whatever the verdict. */
	for (int i = 0; i < n; i++)
		kill(pids[i], SIGKILL);
	while (waitpid(-1, NULL, __WALL) > 0)
		;
	return failures ? 1 : 0;
}
