/* SPDX-License-Identifier: MIT */
/*
 * Private to libxos-shim.so: the shared area every managed process of one
 * program maps (EF records, channel records, rings), the per-process fd
 * table, and the real libc functions.  Not installed.
 *
 * The shim does not link libxos: a legacy program must not run the
 * runtime's constructors, and everything here must stay usable from a
 * fork child, a vfork child and a signal handler.  So: no malloc on those
 * paths, only atomics on the shared area, errno saved and restored by
 * every interposer.
 */
#ifndef XOS_SHIM_I_H
#define XOS_SHIM_I_H

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SHIM_EXPORT __attribute__((visibility("default")))
#define SHIM_HIDDEN __attribute__((visibility("hidden")))
/* Code a fork child runs: kept together (.text.hot) so the child faults in
 * one code page of the shim, not several. */
#define SHIM_FORK_PATH __attribute__((hot, noinline))

#include "area.h"

/* ---- per-process state --------------------------------------------------- */
/* Enough for a server holding 10,000 connections and a client holding
 * the other ends in one process (the table is touched only as far as the
 * highest fd used). */
#define SHIM_FD_MAX 65536

struct shim_fd {
	int32_t chan;   /* channel index + 1; 0: untracked */
	uint8_t end;    /* pipe: 0 read end, 1 write end; socketpair: end 0 or 1; tcp: 0 */
	uint8_t ring;   /* 1 while this fd may use the ring */
	uint8_t broken; /* the ring's shared state was found corrupted: EIO */
	uint8_t pad;
	uint32_t gen;   /* ring generation seen when the fd joined it */
	int32_t pair;   /* pairing entry + 1 of a non-blocking connect not yet settled */
};

struct shim_state {
	struct shim_area *area;  /* NULL: nothing recorded */
	bool shared_file;        /* the area is xos-run's file: it survives exec */
	bool area_deferred;      /* preloaded by hand, perf: shim_area_need makes it */
	bool perf;               /* --policy=perf: upgrade channels */
	int fd_hi;               /* highest fd ever tracked + 1 */
	bool holds_dropped;      /* this image let go of its rings (exit, exec) */
	bool multi_cpu;          /* spinning is worth it (see shim_multi_cpu) */
	bool cpus_known;         /* multi_cpu was found out */
	int tid_off;             /* glibc keeps a thread's id there in its descriptor; -1: not known */
	/* epoll registrations tracked (epoll.c): here, on the page an exec
	 * reads anyway, so that a fork child's exec faults in no other. */
	uint32_t ep_used;
	/* Spawned children whose rings this image holds (spawn.c): here for
	 * the same reason, since every image's exit looks at it. */
	_Atomic uint32_t spawns_held;
	char lib_path[512];      /* this library, to recognise it in LD_PRELOAD */
	char area_path[128];     /* the area's file ("": none, or a longer name) */
	/* Read from the area's file as the image starts (report.c), so that
	 * an image that records nothing touches none of its pages. */
	uint64_t t0_ns;          /* the area's clock origin, a constant */
	uint32_t nchan_start;    /* channels recorded before this image */
	int32_t start_ef;        /* the record its exec'ing image prepared, or -1 */
	int32_t start_ppid;      /* the pid of its EF's parent, whose wait records its end */
	struct shim_fd fd[SHIM_FD_MAX];
};

extern struct shim_state shim SHIM_HIDDEN;

/* Can this process run on more than one CPU (spinning pays only with
 * another one to run the peer)?  Found out on the first wait, so that a
 * program that never waits on a ring makes no system call for it. */
bool shim_cpus_probe(void) SHIM_HIDDEN;
static inline bool shim_multi_cpu(void)
{
	return __builtin_expect(shim.cpus_known, 1) ? shim.multi_cpu : shim_cpus_probe();
}
/* The process this state belongs to and its EF (-1: unknown).  Kept in
 * every thread's TLS rather than in `shim`, because a fork child must set
 * them and its TLS page is written by fork anyway: one page fault less
 * per fork.  Threads copy them from their creator. */
