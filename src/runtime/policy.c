/* SPDX-License-Identifier: MIT */
/*
 * The policy: which ICF hosts a new EF, and which mechanism carries a
 * channel between two ICFs (at the end of this file).
 *
 * Four inputs, as in the paper (section 2.3): the developer's requirements
 * (acceptable ICFs, minimum isolation, a performance hint), which ICFs are
 * available on this machine, which mechanisms connect each candidate with
 * the creator's ICF (the register_com table), and the standing choice of
 * the operator (policy, forced ICF).  Every ICF with to_pivot/from_pivot
 * can be mutated later, so mutate paths do not narrow the choice yet.
 *
 *   perf       cheapest candidate that meets the isolation asked for
 *   isolation  strongest isolation available; cheapest among equals
 *   balanced   cheapest candidate with at least memory isolation (a crash
 *              or a stray write stays inside the EF), else as perf
 *   spread     as perf for the ICF; across the hosts of a launch, EFs
 *              that accept any host go to the one with the fewest live
 *              EFs (hosts.c decides the host, this file the ICF there)
 *
 * An ICF with XOS_ICF_F_RESTRICTED (it narrows what the EF may do, e.g.
 * the sandbox) is a candidate only for EFs that ask for at least its
 * isolation level, or that name it; so `isolation` picks it for EFs that
 * ask for syscall-level isolation and leaves other EFs in processes.
 *
 * "Cheapest" is creation cost first, then channel cost; with the hint
 * XOS_PERF_COMM it is channel cost first.  This file is pure: it decides
 * from its arguments only, so every combination is unit-tested
 * (unit-policy.c, unit-policy-mech.c).
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "xos_i.h"

static const char *const policy_names[] = {
#define XOS_POLICY_NAME_(name, str) [XOS_POLICY_##name] = str,
	XOS_POLICY_MAP(XOS_POLICY_NAME_)
#undef XOS_POLICY_NAME_
};

int xos__policy_parse(const char *name, enum xos__policy *ret)
{
	if (!name)
		return -EINVAL;
	for (size_t i = 0; i < XOS_ARRAY_SIZE(policy_names); i++) {
		if (strcmp(name, policy_names[i]) == 0) {
			*ret = (enum xos__policy)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *xos__policy_name(enum xos__policy p)
{
	return (unsigned int)p < XOS_ARRAY_SIZE(policy_names) ? policy_names[p] : "?";
}

/* Walk the comma-separated tokens of @set; stop early when @fn says so. */
static bool set_each(const char *set, bool (*fn)(const char *tok, size_t len, void *ctx), void *ctx)
{
	const char *p = set;

	if (!*p)
		return true;
	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (!fn(p, len, ctx))
			return false;
		if (!end)
			break;
		p = end + 1;
	}
	return true;
}

static bool token_valid(const char *tok, size_t len, void *ctx)
{
	char name[32];

	(void)ctx;
	if (len == 0 || len >= sizeof(name))
		return false;
	memcpy(name, tok, len);
	name[len] = '\0';
	return xos__name_valid(name);
}

static bool token_differs(const char *tok, size_t len, void *ctx)
{
	const char *icf = ctx;

	return !(strlen(icf) == len && strncmp(tok, icf, len) == 0);
}

bool xos__icf_in_set(const char *set, const char *icf)
{
	if (!set || !*set)
		return true;
	/* set_each() stops (returns false) at the first token equal to icf. */
	return !set_each(set, token_differs, (void *)icf);
}

static unsigned int create_cost(const struct xos__candidate *c)
{
	return c->icf->create_cost;
}

/* Is a cheaper than b for this hint? */
static bool cheaper(const struct xos__candidate *a, const struct xos__candidate *b,
		    enum xos_perf_hint hint)
{
	unsigned int a1 = create_cost(a), a2 = a->com_cost;
	unsigned int b1 = create_cost(b), b2 = b->com_cost;

	if (hint == XOS_PERF_COMM) {
		a1 = a->com_cost, a2 = create_cost(a);
		b1 = b->com_cost, b2 = create_cost(b);
	}
	return a1 != b1 ? a1 < b1 : a2 < b2;
}

static const char *iso_name(enum xos_isolation iso)
{
	const char *s = xos_isolation_name(iso);

	return s ? s : "?";
}

/*
 * Why candidate @c cannot host the EF, or NULL if it can.  @named: the
 * developer or the operator named this ICF (attr.icf, a non-empty
 * acceptable set that lists it, the forced ICF).
 */
static const char *rejection(const struct xos__candidate *c, const struct xos_ef_attr *attr,
			     bool named, char *buf, size_t len)
{
	if (!xos__icf_in_set(attr->icfs, c->icf->name))
		return "not in the acceptable set";
	if (!c->available) {
		snprintf(buf, len, "unavailable: %s", c->reason ? c->reason : "?");
		return buf;
	}
	if (c->icf->isolation < attr->isolation) {
		snprintf(buf, len, "isolation %s < %s", iso_name(c->icf->isolation),
			 iso_name(attr->isolation));
		return buf;
	}
	/* A restricted ICF may break an EF that did not ask for it (<xos/vic.h>). */
	if ((c->icf->features & XOS_ICF_F_RESTRICTED) && !named &&
	    attr->isolation < c->icf->isolation) {
		snprintf(buf, len, "restricted, and the EF asks only for isolation %s",
			 iso_name(attr->isolation));
		return buf;
	}
	return NULL;
}

