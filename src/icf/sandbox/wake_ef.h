/* SPDX-License-Identifier: MIT */
/*
 * Waking a sandboxed EF asleep on a channel's descriptor (the ICF's wake
 * operation, see wake_ef.c).
 */
#ifndef XOS_SANDBOX_WAKE_EF_H
#define XOS_SANDBOX_WAKE_EF_H

#include <stdbool.h>
#include <sys/types.h>

/* The creator's handles: the outer process's pidfd, the EF's (found on the first wake). */
struct sbx_wake {
	int outer_fd; /* taken right after the fork, while the pid can be no other's; or -1 */
	int pidfd;    /* -1: not found yet */
	bool gone;    /* looked for and not found (ended, or never there): look no more */
};

void sbx_wake_init(struct sbx_wake *w);
/* Right after the fork of the outer process @outer (our child, not waited for). */
void sbx_wake_bind(struct sbx_wake *w, pid_t outer);
/*
 * Send SIGURG to the EF of the sandbox whose outer process is @outer, or,
 * @nested, whose EF process is @outer itself.  0, or -errno (-ESRCH: no EF
 * process there now).
 */
int sbx_wake(struct sbx_wake *w, pid_t outer, bool nested);
void sbx_wake_release(struct sbx_wake *w);

#endif /* XOS_SANDBOX_WAKE_EF_H */
