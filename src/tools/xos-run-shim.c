/* SPDX-License-Identifier: MIT */
/*
 * xos-run's side of the legacy shim: create the run's shared area, start
 * the program with libxos-shim.so preloaded, wait for it, and report the
 * EF tree and channels the shim recorded (--stats: text on stderr;
 * --stats=FILE: JSON).  The program's exit status becomes xos-run's; a
 * fatal signal is raised again.
 *
 * The area's file is removed on every ending of xos-run: normal exit and
 * errors remove it; SIGTERM, SIGHUP, SIGINT and SIGQUIT sent to xos-run are
 * forwarded to the program, which xos-run then waits for as usual; and
 * while a run lives it holds an flock on its area, so the next xos-run
 * removes the areas whose runs are gone (SIGKILL), whatever their pid.  The
 * program gets SIGKILL if xos-run dies first (PR_SET_PDEATHSIG).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "area.h"
#include "xos-run-shim.h"

#ifndef XOS_SHIM_PATH
#error "XOS_SHIM_PATH: the installed shim, $(pkglibdir)/libxos-shim.so (set by the Makefile)"
#endif

/* @p, absolute (the program may change directory before it execs), in
 * @abs; NULL if it is not a readable file. */
static const char *usable(const char *p, char *abs)
{
	struct stat st;

	/* An absolute name is used as it is (realpath would cost a readlink
	 * per component at every start); a relative one is made absolute. */
	if (access(p, R_OK) != 0)
		return NULL;
	if (p[0] == '/' && strlen(p) < PATH_MAX)
		memcpy(abs, p, strlen(p) + 1);
	else if (!realpath(p, abs))
		return NULL;
	if (stat(abs, &st) != 0)
		return NULL;
	if (!S_ISREG(st.st_mode)) {
		errno = 0;
		return NULL;
	}
	return abs;
}

size_t xos_run_exe_dir(char dir[PATH_MAX], bool *in_libs)
{
	ssize_t n = readlink("/proc/self/exe", dir, PATH_MAX - 1);
	char *slash;

	if (n <= 0)
		return 0;
	dir[n] = '\0';
	slash = strrchr(dir, '/');
	if (!slash)
		return 0;
	*slash = '\0';
	*in_libs = slash - dir >= 6 && strcmp(slash - 6, "/.libs") == 0;
	return (size_t)(slash - dir);
}

/* The build tree's shim when this xos-run is the build tree's: libtool
 * runs the real binary from .libs/ (as xos-run or lt-xos-run), where the
 * shim is built too.  An installed xos-run is never in a .libs/. */
static const char *build_tree_shim(char *abs)
{
	char cand[PATH_MAX + 32];
	bool in_libs;

	/* .libs/xos-run, or an xos-run linked without libtool's wrapper.
	 * (No printf here: its code is pages the start would fault in.) */
	if (!xos_run_exe_dir(cand, &in_libs))
		return NULL;
	if (!in_libs)
		strcat(cand, "/.libs");
	strcat(cand, "/libxos-shim.so");
	return usable(cand, abs);
}

/*
 * The shim to preload: $XOS_SHIM if set (and it must be usable: a shim
 * asked for and not found is an error, exit 2), else the build tree's if
 * this is the build tree's xos-run, else the one installed with it in
 * $(pkglibdir).  NULL if none: the caller refuses what needs the shim
 * (--stats), and otherwise says that the program runs unmanaged.
 */
const char *xos_run_shim_path(void)
{
	static char abs[PATH_MAX];
	const char *env = getenv("XOS_SHIM"), *p;

	if (env && *env) {
		if (!usable(env, abs)) {
			fprintf(stderr, "xos-run: XOS_SHIM=%s: %s\n", env,
				errno ? strerror(errno) : "not a regular file");
			exit(2);
		}
		return abs;
	}
	p = build_tree_shim(abs);
	if (!p)
		p = usable(XOS_SHIM_PATH, abs);
	return p;
}

const char *xos_run_shim_installed(void)
{
	return XOS_SHIM_PATH;
}

