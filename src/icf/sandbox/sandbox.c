/* SPDX-License-Identifier: MIT */
/*
 * The sandbox ICF: an EF in a process inside new user, PID, mount,
 * network, IPC and UTS namespaces, under a seccomp-bpf allow-list, with no
 * new privileges and resource limits.  Written against <xos/vic.h> and the
 * EF options only, as a third party would write an ICF.  This file: the
 * ICF and its processes; the seccomp filters are in seccomp.c, the view
 * (mounts, /proc masks, Landlock) in view.c, the limits by cgroups in
 * cgroup.c.
 *
 * Three processes per EF, because a new PID namespace only takes the
 * children of the process that unshared it, and its first process (its
 * init) ignores the signals it has no handler for — an EF there could not
 * raise() its own death:
 *
 *   creator --fork--> outer: unshare every namespace, id map root->root,
 *                            read-only view, private /tmp, lo up; empty
 *                            bounding set, locked securebits
 *                      --fork--> init (pid 1): mounts its /proc,
 *                                 non-dumpable; once the EF is forked: masks
 *                                 /proc, no fds, no capabilities, its own
 *                                 filter ("armed"); reaps
 *                                 --fork--> EF (pid 2): only its own fds,
 *                                           rlimits, Landlock, no
 *                                           capabilities; waits for the
 *                                           init to be armed, then
 *                                           xos_ic_run(); switch_in sets
 *                                           the filter
 *
 * How the EF ended travels in MAP_SHARED pages made before the first fork:
 * the EF writes its int status (as the process ICF does) and the init,
 * which saw it end, writes the verdict (exited / killed by which signal)
 * in a page the EF unmaps before it runs.  When the init dies, the kernel
 * kills the rest of the namespace, and when the outer process dies the
 * init gets SIGKILL (PR_SET_PDEATHSIG), so no crash leaves the joiner
 * waiting; the outer process itself dies with the creator (xos_ic_fork()
 * ties it), so a killed program leaves no sandbox behind.  Set-up failures are reported through the same page before the
 * EF starts, so create() fails cleanly instead.
 *
 * A sandboxed EF that creates a sandboxed EF cannot unshare again (the
 * filter forbids it): the new EF gets its own process in the same
 * namespaces, its own limits and a filter stacked on the inherited one.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <linux/securebits.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define XOS_USE_VERSION 1
#include <xos.h>
#include <xos/vic.h>

#include "cgroup.h"
#include "wake_ef.h"
#include "../prim/futex.h"
#include "sandbox_i.h"

#define SANDBOX_IC(ic) ((struct sandbox_ic *)(void *)((char *)(ic) - offsetof(struct sandbox_ic, ic)))


/* ---- option parsing -------------------------------------------------------- */

/* "64M", "1G", "4096": bytes (or a plain count with @suffixes false). */
static int parse_amount(const char *s, bool suffixes, unsigned long long *ret)
{
	unsigned long long v, mul = 1;
	char *end;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	if (suffixes && *end) {
		switch (*end++) {
		case 'k': case 'K': mul = 1ull << 10; break;
		case 'm': case 'M': mul = 1ull << 20; break;
		case 'g': case 'G': mul = 1ull << 30; break;
		default: return -EINVAL;
		}
	}
	if (*end || (v && mul > ~0ull / v))
		return -EINVAL;
	*ret = v * mul;
	return 0;
}

static int add_syscalls(struct sandbox_conf *conf, const char *list)
{
	char name[64];
	const char *p = list;

	while (*p) {
		size_t len = strcspn(p, ":");
		long nr;

		if (len == 0 || len >= sizeof(name))
			return -EINVAL;
		memcpy(name, p, len);
		name[len] = '\0';
		if (name[0] >= '0' && name[0] <= '9') {
			unsigned long long v;

			if (parse_amount(name, false, &v) < 0 || v > 4095)
				return -EINVAL;
			nr = (long)v;
		} else if (sbx_syscall_lookup(name, &nr) < 0) {
			return -EINVAL;
		}
		if (sbx_syscall_never(nr))
			return -EPERM;
		if (conf->nextra == EXTRA_MAX)
			return -E2BIG;
		conf->extra[conf->nextra++] = nr;
		p += len;
		if (*p == ':')
			p++;
	}
	return 0;
}

/* "3:4:7": descriptors of the creator the EF is given, besides stdio and its channels. */
static int add_fds(struct sandbox_conf *conf, const char *list)
{
	char num[16];

	if (!*list)
		return -EINVAL;
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ":");
		unsigned long long v;

		if (len == 0 || len >= sizeof(num))
			return -EINVAL;
		memcpy(num, p, len);
		num[len] = '\0';
		if (parse_amount(num, false, &v) < 0 || v > INT_MAX)
			return -EINVAL;
		if (conf->nfds == FDS_MAX)
			return -E2BIG;
		conf->fds[conf->nfds++] = (int)v;
		p += len;
		if (*p == ':')
			p++;
	}
	return 0;
}

