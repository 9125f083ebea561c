/* SPDX-License-Identifier: MIT */
/*
 * Private to libxos-shim.so: readiness of fds on rings, shared by the
 * non-blocking paths of the ring (ring.c), poll/ppoll/select/pselect
 * (poll.c) and epoll (epoll.c).  See ready.c for the design.
 */
#ifndef XOS_SHIM_READY_H
#define XOS_SHIM_READY_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <time.h>

#include "shim_i.h"

#define SHIM_IN_BITS (POLLIN | POLLRDNORM)
#define SHIM_OUT_BITS (POLLOUT | POLLWRNORM | POLLWRBAND)

/* What the ring of a ring fd says right now, without a system call. */
struct shim_ready {
	struct shim_ring *r;    /* NULL: not a live ring fd (the kernel answers) */
	struct shim_dir *rd;    /* the direction it reads, or NULL */
	struct shim_dir *wr;    /* the direction it writes, or NULL */
	const struct shim_fd *f; /* the fd (or a copy of its entry) */
	int rdi, wri;           /* indexes of rd and wr in r->dir, or -1 */
	bool sock;              /* a socket (else a pipe end) */
	bool readable;          /* unread bytes in the ring, or its end (a half close) */
	bool writable;          /* a write makes progress */
};

/* Fill @s for @f; false if @f is not on a live ring. */
bool shim_ready_of(const struct shim_fd *f, struct shim_ready *s) SHIM_HIDDEN;
/* Recompute readable/writable of @s. */
void shim_ready_update(struct shim_ready *s) SHIM_HIDDEN;

/* The events to ask the kernel object of a ring fd for, given the
 * program's @events (poll bits; epoll's EPOLL* match them). */
uint32_t shim_ready_kernel_events(const struct shim_ready *s, uint32_t events) SHIM_HIDDEN;
/* The program's revents for @events, from the ring and the kernel's answer
 * @kernel for the kernel object (0: none).  Drains bells the kernel
 * reported, so that they never show as readability. */
uint32_t shim_ready_revents(int fd, struct shim_ready *s, uint32_t events, uint32_t kernel) SHIM_HIDDEN;
/* Read and drop bells pending on @fd's kernel object for direction @D,
 * never blocking, and never those owed to readers asleep in read(). */
void shim_ready_drain(int fd, bool sock, struct shim_dir *D) SHIM_HIDDEN;
/* Is every bell pending on @D owed to a reader asleep in read() on the
 * kernel object (so that nobody else may take one)? */
bool shim_ready_bells_owed(struct shim_dir *D) SHIM_HIDDEN;
/* A look found the kernel object readable for bells only (owed to readers
 * asleep in read(), who have not run yet): let them take them before the
 * next look, instead of spinning on the kernel's answer. */
void shim_ready_yield_to_sleepers(void) SHIM_HIDDEN;
/* Bytes in @fd's kernel object beyond the bells pending on @D. */
bool shim_ready_kernel_bytes(int fd, struct shim_dir *D) SHIM_HIDDEN;

/* ring.c: a ring slot starts a new life. */
void shim_ready_reset(struct shim_dir *D) SHIM_HIDDEN;
/* Can the kernel object of @s say anything but "ready" now (an end gone:
 * hang-up, error; a half close: RDHUP)?  False when every end the ring fd
 * faces is held and nothing was shut. */
bool shim_ready_quiet(const struct shim_ready *s) SHIM_HIDDEN;

/* The fd's entry, a connecting fd's joined to its ring first if the server
 * accepted it (else the kernel socket answers for it, exactly: both
 * directions are on it until then); @input is what is asked for (not
 * needed: nothing waits for the accept); NULL if untracked. */
struct shim_fd *shim_ready_fd(int fd, bool input) SHIM_HIDDEN;

/* @fd (a ring fd) is being closed, or its process ends. */
void shim_ready_closing(int fd, const struct shim_fd *f) SHIM_HIDDEN;

/* A waiter sleeps in the kernel on the read direction @D (+1) or stops (-1):
 * writers then make its kernel object readable with a bell. */
