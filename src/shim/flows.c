/* SPDX-License-Identifier: MIT */
/*
 * Execution flows: every process and thread of the program becomes an EF
 * record (ICF process or thread, parent, start, end, how it ended).
 *
 *  - fork: the child's record is made by the parent before the fork (an
 *    atomic append, no malloc), the child only fills in its pid.
 *  - vfork: the vfork system call, the child in the parent's memory as
 *    natively (shells and Python spawn every command this way: a fork
 *    would copy the parent's page tables each time); shim_vforked is set
 *    while the child runs, and the shim changes nothing of the parent's
 *    then (shim_i.h).  The child is recorded when its exec'd image starts
 *    (init.c).
 *  - clone (glibc wrapper): the child's function runs through a trampoline
 *    fed from a static slot table.  Raw syscall(SYS_clone) is not seen.
 *  - pthread_create: a trampoline records the start routine's return;
 *    pthread_exit records its value.
 *  - exit, _exit, _Exit, return from main: the process records its code;
 *    a parent's wait records the status the kernel reports (and is the only
 *    one who learns about a fatal signal).
 */
#include "config.h"

#include <dlfcn.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim_i.h"

/* ---- fork and vfork ---------------------------------------------------------- */

/*
 * The children this process forked, pid -> EF record (or none: the table
 * was full), so that wait() finds a child's record without scanning the
 * area's EF table (8,192 records, the full scan for every child once the
 * table is full).  Direct-mapped, one 64-bit word per slot, lossy: a miss
 * falls back to the scan.
 *
 * The table is a MAP_SHARED page: the parent notes a child right after
 * fork(), and a private page, which the child still shares, would cost a
 * copy-on-write fault per fork.  Its children share it too, so a note
 * also names the process that made it (child pid, parent pid, record):
 * a process trusts only its own.
 */
#define FORKED_SLOTS 256
#define FORKED_PID_BITS 22 /* pid_max is at most 2^22 */
#define FORKED_PID_MASK ((1ull << FORKED_PID_BITS) - 1)
#define FORKED_EF_MASK 0xfffffull
#define FORKED_NONE ((int32_t)FORKED_EF_MASK)
static _Atomic(_Atomic uint64_t *) forked;