extern __thread int32_t shim_pid SHIM_HIDDEN __attribute__((tls_model("initial-exec")));
extern __thread int32_t shim_self SHIM_HIDDEN __attribute__((tls_model("initial-exec")));
/* Set in a fork child until it does something the shim records (threads,
 * channels, fork, exec): such a child leaves its end to its parent's wait,
 * so fork+_exit touches no shared page and reads no clock. */
extern __thread uint8_t shim_light SHIM_HIDDEN __attribute__((tls_model("initial-exec")));
/* The EF of the calling thread (-1: the process EF). */
extern __thread int32_t shim_thread_ef SHIM_HIDDEN __attribute__((tls_model("initial-exec")));
/* Set while a vfork child of this thread runs (flows.c): the child runs
 * in the parent's memory, on this thread's TLS, while the parent sleeps
 * until the child execs or exits.  What the shim records of the process
 * (its fd table, signal handlers, EF, epoll sets) is the parent's then:
 * the child changes none of it.  Its fds are its own kernel table, so
 * calls that make, close or copy fds, or record anything, go straight to
 * libc (SHIM_VFORK_PASS); reads and writes on the rings it inherited go
 * through them, as the parent's would. */
extern __thread uint8_t shim_vforked SHIM_HIDDEN __attribute__((tls_model("initial-exec")));
#define SHIM_VFORK_PASS(call)                          \
	do {                                           \
		if (__builtin_expect(shim_vforked, 0)) \
			return call;                   \
	} while (0)

/* getpid without libc: a fork child runs as little code as possible (each
 * code page it touches first is a page fault), and errno stays as it is. */
static inline int32_t shim_getpid(void)
{
#if defined(__x86_64__)
	long ret;

	__asm__ volatile("syscall" : "=a"(ret) : "0"(39L /* SYS_getpid */) : "rcx", "r11", "memory");
	return (int32_t)ret;
#else
	return (int32_t)getpid();
#endif
}

/*
 * open, fstat, pread, pwrite, close, a shared mmap and getppid without
 * libc, for the code a fork child runs before it execs and a new image
 * runs to start: libc's are more code pages to fault in,
 * and errno (libc's __errno_location, one more) is left alone: -errno on
 * failure.
 */
#if defined(__x86_64__)
static inline long shim_syscall3(long nr, long a, long b, long c)
{
	long ret;
	register long r_c __asm__("rdx") = c;

	__asm__ volatile("syscall" : "=a"(ret) : "0"(nr), "D"(a), "S"(b), "r"(r_c) : "rcx", "r11", "memory");
	return ret;
}

static inline long shim_syscall4(long nr, long a, long b, long c, long d)
{
	long ret;
	register long r_c __asm__("rdx") = c;
	register long r_d __asm__("r10") = d;

	__asm__ volatile("syscall" : "=a"(ret) : "0"(nr), "D"(a), "S"(b), "r"(r_c), "r"(r_d) : "rcx", "r11", "memory");
	return ret;
}

static inline long shim_syscall6(long nr, long a, long b, long c, long d, long e, long f)
{
	long ret;
	register long r_c __asm__("rdx") = c;
	register long r_d __asm__("r10") = d;
	register long r_e __asm__("r8") = e;
	register long r_f __asm__("r9") = f;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "0"(nr), "D"(a), "S"(b), "r"(r_c), "r"(r_d), "r"(r_e), "r"(r_f)
			 : "rcx", "r11", "memory");
	return ret;
}

static inline ssize_t shim_pread(int fd, void *buf, size_t len, off_t off)
{
	return shim_syscall4(17 /* SYS_pread64 */, fd, (long)buf, (long)len, (long)off);
}

