/* SPDX-License-Identifier: MIT */
/*
 * What every sandbox test needs before it starts, with only <xos.h>:
 * skip (exit 77) on a machine that cannot make sandboxes, and start one EF
 * in the sandbox ICF with options.  Included by the integration tests'
 * sandbox-helpers.h and the attack programs' headers in test/security/.
 */
#ifndef XOS_TEST_SANDBOX_REQUIRE_H
#define XOS_TEST_SANDBOX_REQUIRE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xos.h>

/* Exit 77 (skip) with the probe's reason unless the sandbox ICF is available. */
static inline void t_sandbox_require(void)
{
	struct xos_icf_info infos[16];
	int n = xos_icf_list(infos, 16);

	unsetenv("XOS_ICF");
	unsetenv("XOS_POLICY");
	for (int i = 0; i < n && i < 16; i++) {
		if (strcmp(infos[i].name, "sandbox") != 0)
			continue;
		if (infos[i].available)
			return;
		printf("# SKIP sandbox ICF unavailable here: %s\n", infos[i].reason);
		exit(77);
	}
	printf("# SKIP sandbox ICF not registered\n");
	exit(77);
}

/* Start fn(arg) in the sandbox with @options and @chans; NULL on failure (*ret_rc says why). */
static inline struct xos_ef *t_sandbox_start_chans(const char *options, struct xos_chan *const *chans,
						   size_t nchans, xos_ef_fn fn, const void *arg, size_t size,
						   int *ret_rc)
{
	struct xos_ef_attr attr;
	struct xos_ef *ef = NULL;
	int rc;

	xos_ef_attr_init(&attr);
	attr.icf = "sandbox";
	attr.options = options;
	attr.chans = chans;
	attr.nchans = nchans;
	rc = xos_ef_create(&ef, &attr, fn, arg, size);
	if (ret_rc)
		*ret_rc = rc;
	return rc < 0 ? NULL : ef;
}

static inline struct xos_ef *t_sandbox_start(const char *options, xos_ef_fn fn, const void *arg, size_t size,
					     int *ret_rc)
{
	return t_sandbox_start_chans(options, NULL, 0, fn, arg, size, ret_rc);
}

#endif /* XOS_TEST_SANDBOX_REQUIRE_H */
