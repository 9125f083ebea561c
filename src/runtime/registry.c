/* SPDX-License-Identifier: MIT */
/*
 * The ICF registry: the VIC's list of isolation context factories, as the
 * VFS keeps its list of file system types.  The ICF's init() probe runs
 * when a decision first needs its availability (a listing, a named or
 * forced ICF, a policy choice it could win), not at registration: the
 * sandbox's probe builds a throwaway sandbox, milliseconds that a program
 * which never considers it should not pay at start-up.  An ICF that is
 * unavailable here stays listed with its reason (the paper's get_ICFs()
 * answers from this list).
 *
 * Nodes carry a reference count: one per EF the ICF hosts and one per
 * in-flight snapshot, so an ICF cannot be unregistered from under an EF.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "xos_i.h"
#include "../prim/forklist.h"

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct xos__icf_node *registry_head;
/* Serialises probes.  Recursive: an init() may list ICFs (which probes). */
static pthread_mutex_t probe_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static _Atomic unsigned int probes_run;

static void registry_prefork(void)
{
	pthread_mutex_lock(&probe_lock);
	pthread_mutex_lock(&registry_lock);
}

static void registry_postfork(void)
{
	pthread_mutex_unlock(&registry_lock);
	pthread_mutex_unlock(&probe_lock);
}

/* The child's thread is not the recursive lock's owner (another tid): a
 * fresh lock.  A probe's own child (the sandbox's) never probes again. */
static void registry_postfork_child(void)
{
	pthread_mutex_unlock(&registry_lock);
	probe_lock = (pthread_mutex_t)PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
}

static struct xos__fork_hook registry_hook = XOS__FORK_HOOK_INIT;

bool xos__name_valid(const char *name)
{
	return xos__name_ok(name, 31);
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


int xos__icf_register_builtin(const struct xos_icf *icf, bool lazy)
{
	struct xos__icf_node *node, **tail;
	int rc;

	rc = descriptor_check(icf);
	if (rc < 0)
		return rc;
	xos__fork_hook(&registry_hook, registry_prefork, registry_postfork, registry_postfork_child);

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

	atomic_init(&node->probe, node->ops.init ? XOS__UNPROBED : XOS__PROBED);
	node->available = true;
	/* Lazy: probed on first need (xos__icf_probe).  Otherwise now, before
	 * it is listed, as xos_icf_register() documents. */
	if (!lazy)
		xos__icf_probe(node);

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
	xos__log_debug("icf %s registered", icf->name);
	return 0;
}

bool xos__icf_probed(const struct xos__icf_node *node)
{
	return atomic_load_explicit(&node->probe, memory_order_acquire) == XOS__PROBED;
}

bool xos__icf_probe(struct xos__icf_node *node)
{
	int rc;

	if (xos__icf_probed(node))
		return node->available;
	pthread_mutex_lock(&probe_lock);
	if (atomic_load(&node->probe) != XOS__UNPROBED) {
		/* Done meanwhile, or this thread's own init() asking: available so far. */
		pthread_mutex_unlock(&probe_lock);
		return node->available;
	}
	atomic_store(&node->probe, XOS__PROBING);
	/* Outside registry_lock: init() may register mechanisms or list ICFs. */
	rc = node->ops.init(node->icf, node->reason, sizeof(node->reason));
	atomic_fetch_add(&probes_run, 1);
	node->reason[sizeof(node->reason) - 1] = '\0';
	if (rc < 0) {
		if (!node->reason[0])
			snprintf(node->reason, sizeof(node->reason), "%s", strerror(-rc));
		node->available = false;
		xos__log_debug("icf %s unavailable: %s", node->icf->name, node->reason);
	} else {
		node->reason[0] = '\0';
		xos__log_debug("icf %s probed: available", node->icf->name);
		xos__com_connect_icf(node->icf);
	}
	atomic_store_explicit(&node->probe, XOS__PROBED, memory_order_release);
	pthread_mutex_unlock(&probe_lock);
	return node->available;
}

void xos__icf_probe_all(void)
{
	struct xos__icf_node *nodes[64];
	size_t m = xos__icf_snapshot(nodes, 64);

	for (size_t i = 0; i < m; i++) {
		xos__icf_probe(nodes[i]);
		xos__icf_put(nodes[i]);
	}
}

unsigned int xos__icf_probe_count(void)
{
	return atomic_load(&probes_run);
}

int xos_icf_register(const struct xos_icf *icf)
{
	int rc = descriptor_check(icf);

	if (rc < 0)
		return rc;
	rc = xos__runtime_init();
	if (rc < 0)
		return rc;
	return xos__icf_register_builtin(icf, false);
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
	/* A listing tells the truth: every ICF is probed first. */
	xos__icf_probe_all();
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