/* The file execvp would run for @prog, in @buf (NULL if none). */
static const char *find_program(const char *prog, char *buf, size_t len)
{
	const char *path = getenv("PATH"), *p;

	if (strchr(prog, '/'))
		return prog;
	for (p = path ? path : "/bin:/usr/bin"; p; p = strchr(p, ':') ? strchr(p, ':') + 1 : NULL) {
		size_t dl = strchr(p, ':') ? (size_t)(strchr(p, ':') - p) : strlen(p);

		if ((size_t)snprintf(buf, len, "%.*s%s%s", (int)dl, p, dl ? "/" : "", prog) < len &&
		    access(buf, X_OK) == 0)
			return buf;
	}
	return NULL;
}

static bool file_needs_asan(const char *file, int depth)
{
	char buf[4096];
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n > 2 && buf[0] == '#' && buf[1] == '!' && depth == 0 && memmem(buf, (size_t)n, "libtool", 7)) {
		/* A libtool wrapper of the build tree: judge the real program. */
		char real[4096];
		const char *slash = strrchr(file, '/');
		int dl = slash ? (int)(slash - file + 1) : 0;

		snprintf(real, sizeof(real), "%.*s.libs/%s", dl, file, slash ? slash + 1 : file);
		if (access(real, R_OK) == 0)
			return file_needs_asan(real, 1);
		snprintf(real, sizeof(real), "%.*s.libs/lt-%s", dl, file, slash ? slash + 1 : file);
		return file_needs_asan(real, 1);
	}
	/* The dynamic string table of a program is near its start. */
	return n > 4 && memcmp(buf, "\177ELF", 4) == 0 && memmem(buf, (size_t)n, "libasan.so", 10) != NULL;
}