void shim_ready_arm(struct shim_dir *D, int delta) SHIM_HIDDEN;
/* Writers: bytes were published on @D (with @fd, end of channel @f). */
void shim_ready_bell(int fd, const struct shim_fd *f, struct shim_dir *D) SHIM_HIDDEN;
/* A TCP ring fd's kernel socket carries bells without Nagle's delay. */
void shim_ready_nodelay(int fd, const struct shim_fd *f) SHIM_HIDDEN;
/* One byte from the kernel object of @fd without blocking: 1, 0 (EOF) or -errno. */
ssize_t shim_ready_read_nowait(int fd, bool sock, char *b) SHIM_HIDDEN;

/* O_NONBLOCK of the open file description @f, as the shim last set it. */
bool shim_ready_nonblock(const struct shim_fd *f) SHIM_HIDDEN;
void shim_ready_set_nonblock(const struct shim_fd *f, bool on) SHIM_HIDDEN;
/* ioctl(FIONBIO): O_NONBLOCK by another name (Python's setblocking). */
int shim_ready_fionbio(int fd, void *arg) SHIM_HIDDEN;

/* How a waiter waits before it sleeps in the kernel, from what its peer
 * published (shim_ready_how): not at all, yielding its CPU, or spinning. */
enum shim_wait_how { SHIM_WAIT_SLEEP = 0, SHIM_WAIT_YIELD, SHIM_WAIT_SPIN };
/* For bytes on direction @in, from the writer that last wrote it; @out:
 * the direction the waiter writes toward that peer (a socket's other
 * direction), or NULL. */
enum shim_wait_how shim_ready_how(struct shim_dir *in, struct shim_dir *out) SHIM_HIDDEN;
/* Spin (or yield) as @how says until @check returns true or the budget is
 * spent; true if it did. */
bool shim_ready_spin(bool (*check)(void *), void *arg, enum shim_wait_how how) SHIM_HIDDEN;
/* A wait of poll or epoll slept @slept_ns in the kernel and woke to bytes
 * on the ring direction @rd (NULL: none): a short sleep ended by a writer
 * on another CPU raises the spin budget to what would have caught it. */
void shim_ready_woke(struct shim_dir *rd, uint64_t slept_ns) SHIM_HIDDEN;
/* The calling thread starts (+1) or ends (-1) a sleep in the kernel
 * waiting for ring bytes or room (published for its peers). */
void shim_ready_sleeping(int delta) SHIM_HIDDEN;
/* Writers: the calling thread published bytes on @D. */
void shim_ready_wrote(struct shim_dir *D) SHIM_HIDDEN;
/* A bounded wait while a ring the caller waits to write is full (no
 * wake-up comes from its reader): the next slice in ns. */
int64_t shim_ready_full_step(int64_t *step_ns) SHIM_HIDDEN;

/* Deadlines for the waits. */
int64_t shim_ready_deadline(const struct timespec *ts) SHIM_HIDDEN; /* -1: none */
/* Time left in @out; false once the deadline passed. */
bool shim_ready_left(int64_t deadline, struct timespec *out) SHIM_HIDDEN;

/* epoll.c: the registrations of this process follow its fds. */
void shim_epoll_fd_closed(int fd, const struct shim_fd *copy) SHIM_HIDDEN;
/* Before fd number @fd is closed or replaced (dup2, dup3, close_range). */
void shim_epoll_fd_closing(int fd) SHIM_HIDDEN;
void shim_epoll_closing(int epfd) SHIM_HIDDEN;
/* @fd, if an epoll set of this process (true), is waited on by poll or
 * select: its rings ring whenever bytes wait there from now on. */
bool shim_epoll_nested(int fd) SHIM_HIDDEN;
/* Such a set: readable for its waiter, whose kernel said @kernel (poll
 * bits; 0: not asked)? */
bool shim_epoll_readable(int fd, uint32_t kernel) SHIM_HIDDEN;
void shim_epoll_hold_all(int delta) SHIM_HIDDEN;
/* Before an exec: the new image knows nothing of the shim's registrations. */
void shim_epoll_before_exec(void) SHIM_HIDDEN SHIM_FORK_PATH;
/* ring.c: a write with send flags (MSG_DONTWAIT). */
ssize_t shim_ring_write_flags(int fd, struct shim_fd *f, const void *buf, size_t len, int flags) SHIM_HIDDEN;

#endif /* XOS_SHIM_READY_H */
