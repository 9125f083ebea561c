/* SPDX-License-Identifier: MIT */
/*
 * Attack: a fork bomb.  Every process of the EF forks as fast as it can
 * and keeps its children alive, under sandbox.pids=32.  Stopped: fork
 * fails with EAGAIN once the tree holds 32 processes (the first process
 * counts what it saw and reports it), and everything ends with the EF.
 */
#include <sys/wait.h>
#include <unistd.h>

#include "limits-attack.h"

#define LIMIT 32

static int bomb(void *arg)
{
	int made = 0, err = 0;
	pid_t first = getpid();

	(void)arg;
	/* Bounded: on a machine without the limit, stop at 4x and say so. */
	for (int i = 0; i < 4 * LIMIT; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			for (;;)
				pause(); /* hold the slot */
		}
		if (pid < 0) {
			err = errno;
			break;
		}
		made++;
	}
	if (getpid() != first)
		return 0;
	if (err != EAGAIN)
		return 100; /* never refused */
	return made;
}

int main(void)
{
	char opts[64];
	struct xos_ef_exit ex;

	la_require_sandbox();
	snprintf(opts, sizeof(opts), "sandbox.pids=%d", LIMIT);
	ex = la_run(opts, bomb, NULL, 0);
	if (ex.how != XOS_EF_EXITED || ex.status >= LIMIT) {
		printf("FAIL: fork bomb under %s: EF %s (forks made, 100: never refused)\n", opts,
		       la_how(ex));
		return 1;
	}
	printf("ok: fork bomb stopped after %d forks\n", ex.status);
	return 0;
}
