/* SPDX-License-Identifier: MIT */
/*
 * Attack: reach system calls by another ABI's numbers, which an x86-64
 * filter keyed on x86-64 numbers would misread: the x32 ABI (number |
 * 0x40000000) and the i386 ABI through int 0x80 (where 20 is getpid but
 * also where other numbers mean other calls).  Stopped: both kill the EF
 * (SIGSYS): the filter checks the architecture and the x32 bit first.
 */
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "limits-attack.h"

#ifdef __x86_64__
static int x32_call(void *arg)
{
	(void)arg;
	/* x32 getpid: allowed as x86-64 getpid, must not be as x32. */
	return syscall(0x40000000L | SYS_getpid) >= 0 ? 0 : 1;
}

static int int80_call(void *arg)
{
	long ret = 20; /* i386 getpid */

	(void)arg;
	__asm__ volatile("int $0x80" : "+a"(ret) : : "memory");
	return ret >= 0 ? 0 : 1;
}

/* Does int 0x80 work on this machine at all (outside any sandbox)? */
static int int80_works(void)
{
	int ws = 0;
	pid_t pid = fork();

	if (pid == 0)
		_exit(int80_call(NULL));
	if (pid < 0 || waitpid(pid, &ws, 0) != pid)
		return 0;
	return WIFEXITED(ws) && WEXITSTATUS(ws) == 0;
}
#endif

int main(void)
{
#ifndef __x86_64__
	printf("# SKIP x32 and int 0x80 exist on x86-64 only\n");
	return 77;
#else
	char options[64];

	la_require_sandbox();
	la_expect_sigsys("x32 getpid", NULL, x32_call, NULL, 0);
	if (int80_works())
		la_expect_sigsys("int 0x80 getpid", NULL, int80_call, NULL, 0);
	else
		printf("# int 0x80 does not work on this machine, even outside a sandbox: not tried\n");
	/* Allowing a number is by x86-64 number only; the x32 bit is out of range. */
	snprintf(options, sizeof(options), "sandbox.allow=%ld", 0x40000000L | SYS_getpid);
	if (la_try_create(options, x32_call) != -EINVAL) {
		printf("FAIL: %s accepted\n", options);
		la_fail_count++;
	}
	return la_fail_count ? 1 : 0;
#endif
}