/* Did the EF's acceptable set name @c explicitly? */
static bool listed(const struct xos__candidate *c, const struct xos_ef_attr *attr)
{
	return attr->icfs && *attr->icfs && xos__icf_in_set(attr->icfs, c->icf->name);
}

static size_t find(const struct xos__candidate *cands, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(cands[i].icf->name, name) == 0)
			return i;
	return n;
}

/* Append "; other: a (reason), b (reason)" for everything not chosen. */
static void append_others(char *why, size_t why_len, const struct xos__candidate *cands, size_t n,
			  size_t chosen, const struct xos_ef_attr *attr)
{
	size_t used = strlen(why);
	bool first = true;

	for (size_t i = 0; i < n && used + 1 < why_len; i++) {
		char buf[XOS_REASON_MAX + 32];
		const char *r;

		if (i == chosen)
			continue;
		r = rejection(&cands[i], attr, listed(&cands[i], attr), buf, sizeof(buf));
		if (!r) {
			snprintf(buf, sizeof(buf), "ranked lower: isolation %s, create ~%u us",
				 iso_name(cands[i].icf->isolation), (create_cost(&cands[i]) + 500) / 1000);
			r = buf;
		}
		snprintf(why + used, why_len - used, "%s%s (%s)", first ? "; not " : ", ",
			 cands[i].icf->name, r);
		used = strlen(why);
		first = false;
	}
}

int xos__policy_choose(const struct xos__settings *set, const struct xos_ef_attr *attr,
		       const struct xos__candidate *cands, size_t n, size_t *ret_index,
		       char *why, size_t why_len)
{
	char buf[XOS_REASON_MAX + 32];
	size_t best = n, i;
	const char *rule;

	why[0] = '\0';
	if (attr->icfs && *attr->icfs && !set_each(attr->icfs, token_valid, NULL)) {
		snprintf(why, why_len, "malformed acceptable set \"%s\"", attr->icfs);
		return -EINVAL;
	}

	/* 1. The developer named the ICF: honour it or fail, never substitute. */
	if (attr->icf) {
		const char *r;

		i = find(cands, n, attr->icf);
		if (i == n) {
			snprintf(why, why_len, "ICF \"%s\" is not registered", attr->icf);
			return -ENOENT;
		}
		r = rejection(&cands[i], attr, true, buf, sizeof(buf));
		if (r) {
			snprintf(why, why_len, "requested ICF %s: %s", attr->icf, r);
			return cands[i].available ? -EPERM : -ENODEV;
		}
		snprintf(why, why_len, "requested by the EF");
		*ret_index = i;
		return 0;
	}

	/* 2. The operator forced an ICF: use it wherever the EF allows it. */
	if (set->forced_icf[0]) {
		const char *r = NULL;

		i = find(cands, n, set->forced_icf);
		if (i < n)
			r = rejection(&cands[i], attr, true, buf, sizeof(buf));
		if (i < n && !r) {
			snprintf(why, why_len, "forced (XOS_ICF=%s)", set->forced_icf);
			*ret_index = i;
			return 0;
		}
		/* Fall through to the policy; the explanation says why. */
		snprintf(why, why_len, "forced ICF %s not usable here (%s); ", set->forced_icf,
			 i < n ? r : "not registered");
	}

	/* 3. The policy ranks what is left. */
	for (i = 0; i < n; i++) {
		if (rejection(&cands[i], attr, listed(&cands[i], attr), buf, sizeof(buf)))
			continue;
		switch (set->policy) {
		case XOS_POLICY_ISOLATION:
			if (best == n || cands[i].icf->isolation > cands[best].icf->isolation ||
			    (cands[i].icf->isolation == cands[best].icf->isolation &&
			     cheaper(&cands[i], &cands[best], attr->perf)))
				best = i;
			break;
		case XOS_POLICY_BALANCED: {
			bool i_ok = cands[i].icf->isolation >= XOS_ISO_MEMORY;
			bool b_ok = best < n && cands[best].icf->isolation >= XOS_ISO_MEMORY;

			if (best == n || (i_ok && !b_ok) ||
			    (i_ok == b_ok && cheaper(&cands[i], &cands[best], attr->perf)))
				best = i;
			break;
		}
		case XOS_POLICY_PERF:
		default:
			if (best == n || cheaper(&cands[i], &cands[best], attr->perf))
				best = i;
			break;
		}
	}

	if (best == n) {
		size_t used = strlen(why);

		snprintf(why + used, why_len - used, "no ICF can host this EF");
		append_others(why, why_len, cands, n, n, attr);
		return -ENODEV;
	}

	switch (set->policy) {
	case XOS_POLICY_ISOLATION:
		rule = "strongest isolation available";
		break;
	case XOS_POLICY_BALANCED:
		rule = cands[best].icf->isolation >= XOS_ISO_MEMORY ?
			       "cheapest with memory isolation" :
			       "no memory isolation available, cheapest";
		break;
	default:
		rule = attr->perf == XOS_PERF_COMM ? "cheapest channels" : "cheapest to create";
		break;
	}
	{
		size_t used = strlen(why);

		snprintf(why + used, why_len - used, "policy %s: %s (isolation %s, create ~%u us",
			 xos__policy_name(set->policy), rule, iso_name(cands[best].icf->isolation),
			 (create_cost(&cands[best]) + 500) / 1000);
		used = strlen(why);
		if (cands[best].com_mech)
			snprintf(why + used, why_len - used, ", %s to creator", cands[best].com_mech);
		used = strlen(why);
		snprintf(why + used, why_len - used, ")");
	}
	append_others(why, why_len, cands, n, best, attr);
	*ret_index = best;
	return 0;
}