static int conf_option(const char *key, const char *value, void *ctx)
{
	struct sandbox_conf *conf = ctx;

	if (strcmp(key, "mem") == 0)
		return parse_amount(value, true, &conf->mem);
	if (strcmp(key, "cpu") == 0)
		return parse_amount(value, false, &conf->cpu);
	if (strcmp(key, "nofile") == 0) {
		int rc = parse_amount(value, false, &conf->nofile);

		return rc < 0 ? rc : conf->nofile < 4 ? -EINVAL : 0;
	}
	if (strcmp(key, "pids") == 0)
		return parse_amount(value, false, &conf->pids);
	if (strcmp(key, "tmp") == 0) {
		int rc = parse_amount(value, true, &conf->tmp);

		return rc < 0 ? rc : conf->tmp < 4096 ? -EINVAL : 0;
	}
	if (strcmp(key, "allow") == 0)
		return add_syscalls(conf, value);
	if (strcmp(key, "fds") == 0)
		return add_fds(conf, value);
	if (strcmp(key, "rw") == 0) {
		/* Absolute paths only: the view is set up from the root. */
		for (const char *p = value; *p; p += strcspn(p, ":"), p += *p == ':')
			if (*p != '/')
				return -EINVAL;
		if (!*value)
			return -EINVAL;
		snprintf(conf->rw, sizeof(conf->rw), "%s", value);
		return 0;
	}
	return -EINVAL;
}

/* ---- the contexts -------------------------------------------------------------- */

/* Set-up steps, in order; a failing one is reported with its text. */
#define SANDBOX_STEP_MAP(X)                                                                \
	X(USERNS, "user namespace: unshare(CLONE_NEWUSER)")                                 \
	X(IDMAP, "user namespace: writing the root->root id map")                          \
	X(MNTNS, "mount namespace: unshare(CLONE_NEWNS)")                                  \
	X(PIDNS, "pid namespace: unshare(CLONE_NEWPID)")                                   \
	X(NETNS, "network namespace: unshare(CLONE_NEWNET)")                               \
	X(IPCNS, "ipc namespace: unshare(CLONE_NEWIPC)")                                   \
	X(UTSNS, "uts namespace: unshare(CLONE_NEWUTS)")                                   \
	X(PRIVATE, "mount namespace: making / private")                                    \
	X(BIND_RW, "sandbox.rw: bind-mounting a writable path")                            \
	X(READONLY, "read-only view: remounting / read-only, recursively")   \
	X(WRITABLE, "sandbox.rw: making a path writable again")                            \
	X(TMP, "private /tmp: mounting a tmpfs")                                           \
	X(TMP_RW, "sandbox.rw: carrying a path under /tmp into the private /tmp")          \
	X(DEV, "private /dev: null, zero, full, random, urandom, shm")                     \
	X(LOOPBACK, "network namespace: bringing lo up")                                   \
	X(BOUND, "capabilities: emptying the bounding set, locking the securebits")        \
	X(FORK_INIT, "pid namespace: forking its init")                                    \
	X(PROC, "pid namespace: mounting its /proc")                                       \
	X(MASK, "/proc: masking the kernel's files and knobs")                             \
	X(FORK_EF, "forking the EF process")                                               \
	X(INIT, "pid namespace: making its init non-dumpable, capability-less, filtered")  \
	X(FDS, "descriptors: closing all but stdio and the EF's own")                     \
	X(CGROUP, "cgroups: joining the sandbox's cgroups")                                \
	X(RLIMIT, "resource limits: setrlimit")                                            \
	X(LANDLOCK, "landlock: restricting writes by path")                                \
	X(CAPS, "capabilities: dropping every one")                                        \
	X(KILL_PROCESS, "seccomp: SECCOMP_RET_KILL_PROCESS")                               \
	X(NNP_SECCOMP, "seccomp: no_new_privs and SECCOMP_SET_MODE_FILTER")

enum sandbox_step {
#define STEP_ENUM_(name, text) STEP_##name,
	SANDBOX_STEP_MAP(STEP_ENUM_)
#undef STEP_ENUM_
};

static const char *const step_texts[] = {
#define STEP_TEXT_(name, text) [STEP_##name] = text,
	SANDBOX_STEP_MAP(STEP_TEXT_)
#undef STEP_TEXT_
};

/* The text of a failed step, read from a page the sandbox could scribble on. */
static const char *step_text(int step)
{
	return step >= 0 && (size_t)step < ARRAY_SIZE(step_texts) ? step_texts[step] : "set-up";
}

/* Shared by the creator and every process of one sandbox (MAP_SHARED). */
struct sandbox_shared {
	atomic_int setup; /* 0: in progress; 1: the EF is about to run; < 0: -errno */
	int step;         /* the step that failed */
	atomic_int done;  /* the EF's own report: status holds what xos_ic_run() returned */
	int status;
};

