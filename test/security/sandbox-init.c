/* SPDX-License-Identifier: MIT */
/*
 * Attack: the EF takes over its sandbox's init (pid 1 of the namespace,
 * which reaps it and writes the exit report its joiner reads): writing its
 * memory through /proc/1/mem, ptrace(PTRACE_ATTACH), process_vm_writev.
 * ptrace and process_vm_* can never be put on the EF's allow-list (the
 * create is refused; test/security/seccomp-ptrace shows the filter kills
 * them), and opening /proc/1/mem, which the filter lets through, the
 * kernel itself refuses: the init is non-dumpable and the EF has no
 * CAP_SYS_PTRACE.  The init must run under a
 * seccomp filter and without capabilities.  Then the EF kills itself with
 * SIGKILL: the joiner must be told exactly that.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "priv-helpers.h"

static int attacker(void *arg)
{
	int through = 0, fd;

	(void)arg;
	fd = open("/proc/1/mem", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		t_say("  EF opened /proc/1/mem for writing\n");
		through |= 1;
		close(fd);
	}
	through |= t_status_not("/proc/1/status", "the init", "Seccomp", "2") << 3;
	through |= t_status_not("/proc/1/status", "the init", "CapEff", "0000000000000000") << 4;
	if (through)
		return through;
	/* Stopped everywhere: end in a way the joiner must report as it is. */
	kill(getpid(), SIGKILL);
	return 100;
}

int main(void)
{
	struct xos_ef_exit ex;

	t_sandbox_require();
	if (t_sandbox_refused("sandbox.allow=ptrace:process_vm_writev:process_vm_readv", attacker))
		return T_FAIL;
	ex = t_sandbox_run(NULL, attacker, NULL, 0);
	if (ex.how == XOS_EF_KILLED && ex.status == SIGKILL) {
		printf("ok: /proc/1/mem of the init stopped; "
		       "init filtered; exit report genuine (killed by SIGKILL)\n");
		return T_PASS;
	}
	printf("not ok: EF %s %d (want killed by signal %d)\n",
	       ex.how == XOS_EF_KILLED ? "killed by signal" : "exited", ex.status, SIGKILL);
	return T_FAIL;
}
