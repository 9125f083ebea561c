/* SPDX-License-Identifier: MIT */
/*
 * The sandbox's wake operation: a request (mutate, dump, migrate) to a
 * sandboxed EF asleep on a pipe, unix or tcp end interrupts its sleep with
 * SIGURG, as the core does for the thread and process ICFs (runtime/wake.c).
 *
 * The core names those hosts' threads by the ids their hosts write in the
 * EF's control page; a sandboxed EF can write that page too, and its own
 * pid namespace gives it ids the creator cannot name anyway.  So the
 * creator finds the EF's process itself, from what only it holds: a pidfd
 * of the outer process, taken right after its fork (its child, not yet
 * waited for: the pid can be no other process's); the init is the outer's
 * only child; the EF is the init's first child.  Each step opens a pidfd,
 * then checks the parentage again and that the parent still lives (its
 * /proc entry was its own), so a pid that ended and was reused meanwhile
 * is never signalled: whatever is found is a process of this sandbox.  The
 * EF's pidfd is kept for the next wake (it names the process, never a
 * reuse of its pid).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "wake_ef.h"

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int pidfd_signal(int pidfd, int sig)
{
	return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

/* The children of @pid's main thread, as /proc lists them (oldest first): how many, up to @max. */
static int children(pid_t pid, pid_t *out, int max)
{
	char path[64], buf[256], *p, *end;
	ssize_t n;
	int fd, k = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = '\0';
	for (p = buf; k < max; p = end) {
		long v = strtol(p, &end, 10);

		if (end == p || v <= 0)
			break;
		out[k++] = (pid_t)v;
	}
	return k;
}

static bool is_child(pid_t parent, pid_t child)
{
	pid_t kids[16];
	int n = children(parent, kids, 16);

	for (int i = 0; i < n; i++)
		if (kids[i] == child)
			return true;
	return false;
}

/*
 * A pidfd for the first child of @parent, checked to be that child after
 * it was opened, with @parent (@parent_fd, its pidfd) found alive after
 * the check.
 */
static int open_first_child(pid_t parent, int parent_fd, pid_t *ret_pid)
{
	pid_t kid;
	int fd;

	if (children(parent, &kid, 1) != 1)
		return -ESRCH;
	fd = pidfd_open_(kid);
	if (fd < 0)
		return -errno;
	/* Still its child, and the parent still alive (its /proc entry was its own). */
	if (!is_child(parent, kid) || pidfd_signal(parent_fd, 0) < 0) {
		close(fd);
		return -ESRCH;
	}
	*ret_pid = kid;
	return fd;
}

static int find(int outer_fd, pid_t outer, bool nested)
{
	pid_t init, ef;
	int init_fd, ef_fd;

	/* The EF's own process (a sandbox made inside a sandbox: not bound today, see sandbox_start). */
	if (nested) {
		int fd = fcntl(outer_fd, F_DUPFD_CLOEXEC, 0);

		return fd < 0 ? -errno : fd;
	}
	init_fd = open_first_child(outer, outer_fd, &init);
	if (init_fd < 0)
		return init_fd;
	ef_fd = open_first_child(init, init_fd, &ef);
	close(init_fd);
	return ef_fd;
}

void sbx_wake_init(struct sbx_wake *w)
{
	w->outer_fd = -1;
	w->pidfd = -1;
	w->gone = false;
}

void sbx_wake_bind(struct sbx_wake *w, pid_t outer)
{
	w->outer_fd = pidfd_open_(outer); /* -1 (no pidfd here): never woken, as before */
}

int sbx_wake(struct sbx_wake *w, pid_t outer, bool nested)
{
	if (w->gone || w->outer_fd < 0)
		return -ESRCH;
	if (w->pidfd < 0) {
		int fd = find(w->outer_fd, outer, nested);

		if (fd < 0) {
			/* No EF process yet (still setting up) is worth another look next time. */
			w->gone = fd != -ESRCH;
			return fd;
		}
		w->pidfd = fd;
	}
	return pidfd_signal(w->pidfd, SIGURG);
}

void sbx_wake_release(struct sbx_wake *w)
{
	if (w->pidfd >= 0)
		close(w->pidfd);
	if (w->outer_fd >= 0)
		close(w->outer_fd);
	w->pidfd = w->outer_fd = -1;
}
