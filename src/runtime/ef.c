/* SPDX-License-Identifier: MIT */
/*
 * Execution flows: creation (requirements -> policy -> ICF), the run of an
 * EF on the flow its ICF started, exit, join, and the table of live EFs.
 */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hosts_i.h"
#include "image_i.h"
#include "../prim/forklist.h"

#define XOS_EF_ARG_MAX (256u << 20)

/* The EF running on this flow of control, if any. */
static __thread struct xos_ef *current_ef __attribute__((tls_model("initial-exec")));

/*
 * EF ids come from a counter in a MAP_SHARED page made at the first
 * creation: process EFs inherit it, so ids stay unique across the whole
 * program tree, whatever ICF created them.
 */
static _Atomic uint64_t *id_counter;
static pthread_once_t id_once = PTHREAD_ONCE_INIT;
static _Atomic uint64_t id_fallback;

static void id_counter_map(void)
{
	void *p = mmap(NULL, sizeof(*id_counter), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	id_counter = p == MAP_FAILED ? &id_fallback : p;
}

static uint64_t next_id(void)
{
	pthread_once(&id_once, id_counter_map);
	return atomic_fetch_add(id_counter, 1) + 1;
}

/* ---- the table of live EFs -------------------------------------------- */

struct ef_table_link {
	struct xos_ef *ef;
	struct ef_table_link *prev, *next;
};

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct xos_ef *table_head;
static size_t table_count;
static struct xos__fork_hook table_hook = XOS__FORK_HOOK_INIT;

static void table_prefork(void)
{
	pthread_mutex_lock(&table_lock);
}

static void table_postfork_parent(void)
{
	pthread_mutex_unlock(&table_lock);
}

/* A forked child owns none of its parent's EFs: it starts with an empty table. */
static void table_postfork_child(void)
{
	table_head = NULL;
	table_count = 0;
	pthread_mutex_unlock(&table_lock);
}

static void table_add(struct xos_ef *ef)
{
	xos__fork_hook(&table_hook, table_prefork, table_postfork_parent, table_postfork_child);
	pthread_mutex_lock(&table_lock);
	XOS__DLIST_PUSH(table_head, ef, tbl_prev, tbl_next);
	table_count++;
	pthread_mutex_unlock(&table_lock);
}

static void table_del(struct xos_ef *ef)
{
	pthread_mutex_lock(&table_lock);
	XOS__DLIST_UNLINK(table_head, ef, tbl_prev, tbl_next);
	table_count--;
	pthread_mutex_unlock(&table_lock);
}

size_t xos__ef_count(void)
{
	size_t n;

	pthread_mutex_lock(&table_lock);
	n = table_count;
	pthread_mutex_unlock(&table_lock);
	return n;
}

/* ---- attributes --------------------------------------------------------- */

void xos_ef_attr_init(struct xos_ef_attr *attr)
{
	if (attr)
		*attr = (struct xos_ef_attr){ .isolation = XOS_ISO_NONE, .perf = XOS_PERF_ANY };
}

static int attr_check(const struct xos_ef_attr *attr)
{
	if ((unsigned int)attr->isolation >= XOS_ISO_COUNT_)
		return -EINVAL;
	if ((unsigned int)attr->perf > XOS_PERF_COMM)
		return -EINVAL;
	if (attr->flags & ~(unsigned int)(XOS_EF_F_DOMAIN | XOS_EF_F_DOMAIN_MALLOC))
		return -EINVAL;
	if (attr->domain_size && !(attr->flags & (XOS_EF_F_DOMAIN | XOS_EF_F_DOMAIN_MALLOC)))
		return -EINVAL;
	for (size_t i = 0; i < XOS_ARRAY_SIZE(attr->reserved); i++)
		if (attr->reserved[i])
			return -EINVAL;
	if (attr->icf && !xos__name_valid(attr->icf))
		return -EINVAL;
	if (attr->name && strlen(attr->name) >= XOS_EF_NAME_MAX)
		return -ENAMETOOLONG;
	if (!xos__options_valid(attr->options))
		return -EINVAL;
	if (attr->nchans && !attr->chans)
		return -EINVAL;
	for (size_t i = 0; i < attr->nchans; i++)
		if (!attr->chans[i])
			return -EINVAL;
	return 0;
}

static const char *icf_name_of(const struct xos_ef *ef)
{
	/* Code outside any EF runs in the program's own process. */
	return ef ? ef->icf->icf->name : "process";
}

/*
 * Ask the policy which registered ICF hosts an EF with @attr, created by
 * the current flow.  On success *@ret_node holds a reference.
 */
static int choose_icf(const struct xos_ef_attr *attr, struct xos__icf_node **ret_node,
		      char *why, size_t why_len)
{
	struct xos__icf_node *nodes[XOS__ICFS_MAX];
	struct xos__candidate cands[XOS__ICFS_MAX];
	struct xos__settings set;
	const char *creator = icf_name_of(current_ef);
	size_t n, chosen;
	int rc;

	xos__settings_get(&set);
	n = xos__icf_snapshot(nodes, XOS__ICFS_MAX);
	/* --explain names every candidate's state: it needs them all probed. */
	if (xos__explaining())
		for (size_t i = 0; i < n; i++)
			xos__icf_probe(nodes[i]);
	/*
	 * An unprobed ICF is judged at its best (available, channels free).
	 * If the policy picks it, it is probed and the choice made again:
	 * an ICF the policy could never pick (the sandbox under perf, while
	 * a thread or process can host the EF) is never probed, and the
	 * choice is the one a fully probed registry would give.
	 */
	for (;;) {
		for (size_t i = 0; i < n; i++) {
			bool known = xos__icf_probed(nodes[i]);

			cands[i] = (struct xos__candidate){
				.icf = nodes[i]->icf,
				.available = known ? nodes[i]->available : true,
				.reason = nodes[i]->reason,
				.com_mech = NULL,
			};
			cands[i].com_cost = known ? xos__com_best(creator, nodes[i]->icf->name,
								  &cands[i].com_mech) :
						    0;
		}
		rc = xos__policy_choose(&set, attr, cands, n, &chosen, why, why_len);
		if (rc < 0 || xos__icf_probed(nodes[chosen]))
			break;
		xos__icf_probe(nodes[chosen]);
	}
	if (rc == 0) {
		xos__icf_get(nodes[chosen]);
		*ret_node = nodes[chosen];
	}
	for (size_t i = 0; i < n; i++)
		xos__icf_put(nodes[i]);
	return rc;
}

int xos_ef_create(struct xos_ef **ret_ef, const struct xos_ef_attr *attr, xos_ef_fn fn,
		  const void *arg, size_t arg_size)
{
	static const struct xos_ef_attr defaults = { .isolation = XOS_ISO_NONE };
	struct xos__icf_node *node = NULL;
	struct xos_ef *ef;
	char why[512], where[512];
	int rc, host;

	if (!ret_ef || !fn || (!arg && arg_size))
		return -EINVAL;
	if (arg_size > XOS_EF_ARG_MAX)
		return -E2BIG;
	if (!attr)
		attr = &defaults;
	rc = attr_check(attr);
	if (rc < 0)
		return rc;
	rc = xos__runtime_init();
	if (rc < 0)
		return rc;

	ef = xos__calloc(1, sizeof(*ef));
	if (!ef)
		return -ENOMEM;
	ef->magic = XOS_EF_MAGIC;
	ef->ctl_sock[0] = ef->ctl_sock[1] = -1;
	ef->id = next_id();
	ef->parent_id = current_ef ? current_ef->id : 0;
	if (attr->name)
		snprintf(ef->name, sizeof(ef->name), "%s", attr->name);
	else
		snprintf(ef->name, sizeof(ef->name), "ef%llu", (unsigned long long)ef->id);
	ef->fn = fn;
	ef->arg_size = arg_size;
	if (arg_size) {
		ef->arg = xos__malloc(arg_size);
		if (!ef->arg) {
			rc = -ENOMEM;
			goto out_free;
		}
		memcpy(ef->arg, arg, arg_size);
	}

	if (attr->options && *attr->options) {
		ef->options = xos__strdup(attr->options);
		if (!ef->options) {
			rc = -ENOMEM;
			goto out_free;
		}
	}

	ef->iso = attr->isolation;
	ef->perf = attr->perf;
	snprintf(ef->req_icf, sizeof(ef->req_icf), "%s", attr->icf ? attr->icf : "");
	if (attr->icfs && strlen(attr->icfs) >= sizeof(ef->req_icfs)) {
		rc = -ENAMETOOLONG;
		goto out_free;
	}
	snprintf(ef->req_icfs, sizeof(ef->req_icfs), "%s", attr->icfs ? attr->icfs : "");

	/* Which host first; the ICF is chosen by the host that runs the EF. */
	rc = xos__hosts_place(attr, &host, where, sizeof(where));
	if (rc < 0) {
		xos__explain("ef %llu \"%s\": refused (%s): %s", (unsigned long long)ef->id, ef->name,
			     strerror(-rc), where);
		goto out_free;
	}
	if (host >= 0) {
		ef->owner_pid = getpid();
		rc = xos__host_ef_create(ef, host, attr, why, sizeof(why));
		if (rc < 0) {
			xos__explain("ef %llu \"%s\": refused (%s): %s", (unsigned long long)ef->id,
				     ef->name, strerror(-rc), why);
			goto out_free;
		}
		xos__explain("ef %llu \"%s\" (parent %llu) -> host %s, icf %s there: %s",
			     (unsigned long long)ef->id, ef->name, (unsigned long long)ef->parent_id,
			     xos__host_ef_host(ef), why, where);
		*ret_ef = ef;
		return 0;
	}

	rc = choose_icf(attr, &node, why, sizeof(why));
	if (rc < 0) {
		xos__explain("ef %llu \"%s\": refused (%s): %s", (unsigned long long)ef->id,
			     ef->name, strerror(-rc), why);
		goto out_free;
	}
	ef->icf = node;
	xos__explain("ef %llu \"%s\" (parent %llu, %s) -> %s: %s", (unsigned long long)ef->id,
		     ef->name, (unsigned long long)ef->parent_id, icf_name_of(current_ef),
		     node->icf->name, why);

	if (attr->nchans) {
		ef->chans = xos__calloc(attr->nchans, sizeof(*ef->chans));
		if (!ef->chans) {
			rc = -ENOMEM;
			goto out_put;
		}
		memcpy(ef->chans, attr->chans, attr->nchans * sizeof(*ef->chans));
		ef->nchans = attr->nchans;
		rc = xos__chans_bind(attr->chans, attr->nchans, icf_name_of(current_ef),
				     node->icf->name);
		if (rc < 0)
			goto out_put;
		/* The EF's from now on: closed at its end if it leaves them open. */
		xos__chans_hand(ef->chans, ef->nchans, ef->id);
	}

	if (attr->flags & (XOS_EF_F_DOMAIN | XOS_EF_F_DOMAIN_MALLOC)) {
		rc = xos__ef_domain_setup(ef, attr);
		if (rc < 0)
			goto out_put;
	}

	ef->owner_pid = getpid();
	rc = node->ops.create(node->icf, ef, &ef->ic);
	if (rc < 0) {
		xos__log_debug("icf %s: create failed: %s", node->icf->name, strerror(-rc));
		xos__ef_domain_release(ef);
		xos__chans_unhand(ef->chans, ef->nchans, ef->id, current_ef ? current_ef->id : 0);
		goto out_put;
	}
	/*
	 * The ends now live in the EF's own process: this one forgets them, or,
	 * for an EF with a domain (it may come back by mutate), parks them.
	 */
	if (ef->nchans && !(node->icf->features & XOS_ICF_F_SHARED_MEMORY)) {
		if (ef->dom)
			xos__chans_park(ef->chans, ef->nchans);
		else
			xos__chans_detach(ef->chans, ef->nchans);
	}
	table_add(ef);
	*ret_ef = ef;
	return 0;

out_put:
	xos__icf_put(node);
out_free:
	xos__free(ef->options);
	xos__free(ef->chans);
	xos__free(ef->arg);
	ef->magic = 0;
	xos__free(ef);
	return rc;
}

int xos_ic_run(struct xos_ic *ic)
{
	struct xos_ef *volatile ef;
	struct xos__icf_node *node;
	int status;

	if (!ic || !ic->ef || ic->ef->magic != XOS_EF_MAGIC)
		return -EINVAL;
	ef = ic->ef;
	if (ef->next_icf)
		xos__ef_mutate_arrived(ef, ic);
	node = ef->icf;
	/* A new process owns only the EF's channel ends; the others are forgotten here. */
	if (!(node->icf->features & XOS_ICF_F_SHARED_MEMORY) && ef->owner_pid != getpid())
		xos__chans_forget_others(ef->chans, ef->nchans);
	ef->prev_self = current_ef;
	current_ef = ef;

	if (node->ops.switch_in && node->ops.switch_in(ic) < 0) {
		status = 127;
	} else if (ef->dom) {
		/* On the domain's stack; back here when it ends or leaves this flow. */
		status = xos__domain_host(ic);
		node = ef->icf;
		if (node->ops.switch_out)
			node->ops.switch_out(ic);
	} else {
		if (setjmp(ef->exit_jmp) == 0)
			status = ef->fn(ef->arg);
		else
			status = ef->exit_status;
		/* A mutate may have moved the EF: its period ends in its current IC
		 * (ef->ic is still NULL when the EF ended before create() returned). */
		node = ef->icf;
		if (node->ops.switch_out)
			node->ops.switch_out(ef->ic ? ef->ic : ic);
	}
	/* Ended here (not moved on): its peers must not wait for ends it left open. */
	if (status != XOS_IC_MOVED && ef->nchans)
		xos__chans_close_owned(ef->id);
	current_ef = ef->prev_self;
	return status;
}

int xos_ef_exit(int status)
{
	struct xos_ef *ef = current_ef;

	if (!ef)
		return -EPERM;
	if (ef->dom)
		xos__ef_domain_exit(ef, status);
	ef->exit_status = status;
	longjmp(ef->exit_jmp, 1);
}

int xos_ef_join(struct xos_ef *ef, struct xos_ef_exit *ret_exit)
{
	struct xos_ef_exit ex = { 0 };
	struct xos__icf_node *node;
	int rc, lazy_err = 0;

	if (!ef || ef->magic != XOS_EF_MAGIC)
		return -EINVAL;
	if (ef == current_ef)
		return -EDEADLK;
	if (ef->owner_pid != getpid())
		return -ECHILD;
	xos__host_left_settle(ef);
	if (ef->remote) {
		rc = xos__host_ef_join(ef, &ex);
		if (rc < 0)
			return rc;
		/* Migrated there: the ends kept here for its return go now. */
		if (ef->nchans)
			xos__chans_drop_parked(ef->chans, ef->nchans);
		goto out_free;
	}
	node = ef->icf;
	rc = node->ops.wait(ef->ic, &ex);
	if (rc < 0)
		return rc;
	if (ef->killed_by) {
		/* Ended by the runtime on a page that never came (mutate.c): its flow returned, it did not exit. */
		ex.how = XOS_EF_KILLED;
		ex.status = ef->killed_by;
	}
	if (node->ops.destroy)
		node->ops.destroy(ef->ic);
	table_del(ef);
	/* Ended in another process: the ends kept for its return go now. */
	if (ef->nchans && ef->dom)
		xos__chans_drop_parked(ef->chans, ef->nchans);
	xos__icf_put(node);
	/* A lazily restored domain with a chunk that failed its check: the EF ended, the error stays. */
	if (ef->dom && ef->dom->lazy)
		lazy_err = xos__lazy_error(ef->dom->lazy);
	xos__ef_domain_release(ef);
out_free:
	xos__free(ef->options);
	xos__free(ef->chans);
	xos__free(ef->arg);
	ef->magic = 0;
	xos__free(ef);
	if (ret_exit)
		*ret_exit = ex;
	return lazy_err;
}

struct xos_ef *xos_ef_self(void)
{
	return current_ef;
}

uint64_t xos_ef_id(const struct xos_ef *ef)
{
	return ef && ef->magic == XOS_EF_MAGIC ? ef->id : 0;
}

const char *xos_ef_name(const struct xos_ef *ef)
{
	return ef && ef->magic == XOS_EF_MAGIC ? ef->name : "";
}

const char *xos_ef_icf(const struct xos_ef *ef)
{
	if (!ef || ef->magic != XOS_EF_MAGIC)
		return "";
	return ef->remote ? xos__host_ef_icf(ef) : ef->icf->icf->name;
}

const char *xos_ef_host(const struct xos_ef *ef)
{
	if (!ef || ef->magic != XOS_EF_MAGIC)
		return "";
	return ef->remote ? xos__host_ef_host(ef) : xos__host_self_name();
}

/* ---- migration: the local half (hosts.c moves the image) ------------------- */

void xos__ef_drop_local(struct xos_ef *ef)
{
	struct xos__icf_node *node = ef->icf;
	struct xos_ef_exit ex;

	/* Its host let it go (xos__ef_leave): reap that flow or process. */
	node->ops.wait(ef->ic, &ex);
	if (node->ops.destroy)
		node->ops.destroy(ef->ic);
	table_del(ef);
	xos__icf_put(node);
	ef->icf = NULL;
	ef->ic = NULL;
	xos__ef_domain_release(ef);
}

int xos__ef_restore_into(struct xos_ef *ef, int fd, char *why, size_t why_len)
{
	struct xos_ef_attr attr;
	struct xos__icf_node *node = NULL, *via;
	char chose[512];
	int rc;

	rc = xos__runtime_init();
	if (rc < 0)
		return rc;
	/* The policy again, with this host's facts: its ICFs, its settings. */
	xos_ef_attr_init(&attr);
	attr.isolation = ef->iso;
	attr.perf = ef->perf;
	attr.icf = ef->req_icf[0] ? ef->req_icf : NULL;
	attr.icfs = ef->req_icfs[0] ? ef->req_icfs : NULL;
	attr.flags = XOS_EF_F_DOMAIN;
	rc = choose_icf(&attr, &node, chose, sizeof(chose));
	if (rc < 0) {
		snprintf(why, why_len, "no ICF here: %s", chose);
		return rc;
	}
	/*
	 * Restored by the chosen ICF if it can, else by a thread and mutated
	 * there.  An EF that brings channel ends stays in a thread: its ends
	 * are structs of this process, and only an ICF sharing its memory
	 * reaches them.
	 */
	if (ef->nchans && !(node->icf->features & XOS_ICF_F_SHARED_MEMORY)) {
		snprintf(why, why_len, "thread (policy: %s; its channel ends are in this process): %s",
			 node->icf->name, chose);
		xos__icf_put(node);
		node = xos__icf_find("thread");
		if (!node)
			return -ENOENT;
		snprintf(chose, sizeof(chose), "%s", why);
	}
	via = node->ops.restore ? node : xos__icf_find("thread");
	if (!via || !via->ops.restore) {
		rc = -EOPNOTSUPP;
		snprintf(why, why_len, "no ICF here restores images");
		goto out_put;
	}
	ef->ctl_sock[0] = ef->ctl_sock[1] = -1;
	ef->icf = via;
	ef->owner_pid = getpid();
	ef->parent_id = current_ef ? current_ef->id : 0;
	if (!ef->image_stream_len && lseek(fd, 0, SEEK_SET) < 0) {
		rc = -errno;
		goto out_put;
	}
	/* A migration re-binds channel ends and may mutate it at once: the whole domain first. */
	ef->restore_eager = true;
	rc = via->ops.restore(via->icf, ef, fd, &ef->ic);
	if (rc < 0) {
		xos__ef_domain_release(ef);
		ef->icf = NULL;
		snprintf(why, why_len, "restore: %s", xos_image_error(rc));
		goto out_put;
	}
	/* The reference of the ICF that restored it is the EF's now. */
	table_add(ef);
	if (via != node) {
		rc = xos__ef_mutate(ef, node->icf->name);
		snprintf(why, why_len, "%s (restored by %s, then mutated%s): %s", node->icf->name,
			 via->icf->name, rc < 0 ? ": failed, stays there" : "", chose);
		xos__icf_put(node);
	} else {
		snprintf(why, why_len, "%s: %s", node->icf->name, chose);
	}
	return 0;

out_put:
	if (via && via != node)
		xos__icf_put(via);
	xos__icf_put(node);
	return rc;
}

/* ---- operations the VIC dispatches to the EF's ICF ------------------------ */

int xos__ef_dump(struct xos_ef *ef, int fd)
{
	if (!ef || ef->magic != XOS_EF_MAGIC || fd < 0)
		return -EINVAL;
	if (ef->remote)
		return -EOPNOTSUPP;
	if (!ef->icf->ops.dump)
		return -EOPNOTSUPP;
	return ef->icf->ops.dump(ef->ic, fd);
}

/* ---- restore: an EF from an image, in this process -------------------------------- */

int xos_ef_restore(const char *path, struct xos_ef **ret_ef)
{
	struct xos__settings set;
	struct xos__icf_node *node;
	struct xos_ef *ef;
	int fd, rc;

	if (!path || !ret_ef)
		return -EINVAL;
	rc = xos__runtime_init();
	if (rc < 0)
		return rc;
	/* The forced ICF (XOS_ICF, xos-run --icf) hosts it, else a thread. */
	xos__settings_get(&set);
	node = xos__icf_find(set.forced_icf[0] ? set.forced_icf : "thread");
	if (!node)
		return -ENOENT;
	xos__icf_probe(node); /* its mechanisms, as at registration before */
	if (!node->ops.restore) {
		rc = -EOPNOTSUPP;
		goto out_put;
	}
	/* A regular file of the caller or root that others cannot write (image.c). */
	rc = xos__image_open(path, S_IWGRP | S_IWOTH, &fd);
	if (rc < 0)
		goto out_put;
	ef = xos__calloc(1, sizeof(*ef));
	if (!ef) {
		rc = -ENOMEM;
		goto out_close;
	}
	ef->magic = XOS_EF_MAGIC;
	ef->ctl_sock[0] = ef->ctl_sock[1] = -1;
	ef->id = next_id();
	ef->parent_id = current_ef ? current_ef->id : 0;
	ef->icf = node;
	ef->owner_pid = getpid();
	rc = node->ops.restore(node->icf, ef, fd, &ef->ic);
	if (rc < 0) {
		xos__ef_domain_release(ef);
		ef->magic = 0;
		xos__free(ef);
		goto out_close;
	}
	close(fd);
	xos__explain("ef %llu \"%s\" restored from %s -> %s", (unsigned long long)ef->id, ef->name,
		     path, node->icf->name);
	table_add(ef);
	*ret_ef = ef;
	return 0;

out_close:
	close(fd);
out_put:
	xos__icf_put(node);
	return rc;
}
