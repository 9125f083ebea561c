/* SPDX-License-Identifier: MIT */
/*
 * Limits for a sandbox's whole process tree, by cgroups.  rlimits are per
 * process and miss memory no mapping holds: an EF could fork its way
 * around sandbox.cpu or keep gigabytes in a memfd under sandbox.mem.  A
 * cgroup counts every page charged to the tree (shmem, tmpfs, kernel
 * memory), every process and thread, and every CPU nanosecond.
 *
 * Per resource the cgroup v2 hierarchy is preferred where its controller
 * is enabled, else the v1 hierarchy of that controller (hybrid machines
 * have both).  Each sandbox gets a child of the creator's own cgroup in
 * each hierarchy used, so the creator's own limits still bound it:
 *
 *   memory  v2 memory.max, memory.swap.max=0, memory.oom.group=1
 *           v1 memory.limit_in_bytes (and memory.memsw.limit_in_bytes)
 *   pids    pids.max (v1 and v2 alike)
 *   cpu     no controller limits a total, only a rate: the outer process
 *           reads the tree's usage (v2 cpu.stat usage_usec, which every
 *           v2 cgroup has; v1 cpuacct.usage) and SIGKILLs the sandbox's
 *           init at the budget, which ends the PID namespace.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Where one resource is controlled, found by the probe. */
struct place {
	int version;             /* 0: nowhere (rlimits); 1 or 2 */
	char base[SBX_CG_PATH];  /* the creator's cgroup in that hierarchy */
};

static struct place places[SBX_NRES];
static long ncpus = 1;

static const char *const v1_controller[SBX_NRES] = { "memory", "pids", "cpuacct" };
static const char *const res_name[SBX_NRES] = { "memory", "pids", "cpu" };

static int write_text(const char *dir, const char *file, const char *text)
{
	char path[SBX_CG_PATH + 64];
	ssize_t len = (ssize_t)strlen(text), n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, text, (size_t)len);
	n = n < 0 ? -errno : n == len ? 0 : -EIO;
	close(fd);
	return (int)n;
}

