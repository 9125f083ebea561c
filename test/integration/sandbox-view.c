/* SPDX-License-Identifier: MIT */
/*
 * Description: what a sandboxed EF sees of the file system and of other
 * processes.  The host's files are readable but nothing outside the view
 * can be opened for writing, created or removed (read-only view, EROFS);
 * /tmp is private (host files there are invisible, files made there never
 * reach the host); sandbox.rw makes one host directory writable; /dev
 * holds only null, zero, full, random, urandom and a private shm (no
 * kernel log, disks or terminals), read-only; the EF
 * is pid 2 of its own PID namespace under a tiny init and its /proc lists
 * only those two.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sched.h> /* CLONE_NEWNS, without _GNU_SOURCE */
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox-helpers.h"

#define CONTENT "host data\n"

struct paths {
	char file[PATH_MAX]; /* an existing host file outside /tmp */
	char dir[PATH_MAX];  /* a host directory */
	char tmp[PATH_MAX];  /* a host file in /tmp */
};

/* Each check returns its own code, so a failure says which one broke. */
static int try_write_view(void *arg)
{
	const struct paths *p = arg;
	char buf[64] = { 0 }, created[PATH_MAX + 16];
	int fd;

	fd = open(p->file, O_RDONLY);
	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) != (ssize_t)strlen(CONTENT) || strcmp(buf, CONTENT))
		return 1; /* the view is readable */
	close(fd);
	if (open(p->file, O_WRONLY) >= 0 || errno != EROFS)
		return 2;
	if (open(p->file, O_RDWR | O_TRUNC) >= 0 || errno != EROFS)
		return 3;
	snprintf(created, sizeof(created), "%s/new-file", p->dir);
	if (open(created, O_WRONLY | O_CREAT, 0644) >= 0 || errno != EROFS)
		return 4;
	if (unlink(p->file) == 0 || errno != EROFS)
		return 5;
	if (mkdir(created, 0755) == 0 || errno != EROFS)
		return 6;
	if (open("/etc/xos-sandbox-escape", O_WRONLY | O_CREAT, 0644) >= 0 || errno != EROFS)
		return 7;
	return 0;
}

static void make_paths(struct paths *p)
{
	char cwd[PATH_MAX];
	int fd;

	/* The host directory must be outside /tmp, which the sandbox replaces
	 * (a build tree may well be under /tmp). */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	if (!strcmp(cwd, "/tmp") || !strncmp(cwd, "/tmp/", 5))
		snprintf(cwd, sizeof(cwd), "/var/tmp");
	snprintf(p->dir, sizeof(p->dir), "%s/sandbox-view.XXXXXX", cwd);
	assert_non_null(mkdtemp(p->dir));
	snprintf(p->file, sizeof(p->file), "%s/file", p->dir);
	fd = open(p->file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, CONTENT, strlen(CONTENT)), strlen(CONTENT));
	close(fd);
	snprintf(p->tmp, sizeof(p->tmp), "/tmp/xos-sandbox-host.XXXXXX");
	fd = mkstemp(p->tmp);
	assert_true(fd >= 0);
	close(fd);
}

static void drop_paths(const struct paths *p)
{
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/new-file", p->dir);
	unlink(path);
	unlink(p->file);
	rmdir(p->dir);
	unlink(p->tmp);
}

static void file_is(const char *path, const char *content)
{
	char buf[64] = { 0 };
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_true(read(fd, buf, sizeof(buf) - 1) >= 0);
	close(fd);
	assert_string_equal(buf, content);
}

static void test_view_read_only(void **state)
{
	struct paths p;

	(void)state;
	make_paths(&p);
	t_assert_exit(t_sandbox_run(NULL, try_write_view, &p, sizeof(p)), XOS_EF_EXITED, 0);
	file_is(p.file, CONTENT);
	drop_paths(&p);
}

