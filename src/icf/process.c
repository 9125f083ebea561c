/* SPDX-License-Identifier: MIT */
/*
 * The process ICF, and the pivot of mutate: an EF in a forked child
 * process.  The EF gets its own address space and fd table; a crash of
 * the EF kills only the child and is reported to the joiner.
 *
 * The EF's full int status travels in a small MAP_SHARED page (an exit
 * code would keep only 8 bits); the child writes it, the parent reads it
 * only after waitpid() says the child is gone.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define XOS_USE_VERSION 1
#include <xos/vic.h>

#define PROCESS_IC(ic) ((struct process_ic *)(void *)((char *)(ic) - offsetof(struct process_ic, ic)))

struct process_result {
	atomic_int done; /* set once status holds what xos_ic_run() returned */
	int status;
};

struct process_ic {
	struct xos_ic ic;
	pid_t pid;
	struct process_result *result; /* MAP_SHARED with the child */
};

static int process_init(const struct xos_icf *icf, char *why, size_t why_len)
{
	/* Nothing to probe: every mechanism follows from .features (the XOS_ICF_X_* crossings). */
	(void)icf, (void)why, (void)why_len;
	return 0;
}

static _Noreturn void process_child(struct process_ic *p)
{
	int status = xos_ic_run(&p->ic);

	p->result->status = status;
	atomic_store_explicit(&p->result->done, 1, memory_order_release);
	/* Never the parent's atexit handlers; but what the EF printed must out. */
	fflush(NULL);
	_exit(status & 0xff);
}

/* The child of xos_ic_fork (it sees only its EF's domain). */
static void process_start(void *arg)
{
	process_child(arg);
}

static int process_create(const struct xos_icf *icf, struct xos_ef *ef, struct xos_ic **ret_ic)
{
	struct process_ic *p = calloc(1, sizeof(*p));
	int rc;

	if (!p)
		return -ENOMEM;
	p->ic.icf = icf;
	p->ic.ef = ef;
	p->result = mmap(NULL, sizeof(*p->result), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p->result == MAP_FAILED) {
		rc = -errno;
		goto out_free;
	}
	rc = xos_ic_fork(ef, process_start, p);
	if (rc < 0)
		goto out_unmap;
	p->pid = rc;
	/* The EF's domain is the child's now: keep only the reservation. */
	xos_ef_domain_leave(ef);
	*ret_ic = &p->ic;
	return 0;

out_unmap:
	munmap(p->result, sizeof(*p->result));
out_free:
	free(p);
	return rc;
}

/* dump: the EF is parked by the core; its domain is read through the memfd. */
static int process_dump(struct xos_ic *ic, int fd)
{
	return xos_ef_image_write(ic->ef, fd);
}

/* restore: rebuild the domain from the image, resume the EF in a new child. */
static int process_restore(const struct xos_icf *icf, struct xos_ef *ef, int fd,
			   struct xos_ic **ret_ic)
{
	int rc = xos_ef_image_read(ef, fd);

	if (rc < 0)
		return rc;
	return process_create(icf, ef, ret_ic);
}

static int process_wait(struct xos_ic *ic, struct xos_ef_exit *ret_exit)
{
	struct process_ic *p = PROCESS_IC(ic);
	int ws;
	pid_t rc;

	do {
		rc = waitpid(p->pid, &ws, __WALL);
	} while (rc < 0 && errno == EINTR);
	if (rc < 0) {
		/* SIGCHLD ignored: the kernel reaped the child; the page still knows an exit. */
		if (errno == ECHILD && atomic_load_explicit(&p->result->done, memory_order_acquire)) {
			ret_exit->how = XOS_EF_EXITED;
			ret_exit->status = p->result->status;
			return 0;
		}
		return -errno;
	}
	if (WIFSIGNALED(ws)) {
		ret_exit->how = XOS_EF_KILLED;
		ret_exit->status = WTERMSIG(ws);
	} else {
		ret_exit->how = XOS_EF_EXITED;
		/* An EF that called exit() itself never reached the page. */
		ret_exit->status = atomic_load_explicit(&p->result->done, memory_order_acquire) ?
					   p->result->status :
					   WEXITSTATUS(ws);
	}
	return 0;
}

static void process_destroy(struct xos_ic *ic)
{
	struct process_ic *p = PROCESS_IC(ic);

	munmap(p->result, sizeof(*p->result));
	free(p);
}

static const struct xos_icf_ops process_ops = {
	.init = process_init,
	.create = process_create,
	.wait = process_wait,
	.dump = process_dump,
	.restore = process_restore,
	.destroy = process_destroy,
};

const struct xos_icf xos__icf_process = {
	.name = "process",
	.description = "forked child process (the pivot)",
	.isolation = XOS_ISO_MEMORY,
	.features = XOS_ICF_F_OWN_FDS | XOS_ICF_F_CRASH_CONTAINED | XOS_ICF_F_PIVOT |
		    XOS_ICF_X_MAPS_SHARED | XOS_ICF_X_INHERITS_FDS | XOS_ICF_X_NETWORK,
	.create_cost = 150000,
	XOS_ICF_OPS(process_ops),
};