/* Written by the init only; the EF unmaps it before it runs. */
struct sandbox_verdict {
	atomic_int how;   /* 0 until the EF ended; then XOS_EF_EXITED or XOS_EF_KILLED */
	int status;       /* exit code or signal */
	atomic_int armed; /* 0 until the init is hardened; then 1, or -errno */
};

struct sandbox_ic {
	struct xos_ic ic;
	pid_t pid;      /* the outer process; the EF process itself when nested */
	bool nested;    /* created from inside a sandbox: no namespaces of its own */
	bool probe;     /* init()'s throwaway run: stop once everything is set up */
	pid_t filtered; /* process in which switch_in installed the filter */
	struct sandbox_shared *shared;
	struct sandbox_verdict *verdict;
	struct sandbox_conf conf;
	struct sbx_filter filter;
	struct sbx_cgroup cg; /* limits of the whole tree (none when nested) */
	struct sbx_wake wake; /* the EF's process, for a request to interrupt its sleep */
};

/* Set in every process that runs inside a sandbox (inherited by its forks). */
static bool sandbox_inside;

static void futex_wake_all(atomic_int *word)
{
	xos__futex_wake(word, INT_MAX);
}

static void setup_report(struct sandbox_shared *sh, int value)
{
	atomic_store(&sh->setup, value);
	futex_wake_all(&sh->setup);
}

static _Noreturn void setup_fail(struct sandbox_ic *s, enum sandbox_step step, int err)
{
	s->shared->step = step;
	setup_report(s->shared, -(err ? err : EIO));
	_exit(127);
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t len = (ssize_t)strlen(text), n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, (size_t)len);
	n = n < 0 ? -errno : n == len ? 0 : -EIO;
	close(fd);
	return (int)n;
}

/* Namespaces, id map, file system view and network of the outer process. */
static void outer_setup(struct sandbox_ic *s)
{
	static const struct {
		int flag;
		enum sandbox_step step;
	} namespaces[] = {
		{ CLONE_NEWNS, STEP_MNTNS },  { CLONE_NEWPID, STEP_PIDNS }, { CLONE_NEWNET, STEP_NETNS },
		{ CLONE_NEWIPC, STEP_IPCNS }, { CLONE_NEWUTS, STEP_UTSNS },
	};
	char tmpopts[64], path[XOS_EF_OPTIONS_MAX];
	struct sbx_tmp_held held;
	struct ifreq ifr = { 0 };
	int rc, fd;

	if (unshare(CLONE_NEWUSER) < 0)
		setup_fail(s, STEP_USERNS, errno);
	/* root -> root: the EF keeps root's file access (the view is read-only)
	 * and gets capabilities only over the namespaces made here. */
	if ((rc = write_file("/proc/self/setgroups", "deny")) < 0 ||
	    (rc = write_file("/proc/self/uid_map", "0 0 1\n")) < 0 ||
	    (rc = write_file("/proc/self/gid_map", "0 0 1\n")) < 0)
		setup_fail(s, STEP_IDMAP, -rc);
	/* One call when creating; the probe's one per namespace names a missing one. */
	if (s->probe || unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) < 0)
		for (size_t i = 0; i < ARRAY_SIZE(namespaces); i++)
			if (unshare(namespaces[i].flag) < 0)
				setup_fail(s, namespaces[i].step, errno);

	/* Nothing done below may propagate back to the host. */
	if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
		setup_fail(s, STEP_PRIVATE, errno);
	for (const char *p = s->conf.rw; (p = sbx_rw_next(p, path, sizeof(path)));)
		if (mount(path, path, "none", MS_BIND | MS_REC, NULL) < 0)
			setup_fail(s, STEP_BIND_RW, errno);
	if ((rc = sbx_view_set_rdonly("/", true)) < 0)
		setup_fail(s, STEP_READONLY, -rc);
	for (const char *p = s->conf.rw; (p = sbx_rw_next(p, path, sizeof(path)));)
		if ((rc = sbx_view_set_rdonly(path, false)) < 0)
			setup_fail(s, STEP_WRITABLE, -rc);
	snprintf(tmpopts, sizeof(tmpopts), "size=%llu,mode=1777", s->conf.tmp);
	if ((rc = sbx_tmp_hold(s->conf.rw, &held)) < 0)
		setup_fail(s, STEP_TMP_RW, -rc);
	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, tmpopts) < 0)
		setup_fail(s, STEP_TMP, errno);
	if ((rc = sbx_dev_minimal(tmpopts)) < 0)
		setup_fail(s, STEP_DEV, -rc);
	if ((rc = sbx_tmp_carry(s->conf.rw, &held)) < 0)
		setup_fail(s, STEP_TMP_RW, -rc);

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		setup_fail(s, STEP_LOOPBACK, errno);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		setup_fail(s, STEP_LOOPBACK, errno);
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		setup_fail(s, STEP_LOOPBACK, errno);
	close(fd);
}