static int read_text(const char *dir, const char *file, char *buf, size_t size)
{
	char path[SBX_CG_PATH + 64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

/* Is @word an element of the @sep-separated @list? */
static bool list_has(const char *list, const char *word, const char *sep)
{
	size_t len = strlen(word);

	for (const char *p = list; *p;) {
		size_t n = strcspn(p, sep);

		if (n == len && strncmp(p, word, len) == 0)
			return true;
		p += n;
		p += *p != '\0';
	}
	return false;
}

/*
 * The creator's cgroup path in the hierarchy with @controller (v1, as in
 * /proc/self/cgroup's second field) or the v2 one (@controller NULL).
 */
static int own_path(const char *controller, char *out, size_t size)
{
	char line[1024];
	FILE *f = fopen("/proc/self/cgroup", "re");
	int rc = -ENOENT;

	if (!f)
		return -errno;
	while (rc < 0 && fgets(line, sizeof(line), f)) {
		char *ctl = strchr(line, ':'), *path;

		if (!ctl || !(path = strchr(++ctl, ':')))
			continue;
		*path++ = '\0';
		path[strcspn(path, "\n")] = '\0';
		if (controller ? list_has(ctl, controller, ",") : (line[0] == '0' && !*ctl))
			rc = snprintf(out, size, "%s", path) < (int)size ? 0 : -ENAMETOOLONG;
	}
	fclose(f);
	return rc;
}

/*
 * The mount of the v1 hierarchy with @controller (or the v2 one, NULL):
 * the directory of the creator's cgroup there, in @out.
 */
static int find_base(const char *controller, char *out, size_t size)
{
	char line[2048], own[SBX_CG_PATH];
	FILE *f;
	int rc = own_path(controller, own, sizeof(own));

	if (rc < 0)
		return rc;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	rc = -ENOENT;
	while (rc < 0 && fgets(line, sizeof(line), f)) {
		char root[SBX_CG_PATH], mp[SBX_CG_PATH], fstype[32], opts[512];
		const char *dash = strstr(line, " - "), *rel;
		size_t rootlen;

		if (!dash || sscanf(line, "%*s %*s %*s %255s %255s", root, mp) != 2 ||
		    sscanf(dash, " - %31s %*s %511s", fstype, opts) != 2)
			continue;
		if (controller ? strcmp(fstype, "cgroup") != 0 || !list_has(opts, controller, ",")
			       : strcmp(fstype, "cgroup2") != 0)
			continue;
		/* Our cgroup must be visible under this mount's root (a container's mount). */
		rootlen = strcmp(root, "/") == 0 ? 0 : strlen(root);
		if (strncmp(own, root, rootlen) != 0 || (own[rootlen] && own[rootlen] != '/'))
			continue;
		rel = own + rootlen;
		if (strcmp(rel, "/") == 0)
			rel = "";
		rc = snprintf(out, size, "%s%s", mp, rel) < (int)size ? 0 : -ENAMETOOLONG;
	}
	fclose(f);
	return rc;
}

/* Can we make (and remove) a child cgroup in @base? */
static bool can_mkdir(const char *base)
{
	char path[SBX_CG_PATH + 64];

	snprintf(path, sizeof(path), "%s/xos-probe.%ld", base, (long)getpid());
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return false;
	return rmdir(path) == 0;
}

/* v2: is @controller usable by a child of @base (enabled there, or enabled now)? */
static bool v2_enable(const char *base, const char *controller)
{
	char buf[512], plus[32];

	if (read_text(base, "cgroup.controllers", buf, sizeof(buf)) < 0 || !list_has(buf, controller, " \n"))
		return false;
	if (read_text(base, "cgroup.subtree_control", buf, sizeof(buf)) == 0 &&
	    list_has(buf, controller, " \n"))
		return true;
	/* Refused (EBUSY) when @base holds processes and is not the root. */
	snprintf(plus, sizeof(plus), "+%s", controller);
	return write_text(base, "cgroup.subtree_control", plus) == 0;
}

/*
 * A process's start time (clock ticks after boot, /proc/PID/stat field
 * 22): with its pid, the name of a process that no reuse of the pid
 * repeats.  0 if unreadable.
 */
static unsigned long long start_time(long pid)
{
	char path[64], buf[1024], *p;
	int fd;
	ssize_t n;
	unsigned long long t = 0;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
	if (!p || sscanf(p + 2, "%*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu",
			 &t) != 1)
		return 0;
	return t;
}

/*
 * Remove the empty cgroups of creators that ended without removing theirs
 * (killed, or ended by _exit() with spares kept): "xos-sandbox.PID.START.N"
 * whose PID is gone or now names a process started at another time (the
 * pid was reused), and the older "xos-sandbox.PID.N" whose PID is gone.
 */
static void reclaim_stale(const char *base)
{
	char path[SBX_CG_PATH + 64];
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(base);

	if (!d)
		return;
	while ((de = readdir(d))) {
		unsigned long long start;
		long pid;
		unsigned int n;
		int got = sscanf(de->d_name, "xos-sandbox.%ld.%llu.%u", &pid, &start, &n);

		if (got < 2 || pid <= 0)
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) {
			/* Alive: stale only if that pid is another process now. */
			unsigned long long now_start = got == 3 ? start_time(pid) : 0;

			if (now_start == 0 || now_start == start)
				continue;
		}
		snprintf(path, sizeof(path), "%s/%s", base, de->d_name);
		/* A minute old at least: a creator in another PID namespace may be joining it. */
		if (stat(path, &st) < 0 || st.st_mtime > time(NULL) - 60)
			continue;
		rmdir(path); /* EBUSY while processes remain: left alone */
	}
	closedir(d);
}

void sbx_cgroup_probe(char *desc, size_t len)
{
	/* XOS_SANDBOX_CGROUP=off: rlimits only (what a machine without cgroups gets). */
	const char *knob = secure_getenv("XOS_SANDBOX_CGROUP");
	bool off = knob && strcmp(knob, "off") == 0;
	char v2[SBX_CG_PATH];
	bool v2_ok = !off && find_base(NULL, v2, sizeof(v2)) == 0 && can_mkdir(v2);
	size_t used = 0;
	int n = 0;

	ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpus < 1)
		ncpus = 1;
	for (int r = 0; r < SBX_NRES; r++) {
		struct place *p = &places[r];

		p->version = 0;
		/* Every v2 cgroup has cpu.stat: accounting needs no controller. */
		if (v2_ok && (r == SBX_CPU || v2_enable(v2, res_name[r]))) {
			p->version = 2;
			snprintf(p->base, sizeof(p->base), "%s", v2);
		} else if (!off && find_base(v1_controller[r], p->base, sizeof(p->base)) == 0 &&
			   can_mkdir(p->base)) {
			p->version = 1;
		}
	}
	for (int r = 0; r < SBX_NRES; r++)
		if (places[r].version)
			reclaim_stale(places[r].base);
	if (!desc || !len)
		return;
	desc[0] = '\0';
	for (int r = 0; r < SBX_NRES; r++) {
		if (!places[r].version || used >= len)
			continue;
		used += (size_t)snprintf(desc + used, len - used, "%s%s v%d", n++ ? ", " : "cgroup ",
					 res_name[r], places[r].version);
	}
	if (n == SBX_NRES)
		return;
	if (used < len)
		used += (size_t)snprintf(desc + used, len - used, "%srlimit (", n ? "; " : "");
	if (!places[SBX_MEM].version && used < len)
		used += (size_t)snprintf(desc + used, len - used, "memory: address space, shmem not counted%s",
					 !places[SBX_PIDS].version || !places[SBX_CPU].version ? "; " : "");
	if (!places[SBX_PIDS].version && used < len)
		used += (size_t)snprintf(desc + used, len - used, "pids: RLIMIT_NPROC, not for host root%s",
					 !places[SBX_CPU].version ? "; " : "");
	if (!places[SBX_CPU].version && used < len)
		used += (size_t)snprintf(desc + used, len - used, "cpu: per process");
	if (used < len)
		snprintf(desc + used, len - used, ")");
}