/* The table, mapped on the first fork (before it: nothing to share yet); NULL if it cannot be. */
static _Atomic uint64_t *forked_table(void)
{
	_Atomic uint64_t *t = atomic_load_explicit(&forked, memory_order_acquire), *none = NULL;
	void *m;

	if (t)
		return t;
	m = mmap(NULL, FORKED_SLOTS * sizeof(uint64_t), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	if (!atomic_compare_exchange_strong(&forked, &none, (_Atomic uint64_t *)m)) {
		munmap(m, FORKED_SLOTS * sizeof(uint64_t));
		return none;
	}
	return m;
}

static uint64_t forked_word(pid_t child, pid_t parent, int32_t ef)
{
	return ((uint64_t)child & FORKED_PID_MASK) << 42 | ((uint64_t)parent & FORKED_PID_MASK) << 20 |
	       ((uint64_t)(uint32_t)ef & FORKED_EF_MASK);
}

static void forked_note(_Atomic uint64_t *t, pid_t pid, int32_t ef)
{
	if (!t || (uint64_t)pid > FORKED_PID_MASK || (uint64_t)shim_pid > FORKED_PID_MASK)
		return;
	atomic_store_explicit(&t[(uint32_t)pid % FORKED_SLOTS], forked_word(pid, shim_pid, ef),
			      memory_order_relaxed);
}

/* The record of child @pid as noted at fork: 1 and *ef (maybe FORKED_NONE), or 0: unknown. */
static int forked_lookup(pid_t pid, int32_t *ef)
{
	_Atomic uint64_t *t = atomic_load_explicit(&forked, memory_order_acquire);
	uint64_t v, mine;

	if (!t || pid <= 0 || (uint64_t)pid > FORKED_PID_MASK || shim_pid <= 0)
		return 0;
	mine = forked_word(pid, shim_pid, 0) & ~FORKED_EF_MASK;
	v = atomic_exchange_explicit(&t[(uint32_t)pid % FORKED_SLOTS], 0, memory_order_relaxed);
	if ((v & ~FORKED_EF_MASK) != mine) {
		if (v)
			atomic_store_explicit(&t[(uint32_t)pid % FORKED_SLOTS], v, memory_order_relaxed);
		return 0;
	}
	*ef = (int32_t)(v & FORKED_EF_MASK);
	/* Any process of the run can write the page: a record is trusted only if it names @pid. */
	if (*ef != FORKED_NONE && ((uint32_t)*ef >= SHIM_MAX_EF || shim.area->ef[*ef].pid != pid))
		return 0;
	if (*ef == FORKED_NONE)
		*ef = -1;
	return 1;
}

SHIM_EXPORT SHIM_FORK_PATH pid_t fork(void)
{
	_Atomic uint64_t *notes;
	int32_t ef = -1;
	pid_t pid;

	if (shim_vforked) {
		/* A vfork child's child has memory of its own: a process the
		 * shim did not see born, as a raw clone child. */
		pid = REAL(fork)();
		if (pid == 0)
			shim_vforked = 0;
		return pid;
	}
	notes = shim.area ? forked_table() : NULL;
	if (shim.area && shim_own_process()) {
		ef = shim_ef_new(SHIM_ICF_PROCESS, shim_current_ef(), 0, 0);
		if (shim.fd_hi)
			shim_fds_hold_all(1); /* the child's copies of the fds */
	}
	pid = REAL(fork)();
	if (pid == 0) {
		/* The parent fills in the record: the child touches only its TLS. */
		shim_pid = shim_getpid();
		if (ef >= 0) {
			shim_self = ef;
			shim_thread_ef = -1;
			shim_light = 1;
		}
		return 0;
	}
	if (pid < 0 && shim.fd_hi && shim.area && shim_own_process()) {
		int err = errno;

		shim_fds_hold_all(-1);
		shim.holds_dropped = false;
		errno = err;
	}
	if (ef >= 0) {
		if (pid < 0) {
			atomic_store(&shim.area->ef[ef].used, 0);
		} else {
			shim.area->ef[ef].pid = shim.area->ef[ef].tid = pid;
			shim_ef_index_pid(ef, pid);
		}
	}
	if (pid > 0)
		forked_note(notes, pid, ef >= 0 ? ef : FORKED_NONE);
	return pid;
}

__thread uint8_t shim_vforked __attribute__((tls_model("initial-exec")));

/* vfork's failure: errno, as libc's vfork sets it. */
int shim_vfork_failed(int err) SHIM_HIDDEN;
int shim_vfork_failed(int err)
{
	errno = err;
	return -1;
}

#if defined(__x86_64__)
/*
 * No C frame: the child returns through the parent's stack, and would
 * clobber a frame of ours.  The child's fd notes (vfork_fds.c) start
 * empty.  The return address waits in %rdi (kept by the
 * kernel across the call, per task) as in libc's vfork.  The flag is set
 * before the call and cleared when the parent wakes, which is after the
 * child's exec or exit.
 */
__asm__(".text\n"
	".globl vfork\n"
	".type vfork, @function\n"
	"vfork:\n"
	"\tpopq %rdi\n"
	"\tmovq shim_vfork_fds@gottpoff(%rip), %rax\n"
	"\tmovq $0, %fs:(%rax)\n"  /* copied */
	"\tmovq $0, %fs:8(%rax)\n" /* gone */
	"\tmovq $0, %fs:16(%rax)\n" /* kept */
	"\tmovq shim_vforked@gottpoff(%rip), %rdx\n"
	"\tmovb $1, %fs:(%rdx)\n"
	"\tmovl $58, %eax\n" /* SYS_vfork */
	"\tsyscall\n"
	"\tpushq %rdi\n"
	"\ttestq %rax, %rax\n"
	"\tjz 1f\n"
	"\tmovb $0, %fs:(%rdx)\n" /* %rdx kept: syscall clobbers %rcx, %r11 */
	"\tcmpq $-4095, %rax\n"
	"\tjae 2f\n"
	"1:\tret\n"
	"2:\tmovl %eax, %edi\n"
	"\tnegl %edi\n"
	"\tjmp shim_vfork_failed\n"
	".size vfork, .-vfork\n");
#else
SHIM_EXPORT pid_t vfork(void)
{
	return fork();
}
#endif

/* ---- clone (the glibc wrapper) ------------------------------------------------- */
#define CLONE_SLOTS 64

struct clone_slot {
	_Atomic uint32_t busy;
	int (*fn)(void *);
	void *arg;
	int32_t ef;
	int flags;
};
static struct clone_slot clone_slots[CLONE_SLOTS];

static int clone_trampoline(void *p)
{
	struct clone_slot *s = p;
	int (*fn)(void *) = s->fn;
	void *arg = s->arg;
	int32_t ef = s->ef;
	int flags = s->flags, rc;

	atomic_store(&s->busy, 0);
	if (!(flags & CLONE_VM)) {
		shim_pid = (int32_t)syscall(SYS_getpid);
		shim_self = ef;
		shim_thread_ef = -1;
	} else if (flags & CLONE_SETTLS) {
		shim_thread_ef = ef;
	} else if (flags & CLONE_VFORK) {
		/* A vfork child by another name, on its parent's TLS (which
		 * clears the flag when it wakes). */
		shim_vfork_fds_clear();
		shim_vforked = 1;
	}
	if (ef >= 0) {
		shim.area->ef[ef].pid = (int32_t)syscall(SYS_getpid);
		if (!(flags & CLONE_VM))
			shim_ef_index_pid(ef, shim.area->ef[ef].pid);
		shim.area->ef[ef].tid = (int32_t)syscall(SYS_gettid);
	}
	rc = fn(arg);
	if (ef >= 0)
		shim_ef_end(ef, (flags & CLONE_VM) ? SHIM_END_RETURN : SHIM_END_EXIT,
			    (flags & CLONE_VM) ? rc : (rc & 0xff));
	return rc;
}

SHIM_EXPORT int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
	static int (*real_clone)(int (*)(void *), void *, int, void *, ...);
	struct clone_slot *slot = NULL;
	pid_t *ptid, *ctid;
	void *tls;
	va_list ap;
	int rc;

	va_start(ap, arg);
	ptid = va_arg(ap, pid_t *);
	tls = va_arg(ap, void *);
	ctid = va_arg(ap, pid_t *);
	va_end(ap);
	if (!real_clone)
		real_clone = (int (*)(int (*)(void *), void *, int, void *, ...))dlsym(RTLD_NEXT, "clone");
	if (shim.area && fn && shim_own_process()) {
		for (int i = 0; i < CLONE_SLOTS; i++) {
			uint32_t free_ = 0;

			if (atomic_compare_exchange_strong(&clone_slots[i].busy, &free_, 1)) {
				slot = &clone_slots[i];
				break;
			}
		}
	}
	if (!slot) {
		/* Unrecorded, but a child on our memory and TLS until it execs
		 * is still a vfork child to the rest of the shim (signals.c):
		 * its sigaction must not install its handler in our table. */
		bool vfork_like = (flags & (CLONE_VM | CLONE_VFORK | CLONE_SETTLS)) == (CLONE_VM | CLONE_VFORK);
		uint8_t was = shim_vforked;

		if (vfork_like) {
			shim_vfork_fds_clear();
			shim_vforked = 1;
		}
		rc = real_clone(fn, stack, flags, arg, ptid, tls, ctid);
		if (vfork_like)
			shim_vforked = was;
		return rc;
	}
	slot->fn = fn;
	slot->arg = arg;
	slot->flags = flags;
	slot->ef = shim_ef_new((flags & CLONE_VM) ? SHIM_ICF_THREAD : SHIM_ICF_PROCESS, shim_current_ef(), 0, 0);
	if (!(flags & (CLONE_VM | CLONE_FILES)) && shim.fd_hi)
		shim_fds_hold_all(1);
	rc = real_clone(clone_trampoline, stack, flags, slot, ptid, tls, ctid);
	if ((flags & (CLONE_VM | CLONE_VFORK | CLONE_SETTLS)) == (CLONE_VM | CLONE_VFORK))
		shim_vforked = 0;
	if (rc < 0) {
		int err = errno;

		if (!(flags & (CLONE_VM | CLONE_FILES)) && shim.fd_hi) {
			shim_fds_hold_all(-1);
			shim.holds_dropped = false;
		}
		if (slot->ef >= 0)
			atomic_store(&shim.area->ef[slot->ef].used, 0);
		atomic_store(&slot->busy, 0);
		errno = err;
	} else if (slot->ef >= 0) {
		shim.area->ef[slot->ef].pid = (flags & CLONE_VM) ? shim_pid : rc;
		if (!(flags & CLONE_VM))
			shim_ef_index_pid(slot->ef, rc);
		shim.area->ef[slot->ef].tid = rc;
	}
	return rc;
}

