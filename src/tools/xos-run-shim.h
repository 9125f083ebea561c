/* SPDX-License-Identifier: MIT */
/* xos-run's side of the legacy shim (xos-run-shim.c); private to xos-run. */
#ifndef XOS_RUN_SHIM_H
#define XOS_RUN_SHIM_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

/* The directory of this xos-run's executable, in @dir, and whether it is
 * libtool's .libs/ (the build tree's); its length, 0 if unknown. */
size_t xos_run_exe_dir(char dir[PATH_MAX], bool *in_libs);

/* The shim to preload: $XOS_SHIM if set (exit 2 if unusable), else the
 * build tree's when run from it, else the installed one; NULL if none. */
const char *xos_run_shim_path(void);

/* Where the installed shim would be. */
const char *xos_run_shim_installed(void);

/* Is @prog linked with AddressSanitizer, whose runtime must be loaded
 * before any preloaded library? */
bool xos_run_needs_asan(const char *prog);

/* Run @argv with @shim preloaded; returns the exit status for xos-run
 * (a fatal signal of the program is raised again in xos-run).  With
 * @stats_file, @stats_fd is that file, already open for writing. */
int xos_run_shim(char **argv, const char *shim, bool stats, const char *stats_file, int stats_fd);

#endif