/*
 * The mechanism of a channel between ICFs a and b, from the mechanisms
 * registered between them (register_com, cheapest first):
 *
 *   perf       the cheapest
 *   balanced   a kernel-mediated one (pipe, unix, tcp) when both ICFs
 *              isolate memory (the EFs chose to distrust each other);
 *              else the cheapest
 *   isolation  a kernel-mediated one when either ICF isolates memory;
 *              else the cheapest
 *
 * A mechanism the channel layer does not have is skipped; with none left,
 * the ring.  A forced mechanism (XOS_CHAN) wins over everything.
 */
const char *xos__policy_choose_mech(const struct xos__settings *set, const struct xos__chan_pair *pair,
				    const struct xos__mech_cand *cands, size_t n, char *why, size_t why_len)
{
	const char *pick = NULL, *rule;
	bool distrust;
	size_t used;

	if (pair->apart) {
		/* Different hosts: only a mechanism that crosses them, forced or not. */
		for (size_t i = 0; i < n && !pick; i++)
			if (cands[i].known && cands[i].hosts)
				pick = cands[i].name;
		if (!pick) {
			snprintf(why, why_len, "ends on different hosts, and no mechanism crosses hosts");
			return NULL;
		}
		snprintf(why, why_len, "ends on different hosts: the cheapest mechanism that crosses them%s",
			 set->forced_mech && strcmp(set->forced_mech, pick) != 0 ? " (XOS_CHAN ignored)" : "");
		return pick;
	}
	if (set->forced_mech) {
		snprintf(why, why_len, "forced (XOS_CHAN=%s)", set->forced_mech);
		return set->forced_mech;
	}
	switch (set->policy) {
	case XOS_POLICY_ISOLATION:
		distrust = pair->iso_a >= XOS_ISO_MEMORY || pair->iso_b >= XOS_ISO_MEMORY;
		rule = distrust ? "an end isolates memory: kernel-mediated" : "no end isolates memory: cheapest";
		break;
	case XOS_POLICY_BALANCED:
		distrust = pair->iso_a >= XOS_ISO_MEMORY && pair->iso_b >= XOS_ISO_MEMORY;
		rule = distrust ? "both ends isolate memory: kernel-mediated" : "cheapest";
		break;
	default:
		distrust = false;
		rule = "cheapest";
		break;
	}
	for (size_t i = 0; i < n && !pick; i++)
		if (cands[i].known && (!distrust || cands[i].kernel))
			pick = cands[i].name;
	if (!pick) {
		for (size_t i = 0; i < n && !pick; i++)
			if (cands[i].known)
				pick = cands[i].name;
		if (pick)
			rule = "no kernel-mediated mechanism registered: cheapest";
	}
	if (!pick) {
		snprintf(why, why_len, "no mechanism registered between %s and %s: ring by default",
			 pair->a, pair->b);
		return "ring";
	}
	snprintf(why, why_len, "policy %s: %s", xos__policy_name(set->policy), rule);
	used = strlen(why);
	for (size_t i = 0; i < n && used + 1 < why_len; i++) {
		bool chosen = strcmp(cands[i].name, pick) == 0;

		snprintf(why + used, why_len - used, "%s%s%s %u", i ? ", " : " (cost: ", chosen ? "*" : "",
			 cands[i].name, cands[i].cost);
		used = strlen(why);
	}
	if (n && used + 1 < why_len)
		snprintf(why + used, why_len - used, ")");
	return pick;
}

bool xos__policy_mech_serves(const struct xos__settings *set, const char *mech,
			     const struct xos__mech_cand *cands, size_t n)
{
	if (set->forced_mech)
		return strcmp(set->forced_mech, mech) == 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(cands[i].name, mech) == 0)
			return true;
	return n == 0; /* nothing registered: whatever carries it serves */
}
