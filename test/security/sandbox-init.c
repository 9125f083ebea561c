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

/* 1 if pid 1's /proc/1/status line @field does not hold @want. */
static int init_status_not(const char *field, const char *want)
{
	char line[256];
	size_t len = strlen(field);
	FILE *f = fopen("/proc/1/status", "re");
	int bad = 1;

	if (!f)
		return 1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, field, len) != 0 || line[len] != ':')
			continue;
		bad = strstr(line + len + 1, want) == NULL;
		if (bad)
			t_say("  the init has %s", line);
	}
	fclose(f);
	return bad;
}

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
	through |= init_status_not("Seccomp", "2") << 3;
	through |= init_status_not("CapEff", "0000000000000000") << 4;
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
