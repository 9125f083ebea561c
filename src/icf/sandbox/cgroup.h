/* SPDX-License-Identifier: MIT */
/*
 * The sandbox ICF's limits for a whole EF tree, by the kernel's cgroups
 * (src/icf/sandbox/cgroup.c).  Internal to the sandbox ICF.
 *
 * Order of use: sbx_cgroup_probe() once (registration); per sandbox,
 * sbx_cgroup_create() in the creator, sbx_cgroup_enter() first thing in
 * the sandbox's first process, sbx_cgroup_wait() in the outer process
 * instead of waitpid(init), sbx_cgroup_release() once all is reaped.
 */
#ifndef XOS_ICF_SANDBOX_CGROUP_H
#define XOS_ICF_SANDBOX_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum sbx_resource { SBX_MEM, SBX_PIDS, SBX_CPU, SBX_NRES };

#define SBX_CG_DIRS 4    /* one per v1 hierarchy used, plus the v2 one */
#define SBX_CG_PATH 256

struct sbx_cgroup {
	char dir[SBX_CG_DIRS][SBX_CG_PATH]; /* made by create(); "" if unused */
	bool v1[SBX_CG_DIRS];                /* dir[i] is in a v1 hierarchy */
	bool by_cgroup[SBX_NRES];           /* which limits a cgroup enforces here */
	int cpu_dir;                        /* the dir[] whose usage counts */
	int usage_fd;                       /* CPU usage of the tree (-1: none) */
	bool usage_v2;                      /* cpu.stat usage_usec, else cpuacct.usage in ns */
	unsigned long long cpu_budget_ns;   /* 0: no CPU limit */
	unsigned long long made_mem, made_pids; /* the limits it was made with */
};

/*
 * Find where each controller is usable (v2 first, then v1), once.  Writes
 * in @desc (at most @len bytes) what enforces the limits, e.g. "cgroup v1
 * (memory, pids, cpuacct)" or "rlimit (shmem not counted, ...)".
 */
void sbx_cgroup_probe(char *desc, size_t len);

/* Whether the probe found a cgroup for @res. */
bool sbx_cgroup_usable(enum sbx_resource res);

/*
 * Make the sandbox's cgroups with these limits (0: none); resources the
 * probe found no cgroup for are left to rlimits.  0 or -errno (nothing
 * left behind).
 */
int sbx_cgroup_create(struct sbx_cgroup *cg, unsigned long long mem, unsigned long long cpu_s,
		      unsigned long long pids);

/* Move the calling process (single-threaded, no children yet) into them. */
int sbx_cgroup_enter(struct sbx_cgroup *cg);

/* close_range() of everything but the usage descriptor. */
void sbx_cgroup_close_others(const struct sbx_cgroup *cg);

/*
 * Wait for @child (the sandbox's init) like waitpid(); while it runs,
 * SIGKILL it once the tree's CPU time reaches the budget (its death ends
 * the PID namespace, so the whole tree).  Returns waitpid()'s result;
 * *@ret_over says whether the budget ended it.
 */
pid_t sbx_cgroup_wait(struct sbx_cgroup *cg, pid_t child, int *ret_ws, bool *ret_over);

/* In a child of the outer process: drop its copy (the usage descriptor). */
void sbx_cgroup_forget(struct sbx_cgroup *cg);

/*
 * Done with the cgroups (every process in them reaped): kept for this
 * process's next sandbox with the same limits, or removed.
 */
void sbx_cgroup_release(struct sbx_cgroup *cg);

/* Remove the cgroups (every process in them reaped); idempotent. */
void sbx_cgroup_remove(struct sbx_cgroup *cg);

#endif /* XOS_ICF_SANDBOX_CGROUP_H */