/* A shared read-write mapping of @fd: the address, or MAP_FAILED. */
static inline void *shim_mmap_shared(size_t len, int fd)
{
	long a = shim_syscall6(9 /* SYS_mmap */, 0, (long)len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return a < 0 && a > -4096 ? MAP_FAILED : (void *)a;
}

static inline int32_t shim_getppid(void)
{
	return (int32_t)shim_syscall3(110 /* SYS_getppid */, 0, 0, 0);
}

static inline int shim_open_rdonly(const char *path)
{
	return (int)shim_syscall3(257 /* SYS_openat */, AT_FDCWD, (long)path, O_RDONLY | O_CLOEXEC);
}

static inline int shim_open_rdwr(const char *path)
{
	return (int)shim_syscall3(257 /* SYS_openat */, AT_FDCWD, (long)path, O_RDWR | O_CLOEXEC);
}

static inline ssize_t shim_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	return shim_syscall4(18 /* SYS_pwrite64 */, fd, (long)buf, (long)len, (long)off);
}

static inline void shim_close_fd(int fd)
{
	shim_syscall3(3 /* SYS_close */, fd, 0, 0);
}

static inline int shim_fstat(int fd, struct stat *st)
{
	return (int)shim_syscall3(5 /* SYS_fstat */, fd, (long)st, 0);
}
#else
static inline int shim_open_rdonly(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static inline int shim_open_rdwr(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static inline ssize_t shim_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	ssize_t n = pwrite(fd, buf, len, off);

	return n < 0 ? -errno : n;
}

static inline void shim_close_fd(int fd)
{
	(void)syscall(SYS_close, fd);
}

static inline int shim_fstat(int fd, struct stat *st)
{
	return fstat(fd, st) < 0 ? -errno : 0;
}

static inline ssize_t shim_pread(int fd, void *buf, size_t len, off_t off)
{
	ssize_t n = pread(fd, buf, len, off);

	return n < 0 ? -errno : n;
}

static inline void *shim_mmap_shared(size_t len, int fd)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
}

static inline int32_t shim_getppid(void)
{
	return (int32_t)getppid();
}
#endif

/* True when the caller runs in the process shim's state describes: false in
 * a vfork child or a raw clone child, where only pass-through is safe. */
bool shim_own_process(void) SHIM_HIDDEN SHIM_FORK_PATH;
uint64_t shim_now_ns(void) SHIM_HIDDEN;

/* report.c */
void shim_area_attach(void) SHIM_HIDDEN;
/* The area, made now if it was deferred (shim_area_attach): false if there is none. */
bool shim_area_need(void) SHIM_HIDDEN;
/* Where a thread's id is in glibc's thread descriptor (start-up, main thread). */
void shim_tid_probe(void) SHIM_HIDDEN;
int32_t shim_ef_new(uint32_t icf, int32_t parent, int32_t pid, int32_t tid) SHIM_HIDDEN;
void shim_ef_end(int32_t ef, uint32_t how, int64_t value) SHIM_HIDDEN;
int32_t shim_ef_find_pid(int32_t pid) SHIM_HIDDEN;
/* Process record @ef now carries pid @pid (set it first): index it. */
void shim_ef_index_pid(int32_t ef, int32_t pid) SHIM_HIDDEN;
void shim_ef_set_name(int32_t ef) SHIM_HIDDEN;
void shim_process_ending(uint32_t how, int64_t value) SHIM_HIDDEN SHIM_FORK_PATH;
void shim_threads_end(int32_t pid) SHIM_HIDDEN;
int32_t shim_chan_new(uint32_t kind, int fd0, int fd1) SHIM_HIDDEN;
/* Record why channel @ch was not put on a ring when it was made. */
void shim_chan_native(int32_t ch, const char *why) SHIM_HIDDEN;
int32_t shim_chan_find_ino(uint64_t dev, uint64_t ino, int *ret_end) SHIM_HIDDEN;
void shim_fds_rebuild(void) SHIM_HIDDEN;
int32_t shim_current_ef(void) SHIM_HIDDEN;

