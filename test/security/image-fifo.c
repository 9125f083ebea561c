/* SPDX-License-Identifier: MIT */
/*
 * Description: only regular files are read as images.  A FIFO given as
 * the image (no writer will ever come) must be refused at once by
 * xos_ef_restore(), xos_image_check() and `xos-run --restore`, never
 * block them in open(); so must a directory and /dev/zero.
 */
#include "image-forge.h"

#include <time.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* xos_image_check() in a child with a deadline. */
static int check_in_child(const char *path)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		char exe[4096];

		alarm(5);
		_exit(xos_image_check(path, exe, sizeof(exe)) < 0 ? 0 : 1);
	}
	waitpid(pid, &st, 0);
	if (WIFSIGNALED(st))
		t_fail("xos_image_check(%s): killed by signal %d (hung)", path, WTERMSIG(st));
	return WEXITSTATUS(st) == 0 ? -1 : 0;
}

int main(void)
{
	const char *xos_run = getenv("XOS_RUN");
	char dir[] = "/tmp/xos-fifo-XXXXXX", fifo[256], cmd[1024];
	const char *paths[3];
	double t0;
	int rc, st;

	if (!mkdtemp(dir))
		t_fail("mkdtemp");
	snprintf(fifo, sizeof(fifo), "%s/img", dir);
	if (mkfifo(fifo, 0600) < 0)
		t_fail("mkfifo: %s", strerror(errno));
	paths[0] = fifo, paths[1] = dir, paths[2] = "/dev/zero";
	for (int i = 0; i < 3; i++) {
		t0 = now();
		rc = t_restore_in_child(paths[i], 5);
		if (rc == 0)
			t_fail("%s restored as an image", paths[i]);
		if (now() - t0 > 2)
			t_fail("%s: refused only after %.1f s", paths[i], now() - t0);
		if (check_in_child(paths[i]) == 0)
			t_fail("xos_image_check accepted %s", paths[i]);
		printf("%s: %s\n", paths[i], xos_image_error(rc));
	}
	if (xos_run) {
		snprintf(cmd, sizeof(cmd), "timeout -s KILL 5 '%s' --restore '%s' /proc/%d/exe </dev/null >/dev/null 2>&1",
			 xos_run, fifo, (int)getpid());
		st = system(cmd);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 2)
			t_fail("xos-run --restore FIFO: status %d, want exit 2 at once", st);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? T_EXIT_PASS : T_EXIT_FAIL;
}