/* ---- threads -------------------------------------------------------------------- */

/*
 * A new thread's id for its record, without gettid(2): glibc's
 * pthread_create has the kernel store it in the thread's descriptor
 * (CLONE_PARENT_SETTID) before the thread runs, at the offset x86-64
 * glibc 2.36 uses.  Taken only when the main thread's descriptor holds
 * the process id there at start-up, else gettid(2) as before (a system
 * call costs more than a microsecond on some virtual machines, a
 * twentieth of a thread's create and join).
 */
#define GLIBC_TID_OFF 0x2d0

void shim_tid_probe(void)
{
	shim.tid_off = -1;
#if defined(__x86_64__) && defined(__GLIBC__)
	if (*(const int32_t *)(const void *)((const char *)pthread_self() + GLIBC_TID_OFF) == shim_pid)
		shim.tid_off = GLIBC_TID_OFF;
#endif
}

static int32_t own_tid(void)
{
	if (shim.tid_off > 0) {
		int32_t tid = *(const int32_t *)(const void *)((const char *)pthread_self() + shim.tid_off);

		if (tid > 0)
			return tid;
	}
	return (int32_t)syscall(SYS_gettid);
}

struct thread_start {
	_Atomic uint32_t busy; /* a pool slot in use (malloc'd ones: 2) */
	void *(*fn)(void *);
	void *arg;
	int32_t ef, pid, self;
};