/* fds.c */
struct shim_fd *shim_fd_get(int fd) SHIM_HIDDEN;
void shim_fd_forget(int fd) SHIM_HIDDEN;
void shim_fds_closing_all(void) SHIM_HIDDEN;
/* Before an exec (or a spawn, where the caller keeps running): downgrade
 * what an unmanaged image could reach; close-on-exec fds are closing.
 * Returns the fds (bit n: fd n) whose rings a managed new image keeps. */
uint64_t shim_fds_before_exec(bool target_managed, bool foreign, bool spawning) SHIM_HIDDEN SHIM_FORK_PATH;
/* Is @fd, in this process's kernel table, the channel @f stands for?  (A
 * vfork or raw clone child's table is its own; the shim's, its parent's.) */
bool shim_fd_is(int fd, const struct shim_fd *f) SHIM_HIDDEN;
/* Does any fd of this image stand for a channel on a ring? */
bool shim_fds_any_ring(void) SHIM_HIDDEN SHIM_FORK_PATH;
/* Fds below this many can keep their ring through an exec. */
#define SHIM_EXEC_KEEP_FDS 64

/* vfork_fds.c: a vfork child's own fd numbers the parent's table does not
 * describe (bit n: fd n), noted on the parent's TLS while it sleeps;
 * zeroed by vfork before the child runs (flows.c). */
struct shim_vfork_fds {
	uint64_t copied;                   /* copies of a ring fd: read as src[n]'s entry */
	uint64_t gone;                     /* closed or reused: untracked */
	uint64_t kept;                     /* rings held for the image being exec'd */
	int32_t src[SHIM_EXEC_KEEP_FDS];
};
extern __thread struct shim_vfork_fds shim_vfork_fds SHIM_HIDDEN __attribute__((tls_model("initial-exec")));
/* The entry that describes @fd in a vfork child, or NULL. */
struct shim_fd *shim_vfork_entry(int fd) SHIM_HIDDEN;
/* The child made @newfd a copy of @oldfd (dup, dup2, dup3, F_DUPFD). */
void shim_vfork_copied(int oldfd, int newfd) SHIM_HIDDEN SHIM_FORK_PATH;
/* The child closed fds @first to @last. */
void shim_vfork_closed(unsigned int first, unsigned int last) SHIM_HIDDEN SHIM_FORK_PATH;
/* Before the child's exec: hold the rings the new image inherits below
 * SHIM_EXEC_KEEP_FDS if @keep_ok (returned, for its record's held_fds),
 * move the others it could reach back to the kernel. */
uint64_t shim_vfork_before_exec(bool keep_ok) SHIM_HIDDEN SHIM_FORK_PATH;
/* The exec failed: let go of what shim_vfork_before_exec held. */
void shim_vfork_exec_failed(void) SHIM_HIDDEN SHIM_FORK_PATH;
/* A vfork child about to run on this thread's TLS: no notes yet (the
 * vfork assembly in flows.c does the same for the three masks). */
static inline void shim_vfork_fds_clear(void)
{
	memset(&shim_vfork_fds, 0, offsetof(struct shim_vfork_fds, src));
}

/* spawn.c: posix_spawn keeps the rings its child inherits below 64. */
struct spawn_holds;
/* Before a spawn whose file actions are @fa (NULL: none): hold the rings
 * the child keeps, move back those it would reach at 64 or above.  NULL:
 * the shim cannot tell (the caller moves every ring back, as before). */
struct spawn_holds *shim_spawn_prepare(const posix_spawn_file_actions_t *fa) SHIM_HIDDEN;
/* After it: the holds are the child's until it is reaped, or let go if
 * the spawn failed. */
void shim_spawn_done(struct spawn_holds *h, int rc, pid_t child) SHIM_HIDDEN;
/* @child was reaped: its holds go. */
void shim_spawn_reaped(pid_t child) SHIM_HIDDEN;
/* This image exits or execs: every such hold goes. */
void shim_spawn_release_all(void) SHIM_HIDDEN;

