/* SPDX-License-Identifier: MIT */
/*
 * Attack: trace or write another process of the sandbox, above all its
 * init (pid 1), which runs without this filter: PTRACE_ATTACH then poke
 * code, or process_vm_writev.  Stopped: ptrace, process_vm_readv and
 * process_vm_writev kill the EF (SIGSYS), and sandbox.allow cannot add
 * them (-EPERM).
 */
#define _GNU_SOURCE
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "limits-attack.h"

static int attach_init(void *arg)
{
	(void)arg;
	return syscall(SYS_ptrace, PTRACE_ATTACH, 1, NULL, NULL) == 0 ? 0 : 1;
}

static int poke_init(void *arg)
{
	char buf[8] = { 0 };
	struct iovec local = { buf, sizeof(buf) }, remote = { (void *)0x400000, sizeof(buf) };

	(void)arg;
	return syscall(SYS_process_vm_writev, 1, &local, 1, &remote, 1, 0) >= 0 ? 0 : 1;
}

static int peek_init(void *arg)
{
	char buf[8];
	struct iovec local = { buf, sizeof(buf) }, remote = { (void *)0x400000, sizeof(buf) };

	(void)arg;
	return syscall(SYS_process_vm_readv, 1, &local, 1, &remote, 1, 0) >= 0 ? 0 : 1;
}

int main(void)
{
	la_require_sandbox();
	la_expect_sigsys("ptrace(PTRACE_ATTACH, init)", NULL, attach_init, NULL, 0);
	la_expect_sigsys("process_vm_writev(init)", NULL, poke_init, NULL, 0);
	la_expect_sigsys("process_vm_readv(init)", NULL, peek_init, NULL, 0);
	la_expect_refused("ptrace", attach_init);
	la_expect_refused("process_vm_writev:process_vm_readv", poke_init);
	return la_fail_count ? 1 : 0;
}
