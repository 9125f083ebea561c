/* SPDX-License-Identifier: MIT */
/*
 * exec: the EF lives on in the new image (same pid, found again by
 * init.c), and so do the channels of inherited fds if the new image is
 * managed too: it maps the same area and finds its fds by inode.  An exec
 * into a program the shim will not reach (statically linked, LD_PRELOAD
 * or XOS_SHIM_AREA dropped from its environment, setuid) first moves
 * every inherited channel back to the kernel, with every unread byte.
 *
 * Everything here may run in a vfork child: only stack memory, syscalls
 * and the shared area; the per-process table is read, never written.
 */
#include "config.h"

#include <elf.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim_i.h"

extern char **environ;

/*
 * A fork child that execs runs this file's code first: each code page it
 * touches first, the shim's or libc's, is a page fault (the child gets no
 * page table entries for them from fork).  So the few string functions
 * needed here are these loops, next to their callers, not libc's.
 */
static SHIM_FORK_PATH const char *env_get(char *const envp[], const char *name)
{
	for (size_t i = 0; envp && envp[i]; i++) {
		const char *e = envp[i], *n = name;

		while (*n && *e == *n)
			e++, n++;
		if (!*n && *e == '=')
			return e + 1;
	}
	return NULL;
}

/* Does @hay contain @needle (not empty)? */
static SHIM_FORK_PATH bool has_word(const char *hay, const char *needle)
{
	for (; *hay; hay++) {
		size_t i = 0;

		while (needle[i] && hay[i] == needle[i])
			i++;
		if (!needle[i])
			return true;
	}
	return false;
}

/* Is @path a dynamically linked ELF (one with an interpreter)?  A "#!"
 * script is judged by its interpreter, one level deep. */
static SHIM_FORK_PATH bool runs_dynamic(const char *path, int depth)
{
	union {
		Elf64_Ehdr eh;
		char raw[256];
	} u;
	struct stat st;
	ssize_t n;
	int fd = shim_open_rdonly(path);
	bool dyn = false;

	if (fd < 0)
		return false;
	if (shim_fstat(fd, &st) != 0 || ((st.st_mode & (S_ISUID | S_ISGID)) && getuid() != 0)) {
		REAL(close)(fd);
		return false;
	}
	n = shim_pread(fd, u.raw, sizeof(u.raw) - 1, 0);
	if (n >= 2 && u.raw[0] == '#' && u.raw[1] == '!' && depth == 0) {
		char *p = u.raw + 2, *e;

		u.raw[n] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		for (e = p; *e && *e != ' ' && *e != '\t' && *e != '\n'; e++)
			;
		*e = '\0';
		REAL(close)(fd);
		return *p && runs_dynamic(p, 1);
	}
	if (n >= (ssize_t)sizeof(Elf64_Ehdr) && memcmp(u.eh.e_ident, ELFMAG, SELFMAG) == 0 &&
	    u.eh.e_ident[EI_CLASS] == ELFCLASS64 && u.eh.e_phentsize == sizeof(Elf64_Phdr)) {
		for (int i = 0; i < u.eh.e_phnum && i < 64; i++) {
			Elf64_Phdr ph;

			if (shim_pread(fd, &ph, sizeof(ph), (off_t)(u.eh.e_phoff + (uint64_t)i * sizeof(ph))) != sizeof(ph))
				break;
			if (ph.p_type == PT_INTERP) {
				dyn = true;
				break;
			}
		}
	}
	REAL(close)(fd);
	return dyn;
}

/* Will the program at @path, run with @envp, load this shim on this area? */
static SHIM_FORK_PATH bool target_managed(const char *path, char *const envp[])
{
	/* Names on the stack: their bytes are in the code, not on a page of constants. */
	char pre_name[] = "LD_PRELOAD", area_name[] = "XOS_SHIM_AREA";
	const char *pre, *area, *base;

	if (!shim.area || !shim.shared_file || !path)
		return false;

	pre = env_get(envp, pre_name);
	area = env_get(envp, area_name);
	base = shim.lib_path;
	for (const char *p = shim.lib_path; *p; p++)
		if (*p == '/')
			base = p + 1;
	if (!pre || !area || !*base || !has_word(pre, base))
		return false;
	return runs_dynamic(path, 0);
}

/* The file execvp would run for @file, in @buf. */
static SHIM_FORK_PATH const char *search_path(const char *file, char *buf, size_t len)
{
	const char *path, *p;

	if (!file || strchr(file, '/'))
		return file;
	path = getenv("PATH");
	if (!path)
		path = "/bin:/usr/bin";
	for (p = path;; p++) {
		const char *e = strchr(p, ':');
		size_t dl = e ? (size_t)(e - p) : strlen(p);

		if (dl + strlen(file) + 2 <= len) {
			if (dl) {
				memcpy(buf, p, dl);
				buf[dl] = '/';
				strcpy(buf + dl + 1, file);
			} else {
				strcpy(buf, file);
			}
			if (access(buf, X_OK) == 0)
				return buf;
		}
		if (!e)
			break;
		p = e;
	}
	return NULL;
}

