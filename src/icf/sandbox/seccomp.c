/* SPDX-License-Identifier: MIT */
/*
 * The sandbox ICF's seccomp-bpf filters: the system calls it knows by
 * name (the default allow-list, those only a sandbox.allow adds, those
 * never allowed), the EF's allow-list with its argument checks, and the
 * init's own filter.  See xos-icf-sandbox(7).
 */
#include "config.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define XOS_USE_VERSION 1
#include <xos.h>
#include <xos/vic.h>

#include "sandbox_i.h"

#if defined(__x86_64__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

/* ---- the system calls the filter knows by name ---------------------------------- */

struct syscall_name {
	const char *name;
	long nr;
	bool allowed; /* in the default allow-list */
};

#define SC(name, dflt) { #name, SYS_##name, dflt }

/*
 * Default: what computing and channel I/O need (memory, time, futexes,
 * polling, reads and writes on descriptors the EF holds, signals to
 * itself), reading the read-only view, and files in the private /tmp.
 * Not by default: sockets, exec, ptrace, mount, namespaces, module and
 * key management, BPF, perf, and anything not listed.
 */
static const struct syscall_name syscall_names[] = {
	/* First what channels and I/O loops call most: the filter tests in this order. */
	SC(read, true), SC(write, true), SC(recvmsg, true), SC(sendmsg, true), SC(recvfrom, true),
	SC(sendto, true), SC(futex, true), SC(ppoll, true), SC(epoll_pwait, true),
#ifdef SYS_futex_waitv
	SC(futex_waitv, true), /* a ring's wait a request may cut: its word and the request's */
#endif
	SC(readv, true), SC(writev, true),
	SC(pread64, true), SC(pwrite64, true), SC(preadv, true), SC(pwritev, true),
	SC(preadv2, true), SC(pwritev2, true), /* pipe channels: RWF_NOWAIT per call */
	SC(close, true), SC(close_range, true), SC(dup, true), SC(dup3, true), SC(fcntl, true),
	SC(lseek, true), SC(fstat, true), SC(newfstatat, true), SC(statx, true),
	SC(openat, true), SC(getdents64, true), SC(readlinkat, true), SC(faccessat, true),
	SC(faccessat2, true), SC(getcwd, true), SC(chdir, true), SC(fchdir, true),
	SC(unlinkat, true), SC(mkdirat, true), SC(renameat2, true), SC(ftruncate, true),
	SC(fsync, true), SC(fdatasync, true), SC(umask, true), SC(statfs, true), SC(fstatfs, true),
	SC(set_robust_list, true), SC(get_robust_list, true),
	SC(set_tid_address, true), SC(rseq, true), SC(membarrier, true),
	SC(mmap, true), SC(munmap, true), SC(mprotect, true), SC(mremap, true),
	SC(madvise, true), SC(brk, true), SC(mincore, true), SC(memfd_create, true),
	SC(exit, true), SC(exit_group, true), SC(wait4, true), SC(waitid, true),
	SC(clock_gettime, true), SC(clock_getres, true), SC(clock_nanosleep, true),
	SC(nanosleep, true), SC(gettimeofday, true), SC(getitimer, true), SC(setitimer, true),
	SC(timerfd_create, true), SC(timerfd_settime, true), SC(timerfd_gettime, true),
	SC(pselect6, true), SC(epoll_create1, true), SC(epoll_ctl, true),
	SC(epoll_pwait2, true), SC(eventfd2, true), SC(pipe2, true),
	SC(sendmmsg, true), SC(recvmmsg, true), SC(shutdown, true), SC(getsockopt, true),
	SC(getsockname, true), SC(getpeername, true),
	SC(rt_sigreturn, true), SC(rt_sigprocmask, true), SC(rt_sigaction, true),
	SC(rt_sigpending, true), SC(rt_sigtimedwait, true), SC(rt_sigsuspend, true),
	SC(sigaltstack, true), SC(restart_syscall, true),
	SC(kill, true), SC(tgkill, true), SC(tkill, true), /* the PID namespace bounds them */
	SC(getpid, true), SC(gettid, true), SC(getppid, true), SC(getuid, true),
	SC(geteuid, true), SC(getgid, true), SC(getegid, true), SC(getgroups, true),
	SC(getresuid, true), SC(getresgid, true), SC(getpgid, true), SC(getsid, true),
	SC(sched_yield, true), SC(sched_getaffinity, true), SC(sched_setaffinity, true),
	SC(sched_getparam, true), SC(sched_getscheduler, true), SC(getpriority, true),
	SC(getrandom, true), SC(uname, true), SC(getrusage, true), SC(times, true),
	SC(prlimit64, true), SC(getrlimit, true), SC(setrlimit, true), /* only lower: no CAP_SYS_RESOURCE */
	SC(prctl, true), SC(seccomp, true), /* a filter can only be narrowed */
	SC(clone, true), /* checked: no namespace flags */
	SC(socketpair, true), /* checked: AF_UNIX stream or seqpacket (channel switches) */
	/* Known by name, allowed only when an EF option asks. */
	SC(socket, false), /* checked when allowed: AF_INET and AF_INET6 only */
	SC(mknodat, false), /* checked when allowed: no device nodes */
	SC(connect, false), SC(bind, false),
	SC(listen, false), SC(accept, false), SC(accept4, false), SC(setsockopt, false),
	SC(execve, false), SC(execveat, false), SC(ioctl, false), SC(clone3, false),
	SC(ptrace, false), SC(process_vm_readv, false), SC(process_vm_writev, false),
	SC(mount, false), SC(umount2, false), SC(unshare, false), SC(setns, false),
	SC(pivot_root, false), SC(chroot, false), SC(bpf, false), SC(perf_event_open, false),
	SC(io_uring_setup, false), SC(io_uring_enter, false), SC(io_uring_register, false),
	SC(fchmod, false), SC(fchmodat, false), SC(fchown, false), SC(fchownat, false),
	SC(linkat, false), SC(symlinkat, false), SC(utimensat, false),
	SC(sethostname, false), SC(setuid, false), SC(setgid, false), SC(setsid, false),
	SC(setpgid, false), SC(flock, false), SC(fallocate, false), SC(sendfile, false),
	SC(splice, false), SC(tee, false), SC(copy_file_range, false), SC(inotify_init1, false),
	SC(inotify_add_watch, false), SC(inotify_rm_watch, false), SC(signalfd4, false),
	SC(pidfd_open, false), SC(pidfd_send_signal, false), SC(pidfd_getfd, false),
	SC(userfaultfd, false), SC(keyctl, false), SC(add_key, false), SC(request_key, false),
	SC(mlock, false), SC(munlock, false), SC(msync, false), SC(shmget, false),
	SC(shmat, false), SC(shmdt, false), SC(shmctl, false), SC(semget, false),
	SC(semop, false), SC(semctl, false), SC(msgget, false), SC(msgsnd, false),
	SC(msgrcv, false), SC(msgctl, false), SC(mq_open, false), SC(reboot, false),
	SC(init_module, false), SC(finit_module, false), SC(delete_module, false),
	SC(kexec_load, false), SC(swapon, false), SC(swapoff, false), SC(acct, false),
	SC(settimeofday, false), SC(clock_settime, false), SC(adjtimex, false),
	SC(name_to_handle_at, false), SC(open_by_handle_at, false), SC(fanotify_init, false),
	SC(move_mount, false), SC(open_tree, false), SC(fsopen, false), SC(fsmount, false),
	SC(mount_setattr, false), SC(sync, false), SC(syncfs, false), SC(vmsplice, false),
#ifdef __x86_64__
	/* Legacy x86-64 entry points glibc or older code may still use. */
	SC(open, true), SC(stat, true), SC(lstat, true), SC(access, true), SC(readlink, true),
	SC(poll, true), SC(select, true), SC(epoll_create, true), SC(epoll_wait, true),
	SC(eventfd, true), SC(pipe, true), SC(dup2, true), SC(unlink, true), SC(mkdir, true),
	SC(rmdir, true), SC(rename, true), SC(time, true), SC(alarm, true), SC(pause, true),
	SC(arch_prctl, true), SC(getpgrp, true),
	SC(fork, false), SC(vfork, false), SC(creat, false), SC(link, false), SC(symlink, false),
	SC(chmod, false), SC(chown, false), SC(lchown, false), SC(mknod, false), SC(iopl, false),
	SC(ioperm, false), SC(modify_ldt, false), SC(uselib, false), SC(sysfs, false),
#endif
};

