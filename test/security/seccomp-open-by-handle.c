/* SPDX-License-Identifier: MIT */
/*
 * Attack ("shocker"): open_by_handle_at opens any inode of a mounted file
 * system from a guessed handle, outside the sandbox's view (the root
 * directory's handle is well known on ext4 and xfs).  Stopped:
 * open_by_handle_at and name_to_handle_at kill the EF (SIGSYS), and
 * sandbox.allow cannot add them (-EPERM).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "limits-attack.h"

static int open_root_by_handle(void *arg)
{
	struct {
		struct file_handle fh;
		unsigned char bytes[8];
	} h = { .fh = { .handle_bytes = 8, .handle_type = 1 } };

	(void)arg;
	h.bytes[0] = 2; /* inode 2: an ext4 root */
	return syscall(SYS_open_by_handle_at, AT_FDCWD, &h.fh, O_RDONLY) >= 0 ? 0 : 1;
}

static int name_to_handle(void *arg)
{
	struct {
		struct file_handle fh;
		unsigned char bytes[128];
	} h = { .fh = { .handle_bytes = 128 } };
	int mount_id;

	(void)arg;
	return syscall(SYS_name_to_handle_at, AT_FDCWD, "/", &h.fh, &mount_id, 0) == 0 ? 0 : 1;
}

int main(void)
{
	la_require_sandbox();
	la_expect_sigsys("open_by_handle_at", NULL, open_root_by_handle, NULL, 0);
	la_expect_sigsys("name_to_handle_at", NULL, name_to_handle, NULL, 0);
	la_expect_refused("open_by_handle_at", open_root_by_handle);
	la_expect_refused("name_to_handle_at", name_to_handle);
	return la_fail_count ? 1 : 0;
}
