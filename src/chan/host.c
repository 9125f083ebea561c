/* SPDX-License-Identifier: MIT */
/*
 * The channel layer's host: the callbacks through which it reaches the
 * layer above it (see chan_host.h), and what it does when a member is
 * missing, so that the layer also runs on its own (test/chan/chan-alone).
 */
#include "config.h"

#include <stdio.h>

#include "chan_i.h"

static const struct xos__chan_host no_host;

const struct xos__chan_host *xos__chan_host = &no_host;

void xos__chan_host_set(const struct xos__chan_host *host)
{
	xos__chan_host = host ? host : &no_host;
}

const char *xos__chan_host_icf(void)
{
	const char *name = xos__chan_host->icf_name ? xos__chan_host->icf_name() : NULL;

	return name ? name : "process";
}

void xos__chan_log(enum xos__chan_log kind, const char *fmt, ...)
{
	va_list ap;

	if (!xos__chan_host->log)
		return;
	va_start(ap, fmt);
	xos__chan_host->log(kind, fmt, ap);
	va_end(ap);
}

__thread bool xos__chan_cut_ok __attribute__((tls_model("initial-exec")));

const _Atomic uint32_t *xos__chan_wait_cut(void)
{
	if (!xos__chan_cut_ok || !xos__chan_host->wait_word)
		return NULL;
	return xos__chan_host->wait_word();
}

void xos__chan_wait_sleeping(const _Atomic uint32_t *cut, bool sleeping)
{
	if (cut && xos__chan_host->wait_sleeping)
		xos__chan_host->wait_sleeping(sleeping);
}
