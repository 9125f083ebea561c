/* SPDX-License-Identifier: MIT */
/*
 * The host kit: what an ICF whose contexts are processes of their own
 * needs from the runtime to fork safely, dump, restore, and take an EF from
 * the pivot or give it back, without reaching into the runtime's structures (the way a
 * file system uses the VFS's generic helpers).  The sandbox ICF is written
 * against it and <xos/vic.h> only; see xos_ic_fork(3).
 */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../prim/futex.h"
#include "xos_i.h"

static bool ef_valid(const struct xos_ef *ef)
{
	return ef && ef->magic == XOS_EF_MAGIC;
}

struct fork_call {
	struct xos_ef *ef;
	void (*child)(void *arg);
	void *arg;
	pid_t pid;
};

/* On the host's stack: the child must not share a domain stack with its parent. */
static int fork_on_host(void *p)
{
	/* A copy in this (private) frame: @p may lie on a domain stack, shared after fork. */
	struct fork_call c = *(struct fork_call *)p;
	pid_t pid, parent = getpid();
	bool forker_main = xos__lifeline_forker_main();

	fflush(NULL); /* unflushed stdio would be written twice */
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* Dies with its creator, whatever it runs (a sandbox's outer chains it on). */
		xos__lifeline_arm(parent, forker_main);
		/* The child sees no other EF's domain, only its own (if it has one). */
		if (c.ef)
			xos__domains_drop_except(c.ef->dom);
		c.child(c.arg);
		_exit(127);
	}
	/* A move to the pivot (mutate.c): the creator watches this process from now on. */
	if (c.ef && c.ef->next_icf && c.ef->ctl)
		atomic_store(&c.ef->ctl->pid, pid);
	((struct fork_call *)p)->pid = pid;
	return 0;
}

int xos_ic_fork(struct xos_ef *ef, void (*child)(void *arg), void *arg)
{
	struct fork_call c = { ef, child, arg, -1 };
	int rc;

	if (!child || (ef && !ef_valid(ef)))
		return -EINVAL;
	rc = xos__on_host(fork_on_host, &c);
	return rc < 0 ? rc : (int)c.pid;
}

int xos_ef_domain_leave(struct xos_ef *ef)
{
	if (!ef_valid(ef))
		return -EINVAL;
	if (!ef->dom)
		return 0;
	/* Its channel ends went with it; their structs wait here for its return. */
	if (ef->nchans)
		xos__chans_park(ef->chans, ef->nchans);
	return xos__domain_unmap(ef->dom);
}

int xos_ef_image_write(struct xos_ef *ef, int fd)
{
	if (!ef_valid(ef) || fd < 0)
		return -EINVAL;
	return xos__image_write(ef, fd);
}

int xos_ef_image_read(struct xos_ef *ef, int fd)
{
	if (!ef_valid(ef) || fd < 0)
		return -EINVAL;
	return xos__image_read(ef, fd);
}

int xos_ef_pivot_take(struct xos_ic *pivot_ic)
{
	struct xos_ef *ef;
	int rc;

	if (!pivot_ic || !ef_valid(pivot_ic->ef) || pivot_ic->ef->ic != pivot_ic)
		return -EINVAL;
	ef = pivot_ic->ef;
	if (!ef->dom)
		return -EOPNOTSUPP;
	rc = xos__domain_map(ef->dom);
	if (rc < 0)
		return rc;
	rc = xos__ef_request(ef, XOS_REQ_TO_THREAD);
	if (rc < 0) {
		xos__domain_unmap(ef->dom);
		return rc;
	}
	/* Hosted in this process from now on: the next request must not wait on the ending one. */
	atomic_store(&ef->ctl->pid, 0);
	/* The process has left its domain: whatever fds and channel ends came, the EF goes on. */
	rc = xos__ef_fds_receive_chans(ef, true);
	if (rc < 0)
		xos__log_debug("ef %llu: fds or channel ends not all handed over: %s",
			       (unsigned long long)ef->id, strerror(-rc));
	return 0;
}

void xos_ef_pivot_drop(struct xos_ic *pivot_ic)
{
	struct xos__icf_node *pivot;
	struct xos_ef_exit ex;

	if (!pivot_ic || !ef_valid(pivot_ic->ef))
		return;
	pivot = pivot_ic->ef->icf;
	pivot->ops.wait(pivot_ic, &ex);
	if (pivot->ops.destroy)
		pivot->ops.destroy(pivot_ic);
}

int xos_ef_pivot_give(struct xos_ic *ic, struct xos_ic **ret_ic)
{
	struct xos_ef *ef;
	int rc;

	if (!ic || !ret_ic || !ef_valid(ic->ef) || ic->ef->ic != ic)
		return -EINVAL;
	ef = ic->ef;
	/* Only the mutate orchestration knows where the EF goes (mutate.c). */
	if (!ef->next_icf)
		return -EINVAL;
	/* Its flow must run here: the pivot's context is made on it, in this process. */
	if (!ef->dom || !ef->dom->mapped)
		return -EOPNOTSUPP;
	rc = xos__ef_request(ef, XOS_REQ_TO_PROCESS);
	if (rc < 0)
		return rc;
	*ret_ic = ef->moved_ic;
	ef->moved_ic = NULL;
	return 0;
}

void xos_ef_ended_elsewhere(struct xos_ef *ef)
{
	struct xos__ef_ctl *ctl;

	if (!ef_valid(ef) || !ef->ctl)
		return;
	ctl = ef->ctl;
	atomic_store(&ctl->ended, 1);
	/* No host is left to answer what was asked last, taken or not. */
	xos__ef_ack(ctl, -ESRCH);
}

int xos_ef_fds_owned(const struct xos_ef *ef, int *fds, size_t max)
{
	size_t n = 0;
	int rc;

	if (!ef_valid(ef) || (!fds && max))
		return -EINVAL;
	if (ef->dom) {
		const struct xos__domain_hdr *h = ef->dom->hdr;

		/* The domain's own memfd: the EF's memory, nothing more. */
		if (ef->dom->memfd >= 0) {
			if (n == max)
				return -ENOSPC;
			fds[n++] = ef->dom->memfd;
		}
		/* Its attached fds (xos_ef_fd_attach): the table is in the EF's memory, so bounded. */
		for (int i = 0; ef->dom->mapped && i < h->nfds && i < XOS_DOMAIN_FDS; i++) {
			if (h->fds[i].fd < 0)
				continue;
			if (n == max)
				return -ENOSPC;
			fds[n++] = h->fds[i].fd;
		}
	}
	rc = xos__chans_fds(ef->chans, ef->nchans, fds + n, max - n);
	return rc < 0 ? rc : (int)n + rc;
}