/* stdio.c: stdin, stdout or stderr served through the interposed read and
 * write, so that fd 0, 1 or 2 can stay on a ring.  False: this image's
 * stdio would reach the fd behind the shim's back. */
bool shim_stdio_serve(int fd) SHIM_HIDDEN;

/* signals.c: handlers the program installed run behind the shim's entry,
 * which counts them in the thread that ran them. */
extern __thread uint32_t shim_signals_handled SHIM_HIDDEN __attribute__((tls_model("initial-exec")));
/* Did the handler that ran last in this thread ask for SA_RESTART? */
bool shim_signal_restarts(void) SHIM_HIDDEN;

/* ring.c: the private ring and its live switch back to the kernel */
struct shim_ring *shim_ring_of(const struct shim_fd *f) SHIM_HIDDEN;
/* Does @f's channel still run on its ring (not moved back to the kernel)? */
bool shim_ring_live(const struct shim_fd *f) SHIM_HIDDEN;
/* An fd whose bytes go through a live ring (not a connecting TCP fd, not
 * a ring moved back): what an exec or a spawn can keep or must move back. */
static inline bool shim_fd_on_live_ring(const struct shim_fd *f)
{
	return f && f->ring && !f->pair && shim_ring_live(f);
}
/* @pipe_slots: the pipe's size in pages (0: a socket). */
int32_t shim_ring_attach(int32_t chan, uint32_t ndirs, uint32_t pipe_slots) SHIM_HIDDEN;
/* fcntl F_SETPIPE_SZ on a pipe fd on a ring: the kernel's answer, kept by the ring. */
int shim_ring_pipe_size(int fd, struct shim_fd *f, int size) SHIM_HIDDEN;
/* Byte I/O on a ring fd.  Return >= 0 bytes, -errno, or SHIM_USE_KERNEL. */
#define SHIM_USE_KERNEL (-100000)
ssize_t shim_ring_read(int fd, struct shim_fd *f, void *buf, size_t len, int flags) SHIM_HIDDEN;
ssize_t shim_ring_write(int fd, struct shim_fd *f, const void *buf, size_t len) SHIM_HIDDEN;
/* Move the channel back to the kernel, losslessly.  @kernel_view: the
 * kernel object must hold every unread byte afterwards (exec, poll...). */
void shim_ring_downgrade(int fd, struct shim_fd *f, const char *why, bool kernel_view) SHIM_HIDDEN;
/* A holder of @f is closing it (or exiting): tell the peers. */
void shim_ring_closing(struct shim_fd *f) SHIM_HIDDEN;
/* Count @f (delta +1) or stop counting it (-1) among the ring's holders. */
void shim_ring_hold(struct shim_fd *f, int delta) SHIM_HIDDEN;
/* Every ring fd of this process: hold once more (fork), let go (exit, exec),
 * or hold again (a failed exec). */
void shim_fds_hold_all(int delta) SHIM_HIDDEN;
/* The same, leaving out the fds in @keep (bit n: fd n). */
void shim_fds_hold_all_except(int delta, uint64_t keep) SHIM_HIDDEN;
/* poll emulation: true when a read would not block without the kernel's help. */
bool shim_ring_readable(struct shim_fd *f) SHIM_HIDDEN;
/* A write of @len bytes would not block: the ring has (or grew to) room. */
bool shim_ring_room(struct shim_fd *f, size_t len) SHIM_HIDDEN;
/* @f's writers join its ring (loopback TCP, PRE_OPEN): what they wrote
 * through the kernel so far comes first for the readers. */
void shim_ring_writer_join(struct shim_fd *f) SHIM_HIDDEN;
/* @f's reader joins its ring: what it read through the kernel before
 * counts among the writers' bytes there (called before the writer join). */
void shim_ring_reader_join(struct shim_fd *f) SHIM_HIDDEN;
/* A read of connecting @f through the kernel ended (counted in bytes_in). */
void shim_ring_kread_done(struct shim_fd *f) SHIM_HIDDEN;
/* Bytes the readers of @D must still take from the kernel before the ring
 * (PRE_OPEN: the writers have not joined yet). */