/*
 * Never allowed, whatever sandbox.allow says: each is a known way out of
 * a container or around this filter.  io_uring runs operations no filter
 * sees; ptrace and process_vm_* reach the unfiltered init; keyrings are
 * not namespaced; open_by_handle_at opens any inode of a mounted file
 * system by number (CVE "shocker"); unshare/setns make or enter
 * namespaces; bpf, perf_event_open and userfaultfd are the kernel
 * exploitation staples; the rest change the host itself.
 */
static const long syscall_never[] = {
	SYS_io_uring_setup, SYS_io_uring_enter, SYS_io_uring_register, SYS_ptrace,
	SYS_process_vm_readv, SYS_process_vm_writev, SYS_keyctl, SYS_add_key, SYS_request_key,
	SYS_open_by_handle_at, SYS_name_to_handle_at, SYS_unshare, SYS_setns, SYS_bpf,
	SYS_perf_event_open, SYS_userfaultfd, SYS_kexec_load, SYS_init_module, SYS_finit_module,
	SYS_delete_module, SYS_reboot, SYS_swapon, SYS_swapoff, SYS_acct, SYS_pivot_root,
	SYS_mount, SYS_umount2, /* would undo the read-only view */
	SYS_fsopen, SYS_fsmount, SYS_move_mount, SYS_open_tree, SYS_mount_setattr,
#ifdef __x86_64__
	SYS_iopl, SYS_ioperm, SYS_modify_ldt, SYS_uselib,
#endif
};

