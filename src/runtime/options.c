/* SPDX-License-Identifier: MIT */
/*
 * EF options: per-ICF settings carried by an EF's attributes, as mount
 * options carry a file system's settings through the VFS.  The runtime
 * only checks their shape and keeps a copy; each ICF interprets the items
 * addressed to it ("icf.key=value"), so a new ICF gets settings without
 * any change to the EF API.
 *
 * Grammar: item *("," item); item = icf "." key ["=" value]; icf and key
 * are [a-z0-9_-]+ (icf at most 31 bytes); value is printable ASCII
 * without ','.
 */
#include "config.h"

#include <string.h>

#include "xos_i.h"

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/*
 * Split the item at @p (ending at ',' or NUL) into its parts; returns the
 * item's length, or 0 if it is malformed.
 */
static size_t item_parse(const char *p, size_t *icf_len, const char **key, size_t *key_len,
			 const char **value, size_t *value_len)
{
	const char *q = p;

	while (name_char(*q))
		q++;
	*icf_len = (size_t)(q - p);
	if (*icf_len == 0 || *icf_len > 31 || *q != '.')
		return 0;
	*key = ++q;
	while (name_char(*q))
		q++;
	*key_len = (size_t)(q - *key);
	if (*key_len == 0)
		return 0;
	*value = q;
	*value_len = 0;
	if (*q == '=') {
		*value = ++q;
		while (*q && *q != ',') {
			if (*q < 0x20 || *q > 0x7e)
				return 0;
			q++;
		}
		*value_len = (size_t)(q - *value);
	}
	if (*q && *q != ',')
		return 0;
	return (size_t)(q - p);
}

bool xos__options_valid(const char *options)
{
	const char *p = options;

	if (!options || !*options)
		return true;
	if (strlen(options) >= XOS_EF_OPTIONS_MAX)
		return false;
	for (;;) {
		size_t icf_len, key_len, value_len, len;
		const char *key, *value;

		len = item_parse(p, &icf_len, &key, &key_len, &value, &value_len);
		if (!len)
			return false;
		p += len;
		if (!*p)
			return true;
		p++; /* ',' */
	}
}

int xos_ef_options_each(const struct xos_ef *ef, const char *icf, xos_ef_option_fn fn, void *ctx)
{
	const char *p;

	if (!ef || ef->magic != XOS_EF_MAGIC || !xos__name_valid(icf) || !fn)
		return -EINVAL;
	p = ef->options;
	if (!p)
		return 0;
	while (*p) {
		char key[XOS_EF_OPTIONS_MAX], value[XOS_EF_OPTIONS_MAX];
		size_t icf_len, key_len, value_len, len;
		const char *k, *v;
		int rc;

		/* Checked at creation: every item parses. */
		len = item_parse(p, &icf_len, &k, &key_len, &v, &value_len);
		if (!len)
			return -EINVAL;
		if (icf_len == strlen(icf) && strncmp(p, icf, icf_len) == 0) {
			memcpy(key, k, key_len);
			key[key_len] = '\0';
			memcpy(value, v, value_len);
			value[value_len] = '\0';
			rc = fn(key, value, ctx);
			if (rc < 0)
				return rc;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}