/*
 * uid 0 inside is uid 0 outside (the id map), so what stops root-inside
 * from acting as root outside is having no capability at all: not in the
 * effective, permitted, inheritable or ambient sets, not in the bounding
 * set (so no execve can bring one back), with the securebits that would
 * give root capabilities on execve or setuid locked off.
 *
 * The bounding set, the securebits and the ambient set are inherited by
 * fork, so the outer process clears them once, after its own set-up and
 * before it forks the init (caps_bound_all); the init and the EF then
 * only empty their own sets (caps_drop_all).  Both need CAP_SETPCAP, which
 * a process has in the namespace it made until caps_drop_all runs.
 */
static int caps_bound_all(void)
{
	const unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
				   SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
				   SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;

	if (prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) < 0)
		return -errno;
	/* EINVAL past the last capability this kernel knows: one call per capability. */
	for (unsigned long cap = 0;; cap++) {
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0)
			continue;
		if (errno == EINVAL && cap > 0)
			break;
		return -errno;
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

/* Drop every capability of this process for good (its bounding set is already empty). */
static int caps_drop_all(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { { 0 } };

	/* Had the outer process not emptied it, nothing would be dropped for good: refuse. */
	if (prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 0)
		return -EPERM;
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? -errno : 0;
}

/* Set @resource to @cur/@max, never above what the process inherited (a nested sandbox). */
static int limit_set(int resource, rlim_t cur, rlim_t max)
{
	struct rlimit old, rl = { .rlim_cur = cur, .rlim_max = max };

	if (getrlimit(resource, &old) == 0 && old.rlim_max != RLIM_INFINITY) {
		if (rl.rlim_max > old.rlim_max)
			rl.rlim_max = old.rlim_max;
		if (rl.rlim_cur > rl.rlim_max)
			rl.rlim_cur = rl.rlim_max;
	}
	return setrlimit(resource, &rl) < 0 ? -errno : 0;
}

/* rlimits, for each process; the ones a cgroup does not enforce for the tree. */
static int limits_apply(const struct sandbox_conf *conf, const struct sbx_cgroup *cg)
{
	int rc;

	if (conf->pids && !cg->by_cgroup[SBX_PIDS]) {
		/* Processes of this user (outer, init, the EF tree); the kernel exempts host root. */
		rc = limit_set(RLIMIT_NPROC, conf->pids + 2, conf->pids + 2);
		if (rc < 0)
			return rc;
	}

	if (conf->mem) {
		/* RLIMIT_AS counts every mapping: allow conf->mem beyond what the
		 * EF inherits (a sanitizer's shadow alone is terabytes). */
		unsigned long long pages = 0;
		FILE *f = fopen("/proc/self/statm", "re");

		if (!f)
			return -errno;
		if (fscanf(f, "%llu", &pages) != 1)
			pages = 0;
		fclose(f);
		pages = pages * (unsigned long long)sysconf(_SC_PAGESIZE) + conf->mem;
		rc = limit_set(RLIMIT_AS, pages, pages);
		if (rc < 0)
			return rc;
	}
	if (conf->cpu) {
		/* SIGXCPU at the limit, SIGKILL a second later. */
		rc = limit_set(RLIMIT_CPU, conf->cpu, conf->cpu + 1);
		if (rc < 0)
			return rc;
	}
	return limit_set(RLIMIT_NOFILE, conf->nofile, conf->nofile);
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/*
 * The EF gets standard input, output and error and what it was given (the
 * descriptors named in sandbox.fds, its channel ends, its attached fds,
 * its domain), nothing else the creator held: no host file it opened, no
 * sibling EF's control socket or channel, no runtime pipe.  Everything
 * between the kept ones is closed.
 */
static int fds_keep_only(struct sandbox_ic *s, int keep[KEEP_MAX], int *ret_n)
{
	int n = 3, rc;
	unsigned int from = 0;

	keep[0] = 0, keep[1] = 1, keep[2] = 2;

	for (size_t i = 0; i < s->conf.nfds; i++)
		keep[n++] = s->conf.fds[i];
	if (s->ic.ef) {
		rc = xos_ef_fds_owned(s->ic.ef, keep + n, KEEP_MAX - (size_t)n);
		if (rc < 0)
			return rc;
		n += rc;
	}
	qsort(keep, (size_t)n, sizeof(keep[0]), cmp_int);
	for (int i = 0; i < n; i++) {
		if (keep[i] < 0 || (unsigned int)keep[i] < from)
			continue;
		if ((unsigned int)keep[i] > from && close_range(from, (unsigned int)keep[i] - 1, 0) < 0)
			return -errno;
		from = (unsigned int)keep[i] + 1;
	}
	*ret_n = n;
	return close_range(from, ~0u, 0) < 0 ? -errno : 0;
}

static void init_wait_armed(struct sandbox_ic *s);

/*
 * The EF's own process: limits, then the EF (switch_in adds the filter).
 * @after_init: forked by the init, which masks /proc and hardens itself
 * meanwhile; no code of the EF runs before it is done.
 */
static _Noreturn void ef_process(struct sandbox_ic *s, bool after_init)
{
	int rc, status, keep[KEEP_MAX], nkeep = 0;

	rc = fds_keep_only(s, keep, &nkeep);
	if (rc < 0)
		setup_fail(s, STEP_FDS, -rc);
	rc = limits_apply(&s->conf, &s->cg);
	if (rc < 0)
		setup_fail(s, STEP_RLIMIT, -rc);
	/* Nested: the inherited ruleset applies (and the filter forbids Landlock's calls). */
	if (!s->nested && (rc = sbx_landlock_apply(&s->conf, keep, nkeep)) < 0)
		setup_fail(s, STEP_LANDLOCK, -rc);
	/* Nested: the process it forks from has none left to drop. */
	if (!s->nested && (rc = caps_drop_all()) < 0)
		setup_fail(s, STEP_CAPS, -rc);
	if (after_init)
		init_wait_armed(s);
	if (s->verdict)
		munmap(s->verdict, sizeof(*s->verdict));
	s->verdict = NULL;
	sandbox_inside = true;
	if (s->probe) {
		/* init(): can this kernel kill a whole process, and take our filter? */
		__u32 action = SECCOMP_RET_KILL_PROCESS;

		if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) < 0)
			setup_fail(s, STEP_KILL_PROCESS, errno);
		rc = sbx_filter_install(&s->filter);
		if (rc < 0)
			setup_fail(s, STEP_NNP_SECCOMP, -rc);
		setup_report(s->shared, 1);
		_exit(0);
	}
	setup_report(s->shared, 1);
	status = xos_ic_run(&s->ic);
	s->shared->status = status;
	atomic_store_explicit(&s->shared->done, 1, memory_order_release);
	/* Never the creator's atexit handlers; but what the EF printed must out. */
	fflush(NULL);
	_exit(status & 0xff);
}

