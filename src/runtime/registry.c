/* SPDX-License-Identifier: MIT */
/*
 * The ICF registry: the VIC's list of isolation context factories, as the
 * VFS keeps its list of file system types.  Registering runs the ICF's
 * init() probe; an ICF that is unavailable here stays listed with its
 * reason (the paper's get_ICFs() answers from this list).
 *
 * Nodes carry a reference count: one per EF the ICF hosts and one per
 * in-flight snapshot, so an ICF cannot be unregistered from under an EF.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "xos_i.h"

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct xos__icf_node *registry_head;

static void registry_prefork(void)
{
	pthread_mutex_lock(&registry_lock);
}

static void registry_postfork(void)
{
	pthread_mutex_unlock(&registry_lock);
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void registry_atfork(void)
{
	pthread_atfork(registry_prefork, registry_postfork, registry_postfork);
}

bool xos__name_valid(const char *name)
{
	size_t len = 0;

	if (!name)
		return false;
	for (; name[len]; len++) {
		char c = name[len];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
		if (len >= 31)
			return false;
	}
	return len > 0;
}

/* Caller holds registry_lock. */
static struct xos__icf_node *find_locked(const char *name)
{
	for (struct xos__icf_node *n = registry_head; n; n = n->next)
		if (strcmp(n->icf->name, name) == 0)
			return n;
	return NULL;
}

static int descriptor_check(const struct xos_icf *icf)
{
	if (!icf || !xos__name_valid(icf->name) || !icf->ops)
		return -EINVAL;
	if (icf->ops_size < offsetof(struct xos_icf_ops, wait) + sizeof(icf->ops->wait) ||
	    icf->ops_size > sizeof(struct xos_icf_ops))
		return -EINVAL;
	/* Every member is a function pointer: a size inside one is no sizeof(). */
	if (icf->ops_size % sizeof(icf->ops->create))
		return -EINVAL;
	if ((unsigned int)icf->isolation >= XOS_ISO_COUNT_)
		return -EINVAL;
	if (!icf->ops->create || !icf->ops->wait)
		return -EINVAL;
	return 0;
}


int xos__icf_register_builtin(const struct xos_icf *icf)
{
	struct xos__icf_node *node, **tail;
	int rc;

	rc = descriptor_check(icf);
	if (rc < 0)
		return rc;
	pthread_once(&atfork_once, registry_atfork);

	pthread_mutex_lock(&registry_lock);
	rc = find_locked(icf->name) ? -EBUSY : 0;
	pthread_mutex_unlock(&registry_lock);
	if (rc < 0)
		return rc;

	node = xos__calloc(1, sizeof(*node));
	if (!node)
		return -ENOMEM;
	node->icf = icf;
	memcpy(&node->ops, icf->ops, icf->ops_size);

	/* Probe outside the lock: init() may register mechanisms or list ICFs. */
	node->available = true;
	if (node->ops.init) {
		rc = node->ops.init(icf, node->reason, sizeof(node->reason));
		if (rc < 0) {
			node->available = false;
			if (!node->reason[0])
				snprintf(node->reason, sizeof(node->reason), "%s", strerror(-rc));
			xos__log_debug("icf %s unavailable: %s", icf->name, node->reason);
		}
	}
	node->reason[sizeof(node->reason) - 1] = '\0';
	if (node->available)
		node->reason[0] = '\0';

	pthread_mutex_lock(&registry_lock);
	if (find_locked(icf->name)) {
		pthread_mutex_unlock(&registry_lock);
		xos__free(node);
		return -EBUSY;
	}
	for (tail = &registry_head; *tail; tail = &(*tail)->next)
		;
	*tail = node;
	pthread_mutex_unlock(&registry_lock);
	xos__log_debug("icf %s registered (%s)", icf->name, node->available ? "available" : node->reason);
	return 0;
}

int xos_icf_register(const struct xos_icf *icf)
{
	int rc = descriptor_check(icf);

	if (rc < 0)
		return rc;
	rc = xos__runtime_init();
	if (rc < 0)
		return rc;
	return xos__icf_register_builtin(icf);
}

int xos_icf_unregister(const struct xos_icf *icf)
{
	struct xos__icf_node **link, *node = NULL;
	int rc = -EINVAL;

	if (!icf)
		return -EINVAL;
	pthread_mutex_lock(&registry_lock);
	for (link = &registry_head; *link; link = &(*link)->next) {
		if ((*link)->icf == icf) {
			node = *link;
			if (node->refs) {
				rc = -EBUSY;
			} else {
				*link = node->next;
				rc = 0;
			}
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
	if (rc == 0)
		xos__free(node);
	return rc;
}

size_t xos__icf_snapshot(struct xos__icf_node **nodes, size_t max)
{
	size_t n = 0;

	pthread_mutex_lock(&registry_lock);
	for (struct xos__icf_node *node = registry_head; node && n < max; node = node->next) {
		node->refs++;
		nodes[n++] = node;
	}
	pthread_mutex_unlock(&registry_lock);
	return n;
}

void xos__icf_get(struct xos__icf_node *node)
{
	pthread_mutex_lock(&registry_lock);
	node->refs++;
	pthread_mutex_unlock(&registry_lock);
}

void xos__icf_put(struct xos__icf_node *node)
{
	pthread_mutex_lock(&registry_lock);
	node->refs--;
	pthread_mutex_unlock(&registry_lock);
}

struct xos__icf_node *xos__icf_find(const char *name)
{
	struct xos__icf_node *node;

	pthread_mutex_lock(&registry_lock);
	node = find_locked(name);
	if (node)
		node->refs++;
	pthread_mutex_unlock(&registry_lock);
	return node;
}

int xos_icf_list(struct xos_icf_info *infos, size_t n)
{
	size_t count = 0;
	int rc;

	if (!infos && n)
		return -EINVAL;
	rc = xos__runtime_init();
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&registry_lock);
	for (struct xos__icf_node *node = registry_head; node; node = node->next, count++) {
		if (count >= n)
			continue;
		infos[count] = (struct xos_icf_info){
			.name = node->icf->name,
			.description = node->icf->description ? node->icf->description : "",
			.isolation = node->icf->isolation,
			.features = node->icf->features,
			.available = node->available,
			.reason = node->reason,
		};
	}
	pthread_mutex_unlock(&registry_lock);
	return (int)count;
}

void xos__icf_reset(void)
{
	struct xos__icf_node *node;

	pthread_mutex_lock(&registry_lock);
	node = registry_head;
	registry_head = NULL;
	pthread_mutex_unlock(&registry_lock);
	while (node) {
		struct xos__icf_node *next = node->next;

		xos__free(node);
		node = next;
	}
}
