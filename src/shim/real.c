/* SPDX-License-Identifier: MIT */
/*
 * The real libc functions behind every interposer, found with
 * dlsym(RTLD_NEXT, ...) once, at load time (or on first use when another
 * library's constructor calls an interposed function before ours ran).
 */
#include "config.h"

#include <dlfcn.h>
#include <stdlib.h>

#include "shim_i.h"

struct shim_real shim_real;

void shim_real_resolve(void)
{
	int saved = errno;

#define SHIM_REAL_RESOLVE(ret, name, args) \
	if (!shim_real.name) \
		shim_real.name = (ret(*) args)dlsym(RTLD_NEXT, #name);
	SHIM_REAL_LIST(SHIM_REAL_RESOLVE)
#undef SHIM_REAL_RESOLVE
	/* Calls that every libc has: without them nothing can go on. */
	if (!shim_real.read || !shim_real.write || !shim_real.close || !shim_real.fork || !shim_real._exit)
		abort();
	errno = saved;
}