bool xos_run_needs_asan(const char *prog)
{
	char path[4096];
	const char *file = find_program(prog, path, sizeof(path));

	return file && file_needs_asan(file, 0);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Does @name in @dir still name the file open as @fd? */
static bool same_file(int dir, const char *name, int fd)
{
	struct stat a, b;

	return fstatat(dir, name, &a, AT_SYMLINK_NOFOLLOW) == 0 && fstat(fd, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

/* Remove from @dir the areas of runs that are gone: ours (same owner), and
 * not locked, since a live xos-run holds an flock on its area until it
 * ends and the kernel drops it when it dies, SIGKILL included. */
static void reclaim_stale(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		int fd;

		const char *p = e->d_name + 9;

		/* Only names this xos-run makes (xos-shim-PID-XXXXXX): the runs
		 * that hold their lock.  An older xos-run took no lock. */
		if (strncmp(e->d_name, "xos-shim-", 9) != 0 || *p < '0' || *p > '9')
			continue;
		while (*p >= '0' && *p <= '9')
			p++;
		if (*p != '-')
			continue;
		/* No symlink, no blocking open of a FIFO someone planted. */
		fd = openat(dirfd(d), e->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
		    flock(fd, LOCK_EX | LOCK_NB) == 0 && same_file(dirfd(d), e->d_name, fd))
			unlinkat(dirfd(d), e->d_name, 0);
		close(fd);
	}
	closedir(d);
}

/* The area's file, open and flock'ed while the run lives. */
static int area_fd = -1;

/* @s at @p (no printf: its code is pages the start would fault in). */
static char *put_str(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n + 1);
	return p + n;
}

static char *put_dec(char *p, unsigned long v)
{
	char d[24];
	int n = 0;

	do
		d[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (n)
		*p++ = d[--n];
	*p = '\0';
	return p;
}

/*
 * Create the run's area file in @path (at least 64 bytes) and write its
 * header; 0, or -1 with errno set.  The area is not mapped here: the
 * program's processes map it, and xos-run reads it (for --stats) once the
 * program has ended, so a run without --stats never touches its pages.
 */
static int area_create(char *path)
{
	struct statvfs vfs;
	/* A file in memory, unless /dev/shm is too small for the records and
	 * the rings' whole budget to be touched (a full tmpfs would kill the
	 * program with SIGBUS).  The file is sparse: its length is the address
	 * space of every ring slot at its largest, far more than the budget. */
	const char *dir = access("/dev/shm", W_OK) == 0 && statvfs("/dev/shm", &vfs) == 0 &&
				  (uint64_t)vfs.f_bavail * vfs.f_frsize >= 2 * (shim_ring_data_off() + SHIM_RING_BUDGET)
			  ? "/dev/shm"
			  : "/tmp";
	unsigned char hdr[SHIM_AREA_HEAD_BYTES];
	int fd = -1;

	for (int tries = 0; fd < 0 && tries < 8; tries++) {
		put_str(put_dec(put_str(put_str(path, dir), "/xos-shim-"), (unsigned long)getpid()), "-XXXXXX");
		/* Close-on-exec: the program opens the area by name; the fd is xos-run's. */
		fd = mkostemp(path, O_CLOEXEC);
		if (fd < 0)
			return -1;
		/* Locked, then still ours: another xos-run's reclaim may have
		 * found it unlocked in between and removed it. */
		if (flock(fd, LOCK_EX) < 0 || !same_file(AT_FDCWD, path, fd)) {
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0) {
		errno = EAGAIN;
		return -1;
	}
	shim_area_head(hdr, now_ns());
	if (ftruncate(fd, (off_t)shim_area_bytes()) < 0 || pwrite(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr)) {
		int err = errno ? errno : EIO;

		unlink(path);
		close(fd);
		errno = err;
		return -1;
	}
	area_fd = fd;
	return 0;
}

/* The areas of runs that are gone, in both places an area can be made. */
static void reclaim_all(void)
{
	reclaim_stale("/dev/shm");
	reclaim_stale("/tmp");
}

/* The program, while xos-run waits for it (0: none). */
static volatile sig_atomic_t child_pid;

/* A termination signal sent to xos-run goes to the program; xos-run ends
 * when it does, removing the area.  One from the terminal (si_code
 * SI_KERNEL) reached the program's process group already. */
static void forward_signal(int sig, siginfo_t *si, void *ctx)
{
	int saved = errno;

	(void)ctx;
	if (child_pid > 0 && si->si_code != SI_KERNEL)
		kill(child_pid, sig);
	errno = saved;
}

static const int forwarded[] = { SIGTERM, SIGHUP, SIGINT, SIGQUIT };
#define NFORWARDED (sizeof(forwarded) / sizeof(forwarded[0]))

static const char *icf_name(uint32_t icf)
{
	return icf == SHIM_ICF_THREAD ? "thread" : icf == SHIM_ICF_PROCESS ? "process" : "?";
}

static void end_text(const struct shim_ef *e, char *buf, size_t len)
{
	switch (atomic_load(&e->end)) {
	case SHIM_END_RUNNING: snprintf(buf, len, "still running"); break;
	case SHIM_END_EXIT: snprintf(buf, len, "exit %lld", (long long)e->value); break;
	case SHIM_END_SIGNAL: snprintf(buf, len, "killed by signal %lld (%s)", (long long)e->value, strsignal((int)e->value)); break;
	case SHIM_END_RETURN: snprintf(buf, len, "returned %#llx", (unsigned long long)e->value); break;
	case SHIM_END_PTHREAD_EXIT: snprintf(buf, len, "pthread_exit %#llx", (unsigned long long)e->value); break;
	case SHIM_END_WITH_PROCESS: snprintf(buf, len, "ended with its process"); break;
	default: snprintf(buf, len, "ended, status unknown"); break;
	}
}

static const char *end_key(uint32_t end)
{
	static const char *const keys[] = { "running", "exit", "signal", "return", "pthread_exit", "with_process", "unknown" };

	return end < sizeof(keys) / sizeof(keys[0]) ? keys[end] : "unknown";
}

static uint32_t ef_count(const struct shim_area *a)
{
	uint32_t n = atomic_load(&a->nef);

	return n > SHIM_MAX_EF ? SHIM_MAX_EF : n;
}

static uint32_t chan_count(const struct shim_area *a)
{
	uint32_t n = atomic_load(&a->nchan);

	return n > SHIM_MAX_CHAN ? SHIM_MAX_CHAN : n;
}

static bool ef_valid(const struct shim_area *a, int32_t i)
{
	return i >= 0 && (uint32_t)i < ef_count(a) && atomic_load(&a->ef[i].used);
}

static void print_ef(FILE *out, const struct shim_area *a, int32_t i, int depth)
{
	const struct shim_ef *e = &a->ef[i];
	char end[96];
	double t0 = (double)e->start_ns / 1e9, t1 = (double)atomic_load(&e->end_ns) / 1e9;

	end_text(e, end, sizeof(end));
	fprintf(out, "  %*sef %-4d %-7s %s %-6d %-16s %8.3f-%-8.3f s  %s\n", depth * 2, "", i, icf_name(e->icf),
		e->icf == SHIM_ICF_THREAD ? "tid" : "pid", e->icf == SHIM_ICF_THREAD ? e->tid : e->pid, e->name, t0,
		atomic_load(&e->end) == SHIM_END_RUNNING ? 0.0 : t1, end);
	if (depth > 64)
		return;
	for (uint32_t j = (uint32_t)i + 1; j < ef_count(a); j++)
		if (atomic_load(&a->ef[j].used) && a->ef[j].parent == i)
			print_ef(out, a, (int32_t)j, depth + 1);
}

/* A channel that went on a ring and never left it ended there, even if its
 * ring slot has carried another channel since. */
static const char *mechanism(const struct shim_area *a, const struct shim_chan *c)
{
	(void)a;
	if (c->ring >= 0 && c->ring < SHIM_MAX_RING && atomic_load(&c->upgraded) && !atomic_load(&c->downgraded))
		return "ring";
	return shim_chan_kind_name(c->kind);
}

/* Past the tables' budget the shim counts, and says so. */
static void print_unrecorded(FILE *out, const struct shim_area *a)
{
	uint64_t efs = atomic_load(&a->ef_unrecorded), total = 0;

	for (uint32_t k = 0; k < 8; k++)
		total += atomic_load(&a->chan_unrecorded[k]);
	if (total) {
		fprintf(out, "xos-run: %llu more channels past the table's %u were not recorded (never on a ring, bytes not counted):",
			(unsigned long long)total, (unsigned)SHIM_MAX_CHAN);
		for (uint32_t k = 0; k < 8; k++)
			if (atomic_load(&a->chan_unrecorded[k]))
				fprintf(out, " %llu %s", (unsigned long long)atomic_load(&a->chan_unrecorded[k]),
					shim_chan_kind_name(k));
		fputc('\n', out);
	}
	if (efs)
		fprintf(out, "xos-run: %llu more execution flows past the table's %u were not recorded\n",
			(unsigned long long)efs, (unsigned)SHIM_MAX_EF);
}

static void print_text(FILE *out, const struct shim_area *a)
{
	uint32_t nef = ef_count(a), nch = chan_count(a), shown = 0;

	fprintf(out, "xos-run: execution flows (%u)\n", nef);
	for (uint32_t i = 0; i < nef; i++) {
		const struct shim_ef *e = &a->ef[i];

		if (atomic_load(&e->used) && !ef_valid(a, e->parent))
			print_ef(out, a, (int32_t)i, 0);
	}
	for (uint32_t i = 0; i < nch; i++)
		shown += atomic_load(&a->chan[i].used) != 0;
	fprintf(out, "xos-run: channels (%u)\n", shown);
	for (uint32_t i = 0; i < nch; i++) {
		const struct shim_chan *c = &a->chan[i];

		if (!atomic_load(&c->used))
			continue;
		fprintf(out, "  chan %-4u %-10s by ef %-4d %-5s ring %llu B, kernel %llu B written %llu B read",
			i, shim_chan_kind_name(c->kind), c->creator, mechanism(a, c),
			(unsigned long long)atomic_load(&c->ring_bytes), (unsigned long long)atomic_load(&c->bytes_out),
			(unsigned long long)atomic_load(&c->bytes_in));
		if (atomic_load(&c->upgraded))
			fprintf(out, ", upgraded to ring");
		if (atomic_load(&c->bytes_before))
			fprintf(out, " (after %llu B through the kernel before its accept)",
				(unsigned long long)atomic_load(&c->bytes_before));
		if (c->ring >= 0 && c->ring < SHIM_MAX_RING && atomic_load(&a->ring[c->ring].mode) == SHIM_RING_BROKEN &&
		    a->ring[c->ring].chan == (int32_t)i)
			fprintf(out, ", broken (its ends fail with EIO): %.*s", (int)sizeof(c->why), c->why);
		else if (atomic_load(&c->downgraded))
			fprintf(out, ", moved back to %s: %.*s", shim_chan_kind_name(c->kind), (int)sizeof(c->why), c->why);
		else if (!atomic_load(&c->upgraded))
			fprintf(out, ", never on a ring: %.*s", (int)sizeof(c->why), c->why[0] ? c->why : "unknown");
		if (atomic_load(&c->peer_closed))
			fprintf(out, ", ended when its peer closed (then %llu B written for nobody)",
				(unsigned long long)atomic_load(&c->bytes_dead));
		fputc('\n', out);
	}
	print_unrecorded(out, a);
}

static void json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(out, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(out, "\\u%04x", *s);
		else
			fputc(*s, out);
	}
	fputc('"', out);
}

static int write_json(int fd, const struct shim_area *a, int status)
{
	FILE *out = fdopen(fd, "w");
	uint32_t nef = ef_count(a), nch = chan_count(a);
	char why[sizeof(a->chan[0].why) + 1];
	bool first = true;

	if (!out) {
		int err = errno;

		close(fd);
		return -err;
	}
	fprintf(out, "{\n  \"status\": {\"%s\": %d},\n  \"efs\": [\n",
		WIFSIGNALED(status) ? "signal" : "exit", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	for (uint32_t i = 0; i < nef; i++) {
		const struct shim_ef *e = &a->ef[i];

		if (!atomic_load(&e->used))
			continue;
		fprintf(out, "%s    {\"id\": %u, \"icf\": \"%s\", \"parent\": %d, \"pid\": %d, \"tid\": %d, \"name\": ",
			first ? "" : ",\n", i, icf_name(e->icf), ef_valid(a, e->parent) ? e->parent : -1, e->pid, e->tid);
		json_str(out, e->name);
		fprintf(out, ", \"start_s\": %.6f, \"end_s\": %.6f, \"end\": \"%s\", \"value\": %lld, \"execs\": %u}",
			(double)e->start_ns / 1e9, (double)atomic_load(&e->end_ns) / 1e9, end_key(atomic_load(&e->end)),
			(long long)e->value, e->execs);
		first = false;
	}
	fprintf(out, "\n  ],\n  \"channels\": [\n");
	first = true;
	for (uint32_t i = 0; i < nch; i++) {
		const struct shim_chan *c = &a->chan[i];

		if (!atomic_load(&c->used))
			continue;
		fprintf(out, "%s    {\"id\": %u, \"kind\": \"%s\", \"creator\": %d, \"mechanism\": \"%s\", "
			"\"ring_bytes\": %llu, \"kernel_bytes_written\": %llu, \"kernel_bytes_read\": %llu, "
			"\"upgraded\": %u, \"downgraded\": %u, \"downgrade_reason\": ",
			first ? "" : ",\n", i, shim_chan_kind_name(c->kind), c->creator, mechanism(a, c),
			(unsigned long long)atomic_load(&c->ring_bytes), (unsigned long long)atomic_load(&c->bytes_out),
			(unsigned long long)atomic_load(&c->bytes_in), atomic_load(&c->upgraded), atomic_load(&c->downgraded));
		memcpy(why, c->why, sizeof(c->why));
		why[sizeof(c->why)] = '\0';
		json_str(out, atomic_load(&c->downgraded) ? why : "");
		/* The first reason it was not, or stopped being, on a ring. */
		fprintf(out, ", \"reason\": ");
		json_str(out, atomic_load(&c->downgraded) || !atomic_load(&c->upgraded) ? (why[0] ? why : "unknown") : "");
		/* The ring's life ended with the connection (every reader gone);
		 * what this end wrote after that went to the kernel, for nobody. */
		fprintf(out, ", \"peer_closed\": %u, \"kernel_bytes_after_peer_closed\": %llu",
			atomic_load(&c->peer_closed), (unsigned long long)atomic_load(&c->bytes_dead));
		/* Loopback TCP accepted late: written through the kernel before
		 * this end joined its ring (its reader took them from there first). */
		fprintf(out, ", \"kernel_bytes_before_ring\": %llu}", (unsigned long long)atomic_load(&c->bytes_before));
		first = false;
	}
	fprintf(out, "\n  ],\n  \"unrecorded\": {\"efs\": %llu, \"channels\": {",
		(unsigned long long)atomic_load(&a->ef_unrecorded));
	first = true;
	for (uint32_t k = 1; k < 8; k++) {
		if (!atomic_load(&a->chan_unrecorded[k]) && !(k == SHIM_CH_SOCKET && atomic_load(&a->chan_unrecorded[0])))
			continue;
		fprintf(out, "%s\"%s\": %llu", first ? "" : ", ", shim_chan_kind_name(k),
			(unsigned long long)(atomic_load(&a->chan_unrecorded[k]) +
					     (k == SHIM_CH_SOCKET ? atomic_load(&a->chan_unrecorded[0]) : 0)));
		first = false;
	}
	fprintf(out, "}}\n}\n");
	return fclose(out) == 0 ? 0 : -errno;
}

/* EFs nobody reported the end of: a process that is gone (its parent did
 * not wait for it, and it left that to its parent) ended in an unknown
 * way; a thread of an ended process ended with it. */
static void settle(struct shim_area *a)
{
	uint64_t t = now_ns() - a->t0_ns;

	for (uint32_t i = 0; i < ef_count(a); i++) {
		struct shim_ef *e = &a->ef[i];
		uint32_t running = SHIM_END_RUNNING;

		if (!atomic_load(&e->used) || e->icf != SHIM_ICF_PROCESS || atomic_load(&e->end) != SHIM_END_RUNNING)
			continue;
		if (e->pid > 0 && kill(e->pid, 0) < 0 && errno == ESRCH &&
		    atomic_compare_exchange_strong(&e->end, &running, SHIM_END_UNKNOWN))
			atomic_store(&e->end_ns, t);
	}
	for (uint32_t i = 0; i < ef_count(a); i++) {
		struct shim_ef *e = &a->ef[i];
		uint32_t running = SHIM_END_RUNNING;
		int32_t p = e->parent;

		while (ef_valid(a, p) && a->ef[p].icf == SHIM_ICF_THREAD)
			p = a->ef[p].parent;
		if (!atomic_load(&e->used) || e->icf != SHIM_ICF_THREAD || !ef_valid(a, p) ||
		    atomic_load(&a->ef[p].end) == SHIM_END_RUNNING)
			continue;
		if (atomic_compare_exchange_strong(&e->end, &running, SHIM_END_WITH_PROCESS))
			atomic_store(&e->end_ns, atomic_load(&a->ef[p].end_ns));
	}
}

/* LD_PRELOAD with the shim first, keeping what the user preloads. */
static int set_preload(const char *shim)
{
	const char *old = getenv("LD_PRELOAD");
	size_t n = strlen(shim) + (old ? strlen(old) : 0) + 2;
	char *v = malloc(n), *p;
	int rc;

	if (!v)
		return -1;
	p = put_str(v, shim);
	if (old && *old)
		put_str(put_str(p, " "), old);
	rc = setenv("LD_PRELOAD", v, 1);
	free(v);
	return rc;
}

int xos_run_shim(char **argv, const char *shim, bool stats, const char *stats_file, int stats_fd)
{
	char path[64];
	struct shim_area *a;
	struct sigaction fwd = { .sa_sigaction = forward_signal, .sa_flags = SA_SIGINFO | SA_RESTART };
	struct sigaction old[NFORWARDED];
	sigset_t block, saved_mask;
	int err_pipe[2], status = 0, child_errno = 0;
	pid_t pid, parent = getpid();

	if (area_create(path) < 0) {
		fprintf(stderr, "xos-run: cannot create the shim's shared area: %s\n", strerror(errno));
		return 2;
	}
	if (set_preload(shim) < 0 || setenv("XOS_SHIM_AREA", path, 1) < 0 || pipe2(err_pipe, O_CLOEXEC) < 0) {
		fprintf(stderr, "xos-run: cannot set up the program: %s\n", strerror(errno));
		unlink(path);
		return 2;
	}
	fflush(NULL);
	/* Blocked across fork: the handlers see child_pid set, and the child
	 * gets its dispositions back before any can run. */
	sigemptyset(&block);
	sigfillset(&fwd.sa_mask);
	for (size_t i = 0; i < NFORWARDED; i++) {
		sigaddset(&block, forwarded[i]);
		/* Ignored when xos-run started (nohup, background): stays so
		 * (put back at once; one call, not two, in the usual case). */
		sigaction(forwarded[i], &fwd, &old[i]);
		if (old[i].sa_handler == SIG_IGN)
			sigaction(forwarded[i], &old[i], NULL);
	}
	sigprocmask(SIG_BLOCK, &block, &saved_mask);
	/* vfork: no copy of xos-run's page tables and no copy-on-write fault
	 * in either process; the child only makes system calls until it execs
	 * (its signal dispositions are its own: no CLONE_SIGHAND). */
	pid = vfork();
	if (pid == 0) {
		for (size_t i = 0; i < NFORWARDED; i++)
			sigaction(forwarded[i], &old[i], NULL);
		/* xos-run killed (SIGKILL) cannot forward: the program goes too. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(127);
		sigprocmask(SIG_SETMASK, &saved_mask, NULL);
		close(err_pipe[0]);
		execvp(argv[0], argv);
		child_errno = errno;
		if (write(err_pipe[1], &child_errno, sizeof(child_errno)) < 0)
			_exit(127);
		_exit(child_errno == ENOENT ? 127 : 126);
	}
	close(err_pipe[1]);
	if (pid > 0)
		child_pid = pid;
	sigprocmask(SIG_SETMASK, &saved_mask, NULL);
	if (pid < 0) {
		fprintf(stderr, "xos-run: cannot start '%s': %s\n", argv[0], strerror(errno));
		unlink(path);
		return 2;
	}
	if (read(err_pipe[0], &child_errno, sizeof(child_errno)) != sizeof(child_errno))
		child_errno = 0;
	close(err_pipe[0]);
	/* The areas of earlier runs killed by SIGKILL: removed while the
	 * program runs, not before it starts (ours is locked, never taken). */
	reclaim_all();
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	child_pid = 0;
	for (size_t i = 0; i < NFORWARDED; i++)
		sigaction(forwarded[i], &old[i], NULL);
	/* The records, read after the program's end (--stats). */
	a = stats ? mmap(NULL, shim_ring_data_off(), PROT_READ | PROT_WRITE, MAP_SHARED, area_fd, 0) : MAP_FAILED;
	unlink(path);
	close(area_fd);
	if (child_errno) {
		fprintf(stderr, "xos-run: cannot run '%s': %s\n", argv[0], strerror(child_errno));
		return child_errno == ENOENT ? 127 : 126;
	}
	if (stats && a == MAP_FAILED)
		fprintf(stderr, "xos-run: --stats: cannot read the shim's shared area: %s\n", strerror(errno));
	if (a != MAP_FAILED) {
		/* The root learned nothing from a parent's wait: we are its parent. */
		for (uint32_t i = 0; i < ef_count(a); i++) {
			struct shim_ef *e = &a->ef[i];
			uint32_t running = SHIM_END_RUNNING;

			if (!atomic_load(&e->used) || e->pid != pid || e->icf != SHIM_ICF_PROCESS)
				continue;
			if (WIFSIGNALED(status) || atomic_load(&e->end) == SHIM_END_RUNNING) {
				e->value = WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status);
				atomic_compare_exchange_strong(&e->end, &running, SHIM_END_EXIT);
				if (WIFSIGNALED(status))
					atomic_store(&e->end, SHIM_END_SIGNAL);
				atomic_store(&e->end_ns, now_ns() - a->t0_ns);
			}
		}
		settle(a);
		atomic_store(&a->root_status, status);
		if (!stats_file)
			print_text(stderr, a);
		else {
			int rc = write_json(stats_fd, a, status);

			if (rc < 0)
				fprintf(stderr, "xos-run: cannot write %s: %s\n", stats_file, strerror(-rc));
		}
	}
	if (WIFSIGNALED(status)) {
		struct rlimit no_core = { 0, 0 };
		int sig = WTERMSIG(status);

		setrlimit(RLIMIT_CORE, &no_core);
		signal(sig, SIG_DFL);
		fflush(NULL);
		raise(sig);
		return 128 + sig;
	}
	return WEXITSTATUS(status);
}
