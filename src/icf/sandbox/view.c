/* SPDX-License-Identifier: MIT */
/*
 * What the sandbox's processes see of the file system: the read-only view
 * (with the sandbox.rw paths left writable), the private /dev and /tmp,
 * the masks on the PID namespace's /proc, and the EF's Landlock ruleset,
 * which limits its writes by path.  See xos-icf-sandbox(7).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#define XOS_USE_VERSION 1
#include <xos.h>
#include <xos/vic.h>

#include "sandbox_i.h"

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/*
 * Kernels (and tools such as valgrind) without mount_setattr(2): set or
 * clear read-only on every mount at or under @top with one bind remount
 * each, keeping the flags the kernel would refuse to drop.
 */
static int remount_each(const char *top, bool rdonly)
{
	static const struct {
		unsigned long st, ms;
	} keep[] = {
		{ ST_NOSUID, MS_NOSUID }, { ST_NODEV, MS_NODEV }, { ST_NOEXEC, MS_NOEXEC },
		{ ST_NOATIME, MS_NOATIME }, { ST_NODIRATIME, MS_NODIRATIME }, { ST_RELATIME, MS_RELATIME },
	};
	size_t toplen = strlen(top);
	char line[4096], mp[4096];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int rc = 0;

	if (!f)
		return -errno;
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		unsigned long flags = MS_REMOUNT | MS_BIND | (rdonly ? MS_RDONLY : 0);
		struct statvfs sv;

		/* id parent major:minor root mount-point ... */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		unescape(mp);
		if (strcmp(top, "/") != 0 &&
		    (strncmp(mp, top, toplen) != 0 || (mp[toplen] && mp[toplen] != '/')))
			continue;
		if (statvfs(mp, &sv) < 0)
			continue; /* hidden under another mount */
		for (size_t i = 0; i < ARRAY_SIZE(keep); i++)
			if (sv.f_flag & keep[i].st)
				flags |= keep[i].ms;
		if (mount("none", mp, "none", flags, NULL) < 0 && errno != EINVAL)
			rc = -errno;
	}
	fclose(f);
	return rc;
}

/* Make the mounts at and under @path read-only (or writable again). */
int sbx_view_set_rdonly(const char *path, bool rdonly)
{
	struct mount_attr attr = { .attr_set = rdonly ? MOUNT_ATTR_RDONLY : 0,
				   .attr_clr = rdonly ? 0 : MOUNT_ATTR_RDONLY };

	if (mount_setattr(AT_FDCWD, path, AT_RECURSIVE, &attr, sizeof(attr)) == 0)
		return 0;
	if (errno != ENOSYS)
		return -errno;
	return remount_each(path, rdonly);
}

/*
 * A /dev of the sandbox's own: the host's would let an EF open any device
 * its DAC rights allow (a read-only mount does not stop writes to device
 * nodes).  The harmless nodes are bind-mounted from the host's /dev,
 * staged in the private /tmp while a tmpfs covers /dev; then /dev is made
 * read-only, but for its own private shm.
 */
