/* SPDX-License-Identifier: MIT */
/*
 * A vfork child's fds, and the rings its exec'd image keeps.
 *
 * A vfork child runs on its parent's memory, so the shim's fd table it sees
 * is the parent's, but its kernel fd table is its own copy: after
 * dup2(p[1], 1) its fd 1 is the pipe, while the table still says what the
 * parent's fd 1 is.  Python's subprocess and dash start every command this
 * way: dup2 the pipe onto 0, 1 or 2, close the rest, exec.
 *
 * The child's own numbers below SHIM_EXEC_KEEP_FDS that the table does not
 * describe are noted here: a copy of a ring fd reads as its source's entry
 * (so a write through it before the exec goes through the ring, in order),
 * a number it closed or reused reads as untracked.  At the exec, each ring
 * the new image inherits below SHIM_EXEC_KEEP_FDS is held for that image
 * and passed on through its record's held_fds, as a fork child's own holds
 * are: the parent may close its end the moment it wakes, and a ring nobody
 * holds is freed.  Until then the ring moved back to the kernel at the
 * child's first copy, and every later command of a Python program or a
 * shell script read its output through the kernel.
 *
 * The notes live in the parent's TLS (the vforking thread sleeps until the
 * child execs or exits) and are cleared by vfork before the child runs.
 * They are read only while shim_vforked is set.
 */
#include "config.h"

#include <fcntl.h>

#include "shim_i.h"

__thread struct shim_vfork_fds shim_vfork_fds __attribute__((tls_model("initial-exec")));
/* vfork's assembly (flows.c) zeroes these three. */
_Static_assert(offsetof(struct shim_vfork_fds, copied) == 0 && offsetof(struct shim_vfork_fds, gone) == 8 &&
		       offsetof(struct shim_vfork_fds, kept) == 16,
	       "the masks vfork clears");

static struct shim_fd *table_entry(int fd)
{
	return fd >= 0 && fd < SHIM_FD_MAX && shim.fd[fd].chan ? &shim.fd[fd] : NULL;
}

struct shim_fd *shim_vfork_entry(int fd)
{
	struct shim_vfork_fds *v = &shim_vfork_fds;

	if (fd >= 0 && fd < SHIM_EXEC_KEEP_FDS) {
		if (v->copied >> fd & 1)
			return table_entry(v->src[fd]);
		if (v->gone >> fd & 1)
			return NULL;
	}
	return table_entry(fd);
}

SHIM_FORK_PATH void shim_vfork_copied(int oldfd, int newfd)
{
	struct shim_vfork_fds *v = &shim_vfork_fds;
	struct shim_fd *f;
	uint64_t bit;

	if (newfd < 0 || oldfd == newfd)
		return;
	f = shim_vfork_entry(oldfd);
	if (newfd >= SHIM_EXEC_KEEP_FDS) {
		/* Not noted: its image could not keep the ring, and the
		 * child's writes through it would pass the ring's bytes. */
		if (shim_fd_on_live_ring(f)) {
			SHIM_ERRNO_SAVE;
			shim_ring_downgrade(oldfd, f, "copied by a vfork child", true);
			SHIM_ERRNO_RESTORE();
		}
		return;
	}
	bit = 1ull << newfd;
	if (shim_fd_on_live_ring(f)) {
		v->src[newfd] = (int32_t)(f - shim.fd);
		v->copied |= bit;
		v->gone &= ~bit;
	} else {
		v->copied &= ~bit;
		v->gone |= bit;
	}
}

SHIM_FORK_PATH void shim_vfork_closed(unsigned int first, unsigned int last)
{
	struct shim_vfork_fds *v = &shim_vfork_fds;

	for (unsigned int fd = first; fd <= last && fd < SHIM_EXEC_KEEP_FDS; fd++) {
		v->copied &= ~(1ull << fd);
		v->gone |= 1ull << fd;
	}
}

SHIM_FORK_PATH uint64_t shim_vfork_before_exec(bool keep_ok)
{
	struct shim_vfork_fds *v = &shim_vfork_fds;
	uint64_t keep = 0;

	v->kept = 0;
	for (int fd = 0; fd < shim.fd_hi || fd < SHIM_EXEC_KEEP_FDS; fd++) {
		struct shim_fd *f = fd < SHIM_EXEC_KEEP_FDS ? shim_vfork_entry(fd) : table_entry(fd);
		int fl;

		if (!shim_fd_on_live_ring(f) || !shim_fd_is(fd, f))
			continue;
		fl = REAL(fcntl)(fd, F_GETFD);
		/* Closed by the exec: this child's copy held nothing. */
		if (fl < 0 || (fl & FD_CLOEXEC))
			continue;
		if (keep_ok && fd < SHIM_EXEC_KEEP_FDS) {
			shim_ring_hold(f, 1);
			keep |= 1ull << fd;
			continue;
		}
		shim_ring_downgrade(fd, f, keep_ok ? "exec with the fd beyond the first 64" : "exec from a vfork child",
				    true);
	}
	v->kept = keep;
	return keep;
}

SHIM_FORK_PATH void shim_vfork_exec_failed(void)
{
	struct shim_vfork_fds *v = &shim_vfork_fds;

	for (int fd = 0; fd < SHIM_EXEC_KEEP_FDS; fd++) {
		struct shim_fd *f;

		if (!(v->kept >> fd & 1))
			continue;
		f = shim_vfork_entry(fd);
		if (f)
			shim_ring_hold(f, -1);
	}
	v->kept = 0;
}
