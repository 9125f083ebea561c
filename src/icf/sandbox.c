/* SPDX-License-Identifier: MIT */
/*
 * The sandbox ICF: an EF in a process inside new user, PID, mount,
 * network, IPC and UTS namespaces, under a seccomp-bpf allow-list, with no
 * new privileges and resource limits.  Written against <xos/vic.h> and the
 * EF options only, as a third party would write an ICF.
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

#include "sandbox_cgroup.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SANDBOX_IC(ic) ((struct sandbox_ic *)(void *)((char *)(ic) - offsetof(struct sandbox_ic, ic)))

#if defined(__x86_64__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

/* ---- defaults and settings (EF options "sandbox.KEY=VALUE") -------------------- */

#define DEFAULT_MEM (1ull << 30)  /* address space beyond what the EF starts with */
#define DEFAULT_NOFILE 256
#define DEFAULT_PIDS 1024         /* processes and threads of the EF tree */
#define DEFAULT_TMP (64ull << 20) /* size of the private /tmp */
#define EXTRA_MAX 64              /* syscalls a sandbox.allow may add */
#define FILTER_MAX 512            /* BPF instructions */
#define KEEP_MAX 512              /* descriptors an EF may be given (stdio included) */
#define FDS_MAX 64                /* of them, named in sandbox.fds */

struct sandbox_conf {
	unsigned long long mem;    /* bytes; 0: unlimited */
	unsigned long long cpu;    /* seconds of CPU time; 0: unlimited */
	unsigned long long nofile; /* descriptors */
	unsigned long long pids;   /* processes and threads of the tree; 0: unlimited */
	unsigned long long tmp;    /* bytes of private /tmp */
	long extra[EXTRA_MAX];     /* syscalls added to the allow-list */
	size_t nextra;
	char rw[XOS_EF_OPTIONS_MAX]; /* ':'-separated paths left writable */
	int fds[FDS_MAX];            /* creator's descriptors the EF is given (sandbox.fds) */
	size_t nfds;
};

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

static bool syscall_is_never(long nr)
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
		const struct syscall_name *sc;
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
		} else {
			sc = syscall_lookup(name);
			if (!sc)
				return -EINVAL;
			nr = sc->nr;
		}
		if (syscall_is_never(nr))
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

/* ---- the seccomp filter ------------------------------------------------------ */

struct filter {
	struct sock_filter insn[FILTER_MAX];
	unsigned short len;
};

static int emit(struct filter *f, struct sock_filter insn)
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

