/* SPDX-License-Identifier: MIT */
/*
 * The restore at start: xos-run --restore=FILE PROGRAM runs PROGRAM with
 * XOS_RESTORE=FILE, and libxos, loaded into it, continues the dumped EF
 * before main runs, then ends the process with the EF's status.  It has
 * to happen in a constructor (main must never run); the one line a
 * refused image deserves goes out through the log module.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "xos_i.h"

/*
 * XOS_RESTORE=FILE: restore the EF, run it to its end, exit with its
 * status.  One line on stderr and exit status 1 when the image is refused.
 * secure_getenv: a set-user-ID program never takes an image from its caller.
 */
__attribute__((constructor)) static void restore_at_start(void)
{
	const char *env = secure_getenv("XOS_RESTORE");
	struct xos_ef_exit ex = { 0 };
	struct xos_ef *ef;
	char path[4096];
	int rc;

	if (!env || !*env)
		return;
	snprintf(path, sizeof(path), "%s", env);
	unsetenv("XOS_RESTORE");
	rc = xos_ef_restore(path, &ef);
	if (rc < 0) {
		xos__log_error("xos-run: cannot restore %s: %s", path, xos_image_error(rc));
		exit(1);
	}
	rc = xos_ef_join(ef, &ex);
	fflush(NULL);
	if (rc < 0)
		exit(1);
	exit(ex.how == XOS_EF_EXITED ? ex.status & 0xff : 128 + ex.status);
}
