/* SPDX-License-Identifier: MIT */
/*
 * Runtime start-up and standing settings.
 *
 * The first call into libxos registers the built-in mechanisms, then the
 * built-in ICFs (in this order: the order is the tie-break of the policy)
 * and reads the operator's choices from the environment: XOS_POLICY,
 * XOS_ICF, XOS_EXPLAIN, XOS_LOG.  Built-ins register from these explicit
 * tables, not from constructors, so
 * that nothing runs before the program asks (the shim relies on this).
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xos_i.h"

/* Adding a built-in ICF: its file in src/icf/ and one line here. */
static const struct {
	const struct xos_icf *icf;
	bool lazy; /* probe on first need: the sandbox's probe takes ms */
} builtin_icfs[] = {
	{ &xos__icf_thread, false },
	{ &xos__icf_process, false },
	{ &xos__icf_sandbox, true },
};

/* Adding a built-in mechanism: its file in src/chan/ and one line here. */
static const struct xos_mech *const builtin_mechs[] = {
	&xos__mech_ring,
	&xos__mech_pipe,
	&xos__mech_unix,
	&xos__mech_tcp,
};

size_t xos__builtin_count(void)
{
	return XOS_ARRAY_SIZE(builtin_icfs);
}

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static bool initialised;
static int init_rc;

static pthread_mutex_t settings_lock = PTHREAD_MUTEX_INITIALIZER;
static struct xos__settings settings = { .policy = XOS_POLICY_PERF };

static const char *const isolation_names[] = {
#define XOS_ISO_NAME_(name, str) [XOS_ISO_##name] = str,
	XOS_ISOLATION_MAP(XOS_ISO_NAME_)
#undef XOS_ISO_NAME_
};

const char *xos_isolation_name(enum xos_isolation iso)
{
	return (unsigned int)iso < XOS_ARRAY_SIZE(isolation_names) ? isolation_names[iso] : NULL;
}

/* Check @name can be forced; 0 or -EINVAL/-ENOENT/-ENODEV. */
static int forcible(const char *name)
{
	struct xos__icf_node *node;
	int rc = 0;

	if (!xos__name_valid(name))
		return -EINVAL;
	node = xos__icf_find(name);
	if (!node)
		return -ENOENT;
	if (!xos__icf_probe(node))
		rc = -ENODEV;
	xos__icf_put(node);
	return rc;
}

/* Caller holds settings_lock; @name is valid or NULL. */
static void set_forced(const char *name)
{
	snprintf(settings.forced_icf, sizeof(settings.forced_icf), "%s", name ? name : "");
}

static int read_environment(void)
{
	const char *policy = secure_getenv("XOS_POLICY");
	const char *icf = secure_getenv("XOS_ICF");
	enum xos__policy p = XOS_POLICY_PERF;

	if (policy && *policy && xos__policy_parse(policy, &p) < 0) {
		xos__log_debug("XOS_POLICY=%s: unknown policy", policy);
		return -EINVAL;
	}
	/*
	 * XOS_ICF may name an ICF the application registers later: only its
	 * spelling is checked here; the policy refuses EFs while it is missing.
	 */
	if (icf && *icf && !xos__name_valid(icf)) {
		xos__log_debug("XOS_ICF=%s: not an ICF name", icf);
		return -EINVAL;
	}
	pthread_mutex_lock(&settings_lock);
	settings.policy = p;
	set_forced(icf && *icf ? icf : NULL);
	pthread_mutex_unlock(&settings_lock);
	return 0;
}

int xos__runtime_init(void)
{
	int rc;

	pthread_mutex_lock(&init_lock);
	if (!initialised) {
		xos__log_configure();
		init_rc = 0;
		/* Mechanisms first: each ICF is connected to the others as it is probed. */
		for (size_t i = 0; i < XOS_ARRAY_SIZE(builtin_mechs); i++) {
			rc = xos__mech_register(builtin_mechs[i]);
			if (rc < 0 && rc != -EBUSY && init_rc == 0)
				init_rc = rc;
		}
		for (size_t i = 0; i < XOS_ARRAY_SIZE(builtin_icfs); i++) {
			rc = xos__icf_register_builtin(builtin_icfs[i].icf, builtin_icfs[i].lazy);
			if (rc < 0 && rc != -EBUSY && init_rc == 0)
				init_rc = rc;
		}
		if (init_rc == 0)
			init_rc = read_environment();
		initialised = true;
	}
	rc = init_rc;
	pthread_mutex_unlock(&init_lock);
	return rc;
}

void xos__runtime_reset(void)
{
	pthread_mutex_lock(&init_lock);
	xos__icf_reset();
	xos__com_reset();
	pthread_mutex_lock(&settings_lock);
	settings.policy = XOS_POLICY_PERF;
	settings.forced_icf[0] = '\0';
	pthread_mutex_unlock(&settings_lock);
	initialised = false;
	init_rc = 0;
	pthread_mutex_unlock(&init_lock);
}

void xos__settings_get(struct xos__settings *ret)
{
	pthread_mutex_lock(&settings_lock);
	*ret = settings;
	pthread_mutex_unlock(&settings_lock);
}

int xos_policy_set(const char *name)
{
	enum xos__policy p;
	int rc;

	if (xos__policy_parse(name, &p) < 0)
		return -EINVAL;
	rc = xos__runtime_init();
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&settings_lock);
	settings.policy = p;
	pthread_mutex_unlock(&settings_lock);
	return 0;
}

const char *xos_policy_get(void)
{
	enum xos__policy p;

	xos__runtime_init();
	pthread_mutex_lock(&settings_lock);
	p = settings.policy;
	pthread_mutex_unlock(&settings_lock);
	return xos__policy_name(p);
}

int xos_icf_force(const char *name)
{
	int rc;

	if (name && !xos__name_valid(name))
		return -EINVAL;
	rc = xos__runtime_init();
	if (rc < 0)
		return rc;
	if (name) {
		rc = forcible(name);
		if (rc < 0)
			return rc;
	}
	pthread_mutex_lock(&settings_lock);
	set_forced(name);
	pthread_mutex_unlock(&settings_lock);
	return 0;
}
