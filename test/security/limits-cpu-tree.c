/* SPDX-License-Identifier: MIT */
/*
 * Attack: spend more CPU than sandbox.cpu by spreading it over processes
 * (RLIMIT_CPU counts each process alone).  The EF forks 4 children and
 * all 5 spin under sandbox.cpu=1.  Stopped: the whole tree is ended,
 * reported as killed by SIGXCPU, having used about 1 s of CPU in total.
 * Each spinner writes its own CPU time every 5 ms into its slot of a file
 * on a sandbox.rw path; their sum is what the tree used.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "limits-attack.h"

#define SPINNERS 5

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int burn(void *arg)
{
	const char *path = arg;
	double last = 0, now;
	int slot = 0, fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return 3;
	for (int i = 1; i < SPINNERS; i++)
		if (fork() == 0) {
			slot = i;
			break;
		}
	for (;;) {
		now = cpu_now();
		if (now - last >= 0.005) {
			if (pwrite(fd, &now, sizeof(now), slot * (off_t)sizeof(now)) != (ssize_t)sizeof(now))
				return 4;
			last = now;
		}
	}
	return 0;
}

int main(void)
{
	char dir[] = "/tmp/xos-cpu-tree.XXXXXX", path[64], opts[128];
	double slots[SPINNERS] = { 0 }, used = 0;
	struct xos_ef_exit ex;
	int fd;

	la_require_sandbox();
	if (!mkdtemp(dir))
		return perror("mkdtemp"), 1;
	snprintf(path, sizeof(path), "%s/cpu", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || pwrite(fd, slots, sizeof(slots), 0) != (ssize_t)sizeof(slots))
		return perror(path), 1;
	snprintf(opts, sizeof(opts), "sandbox.cpu=1,sandbox.rw=%s", dir);
	ex = la_run(opts, burn, path, strlen(path) + 1);
	if (pread(fd, slots, sizeof(slots), 0) != (ssize_t)sizeof(slots))
		return perror(path), 1;
	close(fd);
	unlink(path);
	rmdir(dir);
	for (int i = 0; i < SPINNERS; i++)
		used += slots[i];
	printf("# tree CPU time: %.3f s (%.2f %.2f %.2f %.2f %.2f), %s\n", used, slots[0], slots[1],
	       slots[2], slots[3], slots[4], la_how(ex));
	if (ex.how == XOS_EF_EXITED) {
		printf("FAIL: EF %s: the attack did not run\n", la_how(ex));
		return 1;
	}
	if (used > 1.3) {
		printf("FAIL: the tree used %.3f s of CPU under sandbox.cpu=1\n", used);
		return 1;
	}
	if (ex.how != XOS_EF_KILLED || ex.status != SIGXCPU) {
		printf("FAIL: EF %s, want killed by SIGXCPU\n", la_how(ex));
		return 1;
	}
	printf("ok: CPU spread over %d processes stopped at %.3f s in total\n", SPINNERS, used);
	return 0;
}
