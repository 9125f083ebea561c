/* SPDX-License-Identifier: MIT */
/*
 * The register_com table: which mechanisms can carry a channel between an
 * EF in an IC of kind a and one in an IC of kind b, and at what relative
 * cost.  ICFs fill it from their init(); the channel layer and the policy
 * read it.  Nothing else in xos hard-codes which mechanism fits which pair.
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