static int use_private_tmp(void *arg)
{
	const struct paths *p = arg;
	char inside[PATH_MAX + 16];
	int fd;

	if (access(p->tmp, F_OK) == 0 || errno != ENOENT)
		return 1; /* the host's /tmp file must be invisible */
	snprintf(inside, sizeof(inside), "%s.inside", p->tmp);
	fd = open(inside, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return 2; /* but /tmp is writable */
	if (write(fd, "x", 1) != 1)
		return 3;
	close(fd);
	return access(inside, F_OK) == 0 ? 0 : 4;
}

static void test_private_tmp(void **state)
{
	char inside[PATH_MAX + 16];
	struct paths p;

	(void)state;
	make_paths(&p);
	t_assert_exit(t_sandbox_run(NULL, use_private_tmp, &p, sizeof(p)), XOS_EF_EXITED, 0);
	snprintf(inside, sizeof(inside), "%s.inside", p.tmp);
	assert_int_equal(access(inside, F_OK), -1); /* it never reached the host */
	assert_int_equal(access(p.tmp, F_OK), 0);
	drop_paths(&p);
}

static int write_in_dir(void *arg)
{
	const struct paths *p = arg;
	char created[PATH_MAX + 16];
	int fd;

	snprintf(created, sizeof(created), "%s/new-file", p->dir);
	fd = open(created, O_WRONLY | O_CREAT, 0644);
	if (fd < 0)
		return errno;
	if (write(fd, "from the sandbox", 16) != 16)
		return 1000;
	close(fd);
	/* Only that directory: the rest stays read-only. */
	if (open("/etc/xos-sandbox-escape", O_WRONLY | O_CREAT, 0644) >= 0 || errno != EROFS)
		return 1001;
	return 0;
}

static void test_rw_option_widens_view(void **state)
{
	char options[PATH_MAX + 32], created[PATH_MAX + 16];
	struct paths p;

	(void)state;
	make_paths(&p);
	snprintf(options, sizeof(options), "sandbox.rw=%s", p.dir);
	t_assert_exit(t_sandbox_run(options, write_in_dir, &p, sizeof(p)), XOS_EF_EXITED, 0);
	snprintf(created, sizeof(created), "%s/new-file", p.dir);
	file_is(created, "from the sandbox");
	/* Without the option the same EF cannot. */
	unlink(created);
	t_assert_exit(t_sandbox_run(NULL, write_in_dir, &p, sizeof(p)), XOS_EF_EXITED, EROFS);
	drop_paths(&p);
}

/* A writable host directory under /tmp is carried into the private /tmp; the rest stays private. */
static int write_in_tmp_dir(void *arg)
{
	const struct paths *p = arg;
	char created[PATH_MAX + 16];

	if (access(p->tmp, F_OK) == 0 || errno != ENOENT)
		return 1; /* other host files in /tmp stay invisible */
	snprintf(created, sizeof(created), "%s/new-file", p->dir);
	return write_in_dir(arg) ?: access(created, F_OK) == 0 ? 0 : 2;
}

static void test_rw_under_tmp(void **state)
{
	char options[PATH_MAX + 32], created[PATH_MAX + 16];
	struct paths p;

	(void)state;
	make_paths(&p);
	drop_paths(&p);
	snprintf(p.dir, sizeof(p.dir), "/tmp/xos-sandbox-rw.XXXXXX");
	assert_non_null(mkdtemp(p.dir));
	snprintf(p.tmp, sizeof(p.tmp), "/tmp/xos-sandbox-host.XXXXXX");
	close(mkstemp(p.tmp));
	snprintf(p.file, sizeof(p.file), "%s/file", p.dir);
	snprintf(options, sizeof(options), "sandbox.rw=%s", p.dir);
	t_assert_exit(t_sandbox_run(options, write_in_tmp_dir, &p, sizeof(p)), XOS_EF_EXITED, 0);
	snprintf(created, sizeof(created), "%s/new-file", p.dir);
	file_is(created, "from the sandbox");
	/* sandbox.rw=/tmp: the host's /tmp itself, its files visible. */
	unlink(created);
	t_assert_exit(t_sandbox_run("sandbox.rw=/tmp", write_in_tmp_dir, &p, sizeof(p)), XOS_EF_EXITED, 1);
	t_assert_exit(t_sandbox_run("sandbox.rw=/tmp", write_in_dir, &p, sizeof(p)), XOS_EF_EXITED, 0);
	file_is(created, "from the sandbox");
	drop_paths(&p);
}

/* sandbox.rw=/tmp with a mount under the host's /tmp: its files there, writable. */
static int use_mount_under_tmp(void *arg)
{
	const struct paths *p = arg;
	char buf[64] = { 0 };
	int fd = open(p->file, O_RDONLY);

	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) != (ssize_t)strlen(CONTENT) || strcmp(buf, CONTENT))
		return 1;
	close(fd);
	return write_in_dir(arg) ? 2 : 0;
}