static int allow_nr(struct filter *f, long nr)
{
	int rc = emit(f, JUMP(BPF_JMP | BPF_JEQ | BPF_K, (__u32)nr, 0, 1));

	return rc < 0 ? rc : emit(f, STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
}

/*
 * @nr allowed when its 32-bit argument @arg, masked with @mask, is one of
 * @ok (@nok values); otherwise it fails with @err.
 */
static int allow_arg_in(struct filter *f, long nr, int arg, __u32 mask, const __u32 *ok, size_t nok,
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

static int filter_checked(const struct sandbox_conf *conf, struct filter *f)
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
static int filter_build(const struct sandbox_conf *conf, struct filter *f)
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

static int filter_install(const struct filter *f)
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
static int init_filter_build(struct filter *f)
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
	struct filter filter;
	struct sbx_cgroup cg; /* limits of the whole tree (none when nested) */
};

/* Set in every process that runs inside a sandbox (inherited by its forks). */
static bool sandbox_inside;

static void futex_wake_all(atomic_int *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
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
static int view_set_rdonly(const char *path, bool rdonly)
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
static int dev_minimal(const char *tmpopts)
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
static const char *rw_next(const char *p, char *buf, size_t size)
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
 * private /tmp: each is held by an O_PATH descriptor before the tmpfs
 * covers it (tmp_hold), then its mount point is made in the tmpfs and
 * the held path is bound there through /proc/self/fd (tmp_carry), after
 * /dev was staged in the tmpfs, so the host's /tmp never sees the staging.
 */
struct tmp_held {
	int fd[16];
	int n;
};

static int tmp_hold(const char *rw, struct tmp_held *h)
{
	char path[XOS_EF_OPTIONS_MAX];

	h->n = 0;
	for (const char *p = rw; (p = rw_next(p, path, sizeof(path)));) {
		if (!under_tmp(path))
			continue;
		if (h->n == (int)ARRAY_SIZE(h->fd))
			return -E2BIG;
		h->fd[h->n] = open(path, O_PATH | O_CLOEXEC);
		if (h->fd[h->n] < 0)
			return -errno;
		h->n++;
	}
	return 0;
}

static int tmp_carry(const char *rw, struct tmp_held *h)
{
	char path[XOS_EF_OPTIONS_MAX], from[64];
	int i = 0;

	for (const char *p = rw; (p = rw_next(p, path, sizeof(path)));) {
		struct stat st;

		if (!under_tmp(path))
			continue;
		snprintf(from, sizeof(from), "/proc/self/fd/%d", h->fd[i]);
		/* /tmp itself: not recursive, or the copy brings the tmpfs now mounted on it. */
		if (fstat(h->fd[i], &st) < 0 || mkdir_under(path, S_ISDIR(st.st_mode)) < 0 ||
		    mount(from, path, "none", MS_BIND | (path[4] ? MS_REC : 0), NULL) < 0)
			return -errno;
		close(h->fd[i++]);
	}
	h->n = 0;
	return 0;
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
	struct tmp_held held;
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
	for (const char *p = s->conf.rw; (p = rw_next(p, path, sizeof(path)));)
		if (mount(path, path, "none", MS_BIND | MS_REC, NULL) < 0)
			setup_fail(s, STEP_BIND_RW, errno);
	if ((rc = view_set_rdonly("/", true)) < 0)
		setup_fail(s, STEP_READONLY, -rc);
	for (const char *p = s->conf.rw; (p = rw_next(p, path, sizeof(path)));)
		if ((rc = view_set_rdonly(path, false)) < 0)
			setup_fail(s, STEP_WRITABLE, -rc);
	snprintf(tmpopts, sizeof(tmpopts), "size=%llu,mode=1777", s->conf.tmp);
	if ((rc = tmp_hold(s->conf.rw, &held)) < 0)
		setup_fail(s, STEP_TMP_RW, -rc);
	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, tmpopts) < 0)
		setup_fail(s, STEP_TMP, errno);
	if ((rc = dev_minimal(tmpopts)) < 0)
		setup_fail(s, STEP_DEV, -rc);
	if ((rc = tmp_carry(s->conf.rw, &held)) < 0)
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
 * The PID namespace's /proc shows the host kernel's global files, and uid 0
 * is the host's root: without this, the EF could write global sysctls
 * (core_pattern runs a command of its choosing as host root).  As
 * container runtimes do: the knobs read-only, the kernel's memory, symbols,
 * keys and timers hidden behind /dev/null or an empty read-only tmpfs.
 * The EF, which holds no capability, cannot undo a mount.
 */
static int proc_mask(void)
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
static int landlock_apply(const struct sandbox_conf *conf, const int *keep, int nkeep)
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
	for (const char *p = conf->rw; rc == 0 && (p = rw_next(p, path, sizeof(path)));)
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
	if (!s->nested && (rc = landlock_apply(&s->conf, keep, nkeep)) < 0)
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
		rc = filter_install(&s->filter);
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
	struct filter f;
	int rc;

	close_range(0, ~0u, 0);
	rc = caps_drop_all();
	if (rc < 0)
		return rc;
	rc = init_filter_build(&f);
	return rc < 0 ? rc : filter_install(&f);
}

/* In the EF's process, before the EF runs: wait until the init is hardened. */
static void init_wait_armed(struct sandbox_ic *s)
{
	int v;

	while ((v = atomic_load(&s->verdict->armed)) == 0)
		syscall(SYS_futex, &s->verdict->armed, FUTEX_WAIT, 0, NULL, NULL, 0);
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
		if ((rc = proc_mask()) < 0)
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
	if ((rc = proc_mask()) < 0)
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
		syscall(SYS_futex, &s->shared->setup, FUTEX_WAIT, 0, &ts, NULL, 0);
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
	sbx_cgroup_remove(&s->cg);
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
	s->conf = (struct sandbox_conf){ .mem = DEFAULT_MEM, .nofile = DEFAULT_NOFILE, .tmp = DEFAULT_TMP,
					 .pids = DEFAULT_PIDS };
	if (ef) {
		rc = xos_ef_options_each(ef, icf->name, conf_option, &s->conf);
		if (rc < 0)
			goto out_free;
	}
	rc = filter_build(&s->conf, &s->filter);
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
	static const char *const peers[] = { "sandbox", "process", "thread" };
	/* Inherited memfd (ring), inherited pipe or socket pair: never the host's network. */
	static const struct {
		const char *mechanism;
		unsigned int cost;
	} com[] = { { "ring", 200 }, { "unix", 55000 }, { "pipe", 60000 } };
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
	if (rc < 0)
		return rc;

	for (size_t i = 0; i < ARRAY_SIZE(peers); i++) {
		for (size_t j = 0; j < ARRAY_SIZE(com); j++) {
			rc = xos_com_register(icf->name, peers[i], com[j].mechanism, com[j].cost);
			if (rc < 0 && rc != -EEXIST)
				return rc;
		}
	}
	return 0;
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
	rc = filter_install(&s->filter);
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
};

const struct xos_icf xos__icf_sandbox = {
	.name = "sandbox",
	.description = sandbox_description,
	.isolation = XOS_ISO_SYSCALLS,
	.features = XOS_ICF_F_OWN_FDS | XOS_ICF_F_CRASH_CONTAINED | XOS_ICF_F_RESTRICTED,
	.create_cost = 1000000, /* ~6-7x the process ICF (bench-sandbox) */
	XOS_ICF_OPS(sandbox_ops),
};