/* The fds whose ring holds pass to the new image (own process only), and
 * whether the others were let go (not when the image had none to let go).
 * Thread-local: a fork child writes its TLS page anyway. */
static __thread uint64_t exec_kept __attribute__((tls_model("initial-exec")));
static __thread bool exec_dropped __attribute__((tls_model("initial-exec")));

/* The record this exec prepared for the new image, and the name to put
 * back if the exec fails (-1: none).  In a vfork child these are its
 * parent's TLS, which the parent's own exec sets again before reading. */
static __thread int32_t exec_prepared __attribute__((tls_model("initial-exec"))) = -1;
static __thread char exec_old_name[SHIM_NAME_MAX] __attribute__((tls_model("initial-exec")));

/*
 * Write the new image's name (its comm: the program file's name, at most
 * 15 bytes) and count into record @ef, so that the image finds them there
 * without touching the record's page (report.c, read_start).  Not for
 * fexecve, whose comm the kernel takes from elsewhere.
 */
static SHIM_FORK_PATH bool exec_name(const char *path, char name[SHIM_NAME_MAX])
{
	char fd_dir[] = "/proc/self/fd/";
	const char *base;
	size_t n;

	if (!path || strncmp(path, fd_dir, sizeof(fd_dir) - 1) == 0)
		return false;
	base = path;
	for (const char *p = path; *p; p++)
		if (*p == '/')
			base = p + 1;
	n = strlen(base);
	if (n > 15)
		n = 15;
	memset(name, 0, SHIM_NAME_MAX);
	memcpy(name, base, n);
	return true;
}

static SHIM_FORK_PATH void prepare_record(int32_t ef, const char name[SHIM_NAME_MAX])
{
	struct shim_ef *e;

	if (ef < 0 || ef >= SHIM_MAX_EF)
		return;
	e = &shim.area->ef[ef];
	memcpy(exec_old_name, e->name, SHIM_NAME_MAX);
	memcpy(e->name, name, SHIM_NAME_MAX);
	e->execs++;
	e->exec_ready = e->execs;
	exec_prepared = ef;
}

/*
 * The same, and what the new image needs to find its record (its pid there
 * and in the pid index, no ring holds), for a fork child that touched none
 * of the area since the fork: fork copies none of a shared mapping's page
 * tables, so each first touch would be a page fault and a page table, made
 * for these few writes and freed by the exec.  Through the area's file
 * instead, in a handful of system calls.  False if it could not: the
 * caller then uses the mapping.
 */
static SHIM_FORK_PATH bool prepare_by_file(int32_t ef, const char name[SHIM_NAME_MAX])
{
	off_t rec = (off_t)(offsetof(struct shim_area, ef) + (size_t)ef * sizeof(struct shim_ef));
	off_t slot_off = (off_t)(offsetof(struct shim_area, pid_ef) + 4 * (size_t)shim_pid);
	uint32_t counts[2];
	uint64_t no_holds = 0;
	struct shim_ef e;
	int32_t slot;
	bool ok;
	int fd;

	_Static_assert(offsetof(struct shim_ef, exec_ready) == offsetof(struct shim_ef, execs) + 4,
		       "execs and exec_ready are written together");
	if (ef < 0 || ef >= SHIM_MAX_EF || !shim.area_path[0] || shim_pid <= 0 ||
	    (uint32_t)shim_pid >= SHIM_PID_SLOTS)
		return false;
	fd = shim_open_rdwr(shim.area_path);
	if (fd < 0)
		return false;
	ok = shim_pread(fd, &e, sizeof(e), rec) == (ssize_t)sizeof(e) && atomic_load(&e.used) == 1 &&
	     e.icf == SHIM_ICF_PROCESS;
	if (ok && e.pid != shim_pid)
		ok = shim_pwrite(fd, &shim_pid, sizeof(shim_pid), rec + (off_t)offsetof(struct shim_ef, pid)) ==
		     (ssize_t)sizeof(shim_pid);
	if (ok)
		ok = shim_pread(fd, &slot, sizeof(slot), slot_off) == (ssize_t)sizeof(slot);
	if (ok && slot < ef + 1) {
		/* The newest record of the pid wins, as in shim_ef_index_pid. */
		slot = ef + 1;
		ok = shim_pwrite(fd, &slot, sizeof(slot), slot_off) == (ssize_t)sizeof(slot);
	}
	if (ok && atomic_load(&e.held_fds))
		ok = shim_pwrite(fd, &no_holds, sizeof(no_holds), rec + (off_t)offsetof(struct shim_ef, held_fds)) ==
		     (ssize_t)sizeof(no_holds);
	if (ok) {
		counts[0] = counts[1] = e.execs + 1;
		ok = shim_pwrite(fd, name, SHIM_NAME_MAX, rec + (off_t)offsetof(struct shim_ef, name)) ==
			     SHIM_NAME_MAX &&
		     shim_pwrite(fd, counts, sizeof(counts), rec + (off_t)offsetof(struct shim_ef, execs)) ==
			     (ssize_t)sizeof(counts);
	}
	shim_close_fd(fd);
	if (ok) {
		memcpy(exec_old_name, e.name, SHIM_NAME_MAX);
		exec_prepared = ef;
	}
	return ok;
}