bool sbx_syscall_never(long nr)
{
	for (size_t i = 0; i < ARRAY_SIZE(syscall_never); i++)
		if (syscall_never[i] == nr)
			return true;
	return false;
}

static const struct syscall_name *syscall_lookup(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(syscall_names); i++)
		if (strcmp(syscall_names[i].name, name) == 0)
			return &syscall_names[i];
	return NULL;
}

int sbx_syscall_lookup(const char *name, long *ret_nr)
{
	const struct syscall_name *sc = name ? syscall_lookup(name) : NULL;

	if (!sc || !ret_nr)
		return -EINVAL;
	*ret_nr = sc->nr;
	return 0;
}

/* ---- the seccomp filter ------------------------------------------------------ */

static int emit(struct sbx_filter *f, struct sock_filter insn)
{
	if (f->len == FILTER_MAX)
		return -E2BIG;
	f->insn[f->len++] = insn;
	return 0;
}

#define STMT(code, k) ((struct sock_filter)BPF_STMT(code, k))
#define JUMP(code, k, jt, jf) ((struct sock_filter)BPF_JUMP(code, k, jt, jf))

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG_LOW(n) (offsetof(struct seccomp_data, args[n]))
#else
#define ARG_LOW(n) (offsetof(struct seccomp_data, args[n]) + 4)
#endif

#define NS_CLONE_FLAGS                                                                   \
	(CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |         \
	 CLONE_NEWUTS | CLONE_NEWCGROUP | 0x00000080 /* CLONE_NEWTIME */)

static bool extra_has(const struct sandbox_conf *conf, long nr)
{
	for (size_t i = 0; i < conf->nextra; i++)
		if (conf->extra[i] == nr)
			return true;
	return false;
}

static int allow_nr(struct sbx_filter *f, long nr)
{
	int rc = emit(f, JUMP(BPF_JMP | BPF_JEQ | BPF_K, (__u32)nr, 0, 1));

	return rc < 0 ? rc : emit(f, STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
}

/*
 * @nr allowed when its 32-bit argument @arg, masked with @mask, is one of
 * @ok (@nok values); otherwise it fails with @err.
 */
static int allow_arg_in(struct sbx_filter *f, long nr, int arg, __u32 mask, const __u32 *ok, size_t nok,
			int err)
{
	int rc = emit(f, JUMP(BPF_JMP | BPF_JEQ | BPF_K, (__u32)nr, 0, (__u8)(nok + 4)));

	rc |= emit(f, STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LOW(arg)));
	rc |= emit(f, STMT(BPF_ALU | BPF_AND | BPF_K, mask));
	for (size_t i = 0; i < nok; i++)
		rc |= emit(f, JUMP(BPF_JMP | BPF_JEQ | BPF_K, ok[i], (__u8)(nok - i), 0));
	rc |= emit(f, STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (__u32)err));
	rc |= emit(f, STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
	return rc;
}