/* Start records come from a pool, not malloc: a free() in the new thread
 * would make glibc give it a malloc arena and a tcache, which costs more
 * than the whole shim when the thread itself never allocates. */
#define THREAD_STARTS 256
static struct thread_start thread_starts[THREAD_STARTS];

static struct thread_start *thread_start_get(void)
{
	static _Atomic uint32_t next;

	for (int n = 0; n < THREAD_STARTS; n++) {
		struct thread_start *t = &thread_starts[atomic_fetch_add(&next, 1) % THREAD_STARTS];
		uint32_t free_ = 0;

		if (atomic_compare_exchange_strong(&t->busy, &free_, 1))
			return t;
	}
	return NULL;
}

static void *thread_trampoline(void *p)
{
	struct thread_start *t = p, st = *t;
	void *ret;

	if (atomic_load(&t->busy) == 2)
		free(t);
	else
		atomic_store(&t->busy, 0);
	shim_pid = st.pid;
	shim_self = st.self;
	shim_thread_ef = st.ef;
	if (st.ef >= 0)
		shim.area->ef[st.ef].tid = own_tid();
	ret = st.fn(st.arg);
	if (st.ef >= 0)
		shim_ef_end(st.ef, SHIM_END_RETURN, (int64_t)(intptr_t)ret);
	return ret;
}

SHIM_EXPORT int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	SHIM_ERRNO_SAVE;
	struct thread_start *st = shim.area ? thread_start_get() : NULL;
	int rc;

	if (shim.area && !st && (st = malloc(sizeof(*st))))
		atomic_store(&st->busy, 2);
	if (!st) {
		SHIM_ERRNO_RESTORE();
		return REAL(pthread_create)(thread, attr, fn, arg);
	}
	st->fn = fn;
	st->arg = arg;
	st->pid = shim_pid;
	st->self = shim_self;
	st->ef = shim_ef_new(SHIM_ICF_THREAD, shim_current_ef(), shim_pid, 0);
	SHIM_ERRNO_RESTORE();
	rc = REAL(pthread_create)(thread, attr, thread_trampoline, st);
	if (rc != 0) {
		if (st->ef >= 0)
			atomic_store(&shim.area->ef[st->ef].used, 0);
		if (atomic_load(&st->busy) == 2)
			free(st);
		else
			atomic_store(&st->busy, 0);
		SHIM_ERRNO_RESTORE();
	}
	return rc;
}

SHIM_EXPORT void pthread_exit(void *value)
{
	if (shim_thread_ef >= 0 && shim_own_process())
		shim_ef_end(shim_thread_ef, SHIM_END_PTHREAD_EXIT, (int64_t)(intptr_t)value);
	REAL(pthread_exit)(value);
	__builtin_unreachable();
}

/* ---- process end --------------------------------------------------------------- */

/* Nothing here sets errno (exit status goes to the area, hints to rings). */
static SHIM_FORK_PATH void process_ending(int status)
{
	/* An image its exec'ing image prepared leaves its end to its parent's
	 * wait, unless that parent is gone: nobody would record it then. */
	if (shim.area && shim_light && shim.start_ef >= 0 && shim_self == shim.start_ef && !shim_vforked &&
	    shim_getppid() != shim.start_ppid)
		shim_light = 0;
	/* A light fork child without fds the shim tracks has nothing to
	 * record: no getpid to find out whether it is our process. */
	if (shim.area && !shim_vforked && !(shim_light && !shim.fd_hi) && shim_own_process()) {
		shim_process_ending(SHIM_END_EXIT, status & 0xff);
		if (shim.fd_hi)
			shim_fds_closing_all();
	}
}

