/* SPDX-License-Identifier: MIT */
/*
 * The library's only output: an opt-in debug log (XOS_LOG=debug), the
 * --explain lines (XOS_EXPLAIN=1) that say what the runtime chose and why,
 * and the rare error only the library can report (a refused restore at
 * start, before the program's main).
 * Each line goes out in one write(2) so lines from concurrent EFs, threads
 * or processes never interleave.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xos_i.h"

static int log_level;
static bool explain_on;

void xos__log_configure(void)
{
	const char *v = secure_getenv("XOS_LOG");

	log_level = (v && strcmp(v, "debug") == 0) ? XOS_LOG_DEBUG : XOS_LOG_NONE;
	v = secure_getenv("XOS_EXPLAIN");
	explain_on = v && *v && strcmp(v, "0") != 0;
}

bool xos__explaining(void)
{
	return explain_on;
}

/* "xos: ", or on a host of a launch serving EFs "xos[host]: ". */
static char explain_prefix[96] = "xos: ";

static void emit(const char *prefix, const char *fmt, va_list ap)
{
	char line[1024];
	int saved_errno = errno;
	int len = snprintf(line, sizeof(line), "%s", prefix);

	len += vsnprintf(line + len, sizeof(line) - (size_t)len, fmt, ap);
	if (len > (int)sizeof(line) - 2)
		len = (int)sizeof(line) - 2;
	line[len++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)len) < 0) {
		/* nowhere left to report it */
	}
	errno = saved_errno;
}

void xos__log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_level < XOS_LOG_DEBUG)
		return;
	va_start(ap, fmt);
	emit("xos[debug]: ", fmt, ap);
	va_end(ap);
}

void xos__explain(const char *fmt, ...)
{
	va_list ap;

	if (!explain_on)
		return;
	va_start(ap, fmt);
	emit(explain_prefix, fmt, ap);
	va_end(ap);
}

void xos__log_set_host(const char *name)
{
	snprintf(explain_prefix, sizeof(explain_prefix), "xos[%s]: ", name);
}

void xos__log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit("", fmt, ap);
	va_end(ap);
}
