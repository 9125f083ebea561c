/* SPDX-License-Identifier: MIT */
/*
 * What every test of memory domains (mutate, dump, restore) needs first,
 * with only <xos.h>: skip (exit 77) where libxos was built without them
 * (no context switch for this CPU, or configure --disable-domains).
 */
#ifndef XOS_TEST_DOMAINS_REQUIRE_H
#define XOS_TEST_DOMAINS_REQUIRE_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <xos.h>

static int t_domains_probe_fn(void *arg)
{
	(void)arg;
	return 0;
}

/* Can an EF have a domain here?  (false: libxos built without them) */
static inline bool t_domains_available(void)
{
	struct xos_ef_attr attr;
	struct xos_ef *ef = NULL;
	int rc;

	xos_ef_attr_init(&attr);
	attr.icf = "thread";
	attr.flags = XOS_EF_F_DOMAIN;
	rc = xos_ef_create(&ef, &attr, t_domains_probe_fn, NULL, 0);
	if (rc == 0)
		xos_ef_join(ef, NULL);
	return rc != -EOPNOTSUPP;
}

/* Exit 77 (skip) unless an EF can have a domain here. */
static inline void t_domains_require(void)
{
	if (!t_domains_available()) {
		printf("# SKIP libxos has no memory domains on this machine (no context switch for the CPU)\n");
		exit(77);
	}
}

#endif /* XOS_TEST_DOMAINS_REQUIRE_H */