SHIM_EXPORT SHIM_FORK_PATH void exit(int status)
{
	process_ending(status);
	REAL(exit)(status);
	__builtin_unreachable();
}

SHIM_EXPORT SHIM_FORK_PATH void _exit(int status)
{
	process_ending(status);
	REAL(_exit)(status);
	__builtin_unreachable();
}

SHIM_EXPORT void _Exit(int status)
{
	process_ending(status);
	REAL(_Exit)(status);
	__builtin_unreachable();
}

/* In .data, beside what the loader writes anyway: in .bss it would sit
 * past the 1 MiB of struct shim_state, on a page of its own that every
 * image would fault in at start for this one pointer. */
static int (*program_main)(int, char **, char **) __attribute__((section(".data")));

/* main's return goes to libc's internal exit, which we do not see. */
static int main_trampoline(int argc, char **argv, char **envp)
{
	int rc = program_main(argc, argv, envp);

	process_ending(rc);
	return rc;
}

int __libc_start_main(int (*main_fn)(int, char **, char **), int argc, char **argv, void (*init)(void),
		      void (*fini)(void), void (*rtld_fini)(void), void *stack_end);

SHIM_EXPORT int __libc_start_main(int (*main_fn)(int, char **, char **), int argc, char **argv,
				  void (*init)(void), void (*fini)(void), void (*rtld_fini)(void), void *stack_end)
{
	program_main = main_fn;
	return REAL(__libc_start_main)(main_trampoline, argc, argv, init, fini, rtld_fini, stack_end);
}

/* ---- wait: the parent learns how a child ended ----------------------------------- */

static void reaped(pid_t pid, int status)
{
	int32_t ef;

	if (pid <= 0 || !shim.area || !(WIFEXITED(status) || WIFSIGNALED(status)))
		return;
	shim_spawn_reaped(pid);
	if (!forked_lookup(pid, &ef))
		ef = shim_ef_find_pid(pid);
	if (ef < 0)
		return;
	if (atomic_load(&shim.area->ef[ef].threads))
		shim_threads_end(pid);
	if (WIFEXITED(status))
		shim_ef_end(ef, SHIM_END_EXIT, WEXITSTATUS(status));
	else
		shim_ef_end(ef, SHIM_END_SIGNAL, WTERMSIG(status));
}

SHIM_EXPORT pid_t wait(int *wstatus)
{
	return waitpid(-1, wstatus, 0);
}

/* The kernel's waitpid is wait4 without usage: one interposer does both. */
SHIM_EXPORT SHIM_FORK_PATH pid_t waitpid(pid_t pid, int *wstatus, int options)
{
	return wait4(pid, wstatus, options, NULL);
}

SHIM_EXPORT pid_t wait3(int *wstatus, int options, struct rusage *ru)
{
	return wait4(-1, wstatus, options, ru);
}

SHIM_EXPORT SHIM_FORK_PATH pid_t wait4(pid_t pid, int *wstatus, int options, struct rusage *ru)
{
	SHIM_VFORK_PASS(REAL(wait4)(pid, wstatus, options, ru));
	int st = 0;
	pid_t rc = REAL(wait4)(pid, &st, options, ru);

	if (rc > 0) {
		SHIM_ERRNO_SAVE;
		reaped(rc, st);
		SHIM_ERRNO_RESTORE();
	}
	if (wstatus && rc > 0)
		*wstatus = st;
	return rc;
}

SHIM_EXPORT int waitid(idtype_t idtype, id_t id, siginfo_t *info, int options)
{
	SHIM_VFORK_PASS(REAL(waitid)(idtype, id, info, options));
	int rc = REAL(waitid)(idtype, id, info, options);

	if (rc == 0 && info && info->si_pid > 0 && !(options & WNOWAIT)) {
		SHIM_ERRNO_SAVE;
		if (info->si_code == CLD_EXITED)
			reaped(info->si_pid, W_EXITCODE(info->si_status, 0));
		else if (info->si_code == CLD_KILLED || info->si_code == CLD_DUMPED)
			reaped(info->si_pid, info->si_status & 0x7f);
		SHIM_ERRNO_RESTORE();
	}
	return rc;
}