/* After an exec that failed: this image goes on with its rings. */
static SHIM_FORK_PATH void exec_failed(void)
{
	SHIM_ERRNO_SAVE;

	if (shim.area && exec_prepared >= 0) {
		struct shim_ef *e = &shim.area->ef[exec_prepared];

		if (shim_vforked) {
			/* The record made for the image that did not start. */
			atomic_store(&e->used, 0);
			atomic_store(&e->held_fds, 0);
		} else {
			memcpy(e->name, exec_old_name, SHIM_NAME_MAX);
			e->execs--;
			e->exec_ready = 0;
		}
		exec_prepared = -1;
	}
	if (shim.area && shim_vforked)
		shim_vfork_exec_failed();
	if (shim.area && shim_own_process()) {
		if (shim_self >= 0 && exec_kept)
			atomic_store(&shim.area->ef[shim_self].held_fds, 0);
		if (exec_dropped)
			shim_fds_hold_all_except(1, exec_kept);
		exec_kept = 0;
		exec_dropped = false;
	}
	SHIM_ERRNO_RESTORE();
}

/* errno is not saved here: the exec that follows sets it if it fails, and
 * nothing is left of this image if it succeeds. */
static SHIM_FORK_PATH void before_exec(const char *path, char *const envp[])
{
	char name[SHIM_NAME_MAX];

	exec_prepared = -1;
	if (shim.area) {
		bool own = shim_own_process(), by_file = false, rings = shim_fds_any_ring();
		bool named = exec_name(path, name);
		uint64_t keep;

		/* A candidate that is not there or cannot run (Python's
		 * subprocess and execvp try each directory of PATH in turn):
		 * that exec fails, and the rings must still be there for the
		 * one that will not. */
		if (rings && path && faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) != 0 &&
		    (errno == ENOENT || errno == ENOTDIR || errno == EACCES))
			return;

		/* The new image finds its EF by pid: make sure it is there
		 * (written only if not: the page is shared with the parent). */
		if (own && shim_self >= 0) {
			by_file = named && shim_light && shim.shared_file && !rings && prepare_by_file(shim_self, name);
			if (!by_file) {
				if (shim.area->ef[shim_self].pid != shim_pid)
					shim.area->ef[shim_self].pid = shim_pid;
				shim_ef_index_pid(shim_self, shim_pid);
				if (named)
					prepare_record(shim_self, name);
			}
		} else if (shim_vforked && shim_self >= 0 && named) {
			/* The vfork child's record, made here where the area's
			 * pages are mapped already (its image would fault them in). */
			int32_t pid = shim_getpid();

			prepare_record(shim_ef_new(SHIM_ICF_PROCESS, shim_self, pid, pid), name);
		}
		if (own)
			shim_light = 0;
		/* Whether the new image is managed matters only to a ring it
		 * could keep; finding out opens and reads the program.  A vfork
		 * child's image keeps rings only through the record made above. */
		keep = shim_fds_before_exec(rings && (own || exec_prepared >= 0) && target_managed(path, envp), !own,
					    false);
		if (!own && shim_vforked && exec_prepared >= 0)
			atomic_store(&shim.area->ef[exec_prepared].held_fds, keep);
		if (own) {
			/* The rings kept stay held through the exec (a peer that
			 * closes its end meanwhile must not free them); the new
			 * image counts the others again. */
			if (shim_self < 0 || by_file)
				keep = 0; /* by_file: no ring, and no hold left in the record */
			else if (keep || atomic_load(&shim.area->ef[shim_self].held_fds))
				atomic_store(&shim.area->ef[shim_self].held_fds, keep);
			exec_kept = keep;
			/* An image that never tracked an fd or an epoll set holds
			 * nothing (and its fork child writes no page of the shim). */
			exec_dropped = shim.fd_hi || shim.ep_used;
			if (exec_dropped) {
				/* Its spawned children's holds too: they count
				 * their own by now, and this table goes. */
				shim_spawn_release_all();
				shim_fds_hold_all_except(-1, keep);
			}
		}
	}
}