bool sbx_cgroup_usable(enum sbx_resource res)
{
	return (unsigned int)res < SBX_NRES && places[res].version != 0;
}

/* The index in cg->dir of the cgroup for @res, made if needed; -errno. */
static int dir_for(struct sbx_cgroup *cg, enum sbx_resource res, const char *name)
{
	char path[SBX_CG_PATH];
	int free_slot = -1;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", places[res].base, name) >= sizeof(path))
		return -ENAMETOOLONG;
	for (int i = 0; i < SBX_CG_DIRS; i++) {
		if (strcmp(cg->dir[i], path) == 0)
			return i;
		if (!cg->dir[i][0] && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0)
		return -E2BIG;
	if (mkdir(path, 0755) < 0)
		return -errno;
	memcpy(cg->dir[free_slot], path, sizeof(path));
	cg->v1[free_slot] = places[res].version == 1;
	return free_slot;
}

/*
 * Spare cgroups.  Once every process of a sandbox is reaped, its cgroups
 * are kept for the creator's next sandbox with the same limits instead of
 * removed: making, configuring and removing a memory and a pids cgroup
 * took 0.2-0.5 ms of a sandbox's create+join here.  Only empty sets are kept, only those without
 * a CPU budget (cpu.stat cannot be reset), at most SBX_SPARES, and only
 * for the process that made them (a forked child starts with none).  They
 * are removed when that process exits normally, or by reclaim_stale() of a
 * later probe once it is gone (killed, _exit, or an exec that left them).  What a new tenant inherits: page cache
 * still charged to the memory cgroup, which the kernel writes back and
 * reclaims before the limit bites; nothing it could read that another
 * cgroup's files would not show.
 */
#define SBX_SPARES 4

static struct spare {
	struct sbx_cgroup cg;
	unsigned long long mem, pids;
} spares[SBX_SPARES];
static int nspares;
static pid_t spares_pid;
static pthread_mutex_t spares_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t spares_once = PTHREAD_ONCE_INIT;

/* A fork while another thread holds the lock must not leave the child's copy held. */
static void spares_prefork(void)
{
	pthread_mutex_lock(&spares_lock);
}

static void spares_postfork(void)
{
	pthread_mutex_unlock(&spares_lock);
}

static void spares_atfork(void)
{
	pthread_atfork(spares_prefork, spares_postfork, spares_postfork);
}

/* A spare made for exactly these limits, moved into @cg; false if none. */
static bool spare_take(struct sbx_cgroup *cg, unsigned long long mem, unsigned long long pids)
{
	bool found = false;

	if (pthread_once(&spares_once, spares_atfork) != 0)
		return false;
	pthread_mutex_lock(&spares_lock);
	if (spares_pid != getpid())
		nspares = 0; /* a forked child's copy: its parent's to use */
	for (int i = 0; i < nspares && !found; i++) {
		if (spares[i].mem != mem || spares[i].pids != pids)
			continue;
		*cg = spares[i].cg;
		spares[i] = spares[--nspares];
		found = true;
	}
	pthread_mutex_unlock(&spares_lock);
	return found;
}

/*
 * Does any process remain in @dir (or can we not tell)?  The sandbox was
 * joined: its init is reaped and the kernel has killed the rest of its pid
 * namespace, but a loaded machine may take a moment to release them from
 * the cgroup.  Looked at for up to 200 ms (as sbx_cgroup_remove waits for
 * rmdir) before giving up the spare.
 */
static bool populated(const char *dir)
{
	char buf[16];

	for (int i = 0; i < 200; i++) {
		if (read_text(dir, "cgroup.procs", buf, sizeof(buf)) < 0)
			return true;
		if (buf[0] == '\0')
			return false;
		usleep(1000);
	}
	return true;
}

/* Keep @cg (made for @mem, @pids) as a spare; false if it cannot be kept. */
static bool spare_keep(const struct sbx_cgroup *cg)
{
	bool kept = false, any = false;

	if (cg->cpu_budget_ns || cg->usage_fd >= 0)
		return false;
	for (int i = 0; i < SBX_CG_DIRS; i++) {
		if (!cg->dir[i][0])
			continue;
		if (populated(cg->dir[i]))
			return false;
		any = true;
	}
	if (!any || pthread_once(&spares_once, spares_atfork) != 0)
		return false; /* (registered by spare_take() already) */
	pthread_mutex_lock(&spares_lock);
	if (spares_pid != getpid()) {
		nspares = 0;
		spares_pid = getpid();
	}
	if (nspares < SBX_SPARES) {
		spares[nspares++] = (struct spare){ .cg = *cg, .mem = cg->made_mem, .pids = cg->made_pids };
		kept = true;
	}
	pthread_mutex_unlock(&spares_lock);
	return kept;
}

/* At the creator's exit: remove its spares. */
__attribute__((destructor)) static void spares_drop(void)
{
	pthread_mutex_lock(&spares_lock);
	if (spares_pid == getpid())
		while (nspares > 0)
			sbx_cgroup_remove(&spares[--nspares].cg);
	pthread_mutex_unlock(&spares_lock);
}

static atomic_uint seq;
static pthread_once_t seq_once = PTHREAD_ONCE_INIT;

static void seq_seed(void)
{
	unsigned int r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (unsigned int)time(NULL) ^ ((unsigned int)getpid() << 16);
	atomic_store(&seq, r);
}

int sbx_cgroup_create(struct sbx_cgroup *cg, unsigned long long mem, unsigned long long cpu_s,
		      unsigned long long pids)
{
	static _Thread_local pid_t start_pid; /* whose start time start_own is */
	static _Thread_local unsigned long long start_own;
	char name[64], num[32];
	int rc = 0, d;

	if (!cg)
		return -EINVAL;
	memset(cg, 0, sizeof(*cg));
	cg->usage_fd = -1;
	if (!cpu_s && spare_take(cg, mem, pids))
		return 0;
	cg->made_mem = mem;
	cg->made_pids = pids;
	/* Pid and start time: a stale cgroup of an earlier process with this
	 * pid (killed, or ended by _exit() with spares kept) never collides. */
	if (start_pid != getpid()) {
		start_own = start_time(getpid());
		start_pid = getpid();
	}
	/* From a random start: an image exec'd by a creator has its pid and
	 * start time, and the spares the creator kept (exec runs no exit hook). */
	if (pthread_once(&seq_once, seq_seed) != 0)
		return -EAGAIN;
	snprintf(name, sizeof(name), "xos-sandbox.%ld.%llu.%u", (long)start_pid, start_own,
		 atomic_fetch_add(&seq, 1));

	if (mem && places[SBX_MEM].version) {
		if ((d = rc = dir_for(cg, SBX_MEM, name)) < 0)
			goto fail;
		snprintf(num, sizeof(num), "%llu", mem);
		if (places[SBX_MEM].version == 2) {
			if ((rc = write_text(cg->dir[d], "memory.max", num)) < 0)
				goto fail;
			/* Swapped-out shmem would escape memory.max; an OOM kill takes the tree. */
			if ((rc = write_text(cg->dir[d], "memory.swap.max", "0")) < 0 && rc != -ENOENT)
				goto fail;
			if ((rc = write_text(cg->dir[d], "memory.oom.group", "1")) < 0 && rc != -ENOENT)
				goto fail;
		} else {
			if ((rc = write_text(cg->dir[d], "memory.limit_in_bytes", num)) < 0)
				goto fail;
			/* memory+swap, where swap accounting is on. */
			if ((rc = write_text(cg->dir[d], "memory.memsw.limit_in_bytes", num)) < 0 && rc != -ENOENT)
				goto fail;
		}
		cg->by_cgroup[SBX_MEM] = true;
	}
	if (pids && places[SBX_PIDS].version) {
		if ((d = rc = dir_for(cg, SBX_PIDS, name)) < 0)
			goto fail;
		/* The sandbox's outer and init processes are not the EF's to spend. */
		snprintf(num, sizeof(num), "%llu", pids + 2);
		if ((rc = write_text(cg->dir[d], "pids.max", num)) < 0)
			goto fail;
		cg->by_cgroup[SBX_PIDS] = true;
	}
	if (cpu_s && places[SBX_CPU].version) {
		if ((rc = dir_for(cg, SBX_CPU, name)) < 0)
			goto fail;
		cg->cpu_dir = rc;
		cg->usage_v2 = places[SBX_CPU].version == 2;
		cg->cpu_budget_ns = cpu_s * 1000000000ull;
		cg->by_cgroup[SBX_CPU] = true;
	}
	return 0;

fail:
	sbx_cgroup_remove(cg);
	return rc;
}

int sbx_cgroup_enter(struct sbx_cgroup *cg)
{
	char path[SBX_CG_PATH + 64];
	int rc;

	if (!cg)
		return -EINVAL;
	/*
	 * v1: "tasks" moves just this thread, which is the whole process here,
	 * and so spares the kernel the global lock (and RCU grace period) a
	 * whole-process move takes; v2 has only cgroup.procs for that.
	 */
	for (int i = 0; i < SBX_CG_DIRS; i++)
		if (cg->dir[i][0] &&
		    (rc = write_text(cg->dir[i], cg->v1[i] ? "tasks" : "cgroup.procs", "0")) < 0)
			return rc;
	if (!cg->cpu_budget_ns)
		return 0;
	/* Opened here, before any namespace: the outer process reads it to the end. */
	snprintf(path, sizeof(path), "%s/%s", cg->dir[cg->cpu_dir], cg->usage_v2 ? "cpu.stat" : "cpuacct.usage");
	cg->usage_fd = open(path, O_RDONLY | O_CLOEXEC);
	return cg->usage_fd < 0 ? -errno : 0;
}

void sbx_cgroup_close_others(const struct sbx_cgroup *cg)
{
	unsigned int fd = cg && cg->usage_fd >= 0 ? (unsigned int)cg->usage_fd : ~0u;

	if (fd == ~0u) {
		close_range(0, ~0u, 0);
		return;
	}
	if (fd > 0)
		close_range(0, fd - 1, 0);
	close_range(fd + 1, ~0u, 0);
}

/* The tree's CPU time so far, in ns; -1 if unreadable. */
static long long usage_ns(const struct sbx_cgroup *cg)
{
	char buf[1024], *p;
	ssize_t n = pread(cg->usage_fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (!cg->usage_v2)
		return strtoll(buf, NULL, 10);
	p = strstr(buf, "usage_usec ");
	return p ? strtoll(p + 11, NULL, 10) * 1000 : -1;
}

pid_t sbx_cgroup_wait(struct sbx_cgroup *cg, pid_t child, int *ret_ws, bool *ret_over)
{
	int pidfd = -1;
	pid_t pid;

	*ret_over = false;
	if (cg && cg->usage_fd >= 0 && cg->cpu_budget_ns) {
		pidfd = (int)syscall(SYS_pidfd_open, child, 0);
		for (;;) {
			long long used, left;
			int ms;

			pid = waitpid(child, ret_ws, WNOHANG | __WALL);
			if (pid != 0 && !(pid < 0 && errno == EINTR))
				goto out;
			used = usage_ns(cg);
			if (used < 0)
				break; /* cannot measure: rlimits still hold each process */
			left = (long long)cg->cpu_budget_ns - used;
			if (left <= 0) {
				kill(child, SIGKILL);
				*ret_over = true;
				break;
			}
			/* All CPUs may be spent meanwhile: overshoot at most 10 ms of each. */
			ms = (int)(left / 1000000 / ncpus);
			ms = ms < 1 ? 1 : ms > 10 ? 10 : ms;
			if (pidfd >= 0) {
				struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

				poll(&pfd, 1, ms);
			} else {
				struct timespec ts = { .tv_sec = 0, .tv_nsec = ms * 1000000L };

				nanosleep(&ts, NULL);
			}
		}
	}
	do {
		pid = waitpid(child, ret_ws, __WALL);
	} while (pid < 0 && errno == EINTR);
out:
	if (pidfd >= 0)
		close(pidfd);
	return pid;
}

void sbx_cgroup_forget(struct sbx_cgroup *cg)
{
	if (cg->usage_fd >= 0)
		close(cg->usage_fd);
	memset(cg, 0, sizeof(*cg));
	cg->usage_fd = -1;
}

void sbx_cgroup_release(struct sbx_cgroup *cg)
{
	if (!cg)
		return;
	if (spare_keep(cg)) {
		memset(cg, 0, sizeof(*cg));
		cg->usage_fd = -1;
		return;
	}
	sbx_cgroup_remove(cg);
}

void sbx_cgroup_remove(struct sbx_cgroup *cg)
{
	if (!cg)
		return;
	if (cg->usage_fd >= 0)
		close(cg->usage_fd);
	cg->usage_fd = -1;
	for (int i = 0; i < SBX_CG_DIRS; i++) {
		if (!cg->dir[i][0])
			continue;
		/* Tasks just reaped may still be leaving the cgroup for a moment. */
		for (int tries = 0; rmdir(cg->dir[i]) < 0 && errno == EBUSY && tries < 200; tries++) {
			struct timespec ts = { .tv_sec = 0, .tv_nsec = 1000000 };

			nanosleep(&ts, NULL);
		}
		cg->dir[i][0] = '\0';
	}
}