/*
 * In a mount namespace of its own (the host's mounts untouched): a tmpfs
 * under /tmp, then a sandbox with sandbox.rw=/tmp.  The copy of that mount
 * is locked in the sandbox's user namespace, and a non-recursive bind of
 * /tmp was refused (EINVAL) because of it.  Exit 0, 77 (cannot try), or
 * the step that failed.
 */
static int mount_then_sandbox(struct paths *p)
{
	struct xos_ef_exit ex;
	int fd, rc = 0;

	if (syscall(SYS_unshare, CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return 77;
	if (mount("xos-view-test", p->dir, "tmpfs", 0, "size=1m") < 0)
		return 77;
	fd = open(p->file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, CONTENT, strlen(CONTENT)) != (ssize_t)strlen(CONTENT))
		return 10;
	close(fd);
	ex = t_sandbox_run("sandbox.rw=/tmp", use_mount_under_tmp, p, sizeof(*p));
	if (ex.how != XOS_EF_EXITED || ex.status != 0)
		rc = ex.how == XOS_EF_EXITED ? 20 + ex.status : 30;
	umount2(p->dir, MNT_DETACH);
	return rc;
}

static void test_rw_tmp_over_mounts(void **state)
{
	struct paths p;
	pid_t pid;
	int ws;

	(void)state;
	make_paths(&p);
	drop_paths(&p);
	snprintf(p.dir, sizeof(p.dir), "/tmp/xos-sandbox-mnt.XXXXXX");
	assert_non_null(mkdtemp(p.dir));
	snprintf(p.file, sizeof(p.file), "%s/file", p.dir);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(mount_then_sandbox(&p));
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	rmdir(p.dir);
	assert_true(WIFEXITED(ws));
	if (WEXITSTATUS(ws) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(ws), 0);
}

/* Only harmless devices: the host's others (kernel log, disks) are not there. */
static int check_dev(void *arg)
{
	static const char *const absent[] = { "/dev/kmsg", "/dev/mem", "/dev/vda", "/dev/sda",
					      "/dev/kvm", "/dev/tty", "/dev/console" };
	char buf[16];
	int fd, n = 0;
	DIR *d;
	struct dirent *e;

	(void)arg;
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
		if (access(absent[i], F_OK) == 0 || errno != ENOENT)
			return 100 + (int)i;
	fd = open("/dev/null", O_WRONLY);
	if (fd < 0 || write(fd, "x", 1) != 1)
		return 1;
	close(fd);
	fd = open("/dev/urandom", O_RDONLY);
	if (fd < 0 || read(fd, buf, sizeof(buf)) != sizeof(buf))
		return 2;
	close(fd);
	fd = open("/dev/shm/xos-sandbox-shm", O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return 3; /* a private shm is writable */
	close(fd);
	if (open("/dev/new-node", O_WRONLY | O_CREAT, 0600) >= 0 || errno != EROFS)
		return 4;
	d = opendir("/dev");
	if (!d)
		return 5;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	/* null zero full random urandom, fd stdin stdout stderr, shm */
	return n == 10 ? 0 : 1000 + n;
}

static void test_own_dev(void **state)
{
	(void)state;
	t_assert_exit(t_sandbox_run(NULL, check_dev, NULL, 0), XOS_EF_EXITED, 0);
	/* The EF's shm was its own. */
	assert_int_equal(access("/dev/shm/xos-sandbox-shm", F_OK), -1);
}

static int count_processes(void *arg)
{
	DIR *d;
	struct dirent *e;
	int n = 0;

	(void)arg;
	if (getpid() != 2)
		return 1000 + getpid();
	d = opendir("/proc");
	if (!d)
		return -errno;
	while ((e = readdir(d)))
		if (e->d_name[0] >= '1' && e->d_name[0] <= '9')
			n++;
	closedir(d);
	return n;
}

static void test_own_pid_namespace(void **state)
{
	(void)state;
	/* pid 1, the sandbox's init, and pid 2, the EF. */
	t_assert_exit(t_sandbox_run(NULL, count_processes, NULL, 0), XOS_EF_EXITED, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_view_read_only),
		cmocka_unit_test(test_private_tmp),
		cmocka_unit_test(test_rw_option_widens_view),
		cmocka_unit_test(test_rw_under_tmp),
		cmocka_unit_test(test_rw_tmp_over_mounts),
		cmocka_unit_test(test_own_dev),
		cmocka_unit_test(test_own_pid_namespace),
	};

	t_sandbox_require();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
