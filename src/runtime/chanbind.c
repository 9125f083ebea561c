/* SPDX-License-Identifier: MIT */
/*
 * Binding channels to mechanisms: the runtime's half of the channel layer.
 *
 * A channel is unbound when it is opened (unless attr.mechanism or
 * XOS_CHAN names a mechanism).  It is bound when an EF that will use one
 * of its ends is created, before the EF's ICF makes the context, so that
 * the mechanism's descriptors exist before any fork.  The mechanism comes
 * from the register_com table for the pair (ICF of the peer end, ICF of
 * the new EF) and the policy:
 *
 *   perf       the cheapest registered mechanism
 *   balanced   a kernel-mediated mechanism (pipe, unix, tcp) when both
 *              ends are in ICFs that isolate memory (the EFs chose to
 *              distrust each other); else the cheapest
 *   isolation  a kernel-mediated mechanism when either end is in an ICF
 *              that isolates memory; else the cheapest
 *
 * XOS_CHAN=name forces a mechanism everywhere.  An end used before any
 * binding binds as (own ICF, own ICF).  When a bound channel's end moves
 * to an ICF the current mechanism is not registered for, the channel is
 * switched live.  Each decision is one --explain line.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xos_i.h"
#include "../chan/chan_i.h"

#define MAX_COM 32

static enum xos_isolation icf_isolation(const char *name)
{
	struct xos__icf_node *node = xos__icf_find(name);
	enum xos_isolation iso = XOS_ISO_NONE;

	if (node) {
		iso = node->icf->isolation;
		xos__icf_put(node);
	}
	return iso;
}

static const struct xos_chan_ops *forced_mechanism(void)
{
	return xos__chan_ops_find(secure_getenv("XOS_CHAN"));
}

/*
 * Choose the mechanism for a channel between ICFs @a and @b; a one-line
 * reason in @why.  Never fails: with nothing registered, the ring.
 */
static const struct xos_chan_ops *choose(const char *a, const char *b, char *why, size_t len)
{
	struct xos_com_info infos[MAX_COM];
	struct xos__settings set;
	const struct xos_chan_ops *pick = NULL, *forced = forced_mechanism();
	bool mem_a, mem_b, distrust;
	const char *rule;
	size_t used;
	int n;

	if (forced) {
		snprintf(why, len, "forced (XOS_CHAN=%s)", forced->name);
		return forced;
	}
	xos__settings_get(&set);
	mem_a = icf_isolation(a) >= XOS_ISO_MEMORY;
	mem_b = icf_isolation(b) >= XOS_ISO_MEMORY;
	switch (set.policy) {
	case XOS_POLICY_ISOLATION:
		distrust = mem_a || mem_b;
		rule = distrust ? "an end isolates memory: kernel-mediated" : "no end isolates memory: cheapest";
		break;
	case XOS_POLICY_BALANCED:
		distrust = mem_a && mem_b;
		rule = distrust ? "both ends isolate memory: kernel-mediated" : "cheapest";
		break;
	default:
		distrust = false;
		rule = "cheapest";
		break;
	}
	n = xos_com_list(a, b, infos, MAX_COM);
	if (n > MAX_COM)
		n = MAX_COM;
	for (int i = 0; i < n && !pick; i++) {
		const struct xos_chan_ops *ops = xos__chan_ops_find(infos[i].mechanism);

		if (ops && (!distrust || ops->kernel))
			pick = ops;
	}
	if (!pick) {
		for (int i = 0; i < n && !pick; i++)
			pick = xos__chan_ops_find(infos[i].mechanism);
		if (pick)
			rule = "no kernel-mediated mechanism registered: cheapest";
	}
	if (!pick) {
		snprintf(why, len, "no mechanism registered between %s and %s: ring by default", a, b);
		return &xos__chan_ring;
	}
	snprintf(why, len, "policy %s: %s", xos__policy_name(set.policy), rule);
	used = strlen(why);
	for (int i = 0; i < n && used + 1 < len; i++) {
		bool chosen = strcmp(infos[i].mechanism, pick->name) == 0;

		snprintf(why + used, len - used, "%s%s%s %u", i ? ", " : " (cost: ", chosen ? "*" : "",
			 infos[i].mechanism, infos[i].cost);
		used = strlen(why);
	}
	if (n && used + 1 < len)
		snprintf(why + used, len - used, ")");
	return pick;
}

/* Is @mech registered between @a and @b (or forced)? */
static bool serves(const char *mech, const char *a, const char *b)
{
	struct xos_com_info infos[MAX_COM];
	const struct xos_chan_ops *forced = forced_mechanism();
	int n;

	if (forced)
		return strcmp(forced->name, mech) == 0;
	n = xos_com_list(a, b, infos, MAX_COM);
	for (int i = 0; i < n && i < MAX_COM; i++)
		if (strcmp(infos[i].mechanism, mech) == 0)
			return true;
	return n <= 0; /* nothing registered: whatever carries it serves */
}

static int bind_one(struct xos_chan *end, const char *ef_icf)
{
	char peer_icf[32], why[512];
	const struct xos_chan_ops *ops;
	const char *cur;
	int rc;

	if (!xos__chan_valid(end))
		return -EINVAL;
	xos__chan_peer_icf(end, peer_icf, sizeof(peer_icf));
	xos__chan_set_icf(end, ef_icf);
	if (!xos__chan_bound(end)) {
		ops = choose(peer_icf, ef_icf, why, sizeof(why));
		rc = xos__chan_bind_to(end, ops);
		if (rc < 0)
			return rc;
		xos__explain("chan \"%s\" (%s <-> %s) -> %s: %s", xos_chan_name(end), peer_icf, ef_icf,
			     ops->name, why);
		return 0;
	}
	cur = xos_chan_mechanism(end);
	if (serves(cur, peer_icf, ef_icf))
		return 0;
	ops = choose(peer_icf, ef_icf, why, sizeof(why));
	rc = xos_chan_switch(end, ops->name);
	xos__explain("chan \"%s\" (%s <-> %s): %s does not connect them, switched -> %s (%s): %s",
		     xos_chan_name(end), peer_icf, ef_icf, cur, ops->name, rc < 0 ? strerror(-rc) : "ok",
		     why);
	return rc;
}

int xos__chans_bind(struct xos_chan *const *chans, size_t n, const char *creator_icf,
		    const char *ef_icf)
{
	(void)creator_icf; /* the peer end's ICF is in the channel's control block */
	for (size_t i = 0; i < n; i++) {
		int rc = bind_one(chans[i], ef_icf);

		if (rc < 0)
			return rc;
	}
	return 0;
}

int xos__chan_bind_default(struct xos_chan *end) XOS_HIDDEN;
int xos__chan_bind_default(struct xos_chan *end)
{
	struct xos_ef *self = xos_ef_self();
	const char *own = self ? xos_ef_icf(self) : "process";
	const struct xos_chan_ops *ops;
	char why[512];
	int rc;

	ops = choose(own, own, why, sizeof(why));
	rc = xos__chan_bind_to(end, ops);
	if (rc == 0)
		xos__explain("chan \"%s\" (%s <-> %s, used before any EF took an end) -> %s: %s",
			     xos_chan_name(end), own, own, ops->name, why);
	return rc;
}
