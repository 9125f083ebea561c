/* SPDX-License-Identifier: MIT */
/*
 * Internal to the sandbox ICF (src/icf/sandbox/): its settings, read from
 * the EF options by the ICF (sandbox.c), and what the ICF's processes use
 * of the seccomp filter (seccomp.c) and of the view (view.c: mounts, the
 * /proc masks, Landlock).  The limits by cgroups are in cgroup.h.
 */
#ifndef XOS_ICF_SANDBOX_I_H
#define XOS_ICF_SANDBOX_I_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>

#include <xos.h>
#include <xos/vic.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- defaults and settings (EF options "sandbox.KEY=VALUE") -------------------- */

#define DEFAULT_MEM (1ull << 30)  /* address space beyond what the EF starts with */
#define DEFAULT_NOFILE 256
#define DEFAULT_PIDS 1024         /* processes and threads of the EF tree */
#define DEFAULT_TMP (64ull << 20) /* size of the private /tmp */
#define EXTRA_MAX 64              /* syscalls a sandbox.allow may add */
#define FILTER_MAX 512            /* BPF instructions */
#define KEEP_MAX 512              /* descriptors an EF may be given (stdio included) */
#define FDS_MAX 64                /* of them, named in sandbox.fds */

struct sandbox_conf {
	unsigned long long mem;    /* bytes; 0: unlimited */
	unsigned long long cpu;    /* seconds of CPU time; 0: unlimited */
	unsigned long long nofile; /* descriptors */
	unsigned long long pids;   /* processes and threads of the tree; 0: unlimited */
	unsigned long long tmp;    /* bytes of private /tmp */
	long extra[EXTRA_MAX];     /* syscalls added to the allow-list */
	size_t nextra;
	char rw[XOS_EF_OPTIONS_MAX]; /* ':'-separated paths left writable */
	int fds[FDS_MAX];            /* creator's descriptors the EF is given (sandbox.fds) */
	size_t nfds;
};

/* ---- seccomp.c: the system calls known by name, the filters --------------------- */

struct sbx_filter {
	struct sock_filter insn[FILTER_MAX];
	unsigned short len;
};

/* The number of the system call called @name (-EINVAL: not one the filter knows). */
int sbx_syscall_lookup(const char *name, long *ret_nr);

/* Whether @nr is one that no sandbox.allow may add. */
bool sbx_syscall_never(long nr);

/* The EF's allow-list for @conf; 0, -E2BIG or -EOPNOTSUPP (no filter for this architecture). */
int sbx_filter_build(const struct sandbox_conf *conf, struct sbx_filter *f);

/* The init's own filter, once the EF is forked. */
int sbx_init_filter_build(struct sbx_filter *f);

/* no_new_privs, then the filter, on the calling thread's process; 0 or -errno. */
int sbx_filter_install(const struct sbx_filter *f);

/* ---- view.c: the file system view, the /proc masks, Landlock --------------------- */

/* Make the mounts at and under @path read-only (or writable again). */
int sbx_view_set_rdonly(const char *path, bool rdonly);

/* The sandbox's own /dev (tmpfs options @tmpopts for its /dev/shm). */
int sbx_dev_minimal(const char *tmpopts);

/* The next path of a ':'-separated sandbox.rw list at @p, into @buf; NULL at the end. */
const char *sbx_rw_next(const char *p, char *buf, size_t size);

/* sandbox.rw paths under /tmp, held across the private /tmp's mount. */
struct sbx_tmp_held {
	int fd[16];
	bool tree[16]; /* fd[i] is a detached copy of the mounts there, not an O_PATH */
	int n;
};

int sbx_tmp_hold(const char *rw, struct sbx_tmp_held *h);
int sbx_tmp_carry(const char *rw, struct sbx_tmp_held *h);

/* Mask the kernel's files and knobs in the PID namespace's fresh /proc. */
int sbx_proc_mask(void);

/* The EF's Landlock ruleset (@keep: its @nkeep descriptors); 1 applied, 0 no Landlock, -errno. */
int sbx_landlock_apply(const struct sandbox_conf *conf, const int *keep, int nkeep);

#endif /* XOS_ICF_SANDBOX_I_H */