/*
 * The init, once its EF is forked: no capability, no descriptor, its own
 * filter.  It is non-dumpable already (before the fork), so the EF cannot
 * open /proc/1/mem, ptrace it or use process_vm_writev on it, and the
 * verdict page, which only the init maps, tells the joiner the truth.
 */
static int init_harden(void)
{
	struct sbx_filter f;
	int rc;

	close_range(0, ~0u, 0);
	rc = caps_drop_all();
	if (rc < 0)
		return rc;
	rc = sbx_init_filter_build(&f);
	return rc < 0 ? rc : sbx_filter_install(&f);
}

/* In the EF's process, before the EF runs: wait until the init is hardened. */
static void init_wait_armed(struct sandbox_ic *s)
{
	int v;

	while ((v = atomic_load(&s->verdict->armed)) == 0)
		xos__futex_wait(&s->verdict->armed, 0, NULL);
	if (v < 0)
		setup_fail(s, STEP_INIT, -v);
}

/* pid 1 of the new PID namespace: start the EF, reap, report how it ended. */
static _Noreturn void init_process(struct sandbox_ic *s)
{
	pid_t ef, pid;
	int ws = 0, rc;

	/* If the outer process dies, so does the namespace. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		setup_fail(s, STEP_PROC, errno);
	/* The probe tests the masks and the EF's last steps here: one process fewer at start-up. */
	if (s->probe) {
		if ((rc = sbx_proc_mask()) < 0)
			setup_fail(s, STEP_MASK, -rc);
		ef_process(s, false);
	}
	/* Non-dumpable from before the EF exists: it never sees an init it could ptrace. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		setup_fail(s, STEP_INIT, errno);
	ef = fork();
	if (ef < 0)
		setup_fail(s, STEP_FORK_EF, errno);
	if (ef == 0) {
		/* The EF itself stays dumpable, as in a process (core dumps, host debuggers). */
		prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
		ef_process(s, true);
	}
	/* The EF holds what it inherited; a copy here would keep its peers from seeing EOF. */
	/* Again, after any credential change of the set-up: init's death ends the namespace. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/*
	 * The masks, while the EF sets itself up: it runs none of its code
	 * before the init is armed.  A failure here ends the init, and with it
	 * the namespace, the EF included.
	 */
	if ((rc = sbx_proc_mask()) < 0)
		setup_fail(s, STEP_MASK, -rc);
	rc = init_harden();
	atomic_store(&s->verdict->armed, rc < 0 ? rc : 1);
	futex_wake_all(&s->verdict->armed);
	/* Orphans of the EF land here too: reap them until the EF itself ends. */
	do {
		pid = waitpid(-1, &ws, __WALL);
	} while (pid != ef && (pid >= 0 || errno == EINTR));
	if (pid == ef) {
		s->verdict->status = WIFSIGNALED(ws) ? WTERMSIG(ws) : WEXITSTATUS(ws);
		atomic_store(&s->verdict->how, WIFSIGNALED(ws) ? XOS_EF_KILLED : XOS_EF_EXITED);
	}
	/*
	 * A domain EF is over for good (a sandbox is only left by ending): say
	 * so in its control page, and answer a pending request (mutate, dump)
	 * the creator would otherwise wait on, since it cannot see our pids.
	 */
	if (s->ic.ef)
		xos_ef_ended_elsewhere(s->ic.ef);
	/* Leaving kills whatever the EF left behind in the namespace. */
	_exit(0);
}

