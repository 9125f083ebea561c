/* SPDX-License-Identifier: MIT */
/*
 * Attack: the kernel keyrings are not namespaced: a sandboxed root could
 * read or plant keys of the host's root (session and user keyrings).
 * Stopped: add_key, request_key and keyctl kill the EF (SIGSYS), and
 * sandbox.allow cannot add them (-EPERM).
 */
#include <sys/syscall.h>
#include <unistd.h>

#include "limits-attack.h"

#define KEY_SPEC_USER_KEYRING (-4)
#define KEYCTL_GET_KEYRING_ID 0

static int add_one(void *arg)
{
	(void)arg;
	return syscall(SYS_add_key, "user", "xos-escape", "x", 1, KEY_SPEC_USER_KEYRING) >= 0 ? 0 : 1;
}

static int request_one(void *arg)
{
	(void)arg;
	return syscall(SYS_request_key, "user", "xos-escape", NULL, 0) >= 0 ? 0 : 1;
}

static int keyctl_one(void *arg)
{
	(void)arg;
	return syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0) >= 0 ? 0 : 1;
}

int main(void)
{
	la_require_sandbox();
	la_expect_sigsys("add_key", NULL, add_one, NULL, 0);
	la_expect_sigsys("request_key", NULL, request_one, NULL, 0);
	la_expect_sigsys("keyctl", NULL, keyctl_one, NULL, 0);
	la_expect_refused("keyctl", keyctl_one);
	la_expect_refused("add_key:request_key", add_one);
	return la_fail_count ? 1 : 0;
}
