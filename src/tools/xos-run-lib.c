/* SPDX-License-Identifier: MIT */
/*
 * libxos, loaded by xos-run only for the actions that need the runtime
 * (--list-icfs, --icf, --restore, a key file's error text).  A plain
 * `xos-run -- prog` never loads it: libxos brings jemalloc, liburing and
 * libstdc++ and runs the runtime's constructors, several milliseconds of
 * start-up the program would pay for nothing.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xos-run-lib.h"
#include "xos-run-shim.h"

#ifdef XOS_RUN_FULL
/*
 * This xos-run is linked static-pie (src/tools/local.mk) and cannot load
 * libxos: an action that needs it is the dynamic xos-run's, the same
 * program, started with the same arguments and environment: the one
 * XOS_RUN_FULL names, else the build tree's beside this one, else the
 * installed one.
 */
static char **saved_argv;

void xos_run_lib_init(char **argv)
{
	saved_argv = argv;
}

const struct xos_run_lib *xos_run_lib(void)
{
	char dir[PATH_MAX], cand[PATH_MAX + 32];
	const char *full = getenv("XOS_RUN_FULL");
	bool in_libs;

	if (!full || !*full) {
		full = XOS_RUN_FULL;
		if (xos_run_exe_dir(dir, &in_libs)) {
			snprintf(cand, sizeof(cand), "%s/xos-run-full", dir);
			if (access(cand, X_OK) == 0)
				full = cand;
		}
	}
	fflush(NULL);
	execv(full, saved_argv);
	fprintf(stderr, "xos-run: cannot start %s, which this action needs: %s\n", full, strerror(errno));
	exit(2);
}
#else
#include <dlfcn.h>

#ifndef XOS_LIBDIR
#error "XOS_LIBDIR: where libxos is installed, $(libdir) (set by the Makefile)"
#endif

#define LIBXOS_SONAME "libxos.so.1"
/* libxos's jemalloc keeps its thread state in static TLS, which a library
 * loaded after start-up gets only from the loader's small surplus: xos-run
 * then starts again once, with a larger surplus asked for (a tunable read
 * only at start-up), and puts the caller's tunables back. */
#define TUNED_ENV "XOS_RUN_TUNED"
#define STATIC_TLS_TUNABLE "glibc.rtld.optional_static_tls=65536"

static char **saved_argv;

void xos_run_lib_init(char **argv)
{
	const char *orig = getenv(TUNED_ENV);

	saved_argv = argv;
	if (!orig)
		return;
	if (strcmp(orig, "-") == 0)
		unsetenv("GLIBC_TUNABLES");
	else
		setenv("GLIBC_TUNABLES", orig, 1);
	unsetenv(TUNED_ENV);
	setenv(TUNED_ENV "_DONE", "1", 1); /* one restart at most */
}

static void restart_with_static_tls(void)
{
	const char *tun = getenv("GLIBC_TUNABLES");
	char buf[4096];

	if (!saved_argv || getenv(TUNED_ENV "_DONE"))
		return;
	if (tun && *tun)
		snprintf(buf, sizeof(buf), "%s:%s", tun, STATIC_TLS_TUNABLE);
	else
		snprintf(buf, sizeof(buf), "%s", STATIC_TLS_TUNABLE);
	if (setenv(TUNED_ENV, tun && *tun ? tun : "-", 1) < 0 || setenv("GLIBC_TUNABLES", buf, 1) < 0)
		return;
	fflush(NULL);
	execv("/proc/self/exe", saved_argv);
	/* Could not: say why libxos did not load (the caller's error). */
	if (tun)
		setenv("GLIBC_TUNABLES", tun, 1);
	else
		unsetenv("GLIBC_TUNABLES");
	unsetenv(TUNED_ENV);
}

static void *open_lib(const char *path)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		const char *err = dlerror();

		if (err && strstr(err, "static TLS"))
			restart_with_static_tls();
	}
	return h;
}

/* Beside the build tree's xos-run (libtool's .libs/), if this is it. */
static void *open_build_tree(void)
{
	char dir[PATH_MAX], cand[PATH_MAX + 32];
	bool in_libs;

	if (!xos_run_exe_dir(dir, &in_libs))
		return NULL;
	snprintf(cand, sizeof(cand), "%s%s/" LIBXOS_SONAME, dir, in_libs ? "" : "/.libs");
	return access(cand, R_OK) == 0 ? open_lib(cand) : NULL;
}

const struct xos_run_lib *xos_run_lib(void)
{
	static struct xos_run_lib lib;
	static void *handle;

	if (handle)
		return &lib;
	handle = open_build_tree();
	if (!handle && access(XOS_LIBDIR "/" LIBXOS_SONAME, R_OK) == 0)
		handle = open_lib(XOS_LIBDIR "/" LIBXOS_SONAME);
	if (!handle)
		handle = open_lib(LIBXOS_SONAME);
	if (!handle) {
		fprintf(stderr, "xos-run: cannot load %s: %s\n", LIBXOS_SONAME, dlerror());
		exit(2);
	}
#define XOS_RUN_LIB_RESOLVE(ret, name, args)                                                       \
	lib.name = (ret(*) args)dlsym(handle, #name);                                              \
	if (!lib.name) {                                                                           \
		fprintf(stderr, "xos-run: %s has no %s: %s\n", LIBXOS_SONAME, #name, dlerror()); \
		exit(2);                                                                           \
	}
	XOS_RUN_LIB_LIST(XOS_RUN_LIB_RESOLVE)
#undef XOS_RUN_LIB_RESOLVE
	unsetenv(TUNED_ENV "_DONE"); /* not the program's business */
	return &lib;
}
#endif