static _Noreturn void outer_process(struct sandbox_ic *s)
{
	pid_t init, pid, creator = getppid();
	int ws = 0, lifeline = 0, rc;
	bool over;

	signal(SIGCHLD, SIG_DFL); /* the creator may ignore it: we must reap */
	/* xos_ic_fork() tied us to the creator; a credential change in the set-up unties us. */
	prctl(PR_GET_PDEATHSIG, &lifeline);
	outer_setup(s);
	if ((rc = caps_bound_all()) < 0)
		setup_fail(s, STEP_BOUND, -rc);
	if (lifeline) {
		prctl(PR_SET_PDEATHSIG, lifeline);
		if (getppid() != creator)
			_exit(0);
	}
	init = fork();
	if (init < 0)
		setup_fail(s, STEP_FORK_INIT, errno);
	if (init == 0) {
		sbx_cgroup_forget(&s->cg); /* the usage descriptor is the outer's only */
		init_process(s);
	}
	sbx_cgroup_close_others(&s->cg);
	/* Waits, and ends the tree at its CPU budget (sandbox.cpu). */
	pid = sbx_cgroup_wait(&s->cg, init, &ws, &over);
	/* An init that died before its EF's end (killed from outside) is the EF's death too. */
	if (pid == init && WIFSIGNALED(ws) && !atomic_load(&s->verdict->how)) {
		s->verdict->status = over ? SIGXCPU : WTERMSIG(ws);
		atomic_store(&s->verdict->how, XOS_EF_KILLED);
	}
	_exit(0);
}

/* Has @pid ended (without reaping it)? */
static bool child_gone(pid_t pid)
{
	siginfo_t si = { 0 };

	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT | __WALL) < 0)
		return errno == ECHILD;
	return si.si_pid == pid;
}

/* Wait until the sandbox says the EF runs (1) or a step failed (-errno). */
static int setup_wait(struct sandbox_ic *s)
{
	for (;;) {
		struct timespec ts = { .tv_sec = 0, .tv_nsec = 20 * 1000 * 1000 };
		int v = atomic_load(&s->shared->setup);

		if (v != 0)
			return v;
		xos__futex_wait(&s->shared->setup, 0, &ts);
		/* A process that died before reporting cannot wake us. */
		if (atomic_load(&s->shared->setup) == 0 && child_gone(s->pid))
			return atomic_load(&s->shared->setup) ?: -ECHILD;
	}
}

static void reap(pid_t pid, int *ret_ws)
{
	int ws = 0;

	while (waitpid(pid, &ws, __WALL) < 0 && errno == EINTR)
		;
	if (ret_ws)
		*ret_ws = ws;
}

static void sandbox_free(struct sandbox_ic *s)
{
	if (s->shared)
		munmap(s->shared, sizeof(*s->shared));
	if (s->verdict)
		munmap(s->verdict, sizeof(*s->verdict));
	sbx_wake_release(&s->wake);
	/* A probe's cgroups are not kept: xos-run probes, then execs the program. */
	if (s->probe)
		sbx_cgroup_remove(&s->cg);
	else
		sbx_cgroup_release(&s->cg);
	free(s);
}

