/* SPDX-License-Identifier: MIT */
/*
 * Attack: widen a descriptor's access by re-opening it through /proc.  The
 * creator gives the sandboxed EF (sandbox.fds) read-only descriptors of
 * host files on a writable host mount: one mode 0444, one mode 0644 (root
 * owns it, so uid 0 may write it by its mode bits), and a directory.
 * /proc/self/fd/N leads to the host's file, not through the sandbox's
 * read-only view.  The EF must not re-open either file for writing,
 * appending or truncation, nor create a file through the directory's
 * descriptor; runc-style, it must not open /proc/self/exe (the creator's
 * binary) for writing either.  A descriptor given for writing may still be
 * re-opened for writing: the limit is the original access mode.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "priv-helpers.h"

struct given {
	int ro444, ro644, dir, wo; /* the descriptors, as numbered in the EF */
};

static int reopen_through(int fd, int flags, const char *what)
{
	char path[64];
	int r;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	r = open(path, flags | O_CLOEXEC);
	if (r < 0)
		return 0;
	if (flags & O_APPEND)
		(void)!write(r, "X", 1);
	close(r);
	t_say("  EF re-opened %s\n", what);
	return 1;
}

static int attacker(void *arg)
{
	const struct given *g = arg;
	int through = 0, fd;

	through |= reopen_through(g->ro444, O_WRONLY | O_APPEND, "a 0444 read-only fd for appending") << 0;
	through |= reopen_through(g->ro444, O_RDWR, "a 0444 read-only fd read-write") << 0;
	through |= reopen_through(g->ro644, O_WRONLY | O_APPEND, "a 0644 read-only fd for appending") << 1;
	through |= reopen_through(g->ro644, O_WRONLY | O_TRUNC, "a 0644 read-only fd, truncating") << 1;
	fd = openat(g->dir, "created", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0) {
		t_say("  EF created a file through a read-only directory fd\n");
		close(fd);
		through |= 4;
	}
	fd = open("/proc/self/exe", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		t_say("  EF opened /proc/self/exe for writing\n");
		close(fd);
		through |= 8;
	}
	/* The control: given for writing, it stays writable. */
	if (!reopen_through(g->wo, O_WRONLY | O_APPEND, "(control) a write-only fd for appending")) {
		t_say("  EF could not re-open its write-only fd for writing: %s\n", strerror(errno));
		through |= 16;
	}
	return through;
}

static int make_file(const char *dir, const char *name, mode_t mode, int flags)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, "host\n", 5) != 5 || fchmod(fd, mode) < 0)
		return -1;
	close(fd);
	return open(path, flags | O_CLOEXEC);
}

static long size_of(const char *dir, const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) < 0 ? -1 : (long)st.st_size;
}

int main(void)
{
	char dir[] = "sandbox-reopen.XXXXXX", options[128], path[600];
	struct given g;
	int failed;

	t_sandbox_require();
	/* In the current directory: a host file system, writable outside the sandbox. */
	if (!mkdtemp(dir)) {
		printf("not ok: mkdtemp: %s\n", strerror(errno));
		return T_FAIL;
	}
	g.ro444 = make_file(dir, "ro444", 0444, O_RDONLY);
	g.ro644 = make_file(dir, "ro644", 0644, O_RDONLY);
	g.wo = make_file(dir, "wo", 0644, O_WRONLY);
	g.dir = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (g.ro444 < 0 || g.ro644 < 0 || g.wo < 0 || g.dir < 0) {
		printf("not ok: setting up: %s\n", strerror(errno));
		return T_FAIL;
	}
	snprintf(options, sizeof(options), "sandbox.fds=%d:%d:%d:%d", g.ro444, g.ro644, g.dir, g.wo);

	failed = t_expect_stopped("re-opening descriptors for more access through /proc",
				  t_sandbox_run(options, attacker, &g, sizeof(g)));
	if (size_of(dir, "ro444") != 5 || size_of(dir, "ro644") != 5 || size_of(dir, "created") != -1) {
		printf("not ok: the host files changed\n");
		failed = 1;
	}
	for (const char *const *n = (const char *const[]){ "ro444", "ro644", "wo", "created", NULL }; *n; n++) {
		snprintf(path, sizeof(path), "%s/%s", dir, *n);
		unlink(path);
	}
	rmdir(dir);
	return failed ? T_FAIL : T_PASS;
}
