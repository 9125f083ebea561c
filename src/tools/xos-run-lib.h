/* SPDX-License-Identifier: MIT */
/* libxos for xos-run, loaded only when an action needs the runtime
 * (xos-run-lib.c); private to xos-run. */
#ifndef XOS_RUN_LIB_H
#define XOS_RUN_LIB_H

#define XOS_USE_VERSION 1
#include <xos.h>
#include <xos/vic.h>

/* The libxos functions xos-run calls. */
#define XOS_RUN_LIB_LIST(X) \
	X(int, xos_icf_list, (struct xos_icf_info *, size_t)) \
	X(int, xos_com_list, (const char *, const char *, struct xos_com_info *, size_t)) \
	X(int, xos_mech_list, (const struct xos_mech **, size_t)) \
	X(const char *, xos_isolation_name, (enum xos_isolation)) \
	X(int, xos_image_match, (const char *, int)) \
	X(const char *, xos_image_error, (int))

struct xos_run_lib {
#define XOS_RUN_LIB_FIELD(ret, name, args) ret (*name) args;
	XOS_RUN_LIB_LIST(XOS_RUN_LIB_FIELD)
#undef XOS_RUN_LIB_FIELD
};

/* First thing in main: @argv is kept to start again if libxos needs it. */
void xos_run_lib_init(char **argv);

/* libxos, loaded on first call: the build tree's when this xos-run is the
 * build tree's, else the one installed with it.  Exits with status 2 and
 * one line on stderr if it cannot be loaded. */
const struct xos_run_lib *xos_run_lib(void);

#endif