/*
 * The calls allowed only for some arguments: not plain allow_nr() ones.
 *  socket      AF_INET/AF_INET6 only: the sandbox's own network stack.  An
 *              AF_UNIX socket reaches host sockets by path on the read-only
 *              view (a socket file ignores read-only mounts).
 *  socketpair  AF_UNIX stream or seqpacket: what channels switch over.  A
 *              datagram socket could send to a host socket by path.
 *  setsockopt  SOL_SOCKET level only, unless sandbox.allow names it.
 *  mknod(at)   no character or block device nodes.
 *  clone       no namespace flags (else unshare in disguise).
 */
static bool syscall_checked(long nr)
{
	return nr == SYS_socket || nr == SYS_socketpair || nr == SYS_mknodat || nr == SYS_clone
#ifdef __x86_64__
	       || nr == SYS_mknod
#endif
		;
}

static int filter_checked(const struct sandbox_conf *conf, struct sbx_filter *f)
{
	static const __u32 inet[] = { AF_INET, AF_INET6 }, unix_only[] = { AF_UNIX };
	static const __u32 nodev[] = { S_IFREG, S_IFIFO, S_IFSOCK, 0 }, sol_socket[] = { SOL_SOCKET };
	int rc = 0;

	if (extra_has(conf, SYS_socket))
		rc |= allow_arg_in(f, SYS_socket, 0, ~0u, inet, ARRAY_SIZE(inet), EAFNOSUPPORT);
	/* socketpair: family, then type (without SOCK_NONBLOCK/SOCK_CLOEXEC). */
	rc |= emit(f, JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_socketpair, 0, 9));
	rc |= emit(f, STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LOW(0)));
	rc |= emit(f, JUMP(BPF_JMP | BPF_JEQ | BPF_K, unix_only[0], 1, 0));
	rc |= emit(f, STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EAFNOSUPPORT));
	rc |= emit(f, STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LOW(1)));
	rc |= emit(f, STMT(BPF_ALU | BPF_AND | BPF_K, 0xf));
	rc |= emit(f, JUMP(BPF_JMP | BPF_JEQ | BPF_K, SOCK_STREAM, 2, 0));
	rc |= emit(f, JUMP(BPF_JMP | BPF_JEQ | BPF_K, SOCK_SEQPACKET, 1, 0));
	rc |= emit(f, STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPROTONOSUPPORT));
	rc |= emit(f, STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
	/* SOL_SOCKET options (buffer sizes of a channel's socketpair) unless all are asked for. */
	if (!extra_has(conf, SYS_setsockopt))
		rc |= allow_arg_in(f, SYS_setsockopt, 1, ~0u, sol_socket, ARRAY_SIZE(sol_socket), EPERM);
	if (extra_has(conf, SYS_mknodat))
		rc |= allow_arg_in(f, SYS_mknodat, 2, S_IFMT, nodev, ARRAY_SIZE(nodev), EPERM);
#ifdef __x86_64__
	if (extra_has(conf, SYS_mknod))
		rc |= allow_arg_in(f, SYS_mknod, 1, S_IFMT, nodev, ARRAY_SIZE(nodev), EPERM);
#endif
	rc |= emit(f, JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 4));
	rc |= emit(f, STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LOW(0)));
	rc |= emit(f, JUMP(BPF_JMP | BPF_JSET | BPF_K, NS_CLONE_FLAGS, 0, 1));
	rc |= emit(f, STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
	rc |= emit(f, STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
	return rc;
}

/*
 * Build the allow-list: another architecture (i386 through int 0x80) or
 * the x32 ABI kills; the default list is allowed, in its order (hot calls
 * first: on kernels without the seccomp action cache every call runs the
 * filter up to its match); then the calls checked by argument (above);
 * clone3, whose flags a filter cannot read, fails with ENOSYS so libc
 * falls back to clone; conf->extra is allowed; anything else kills the
 * whole EF process with SIGSYS.  No number is in two of these groups, so
 * their order changes no verdict.
 */
int sbx_filter_build(const struct sandbox_conf *conf, struct sbx_filter *f)
{
	int rc = 0;

	f->len = 0;
#ifndef SANDBOX_AUDIT_ARCH
	(void)conf;
	return -EOPNOTSUPP;
#else
	rc |= emit(f, STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
	rc |= emit(f, JUMP(BPF_JMP | BPF_JEQ | BPF_K, SANDBOX_AUDIT_ARCH, 1, 0));
	rc |= emit(f, STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
	rc |= emit(f, STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
#ifdef __x86_64__
	rc |= emit(f, JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000 /* __X32_SYSCALL_BIT */, 0, 1));
	rc |= emit(f, STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
#endif
	for (size_t i = 0; i < ARRAY_SIZE(syscall_names); i++)
		if (syscall_names[i].allowed && !syscall_checked(syscall_names[i].nr))
			rc |= allow_nr(f, syscall_names[i].nr);
	rc |= filter_checked(conf, f);
	for (size_t i = 0; i < conf->nextra; i++)
		if (!syscall_checked(conf->extra[i]))
			rc |= allow_nr(f, conf->extra[i]);
	if (!extra_has(conf, SYS_clone3)) {
		rc |= emit(f, JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1));
		rc |= emit(f, STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS));
	}
	if (!extra_has(conf, SYS_ioctl)) {
		/* Terminal queries only (isatty, window size): never TIOCSTI and friends. */
		static const __u32 ioctls[] = { TCGETS, TIOCGWINSZ, FIONREAD, FIONBIO };

		rc |= emit(f, JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ioctl, 0, 2 + 2 * ARRAY_SIZE(ioctls)));
		rc |= emit(f, STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LOW(1)));
		for (size_t i = 0; i < ARRAY_SIZE(ioctls); i++) {
			rc |= emit(f, JUMP(BPF_JMP | BPF_JEQ | BPF_K, ioctls[i], 0, 1));
			rc |= emit(f, STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
		}
		rc |= emit(f, STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
	}
	rc |= emit(f, STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
	return rc < 0 ? -E2BIG : 0;
#endif
}

int sbx_filter_install(const struct sbx_filter *f)
{
	struct sock_fprog prog = { .len = f->len, .filter = (struct sock_filter *)f->insn };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return -errno;
	return 0;
}

/*
 * The init's own filter, once the EF is forked: it only reaps, writes the
 * verdict page, wakes futexes and exits, so anything else (open, exec,
 * mount, sockets, ptrace...) kills it.  Should the EF ever get code into
 * it, that code could do nothing else either.
 */
int sbx_init_filter_build(struct sbx_filter *f)
{
	static const long allowed[] = {
		SYS_wait4, SYS_waitid, SYS_futex, SYS_exit, SYS_exit_group, SYS_rt_sigreturn,
		SYS_rt_sigprocmask, SYS_rt_sigaction, SYS_restart_syscall, SYS_close,
		SYS_close_range, SYS_mmap, SYS_munmap, SYS_mprotect, SYS_madvise, SYS_brk,
		SYS_getpid, SYS_gettid, SYS_clock_gettime, SYS_clock_nanosleep, SYS_nanosleep,
		SYS_sched_yield, SYS_write, /* it holds no descriptor: for a sanitizer's report */
	};
	int rc = 0;

	f->len = 0;
#ifndef SANDBOX_AUDIT_ARCH
	return -EOPNOTSUPP;
#else
	rc |= emit(f, STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
	rc |= emit(f, JUMP(BPF_JMP | BPF_JEQ | BPF_K, SANDBOX_AUDIT_ARCH, 1, 0));
	rc |= emit(f, STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
	rc |= emit(f, STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
	for (size_t i = 0; i < ARRAY_SIZE(allowed); i++)
		rc |= allow_nr(f, allowed[i]);
	rc |= emit(f, STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
	return rc < 0 ? -E2BIG : 0;
#endif
}