int sbx_dev_minimal(const char *tmpopts)
{
	static const char *const nodes[] = { "null", "zero", "full", "random", "urandom" };
	static const char *const links[][2] = {
		{ "fd", "/proc/self/fd" },       { "stdin", "/proc/self/fd/0" },
		{ "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
	};
	char host[64], stage[64], mine[64];
	bool staged[ARRAY_SIZE(nodes)] = { false };
	int fd;

	if (mkdir("/tmp/.xos-dev", 0700) < 0)
		return -errno;
	for (size_t i = 0; i < ARRAY_SIZE(nodes); i++) {
		snprintf(host, sizeof(host), "/dev/%s", nodes[i]);
		snprintf(stage, sizeof(stage), "/tmp/.xos-dev/%s", nodes[i]);
		if (access(host, F_OK) < 0)
			continue;
		fd = open(stage, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			return -errno;
		close(fd);
		if (mount(host, stage, "none", MS_BIND, NULL) < 0)
			return -errno;
		staged[i] = true;
	}
	if (mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,mode=755") < 0)
		return -errno;
	for (size_t i = 0; i < ARRAY_SIZE(nodes); i++) {
		if (!staged[i])
			continue;
		snprintf(stage, sizeof(stage), "/tmp/.xos-dev/%s", nodes[i]);
		snprintf(mine, sizeof(mine), "/dev/%s", nodes[i]);
		fd = open(mine, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			return -errno;
		close(fd);
		if (mount(stage, mine, "none", MS_MOVE, NULL) < 0)
			return -errno;
		unlink(stage);
	}
	rmdir("/tmp/.xos-dev");
	for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
		snprintf(mine, sizeof(mine), "/dev/%s", links[i][0]);
		if (symlink(links[i][1], mine) < 0)
			return -errno;
	}
	/* POSIX shared memory lives in /dev/shm. */
	if (mkdir("/dev/shm", 01777) < 0 || chmod("/dev/shm", 01777) < 0)
		return -errno;
	if (mount("none", "/dev", "none", MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC, NULL) < 0)
		return -errno;
	if (mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, tmpopts) < 0)
		return -errno;
	return 0;
}

/*
 * The next path of a ':'-separated sandbox.rw list at @p, copied to @buf
 * (conf_option checked the list: absolute, each fits); where the one after
 * starts, or NULL at the end.
 */
const char *sbx_rw_next(const char *p, char *buf, size_t size)
{
	size_t len;

	if (!*p)
		return NULL;
	len = strcspn(p, ":");
	snprintf(buf, size, "%.*s", (int)len, p);
	p += len;
	return p + (*p == ':');
}

/* Whether @path is /tmp or under it (a sandbox.rw path the private /tmp would hide). */
static bool under_tmp(const char *path)
{
	return strncmp(path, "/tmp", 4) == 0 && (path[4] == '\0' || path[4] == '/');
}

/* Make @path's parents (mode 0755) and @path itself: a directory if @dir, else an empty file. */
static int mkdir_under(const char *path, bool dir)
{
	char buf[XOS_EF_OPTIONS_MAX];
	size_t len = strlen(path);
	int fd;

	if (len >= sizeof(buf))
		return errno = ENAMETOOLONG, -1;
	memcpy(buf, path, len + 1);
	for (char *s = buf + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			if (mkdir(buf, 0755) < 0 && errno != EEXIST)
				return -1;
			*s = '/';
		}
	if (dir)
		return mkdir(buf, 0755) < 0 && errno != EEXIST ? -1 : 0;
	fd = open(buf, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

/*
 * sandbox.rw paths under /tmp (or /tmp itself) would be hidden by the
 * private /tmp: each is held before the tmpfs covers it (tmp_hold), then
 * its mount point is made in the tmpfs and the held tree is attached there
 * (tmp_carry), after /dev was staged in the tmpfs, so the host's /tmp
 * never sees the staging.
 *
 * Held as a detached copy of every mount at and under the path
 * (open_tree(2) OPEN_TREE_CLONE|AT_RECURSIVE), moved into place with
 * move_mount(2).  The mounts copied from the host are locked in the new
 * user namespace, and the kernel refuses (EINVAL) a non-recursive bind of
 * a tree with locked mounts under it: any mount under the host's /tmp
 * made sandbox.rw=/tmp fail.  Kernels without open_tree (before 5.2) get
 * the older way: an O_PATH descriptor bound through /proc/self/fd, not
 * recursively for /tmp itself (a recursive bind would bring the private
 * tmpfs now mounted there).
 */
int sbx_tmp_hold(const char *rw, struct sbx_tmp_held *h)
{
	char path[XOS_EF_OPTIONS_MAX];

	h->n = 0;
	for (const char *p = rw; (p = sbx_rw_next(p, path, sizeof(path)));) {
		if (!under_tmp(path))
			continue;
		if (h->n == (int)ARRAY_SIZE(h->fd))
			return -E2BIG;
		h->fd[h->n] = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
		h->tree[h->n] = h->fd[h->n] >= 0;
		if (h->fd[h->n] < 0 && errno == ENOSYS)
			h->fd[h->n] = open(path, O_PATH | O_CLOEXEC);
		if (h->fd[h->n] < 0)
			return -errno;
		h->n++;
	}
	return 0;
}

int sbx_tmp_carry(const char *rw, struct sbx_tmp_held *h)
{
	char path[XOS_EF_OPTIONS_MAX], from[64];
	int i = 0;

	for (const char *p = rw; (p = sbx_rw_next(p, path, sizeof(path)));) {
		struct stat st;
		int rc;

		if (!under_tmp(path))
			continue;
		if (fstat(h->fd[i], &st) < 0 || mkdir_under(path, S_ISDIR(st.st_mode)) < 0)
			return -errno;
		if (h->tree[i]) {
			rc = move_mount(h->fd[i], "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH);
		} else {
			snprintf(from, sizeof(from), "/proc/self/fd/%d", h->fd[i]);
			rc = mount(from, path, "none", MS_BIND | (path[4] ? MS_REC : 0), NULL);
		}
		if (rc < 0)
			return -errno;
		close(h->fd[i++]);
	}
	h->n = 0;
	return 0;
}

/*
 * The PID namespace's /proc shows the host kernel's global files, and uid 0
 * is the host's root: without this, the EF could write global sysctls
 * (core_pattern runs a command of its choosing as host root).  As
 * container runtimes do: the knobs read-only, the kernel's memory, symbols,
 * keys and timers hidden behind /dev/null or an empty read-only tmpfs.
 * The EF, which holds no capability, cannot undo a mount.
 */
int sbx_proc_mask(void)
{
	static const char *const rdonly[] = {
		"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs",
	};
	static const char *const files[] = {
		"/proc/kcore", "/proc/kallsyms", "/proc/kmsg", "/proc/keys", "/proc/key-users",
		"/proc/timer_list", "/proc/sched_debug", "/proc/latency_stats", "/proc/kpagecount",
		"/proc/kpageflags", "/proc/kpagecgroup", "/proc/vmallocinfo",
	};
	static const char *const dirs[] = {
		"/proc/acpi", "/proc/asound", "/proc/scsi", "/proc/driver", "/sys/firmware",
		"/sys/devices/virtual/powercap",
	};
	const unsigned long ro = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;

	/* No lstat first: a path this kernel lacks fails its mount with ENOENT (but not the source). */
	if (access("/dev/null", F_OK) < 0)
		return -errno;
	for (size_t i = 0; i < ARRAY_SIZE(rdonly); i++) {
		if (mount(rdonly[i], rdonly[i], NULL, MS_BIND | MS_REC, NULL) < 0) {
			if (errno == ENOENT)
				continue;
			return -errno;
		}
		if (mount(NULL, rdonly[i], NULL, MS_REMOUNT | MS_BIND | ro, NULL) < 0)
			return -errno;
	}
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		if (mount("/dev/null", files[i], NULL, MS_BIND, NULL) < 0 && errno != ENOENT)
			return -errno;
	/* A tmpfs only covers a directory (ENOTDIR otherwise: nothing to hide there). */
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
		if (mount("tmpfs", dirs[i], "tmpfs", ro, "size=4k,nr_inodes=1,mode=555") < 0 &&
		    errno != ENOENT && errno != ENOTDIR)
			return -errno;
	return 0;
}

/* Older headers: the rights of Landlock ABI 2 and 3 (the kernel says which it has). */
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif

/* Write-type rights of Landlock ABI @abi: what the EF's ruleset restricts. */
static __u64 landlock_write_rights(int abi)
{
	__u64 r = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |
		  LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR |
		  LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
		  LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |
		  LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM;

	if (abi >= 2)
		r |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		r |= LANDLOCK_ACCESS_FS_TRUNCATE;
	return r;
}

/* The rights that apply to a file that is not a directory. */
#define LANDLOCK_FILE_RIGHTS (LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE)

/* Allow @rights (narrowed to file rights for a non-directory) beneath what @fd names. */
static int landlock_allow_fd(int ruleset, int fd, __u64 rights)
{
	struct landlock_path_beneath_attr pb = { .parent_fd = fd };
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	pb.allowed_access = S_ISDIR(st.st_mode) ? rights : rights & LANDLOCK_FILE_RIGHTS;
	if (!pb.allowed_access)
		return 0;
	return syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0 ? -errno : 0;
}

static int landlock_allow_path(int ruleset, const char *path, __u64 rights)
{
	int fd = open(path, O_PATH | O_CLOEXEC), rc;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	rc = landlock_allow_fd(ruleset, fd, rights);
	close(fd);
	return rc;
}

/*
 * Re-opening a descriptor through /proc/self/fd/N (or /proc/self/exe,
 * /dev/stdin...) reaches the host's file on the host's writable mount, not
 * through the read-only view.  A Landlock ruleset makes the EF's writes by
 * path possible only in the private /tmp and /dev/shm, the harmless
 * devices of the private /dev, the sandbox.rw paths, and the very files
 * it holds open for writing: a descriptor opened read-only cannot be re-opened for writing
 * (nor truncated, nor a directory's held descriptor used to create or
 * remove entries).  Returns 1 when applied, 0 when this kernel has no
 * Landlock (see xos-icf-sandbox(7) for what is left then), or -errno.
 */
int sbx_landlock_apply(const struct sandbox_conf *conf, const int *keep, int nkeep)
{
	/*
	 * The private /dev is a read-only tmpfs: beneath it, only the harmless
	 * devices bound there and its own /dev/shm can be written, so one rule
	 * covers them all (its links to /proc/self/fd resolve elsewhere).
	 */
	static const char *const writable[] = { "/tmp", "/dev" };
	struct landlock_ruleset_attr ra = { 0 };
	char path[XOS_EF_OPTIONS_MAX];
	int abi, rs, rc = 0;
	__u64 rights;

	abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1)
		return errno == ENOSYS || errno == EOPNOTSUPP || abi == 0 ? 0 : -errno;
	rights = landlock_write_rights(abi);
	ra.handled_access_fs = rights;
	rs = (int)syscall(SYS_landlock_create_ruleset, &ra, sizeof(ra.handled_access_fs), 0);
	if (rs < 0)
		return -errno;
	for (size_t i = 0; rc == 0 && i < ARRAY_SIZE(writable); i++)
		rc = landlock_allow_path(rs, writable[i], rights);
	for (const char *p = conf->rw; rc == 0 && (p = sbx_rw_next(p, path, sizeof(path)));)
		rc = landlock_allow_path(rs, path, rights);
	for (int i = 0; rc == 0 && i < nkeep; i++) {
		int fl = fcntl(keep[i], F_GETFL);

		/* Held open for writing: re-opening it for writing gives nothing new. */
		if (fl < 0 || (fl & O_PATH) || (fl & O_ACCMODE) == O_RDONLY)
			continue;
		rc = landlock_allow_fd(rs, keep[i], rights);
		if (rc == -EBADFD || rc == -EBADF)
			rc = 0; /* a pipe, socket or memfd: not reached by path */
	}
	if (rc == 0 && (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
			syscall(SYS_landlock_restrict_self, rs, 0) < 0))
		rc = -errno;
	close(rs);
	return rc < 0 ? rc : 1;
}
