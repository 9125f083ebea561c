/* SPDX-License-Identifier: MIT */
/*
 * Binding channels to mechanisms: the runtime's half of the channel layer.
 *
 * A channel is unbound when it is opened (unless attr.mechanism or
 * XOS_CHAN names a mechanism).  It is bound when an EF that will use one
 * of its ends is created, before the EF's ICF makes the context, so that
 * the mechanism's descriptors exist before any fork.  The mechanism comes
 * from the register_com table for the pair (ICF of the peer end, ICF of
 * the new EF) and the policy (xos__policy_choose_mech, policy.c).
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

/*
 * XOS_CHAN, read in this one place: 0 and *@ret NULL when unset, 0 and the
 * mechanism it names, -EINVAL when it names none the channel layer has.
 * Read at each decision, as a program may set it between channels.
 */
static int forced_chan(const char **ret)
{
	const char *v = secure_getenv("XOS_CHAN");

	*ret = NULL;
	if (!v || !*v)
		return 0;
	if (xos__chan_mech_kernel(v) < 0)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* The standing choices, with the forced mechanism. */
static void settings_get(struct xos__settings *set)
{
	const char *forced;

	xos__settings_get(set);
	set->forced_mech = forced_chan(&forced) == 0 ? forced : NULL;
}

/* The mechanisms registered between @a and @b, cheapest first: how many (at most MAX_COM). */
static size_t com_cands(const char *a, const char *b, struct xos__mech_cand cands[MAX_COM])
{
	struct xos_com_info infos[MAX_COM];
	int n = xos_com_list(a, b, infos, MAX_COM);

	if (n < 0)
		n = 0;
	if (n > MAX_COM)
		n = MAX_COM;
	for (int i = 0; i < n; i++) {
		int kernel = xos__chan_mech_kernel(infos[i].mechanism);

		cands[i] = (struct xos__mech_cand){
			.name = infos[i].mechanism, .cost = infos[i].cost,
			.known = kernel >= 0, .kernel = kernel > 0,
		};
	}
	return (size_t)n;
}

/* Every registered mechanism, cheapest first (ends on different hosts: no ICF pair to ask about). */
static size_t all_cands(struct xos__mech_cand cands[MAX_COM])
{
	const struct xos_mech *mechs[MAX_COM];
	int n = xos__mech_list(mechs, MAX_COM);

	if (n > MAX_COM)
		n = MAX_COM;
	for (int i = 0; i < n; i++) {
		int j = i;

		cands[i] = (struct xos__mech_cand){
			.name = mechs[i]->name, .cost = mechs[i]->cost, .known = true,
			.kernel = mechs[i]->flags & XOS_MECH_F_KERNEL,
			.hosts = mechs[i]->flags & XOS_MECH_F_HOSTS,
		};
		for (; j > 0 && cands[j - 1].cost > cands[j].cost; j--) {
			struct xos__mech_cand t = cands[j];

			cands[j] = cands[j - 1];
			cands[j - 1] = t;
		}
	}
	return n < 0 ? 0 : (size_t)n;
}

const char *xos__chans_choose_apart(struct xos_chan *end, const char *ef_icf, char *why, size_t len)
{
	struct xos__mech_cand cands[MAX_COM];
	struct xos__settings set;
	struct xos__chan_pair pair = { .a = "", .b = ef_icf, .apart = true };
	char peer_icf[32];
	size_t n;

	settings_get(&set);
	xos__chan_peer_icf(end, peer_icf, sizeof(peer_icf));
	pair.a = peer_icf;
	n = all_cands(cands);
	return xos__policy_choose_mech(&set, &pair, cands, n, why, len);
}

/*
 * Choose the mechanism for a channel between ICFs @a and @b; a one-line
 * reason in @why.  Never fails: with nothing registered, the ring.
 */
static const char *choose(const char *a, const char *b, char *why, size_t len)
{
	struct xos__mech_cand cands[MAX_COM];
	struct xos__settings set;
	struct xos__chan_pair pair = { .a = a, .b = b };
	size_t n = 0;

	settings_get(&set);
	if (!set.forced_mech) {
		pair.iso_a = icf_isolation(a);
		pair.iso_b = icf_isolation(b);
		n = com_cands(a, b, cands);
	}
	return xos__policy_choose_mech(&set, &pair, cands, n, why, len);
}

/* Is @mech registered between @a and @b (or forced)? */
static bool serves(const char *mech, const char *a, const char *b)
{
	struct xos__mech_cand cands[MAX_COM];
	struct xos__settings set;
	size_t n = 0;

	settings_get(&set);
	if (!set.forced_mech)
		n = com_cands(a, b, cands);
	return xos__policy_mech_serves(&set, mech, cands, n);
}

static bool icf_shares_memory(const char *name)
{
	struct xos__icf_node *node = xos__icf_find(name);
	bool shared = false;

	if (node) {
		shared = node->icf->features & XOS_ICF_F_SHARED_MEMORY;
		xos__icf_put(node);
	}
	return shared;
}

static int bind_one(struct xos_chan *end, const char *ef_icf)
{
	char peer_icf[32], why[512];
	const char *mech, *cur;
	int rc;

	if (!xos__chan_valid(end))
		return -EINVAL;
	if (xos__chan_remote(end))
		return 0; /* its peer is on another host: one tcp path for good */
	/* Counted before the EF starts, so an early close cannot look like the last. */
	xos__chan_mp_share(end, icf_shares_memory(ef_icf));
	xos__chan_peer_icf(end, peer_icf, sizeof(peer_icf));
	xos__chan_set_icf(end, ef_icf);
	if (!xos__chan_bound(end)) {
		mech = choose(peer_icf, ef_icf, why, sizeof(why));
		rc = xos__chan_bind(end, mech);
		if (rc < 0)
			return rc;
		if (rc == 0)
			return xos__chan_adopt(end);
		xos__explain("chan \"%s\" (%s <-> %s) -> %s: %s", xos_chan_name(end), peer_icf, ef_icf,
			     mech, why);
		return 0;
	}
	/* Take in a path the peer sent before this end moves (no copy must race for it). */
	rc = xos__chan_adopt(end);
	if (rc < 0)
		return rc;
	cur = xos_chan_mechanism(end);
	if (serves(cur, peer_icf, ef_icf))
		return 0;
	mech = choose(peer_icf, ef_icf, why, sizeof(why));
	rc = xos__chan_switch(end, mech);
	xos__explain("chan \"%s\" (%s <-> %s): %s does not connect them, switched -> %s (%s): %s",
		     xos_chan_name(end), peer_icf, ef_icf, cur, mech, rc < 0 ? strerror(-rc) : "ok",
		     why);
	return rc < 0 ? rc : 0;
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

/* The ICF of the calling flow's EF ("process" outside any EF). */
static const char *own_icf(void)
{
	struct xos_ef *self = xos_ef_self();

	return self ? xos_ef_icf(self) : "process";
}

/* An end used before any binding: bind between this end's ICF and itself (XOS_CHAN or policy). */
static int bind_default(struct xos_chan *end)
{
	const char *own = own_icf(), *mech;
	char why[512];
	int rc;

	mech = choose(own, own, why, sizeof(why));
	rc = xos__chan_bind(end, mech);
	if (rc == 1)
		xos__explain("chan \"%s\" (%s <-> %s, used before any EF took an end) -> %s: %s",
			     xos_chan_name(end), own, own, mech, why);
	return rc < 0 ? rc : 0;
}

/*
 * After a mutate of the EF owning @ends to ICF @icf: record the new ICF in
 * each channel's control block, and switch live a channel whose mechanism
 * the new pair of ICFs does not serve.  The switch is started from the
 * peer end when it lives in this process (the EF's own end is being run
 * by the EF); the EF's end follows at its next channel call.
 */
void xos__chans_mutated(struct xos_chan *const *ends, size_t n, const char *icf)
{
	for (size_t i = 0; i < n; i++) {
		struct xos_chan *end = ends[i];
		struct xos_chan *peer;
		const char *mech;
		char peer_icf[32], why[512], cur[32];
		int rc = -EOPNOTSUPP;

		if (!end || (!xos__chan_here(end, true) && !xos__chan_here(end, false)))
			continue;
		if (xos__chan_here(end, true) && xos__chan_remote(end))
			continue;
		xos__chan_set_icf(end, icf);
		if (!xos__chan_bound(end))
			continue;
		xos__chan_mech_newest(end, cur, sizeof(cur));
		xos__chan_peer_icf(end, peer_icf, sizeof(peer_icf));
		if (serves(cur, peer_icf, icf))
			continue;
		mech = choose(peer_icf, icf, why, sizeof(why));
		peer = xos__chan_peer_here(end);
		if (peer)
			rc = xos_chan_switch(peer, mech);
		xos__explain("chan \"%s\" (%s <-> %s, after a mutate): %s does not connect them, "
			     "switched -> %s (%s): %s", xos__chan_name(end), peer_icf, icf, cur, mech,
			     rc < 0 ? strerror(-rc) : "ok", why);
	}
}

/* ---- mutate process -> thread: the EF's ends, the blob in its domain heap ---- */

static void *heap_alloc(void *ctx, size_t size)
{
	return xos__dheap_malloc(ctx, size);
}

static void heap_free(void *ctx, void *p)
{
	xos__dheap_free(ctx, p);
}

int xos__chans_handover_save(struct xos_ef *ef, struct xos__dheap *heap, void **ret_blob,
			     size_t *ret_len, int *fds, int max, int *ret_nfds)
{
	const struct xos__chan_alloc a = { .alloc = heap_alloc, .free = heap_free, .ctx = heap };

	return xos__chan_handover_save(ef->chans, ef->nchans, &a, ret_blob, ret_len, fds, max, ret_nfds);
}

int xos__chans_handover_load(struct xos_ef *ef, const void *blob, size_t len, int *fds, int nfds)
{
	return xos__chan_handover_load(ef->chans, ef->nchans, blob, len, fds, nfds);
}

/* ---- the runtime as the channel layer's host ------------------------------------ */

static uint64_t own_ef_id(void)
{
	struct xos_ef *self = xos_ef_self();

	return self ? xos_ef_id(self) : 0;
}

static void chan_log(enum xos__chan_log kind, const char *fmt, va_list ap)
{
	char line[1024];

	if (kind == XOS__CHAN_LOG_EXPLAIN && !xos__explaining())
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (kind == XOS__CHAN_LOG_EXPLAIN)
		xos__explain("%s", line);
	else
		xos__log_debug("%s", line);
}

static const struct xos__chan_host runtime_host = {
	.init = xos__runtime_init,
	.safe_point = xos__safe_point,
	.icf_name = own_icf,
	.ef_id = own_ef_id,
	.forced_mech = forced_chan,
	.bind_default = bind_default,
	.log = chan_log,
	.mech_registered = xos__com_connect_mech,
	.wait_word = xos__ef_wait_word,
	.wait_sleeping = xos__ef_wait_sleeping,
};

/*
 * A channel call can be the first thing a program asks of libxos, so the
 * host is in place when the library is loaded.  Storing one pointer is
 * all this does: no allocation, no environment, nothing that could fail.
 */
__attribute__((constructor)) static void chans_host_install(void)
{
	xos__chan_host_set(&runtime_host);
}
