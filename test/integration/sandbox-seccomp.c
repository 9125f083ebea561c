/* SPDX-License-Identifier: MIT */
/*
 * Description: the seccomp allow-list of the sandbox ICF.  Each forbidden
 * system call (sockets, exec, ptrace, mount, new namespaces through
 * unshare or clone, terminal injection, io_uring, BPF) kills the EF with
 * SIGSYS, and its joiner sees XOS_EF_KILLED with SIGSYS; nothing after the
 * call runs.  What the list allows works: threads (clone3 answers ENOSYS
 * so libc falls back to clone), child EFs in threads, processes and
 * nested sandboxes (whose forbidden calls are reported to the sandboxed
 * parent), no_new_privs is set, and sandbox.allow widens the list, but
 * socket() only for AF_INET/AF_INET6; socketpair() is allowed by default
 * for AF_UNIX stream and seqpacket only.
 */
#define _GNU_SOURCE /* unshare, CLONE_NEW* */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox-helpers.h"

enum forbidden {
	F_SOCKET, F_EXECVE, F_PTRACE, F_MOUNT, F_UNSHARE, F_CLONE_NEWUSER, F_TIOCSTI,
	F_IO_URING, F_BPF, F_SETNS, F_COUNT_
};

static const char *const forbidden_names[] = {
	"socket", "execve", "ptrace", "mount", "unshare", "clone(CLONE_NEWUSER)", "ioctl(TIOCSTI)",
	"io_uring_setup", "bpf", "setns",
};

static int call_forbidden(void *arg)
{
	char c = 'x';
	long rc = 0;

	switch (*(const enum forbidden *)arg) {
	case F_SOCKET: rc = socket(AF_UNIX, SOCK_STREAM, 0); break;
	case F_EXECVE: rc = execl("/bin/true", "true", (char *)NULL); break;
	case F_PTRACE: rc = ptrace(PTRACE_TRACEME, 0, NULL, NULL); break;
	case F_MOUNT: rc = mount("tmpfs", "/mnt", "tmpfs", 0, NULL); break;
	case F_UNSHARE: rc = unshare(CLONE_NEWNS); break;
	case F_CLONE_NEWUSER: rc = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0); break;
	case F_TIOCSTI: rc = ioctl(0, TIOCSTI, &c); break;
	case F_IO_URING: rc = syscall(SYS_io_uring_setup, 4, NULL); break;
	case F_BPF: rc = syscall(SYS_bpf, 0, NULL, 0); break;
	case F_SETNS: rc = syscall(SYS_setns, 0, 0); break;
	case F_COUNT_: break;
	}
	if (rc == 0)
		_exit(0); /* a clone child, had it been allowed */
	return 77; /* survived the call */
}

static void test_forbidden_calls_kill(void **state)
{
	(void)state;
	for (enum forbidden f = 0; f < F_COUNT_; f++) {
		struct xos_ef_exit ex = t_sandbox_run(NULL, call_forbidden, &f, sizeof(f));

		if (ex.how != XOS_EF_KILLED || ex.status != SIGSYS)
			fail_msg("%s: EF %s %d, want killed by SIGSYS (%d)", forbidden_names[f],
				 ex.how == XOS_EF_KILLED ? "killed by" : "exited with", ex.status,
				 SIGSYS);
	}
}

static void *thread_double(void *arg)
{
	return (void *)(2 * (intptr_t)arg);
}

static int double_it(void *arg)
{
	return 2 * *(int *)arg;
}

/* Threads, and EFs in threads, processes and nested sandboxes, from a sandbox. */
static int spawn_children(void *arg)
{
	static const char *const icfs[] = { "thread", "process", "sandbox" };
	void *ret;
	pthread_t t;

	(void)arg;
	if (pthread_create(&t, NULL, thread_double, (void *)21) || pthread_join(t, &ret))
		return 1;
	if ((intptr_t)ret != 42)
		return 2;
	for (int i = 0; i < 3; i++) {
		struct xos_ef_attr attr;
		struct xos_ef_exit ex;
		struct xos_ef *ef;
		int v = 10 + i;

		xos_ef_attr_init(&attr);
		attr.icf = icfs[i];
		if (xos_ef_create(&ef, &attr, double_it, &v, sizeof(v)) < 0)
			return 10 + i;
		if (xos_ef_join(ef, &ex) < 0 || ex.how != XOS_EF_EXITED || ex.status != 2 * v)
			return 20 + i;
	}
	return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? 0 : 3;
}

static void test_allowed_work(void **state)
{
	(void)state;
	t_assert_exit(t_sandbox_run(NULL, spawn_children, NULL, 0), XOS_EF_EXITED, 0);
}

/* A nested sandbox's forbidden call is reported to its (sandboxed) joiner. */
static int nested_forbidden(void *arg)
{
	struct xos_ef_attr attr;
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	enum forbidden f = F_PTRACE;

	(void)arg;
	xos_ef_attr_init(&attr);
	attr.icf = "sandbox";
	if (xos_ef_create(&ef, &attr, call_forbidden, &f, sizeof(f)) < 0)
		return 1;
	if (xos_ef_join(ef, &ex) < 0)
		return 2;
	return ex.how == XOS_EF_KILLED && ex.status == SIGSYS ? 0 : 100 + ex.status;
}

static void test_nested_sandbox_reports_kill(void **state)
{
	(void)state;
	t_assert_exit(t_sandbox_run(NULL, nested_forbidden, NULL, 0), XOS_EF_EXITED, 0);
}

static int make_socket(void *arg)
{
	int fds[2];

	(void)arg;
	if (socket(AF_INET, SOCK_DGRAM, 0) < 0)
		return 1;
	return socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0 ? 0 : 2;
}

/* socket() is never allowed, and socketpair() always, outside these families and types. */
static int make_unix_socket(void *arg)
{
	int fds[2];

	(void)arg;
	if (socket(AF_UNIX, SOCK_STREAM, 0) >= 0 || errno != EAFNOSUPPORT)
		return 1;
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, fds) == 0 || errno != EPROTONOSUPPORT)
		return 2;
	return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) == 0 ? 0 : 3;
}

static void test_allow_option_widens(void **state)
{
	(void)state;
	t_assert_exit(t_sandbox_run("sandbox.allow=socket:socketpair", make_socket, NULL, 0),
		      XOS_EF_EXITED, 0);
	/* By number too (x86-64 and arm64 differ: use what this libc says). */
	{
		char options[64];

		snprintf(options, sizeof(options), "sandbox.allow=%d:%d", (int)SYS_socket,
			 (int)SYS_socketpair);
		t_assert_exit(t_sandbox_run(options, make_socket, NULL, 0), XOS_EF_EXITED, 0);
	}
	/* socketpair() needs no option: channel switches use it. */
	t_assert_exit(t_sandbox_run("sandbox.allow=socket", make_socket, NULL, 0), XOS_EF_EXITED, 0);
	t_assert_exit(t_sandbox_run("sandbox.allow=socket", make_unix_socket, NULL, 0), XOS_EF_EXITED, 0);
	/* Nor does socket() with AF_INET get allowed by socketpair. */
	t_assert_exit(t_sandbox_run("sandbox.allow=socketpair", make_socket, NULL, 0),
		      XOS_EF_KILLED, SIGSYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forbidden_calls_kill),
		cmocka_unit_test(test_allowed_work),
		cmocka_unit_test(test_nested_sandbox_reports_kill),
		cmocka_unit_test(test_allow_option_widens),
	};

	t_sandbox_require();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
