/* SPDX-License-Identifier: MIT */
/*
 * Attack: io_uring runs reads, writes, opens and connects in kernel
 * workers that no seccomp filter sees: one allowed io_uring_setup is a
 * way around the whole allow-list.  Stopped: io_uring_setup, _enter and
 * _register kill the EF (SIGSYS), and sandbox.allow cannot add them
 * (xos_ef_create fails with -EPERM).
 */
#include <sys/syscall.h>
#include <unistd.h>

#include "limits-attack.h"

static int setup_ring(void *arg)
{
	unsigned char params[120] = { 0 }; /* struct io_uring_params */

	(void)arg;
	return syscall(SYS_io_uring_setup, 4, params) >= 0 ? 0 : 1;
}

static int enter_ring(void *arg)
{
	(void)arg;
	return syscall(SYS_io_uring_enter, 0, 0, 0, 0, NULL, 0) >= 0 ? 0 : 1;
}

static int register_ring(void *arg)
{
	(void)arg;
	return syscall(SYS_io_uring_register, 0, 0, NULL, 0) >= 0 ? 0 : 1;
}

int main(void)
{
	la_require_sandbox();
	la_expect_sigsys("io_uring_setup", NULL, setup_ring, NULL, 0);
	la_expect_sigsys("io_uring_enter", NULL, enter_ring, NULL, 0);
	la_expect_sigsys("io_uring_register", NULL, register_ring, NULL, 0);
	la_expect_refused("io_uring_setup:io_uring_enter", setup_ring);
	la_expect_refused("io_uring_register", register_ring);
	return la_fail_count ? 1 : 0;
}