bool shim_ring_prefix_pending(struct shim_dir *D) SHIM_HIDDEN;
/* shutdown(2) done on the kernel socket: record the half close. */
void shim_ring_shutdown(struct shim_fd *f, int how) SHIM_HIDDEN;
/* Unread bytes this end would read (FIONREAD) or its peer has not read
 * yet (SIOCOUTQ on AF_UNIX); -1: the ring does not know. */
int64_t shim_ring_unread(struct shim_fd *f, bool outq) SHIM_HIDDEN;

/* tcp.c: loopback TCP connections between managed EFs */
void shim_tcp_listening(int fd) SHIM_HIDDEN;
/* Returns the pairing entry registered before the real connect, or -1. */
int shim_tcp_connecting(int fd, struct shim_fd *f, const struct sockaddr *to, socklen_t tolen) SHIM_HIDDEN;
void shim_tcp_connected(int fd, struct shim_fd *f, int entry, bool ok) SHIM_HIDDEN;
void shim_tcp_accepted(int fd, struct shim_fd *f) SHIM_HIDDEN;
/* A connecting fd (f->pair set) joins its ring if the server accepted it,
 * else becomes a plain TCP fd for good (DEAD).  Called before a use of
 * the fd the ring does not emulate, before it is handed on, and when it
 * is closed. */
void shim_tcp_settle(int fd, struct shim_fd *f) SHIM_HIDDEN;
/* Join if the server accepted it; else leave it pending (on the kernel
 * socket).  Called before every other use of the fd; never waits. */
void shim_tcp_try_settle(int fd, struct shim_fd *f) SHIM_HIDDEN;
/* Around a write of a pending fd through the kernel, so that a join
 * counts it among the bytes before the ring.  begin: false if the fd
 * joined its ring meanwhile (write there, no end). */
bool shim_tcp_kwrite_begin(int fd, struct shim_fd *f) SHIM_HIDDEN;
void shim_tcp_kwrite_end(struct shim_fd *f) SHIM_HIDDEN;
/* The same around a read: the server's writes stay on the kernel socket
 * while it may be taking them there. */
bool shim_tcp_kread_begin(int fd, struct shim_fd *f) SHIM_HIDDEN;
void shim_tcp_kread_end(struct shim_fd *f) SHIM_HIDDEN;
void shim_area_lock(void) SHIM_HIDDEN;
void shim_area_unlock(void) SHIM_HIDDEN;