static int sandbox_new(const struct xos_icf *icf, struct xos_ef *ef, struct sandbox_ic **ret)
{
	struct sandbox_ic *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return -ENOMEM;
	s->ic.icf = icf;
	s->ic.ef = ef;
	s->cg.usage_fd = -1;
	sbx_wake_init(&s->wake);
	s->conf = (struct sandbox_conf){ .mem = DEFAULT_MEM, .nofile = DEFAULT_NOFILE, .tmp = DEFAULT_TMP,
					 .pids = DEFAULT_PIDS };
	if (ef) {
		rc = xos_ef_options_each(ef, icf->name, conf_option, &s->conf);
		if (rc < 0)
			goto out_free;
	}
	rc = sbx_filter_build(&s->conf, &s->filter);
	if (rc < 0)
		goto out_free;
	s->shared = mmap(NULL, sizeof(*s->shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	s->verdict = mmap(NULL, sizeof(*s->verdict), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s->shared == MAP_FAILED || s->verdict == MAP_FAILED) {
		rc = -ENOMEM;
		if (s->shared == MAP_FAILED)
			s->shared = NULL;
		if (s->verdict == MAP_FAILED)
			s->verdict = NULL;
		goto out_free;
	}
	*ret = s;
	return 0;

out_free:
	sandbox_free(s);
	return rc;
}

/* The sandbox's first process (xos_ic_fork: it sees only its EF's domain). */
static void sandbox_child(void *arg)
{
	struct sandbox_ic *s = arg;

	int rc;

	if (s->nested)
		ef_process(s, false);
	/* First: every process the sandbox makes is then counted. */
	if ((rc = sbx_cgroup_enter(&s->cg)) < 0)
		setup_fail(s, STEP_CGROUP, -rc);
	outer_process(s);
}

/* XOS_LOG=debug: say which set-up step failed. */
static void log_debug_step(const struct sandbox_ic *s, int rc)
{
	const char *v = secure_getenv("XOS_LOG");

	if (v && strcmp(v, "debug") == 0)
		fprintf(stderr, "xos[debug]: sandbox: %s: %s\n", step_text(s->shared->step), strerror(-rc));
}

/* Fork the sandbox for @s and wait until its EF runs; 0 or -errno (nothing left running). */
static int sandbox_start(struct sandbox_ic *s)
{
	int rc;

	s->nested = sandbox_inside;
	/* Inside a sandbox there is no cgroup to make: the outer one counts this EF too. */
	if (!s->nested) {
		rc = sbx_cgroup_create(&s->cg, s->conf.mem, s->conf.cpu, s->conf.pids);
		if (rc < 0)
			return rc;
	}
	rc = xos_ic_fork(s->ic.ef, sandbox_child, s);
	if (rc < 0)
		return rc;
	s->pid = rc;
	/* Not from inside a sandbox: its filter kills a pidfd_open (its EFs keep the 20 ms look). */
	if (!s->probe && !s->nested)
		sbx_wake_bind(&s->wake, s->pid);
	rc = setup_wait(s);
	if (rc < 0) {
		log_debug_step(s, rc);
		reap(s->pid, NULL);
		return rc;
	}
	return 0;
}

/* What xos-run --list-icfs shows: which mechanism enforces the limits here. */
#define DESCRIPTION "process in its own namespaces, seccomp allow-list"
static char sandbox_description[256] = DESCRIPTION "; limits: rlimit";

static int sandbox_init_do(const struct xos_icf *icf, char *why, size_t why_len)
{
	char limits_how[160];
	struct sandbox_ic *s;
	int rc;

	if (sandbox_inside) {
		/* A registration from inside a sandbox cannot probe namespaces. */
		snprintf(why, why_len, "already inside a sandbox");
		return -EPERM;
	}
	sbx_cgroup_probe(limits_how, sizeof(limits_how));
	snprintf(sandbox_description, sizeof(sandbox_description), "%s; limits: %s", DESCRIPTION,
		 limits_how);
	rc = sandbox_new(icf, NULL, &s);
	if (rc < 0) {
		snprintf(why, why_len, "seccomp filter: %s", strerror(-rc));
		return rc;
	}
	/* Every facility, in a throwaway sandbox that stops before running anything. */
	s->probe = true;
	rc = sandbox_start(s);
	if (rc == 0)
		reap(s->pid, NULL);
	else
		snprintf(why, why_len, "%s: %s", step_text(s->shared->step), strerror(-rc));
	sandbox_free(s);
	return rc;
}

static int sandbox_create_do(const struct xos_icf *icf, struct xos_ef *ef, struct xos_ic **ret_ic)
{
	struct sandbox_ic *s;
	int rc = sandbox_new(icf, ef, &s);

	if (rc < 0)
		return rc;
	rc = sandbox_start(s);
	if (rc < 0) {
		sandbox_free(s);
		return rc;
	}
	/* The EF's domain is the sandbox's now: keep only the reservation. */
	xos_ef_domain_leave(ef);
	*ret_ic = &s->ic;
	return 0;
}

static int sandbox_switch_in(struct xos_ic *ic)
{
	struct sandbox_ic *s = SANDBOX_IC(ic);
	int rc;

	/* Once per process: a filter cannot be removed, only stacked. */
	if (s->filtered == getpid())
		return 0;
	rc = sbx_filter_install(&s->filter);
	if (rc < 0)
		return rc;
	s->filtered = getpid();
	return 0;
}

static int sandbox_wait_do(struct xos_ic *ic, struct xos_ef_exit *ret_exit)
{
	struct sandbox_ic *s = SANDBOX_IC(ic);
	bool reported;
	int ws = 0, how;
	pid_t rc;

	do {
		rc = waitpid(s->pid, &ws, __WALL);
	} while (rc < 0 && errno == EINTR);
	if (rc < 0 && errno != ECHILD)
		return -errno;
	reported = atomic_load_explicit(&s->shared->done, memory_order_acquire);
	how = s->nested ? 0 : atomic_load(&s->verdict->how);
	if (rc < 0) {
		/* SIGCHLD ignored: the kernel reaped it; the pages still know. */
		if (!how && !reported)
			return -ECHILD;
		ws = 0;
	}
	if (s->nested) {
		/* The EF's own process, as the process ICF sees it. */
		how = WIFSIGNALED(ws) && rc >= 0 ? XOS_EF_KILLED : XOS_EF_EXITED;
		ret_exit->how = how;
		ret_exit->status = how == XOS_EF_KILLED ? WTERMSIG(ws) :
				   reported ? s->shared->status : WEXITSTATUS(ws);
		return 0;
	}
	if (how == XOS_EF_KILLED) {
		ret_exit->how = XOS_EF_KILLED;
		ret_exit->status = s->verdict->status;
	} else if (how == XOS_EF_EXITED) {
		ret_exit->how = XOS_EF_EXITED;
		/* An EF that called exit() itself never reached the page. */
		ret_exit->status = reported ? s->shared->status : s->verdict->status;
	} else if (WIFSIGNALED(ws)) {
		/* The outer process itself was killed. */
		ret_exit->how = XOS_EF_KILLED;
		ret_exit->status = WTERMSIG(ws);
	} else {
		ret_exit->how = XOS_EF_KILLED;
		ret_exit->status = SIGKILL;
	}
	return 0;
}

/* The ops leave errno as they found it: it belongs to the application. */
static int sandbox_init(const struct xos_icf *icf, char *why, size_t why_len)
{
	int saved = errno, rc = sandbox_init_do(icf, why, why_len);

	errno = saved;
	return rc;
}

static int sandbox_create(const struct xos_icf *icf, struct xos_ef *ef, struct xos_ic **ret_ic)
{
	int saved = errno, rc = sandbox_create_do(icf, ef, ret_ic);

	errno = saved;
	return rc;
}

static int sandbox_wait(struct xos_ic *ic, struct xos_ef_exit *ret_exit)
{
	int saved = errno, rc = sandbox_wait_do(ic, ret_exit);

	errno = saved;
	return rc;
}

/* wake: SIGURG to the EF's process, found from the outer process (wake_ef.c). */
static int sandbox_wake(struct xos_ic *ic)
{
	struct sandbox_ic *s = SANDBOX_IC(ic);

	return sbx_wake(&s->wake, s->pid, s->nested);
}

static void sandbox_destroy(struct xos_ic *ic)
{
	sandbox_free(SANDBOX_IC(ic));
}

/* dump: the EF is parked by the core; its domain is read through the memfd the creator keeps. */
static int sandbox_dump(struct xos_ic *ic, int fd)
{
	return xos_ef_image_write(ic->ef, fd);
}

/* restore: rebuild the domain from the image, resume the EF in a new sandbox. */
static int sandbox_restore(const struct xos_icf *icf, struct xos_ef *ef, int fd,
			   struct xos_ic **ret_ic)
{
	int rc = xos_ef_image_read(ef, fd);

	if (rc < 0)
		return rc;
	return sandbox_create(icf, ef, ret_ic);
}

/*
 * from_pivot: take the EF from its process (domain, fds and channel ends
 * come here) and resume it in a new sandbox, which inherits them all.  The
 * old process is reaped last.  One way only: there is no to_pivot (see
 * xos-icf-sandbox(7)).
 */
static int sandbox_from_pivot(const struct xos_icf *icf, struct xos_ic *pivot_ic,
			      struct xos_ic **ret_ic)
{
	int saved = errno, rc;

	rc = xos_ef_pivot_take(pivot_ic);
	if (rc < 0)
		return rc;
	/* Parked in its domain, its process leaving: the sandbox resumes it. */
	rc = sandbox_create(icf, pivot_ic->ef, ret_ic);
	xos_ef_pivot_drop(pivot_ic);
	errno = saved;
	return rc;
}

static const struct xos_icf_ops sandbox_ops = {
	.init = sandbox_init,
	.create = sandbox_create,
	.wait = sandbox_wait,
	.switch_in = sandbox_switch_in,
	.dump = sandbox_dump,
	.restore = sandbox_restore,
	.from_pivot = sandbox_from_pivot,
	.destroy = sandbox_destroy,
	.wake = sandbox_wake,
};

const struct xos_icf xos__icf_sandbox = {
	.name = "sandbox",
	.description = sandbox_description,
	.isolation = XOS_ISO_SYSCALLS,
	/* An inherited memfd (ring), pipe or socket pair crosses; never the host's network. */
	.features = XOS_ICF_F_OWN_FDS | XOS_ICF_F_CRASH_CONTAINED | XOS_ICF_F_RESTRICTED |
		    XOS_ICF_X_MAPS_SHARED | XOS_ICF_X_INHERITS_FDS,
	.create_cost = 1000000, /* ~6-7x the process ICF (bench-sandbox) */
	XOS_ICF_OPS(sandbox_ops),
};
