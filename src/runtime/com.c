/* SPDX-License-Identifier: MIT */
/*
 * The register_com table: which mechanisms can carry a channel between an
 * EF in an IC of kind a and one in an IC of kind b, and at what relative
 * cost.  The runtime fills it from what each ICF lets cross its boundary
 * (XOS_ICF_X_*) and what each mechanism needs (struct xos_mech.needs):
 * when an ICF is probed available, and when a mechanism is registered.
 * An ICF may add entries of its own from its init().  The channel layer
 * and the policy read it.  Nothing else in xos hard-codes which
 * mechanism fits which pair.
 *
 * Pairs are unordered: (thread, process) and (process, thread) are one.
 */
#include "config.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "xos_i.h"

#define COM_NAME_MAX 32

/* Entries are never moved or freed (but by the tests' reset), so the names
 * handed out by xos_com_list() stay valid for the life of the program. */
struct com_entry {
	struct com_entry *next;
	char a[COM_NAME_MAX];
	char b[COM_NAME_MAX];
	char mechanism[COM_NAME_MAX];
	unsigned int cost;
};

static pthread_mutex_t com_lock = PTHREAD_MUTEX_INITIALIZER;
static struct com_entry *com_head;
static size_t com_len;

static bool pair_matches(const struct com_entry *e, const char *a, const char *b)
{
	bool a_any = !a, b_any = !b;

	return ((a_any || strcmp(e->a, a) == 0) && (b_any || strcmp(e->b, b) == 0)) ||
	       ((a_any || strcmp(e->b, a) == 0) && (b_any || strcmp(e->a, b) == 0));
}

int xos_com_register(const char *a, const char *b, const char *mechanism, unsigned int cost)
{
	struct com_entry *entry, **tail;
	int rc = 0;

	if (!xos__name_valid(a) || !xos__name_valid(b) || !xos__name_valid(mechanism))
		return -EINVAL;
	/* Store the pair in a canonical order so lookups need one shape. */
	if (strcmp(a, b) > 0) {
		const char *t = a;

		a = b;
		b = t;
	}
	entry = xos__calloc(1, sizeof(*entry));
	if (!entry)
		return -ENOMEM;
	strcpy(entry->a, a);
	strcpy(entry->b, b);
	strcpy(entry->mechanism, mechanism);
	entry->cost = cost;

	pthread_mutex_lock(&com_lock);
	for (tail = &com_head; *tail; tail = &(*tail)->next) {
		if (pair_matches(*tail, a, b) && strcmp((*tail)->mechanism, mechanism) == 0) {
			rc = -EEXIST;
			break;
		}
	}
	if (rc == 0) {
		*tail = entry;
		com_len++;
	}
	pthread_mutex_unlock(&com_lock);
	if (rc < 0)
		xos__free(entry);
	return rc;
}

static int info_cmp(const void *x, const void *y)
{
	const struct xos_com_info *p = x, *q = y;

	if (p->cost != q->cost)
		return p->cost < q->cost ? -1 : 1;
	return strcmp(p->mechanism, q->mechanism);
}

int xos_com_list(const char *a, const char *b, struct xos_com_info *infos, size_t n)
{
	struct xos_com_info *all;
	size_t count = 0;
	int rc;

	if (!infos && n)
		return -EINVAL;
	if ((a && !xos__name_valid(a)) || (b && !xos__name_valid(b)))
		return -EINVAL;
	rc = xos__runtime_init();
	if (rc < 0)
		return rc;
	/* Lazily probed ICFs register their mechanisms when probed. */
	xos__icf_probe_all();

	pthread_mutex_lock(&com_lock);
	all = xos__malloc((com_len ? com_len : 1) * sizeof(*all));
	if (!all) {
		pthread_mutex_unlock(&com_lock);
		return -ENOMEM;
	}
	for (const struct com_entry *e = com_head; e; e = e->next) {
		if (!pair_matches(e, a, b))
			continue;
		all[count++] = (struct xos_com_info){
			.icf_a = e->a, .icf_b = e->b, .mechanism = e->mechanism, .cost = e->cost,
		};
	}
	qsort(all, count, sizeof(*all), info_cmp);
	for (size_t i = 0; i < count && i < n; i++)
		infos[i] = all[i];
	pthread_mutex_unlock(&com_lock);
	xos__free(all);
	return (int)count;
}

unsigned int xos__com_best(const char *a, const char *b, const char **ret_mechanism)
{
	unsigned int best = UINT_MAX;

	pthread_mutex_lock(&com_lock);
	for (const struct com_entry *e = com_head; e; e = e->next) {
		if (pair_matches(e, a, b) && e->cost < best) {
			best = e->cost;
			if (ret_mechanism)
				*ret_mechanism = e->mechanism;
		}
	}
	pthread_mutex_unlock(&com_lock);
	return best;
}

void xos__com_reset(void)
{
	struct com_entry *e;

	pthread_mutex_lock(&com_lock);
	e = com_head;
	com_head = NULL;
	com_len = 0;
	pthread_mutex_unlock(&com_lock);
	while (e) {
		struct com_entry *next = e->next;

		xos__free(e);
		e = next;
	}
}

/* ---- entries that follow from the ICFs' crossings and the mechanisms' needs ---- */

#define CONNECT_MAX 64

static unsigned int crossings(const struct xos_icf *icf)
{
	return icf->features & (XOS_ICF_X_MAPS_SHARED | XOS_ICF_X_INHERITS_FDS | XOS_ICF_X_NETWORK);
}

/* Register @m between @a and @b if both let through what it needs. */
static void connect_pair(const struct xos_icf *a, const struct xos_icf *b, const struct xos_mech *m)
{
	int rc;

	if (m->needs & ~(crossings(a) & crossings(b)))
		return;
	rc = xos_com_register(a->name, b->name, m->name, m->cost);
	if (rc < 0 && rc != -EEXIST)
		xos__log_debug("register_com %s <-> %s %s: %s", a->name, b->name, m->name, strerror(-rc));
}

/* Every other ICF that is probed and available (a reference on each). */
static size_t available_others(const struct xos_icf *self, struct xos__icf_node **nodes, size_t max)
{
	size_t n = xos__icf_snapshot(nodes, max), k = 0;

	for (size_t i = 0; i < n; i++) {
		if (nodes[i]->icf != self && xos__icf_probed(nodes[i]) && nodes[i]->available)
			nodes[k++] = nodes[i];
		else
			xos__icf_put(nodes[i]);
	}
	return k;
}

void xos__com_connect_icf(const struct xos_icf *icf)
{
	const struct xos_mech *mechs[CONNECT_MAX];
	struct xos__icf_node *nodes[CONNECT_MAX];
	int nm = xos__mech_list(mechs, CONNECT_MAX);
	size_t n = available_others(icf, nodes, CONNECT_MAX);

	for (int j = 0; j < nm && j < CONNECT_MAX; j++) {
		connect_pair(icf, icf, mechs[j]);
		for (size_t i = 0; i < n; i++)
			connect_pair(icf, nodes[i]->icf, mechs[j]);
	}
	for (size_t i = 0; i < n; i++)
		xos__icf_put(nodes[i]);
}

void xos__com_connect_mech(const struct xos_mech *mech)
{
	struct xos__icf_node *nodes[CONNECT_MAX];
	size_t n = available_others(NULL, nodes, CONNECT_MAX);

	for (size_t i = 0; i < n; i++) {
		for (size_t k = i; k < n; k++)
			connect_pair(nodes[i]->icf, nodes[k]->icf, mech);
		xos__icf_put(nodes[i]);
	}
}