SHIM_EXPORT SHIM_FORK_PATH int execve(const char *path, char *const argv[], char *const envp[])
{
	before_exec(path, envp);
	int rc = REAL(execve)(path, argv, envp);

	exec_failed();
	return rc;
}

SHIM_EXPORT SHIM_FORK_PATH int execv(const char *path, char *const argv[])
{
	before_exec(path, environ);
	int rc = REAL(execv)(path, argv);

	exec_failed();
	return rc;
}

SHIM_EXPORT SHIM_FORK_PATH int execvpe(const char *file, char *const argv[], char *const envp[])
{
	char buf[4096];

	before_exec(search_path(file, buf, sizeof(buf)), envp);
	int rc = REAL(execvpe)(file, argv, envp);

	exec_failed();
	return rc;
}

SHIM_EXPORT SHIM_FORK_PATH int execvp(const char *file, char *const argv[])
{
	char buf[4096];

	before_exec(search_path(file, buf, sizeof(buf)), environ);
	int rc = REAL(execvp)(file, argv);

	exec_failed();
	return rc;
}

SHIM_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	char path[40];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	before_exec(path, envp);
	int rc = REAL(fexecve)(fd, argv, envp);

	exec_failed();
	return rc;
}

/* The execl family: collect the arguments on the stack, as glibc does. */
#define EXECL_ARGS(first, ap, argv, envp_out)                                  \
	size_t argc_ = 1;                                                      \
	va_start(ap, first);                                                   \
	while (va_arg(ap, const char *))                                       \
		argc_++;                                                       \
	va_end(ap);                                                            \
	char *argv[argc_ + 1];                                                 \
	argv[0] = (char *)(first);                                             \
	va_start(ap, first);                                                   \
	for (size_t i_ = 1; i_ <= argc_; i_++)                                 \
		argv[i_] = va_arg(ap, char *);                                 \
	envp_out;                                                              \
	va_end(ap)

SHIM_EXPORT SHIM_FORK_PATH int execl(const char *path, const char *arg, ...)
{
	va_list ap;
	EXECL_ARGS(arg, ap, argv, (void)0);
	return execv(path, argv);
}

SHIM_EXPORT SHIM_FORK_PATH int execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	EXECL_ARGS(arg, ap, argv, (void)0);
	return execvp(file, argv);
}

SHIM_EXPORT SHIM_FORK_PATH int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	char **envp;
	EXECL_ARGS(arg, ap, argv, envp = va_arg(ap, char **));
	return execve(path, argv, envp);
}

/* posix_spawn: the child execs inside libc, out of our sight.  A managed
 * child whose file actions the shim followed keeps the rings it inherits
 * below 64, held for it until it is reaped (spawn.c); otherwise every
 * channel it could inherit goes back to the kernel first.  An unmanaged
 * child's EF is recorded by the parent. */
static int spawn(bool search, pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
		 const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	char buf[4096];
	const char *path = search ? search_path(file, buf, sizeof(buf)) : file;
	struct spawn_holds *holds = NULL;
	bool managed = true;
	pid_t child = 0;
	int rc;

	if (shim.area) {
		SHIM_ERRNO_SAVE;
		managed = target_managed(path, envp ? envp : environ);
		if (managed && shim_fds_any_ring())
			holds = shim_spawn_prepare(fa);
		if (!holds)
			shim_fds_before_exec(managed, false, true);
		SHIM_ERRNO_RESTORE();
	}
	rc = search ? REAL(posix_spawnp)(&child, file, fa, attr, argv, envp)
		    : REAL(posix_spawn)(&child, file, fa, attr, argv, envp);
	if (holds) {
		SHIM_ERRNO_SAVE;
		shim_spawn_done(holds, rc, child);
		SHIM_ERRNO_RESTORE();
	}
	if (rc == 0 && !managed && shim.area) {
		SHIM_ERRNO_SAVE;
		shim_ef_new(SHIM_ICF_PROCESS, shim_current_ef(), child, child);
		SHIM_ERRNO_RESTORE();
	}
	if (rc == 0 && pid)
		*pid = child;
	return rc;
}

SHIM_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			    const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	SHIM_VFORK_PASS(REAL(posix_spawn)(pid, path, fa, attr, argv, envp));
	return spawn(false, pid, path, fa, attr, argv, envp);
}

SHIM_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			     const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	SHIM_VFORK_PASS(REAL(posix_spawnp)(pid, file, fa, attr, argv, envp));
	return spawn(true, pid, file, fa, attr, argv, envp);
}