/* ---- the real libc functions (real.c) ----------------------------------- */
#define SHIM_REAL_LIST(X) \
	X(pid_t, fork, (void)) \
	X(pid_t, vfork, (void)) \
	X(int, pthread_create, (pthread_t *, const pthread_attr_t *, void *(*)(void *), void *)) \
	X(void, pthread_exit, (void *)) \
	X(void, exit, (int)) \
	X(void, _exit, (int)) \
	X(void, _Exit, (int)) \
	X(pid_t, wait, (int *)) \
	X(pid_t, wait3, (int *, int, struct rusage *)) \
	X(pid_t, wait4, (pid_t, int *, int, struct rusage *)) \
	X(int, waitid, (idtype_t, id_t, siginfo_t *, int)) \
	X(int, execve, (const char *, char *const[], char *const[])) \
	X(int, execv, (const char *, char *const[])) \
	X(int, execvp, (const char *, char *const[])) \
	X(int, execvpe, (const char *, char *const[], char *const[])) \
	X(int, fexecve, (int, char *const[], char *const[])) \
	X(int, posix_spawn, (pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *, char *const[], char *const[])) \
	X(int, posix_spawnp, (pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *, char *const[], char *const[])) \
	X(int, pipe, (int[2])) \
	X(int, pipe2, (int[2], int)) \
	X(int, socket, (int, int, int)) \
	X(int, socketpair, (int, int, int, int[2])) \
	X(int, close, (int)) \
	X(int, sigaction, (int, const struct sigaction *, struct sigaction *)) \
	X(int, close_range, (unsigned int, unsigned int, int)) \
	X(int, dup, (int)) \
	X(int, dup2, (int, int)) \
	X(int, dup3, (int, int, int)) \
	X(int, fcntl, (int, int, ...)) \
	X(int, ioctl, (int, unsigned long, ...)) \
	X(ssize_t, read, (int, void *, size_t)) \
	X(ssize_t, write, (int, const void *, size_t)) \
	X(ssize_t, readv, (int, const struct iovec *, int)) \
	X(ssize_t, writev, (int, const struct iovec *, int)) \
	X(ssize_t, recv, (int, void *, size_t, int)) \
	X(ssize_t, send, (int, const void *, size_t, int)) \
	X(ssize_t, recvfrom, (int, void *, size_t, int, struct sockaddr *, socklen_t *)) \
	X(ssize_t, sendto, (int, const void *, size_t, int, const struct sockaddr *, socklen_t)) \
	X(ssize_t, recvmsg, (int, struct msghdr *, int)) \
	X(ssize_t, sendmsg, (int, const struct msghdr *, int)) \
	X(int, shutdown, (int, int)) \
	X(int, poll, (struct pollfd *, nfds_t, int)) \
	X(int, ppoll, (struct pollfd *, nfds_t, const struct timespec *, const sigset_t *)) \
	X(int, select, (int, fd_set *, fd_set *, fd_set *, struct timeval *)) \
	X(int, pselect, (int, fd_set *, fd_set *, fd_set *, const struct timespec *, const sigset_t *)) \
	X(int, epoll_ctl, (int, int, int, struct epoll_event *)) \
	X(ssize_t, splice, (int, loff_t *, int, loff_t *, size_t, unsigned int)) \
	X(ssize_t, tee, (int, int, size_t, unsigned int)) \
	X(ssize_t, vmsplice, (int, const struct iovec *, unsigned long, unsigned int)) \
	X(ssize_t, sendfile, (int, int, off_t *, size_t)) \
	X(ssize_t, copy_file_range, (int, loff_t *, int, loff_t *, size_t, unsigned int)) \
	X(FILE *, fdopen, (int, const char *)) \
	X(int, connect, (int, const struct sockaddr *, socklen_t)) \
	X(int, listen, (int, int)) \
	X(int, accept, (int, struct sockaddr *, socklen_t *)) \
	X(int, accept4, (int, struct sockaddr *, socklen_t *, int)) \
	X(int, __libc_start_main, (int (*)(int, char **, char **), int, char **, void (*)(void), void (*)(void), void (*)(void), void *))

#include <poll.h>
#include <stdio.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/uio.h>
#include <sys/wait.h>

struct shim_real {
#define SHIM_REAL_FIELD(ret, name, args) ret (*name) args;
	SHIM_REAL_LIST(SHIM_REAL_FIELD)
#undef SHIM_REAL_FIELD
};
extern struct shim_real shim_real SHIM_HIDDEN;
void shim_real_resolve(void) SHIM_HIDDEN;

/* The real function @name, resolved on first use if a constructor of
 * another library calls us before ours ran. */
#define REAL(name) (__builtin_expect(shim_real.name != NULL, 1) ? shim_real.name : (shim_real_resolve(), shim_real.name))

/* Save errno on entry, restore it on every path that does not set it. */
#define SHIM_ERRNO_SAVE int shim_saved_errno_ = errno
/* errno is written only when it changed: after a fork the page holding
 * it is copy-on-write, and a write of the same value would cost the
 * parent a page fault per fork (wait4 after every child). */
#define SHIM_ERRNO_RESTORE() (errno != shim_saved_errno_ ? (void)(errno = shim_saved_errno_) : (void)0)

#endif /* XOS_SHIM_I_H */
