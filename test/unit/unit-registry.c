/* SPDX-License-Identifier: MIT */
/*
 * Description: the ICF registry (src/runtime/registry.c).  Registration
 * and unregistration semantics (-EBUSY for a taken name, -EINVAL for an
 * unknown ICF or a malformed descriptor), unavailable ICFs listed with
 * their reason, xos_icf_list() counting and filling, ABI growth (a smaller
 * ops_size leaves the later members NULL), references that block
 * unregistration while an EF lives in the ICF, and the built-ins.
 */
#include "unit.h"

#include <pthread.h>
#include <semaphore.h>

/* ---- fake ICFs ------------------------------------------------------------ */

/*
 * A thread-like fake: create() starts a pthread running xos_ic_run(), wait()
 * joins it.  Enough for an EF to live in the ICF.
 */
struct fake_ic {
	struct xos_ic ic;
	pthread_t tid;
};

static void *fake_main(void *arg)
{
	struct fake_ic *f = arg;

	return (void *)(intptr_t)xos_ic_run(&f->ic);
}

static int fake_create(const struct xos_icf *icf, struct xos_ef *ef, struct xos_ic **ret_ic)
{
	struct fake_ic *f = calloc(1, sizeof(*f));
	int rc;

	if (!f)
		return -ENOMEM;
	f->ic.icf = icf;
	f->ic.ef = ef;
	rc = pthread_create(&f->tid, NULL, fake_main, f);
	if (rc) {
		free(f);
		return -rc;
	}
	*ret_ic = &f->ic;
	return 0;
}

static int fake_wait(struct xos_ic *ic, struct xos_ef_exit *ret_exit)
{
	struct fake_ic *f = xos__container_of(ic, struct fake_ic, ic);
	void *value;
	int rc = pthread_join(f->tid, &value);

	if (rc)
		return -rc;
	ret_exit->how = XOS_EF_EXITED;
	ret_exit->status = (int)(intptr_t)value;
	return 0;
}

static void fake_destroy(struct xos_ic *ic)
{
	free(xos__container_of(ic, struct fake_ic, ic));
}

static int init_calls;

static int init_ok(const struct xos_icf *icf, char *why, size_t why_len)
{
	(void)icf;
	init_calls++;
	/* A reason left behind by an available ICF must not be listed. */
	snprintf(why, why_len, "leftover");
	return 0;
}

static int init_fail_reason(const struct xos_icf *icf, char *why, size_t why_len)
{
	(void)icf;
	init_calls++;
	snprintf(why, why_len, "no widget on this machine");
	return -ENXIO;
}

static int init_fail_silent(const struct xos_icf *icf, char *why, size_t why_len)
{
	(void)icf, (void)why, (void)why_len;
	init_calls++;
	return -EOPNOTSUPP;
}

static int dump_stub(struct xos_ic *ic, int fd)
{
	(void)ic, (void)fd;
	return 0;
}

static int switch_stub(struct xos_ic *ic)
{
	(void)ic;
	return 0;
}

static const struct xos_icf_ops fake_ops = {
	.init = init_ok,
	.create = fake_create,
	.wait = fake_wait,
	.destroy = fake_destroy,
};

/* Every member set, so a partial copy shows. */
static const struct xos_icf_ops full_ops = {
	.init = init_ok,
	.create = fake_create,
	.wait = fake_wait,
	.switch_in = switch_stub,
	.switch_out = switch_stub,
	.dump = dump_stub,
	.destroy = fake_destroy,
};

static const struct xos_icf_ops no_create_ops = { .wait = fake_wait };
static const struct xos_icf_ops no_wait_ops = { .create = fake_create };
static const struct xos_icf_ops fail_reason_ops = {
	.init = init_fail_reason, .create = fake_create, .wait = fake_wait,
};
static const struct xos_icf_ops fail_silent_ops = {
	.init = init_fail_silent, .create = fake_create, .wait = fake_wait,
};

#define FAKE(nm, iso, table)                                                           \
	{ .name = (nm), .description = "fake " nm, .isolation = (iso),                     \
	  .features = XOS_ICF_F_OWN_FDS, .create_cost = 1000, XOS_ICF_OPS(table) }

static const struct xos_icf fake_a = FAKE("fake-a", XOS_ISO_NONE, fake_ops);
static const struct xos_icf fake_b = FAKE("fake_b", XOS_ISO_KERNEL, fake_ops);
static const struct xos_icf fake_a_again = FAKE("fake-a", XOS_ISO_NONE, fake_ops);
static const struct xos_icf fake_thread = FAKE("thread", XOS_ISO_NONE, fake_ops);

/* Count the ICFs listed and find @name among them. */
static int list_find(const char *name, struct xos_icf_info *ret)
{
	struct xos_icf_info infos[16];
	int n = xos_icf_list(infos, 16);

	assert_true(n >= 0 && n <= 16);
	for (int i = 0; i < n; i++) {
		if (strcmp(infos[i].name, name) == 0) {
			if (ret)
				*ret = infos[i];
			return i;
		}
	}
	return -1;
}

/* How many ICFs the runtime registers itself (its table of built-ins). */
#define NBUILTIN ((int)xos__builtin_count())

static int list_count(void)
{
	return xos_icf_list(NULL, 0);
}

/* ---- built-ins -------------------------------------------------------------- */

static void test_builtins_registered(void **state)
{
	struct xos_icf_info infos[16];
	int n;

	(void)state;
	t_assert_rc(xos__runtime_init(), 0);
	n = xos_icf_list(infos, 16);
	t_assert_int(n, NBUILTIN);
	/* Registration order is the policy's tie-break: thread, then process, then the others. */
	t_assert_str(infos[0].name, "thread");
	assert_true(infos[0].available);
	t_assert_str(infos[0].reason, "");
	t_assert_int(infos[0].isolation, XOS_ISO_NONE);
	assert_true(infos[0].features & XOS_ICF_F_SHARED_MEMORY);
	t_assert_str(infos[1].name, "process");
	assert_true(infos[1].available);
	t_assert_str(infos[1].reason, "");
	t_assert_int(infos[1].isolation, XOS_ISO_MEMORY);
	assert_true(infos[1].features & XOS_ICF_F_PIVOT);
	assert_true(infos[1].description && infos[1].description[0]);

	/* Idempotent: a second init registers nothing twice. */
	t_assert_rc(xos__runtime_init(), 0);
	t_assert_int(list_count(), NBUILTIN);
}

static void test_reset_forgets_registrations(void **state)
{
	(void)state;
	t_assert_rc(xos_icf_register(&fake_a), 0);
	t_assert_int(list_count(), NBUILTIN + 1);
	xos__runtime_reset();
	/* Listing initialises again: only the built-ins come back. */
	t_assert_int(list_count(), NBUILTIN);
	t_assert_int(list_find("fake-a", NULL), -1);
}

/* ---- register / unregister ---------------------------------------------------- */

static void test_register_lists_in_order(void **state)
{
	struct xos_icf_info info;

	(void)state;
	init_calls = 0;
	t_assert_rc(xos_icf_register(&fake_a), 0);
	t_assert_rc(xos_icf_register(&fake_b), 0);
	t_assert_int(init_calls, 2);
	t_assert_int(list_count(), NBUILTIN + 2);
	t_assert_int(list_find("fake-a", &info), NBUILTIN);
	assert_true(info.available);
	t_assert_str(info.reason, "");
	t_assert_str(info.description, "fake fake-a");
	t_assert_int(info.isolation, XOS_ISO_NONE);
	t_assert_uint(info.features, XOS_ICF_F_OWN_FDS);
	t_assert_int(list_find("fake_b", &info), NBUILTIN + 1);
	t_assert_int(info.isolation, XOS_ISO_KERNEL);
}

static void test_register_duplicate_ebusy(void **state)
{
	(void)state;
	t_assert_rc(xos_icf_register(&fake_a), 0);
	init_calls = 0;
	/* The same descriptor, another one with the same name, a built-in's name. */
	t_assert_rc(xos_icf_register(&fake_a), -EBUSY);
	t_assert_rc(xos_icf_register(&fake_a_again), -EBUSY);
	t_assert_rc(xos_icf_register(&fake_thread), -EBUSY);
	t_assert_rc(xos__icf_register_builtin(&fake_a, false), -EBUSY);
	t_assert_int(init_calls, 0);
	t_assert_int(list_count(), NBUILTIN + 1);
}

static void test_unregister_unknown_einval(void **state)
{
	(void)state;
	t_assert_rc(xos_icf_unregister(NULL), -EINVAL);
	t_assert_rc(xos_icf_unregister(&fake_a), -EINVAL);
	t_assert_rc(xos_icf_register(&fake_a), 0);
	/* Unregistration is by descriptor, not by name. */
	t_assert_rc(xos_icf_unregister(&fake_a_again), -EINVAL);
	t_assert_rc(xos_icf_unregister(&fake_a), 0);
	t_assert_int(list_find("fake-a", NULL), -1);
	t_assert_rc(xos_icf_unregister(&fake_a), -EINVAL);
	/* The name is free again. */
	t_assert_rc(xos_icf_register(&fake_a_again), 0);
	t_assert_rc(xos_icf_unregister(&fake_a_again), 0);
}

static void test_register_invalid_descriptors(void **state)
{
	static const char name32[] = "abcdefghijklmnopqrstuvwxyz012345";
	static const char name31[] = "abcdefghijklmnopqrstuvwxyz01234";
	const size_t min_size = offsetof(struct xos_icf_ops, wait) + sizeof(void (*)(void));
	struct {
		const char *what;
		struct xos_icf icf;
	} bad[] = {
		{ "NULL name", FAKE("x", XOS_ISO_NONE, fake_ops) },
		{ "empty name", FAKE("", XOS_ISO_NONE, fake_ops) },
		{ "upper case", FAKE("UPPER", XOS_ISO_NONE, fake_ops) },
		{ "space", FAKE("has space", XOS_ISO_NONE, fake_ops) },
		{ "dot", FAKE("a.b", XOS_ISO_NONE, fake_ops) },
		{ "32 chars", FAKE("x", XOS_ISO_NONE, fake_ops) },
		{ "NULL ops", FAKE("nullops", XOS_ISO_NONE, fake_ops) },
		{ "no create", FAKE("nocreate", XOS_ISO_NONE, no_create_ops) },
		{ "no wait", FAKE("nowait", XOS_ISO_NONE, no_wait_ops) },
		{ "ops_size 0", FAKE("size0", XOS_ISO_NONE, fake_ops) },
		{ "ops_size without wait", FAKE("sizeshort", XOS_ISO_NONE, fake_ops) },
		{ "ops_size too big", FAKE("sizebig", XOS_ISO_NONE, fake_ops) },
		{ "isolation COUNT", FAKE("isobig", XOS_ISO_NONE, fake_ops) },
		{ "isolation -1", FAKE("isoneg", XOS_ISO_NONE, fake_ops) },
	};
	struct xos_icf ok31 = FAKE("x", XOS_ISO_NONE, fake_ops);
	int before;

	(void)state;
	bad[0].icf.name = NULL;
	bad[5].icf.name = name32;
	bad[6].icf.ops = NULL;
	bad[9].icf.ops_size = 0;
	bad[10].icf.ops_size = min_size - 1;
	bad[11].icf.ops_size = sizeof(struct xos_icf_ops) + sizeof(void *);
	bad[12].icf.isolation = XOS_ISO_COUNT_;
	bad[13].icf.isolation = (enum xos_isolation)-1;

	before = list_count();
	init_calls = 0;
	t_assert_rc(xos_icf_register(NULL), -EINVAL);
	t_assert_rc(xos__icf_register_builtin(NULL, false), -EINVAL);
	for (size_t i = 0; i < XOS_ARRAY_SIZE(bad); i++) {
		int rc = xos_icf_register(&bad[i].icf);

		if (rc != -EINVAL)
			fail_msg("descriptor with %s: register = %d (%s), want -EINVAL", bad[i].what,
				 rc, t_errname(rc));
		rc = xos__icf_register_builtin(&bad[i].icf, false);
		if (rc != -EINVAL)
			fail_msg("descriptor with %s: register_builtin = %d (%s), want -EINVAL",
				 bad[i].what, rc, t_errname(rc));
	}
	t_assert_int(init_calls, 0);
	t_assert_int(list_count(), before);

	/* Boundaries that are fine: a 31-character name, exactly create+wait. */
	ok31.name = name31;
	t_assert_rc(xos_icf_register(&ok31), 0);
	t_assert_rc(xos_icf_unregister(&ok31), 0);
	ok31.name = "minsize";
	ok31.ops_size = min_size;
	t_assert_rc(xos_icf_register(&ok31), 0);
	t_assert_rc(xos_icf_unregister(&ok31), 0);
}

/* ---- availability --------------------------------------------------------- */

static void test_init_failure_listed_unavailable(void **state)
{
	static const struct xos_icf with_reason = FAKE("widget", XOS_ISO_KERNEL, fail_reason_ops);
	static const struct xos_icf silent = FAKE("silent", XOS_ISO_KERNEL, fail_silent_ops);
	struct xos_icf_info info;

	(void)state;
	init_calls = 0;
	/* Unavailable is not an error: the ICF is registered and listed. */
	t_assert_rc(xos_icf_register(&with_reason), 0);
	t_assert_rc(xos_icf_register(&silent), 0);
	t_assert_int(init_calls, 2);

	t_assert_int(list_find("widget", &info), NBUILTIN);
	assert_false(info.available);
	t_assert_str(info.reason, "no widget on this machine");
	t_assert_int(info.isolation, XOS_ISO_KERNEL);

	t_assert_int(list_find("silent", &info), NBUILTIN + 1);
	assert_false(info.available);
	t_assert_str(info.reason, strerror(EOPNOTSUPP));

	/* Its name is still taken. */
	t_assert_rc(xos_icf_register(&with_reason), -EBUSY);
	t_assert_rc(xos_icf_unregister(&with_reason), 0);
	t_assert_rc(xos_icf_unregister(&silent), 0);
}

static void test_available_reason_empty(void **state)
{
	struct xos_icf_info info;

	(void)state;
	/* init_ok() writes "leftover" into why and succeeds. */
	t_assert_rc(xos_icf_register(&fake_a), 0);
	t_assert_int(list_find("fake-a", &info), NBUILTIN);
	assert_true(info.available);
	t_assert_str(info.reason, "");
}

static void test_null_init_available(void **state)
{
	static const struct xos_icf_ops ops = { .create = fake_create, .wait = fake_wait };
	static const struct xos_icf icf = {
		.name = "noinit", .isolation = XOS_ISO_MEMORY, XOS_ICF_OPS(ops),
	};
	struct xos_icf_info info;

	(void)state;
	t_assert_rc(xos_icf_register(&icf), 0);
	t_assert_int(list_find("noinit", &info), NBUILTIN);
	assert_true(info.available);
	t_assert_str(info.reason, "");
	/* A NULL description is listed as "". */
	t_assert_str(info.description, "");
}

/* ---- xos_icf_list --------------------------------------------------------------- */

static void test_icf_list_counts_and_fills(void **state)
{
	struct xos_icf_info infos[16];

	(void)state;
	t_assert_rc(xos_icf_register(&fake_a), 0);
	t_assert_rc(xos_icf_register(&fake_b), 0);

	t_assert_rc_errno(xos_icf_list(NULL, 1), -EINVAL);
	t_assert_rc(xos_icf_list(NULL, 0), NBUILTIN + 2);

	memset(infos, 0xa5, sizeof(infos));
	t_assert_rc(xos_icf_list(infos, 1), NBUILTIN + 2);
	t_assert_str(infos[0].name, "thread");
	/* Only min(n, count) entries are written. */
	for (size_t i = 1; i < XOS_ARRAY_SIZE(infos); i++)
		for (size_t b = 0; b < sizeof(infos[i]); b++)
			if (((unsigned char *)&infos[i])[b] != 0xa5)
				fail_msg("xos_icf_list(infos, 1) wrote byte %zu of infos[%zu]", b, i);

	memset(infos, 0xa5, sizeof(infos));
	t_assert_rc(xos_icf_list(infos, NBUILTIN + 1), NBUILTIN + 2);
	t_assert_str(infos[NBUILTIN].name, "fake-a");
	assert_true(((unsigned char *)&infos[NBUILTIN + 1])[0] == 0xa5);

	memset(infos, 0, sizeof(infos));
	t_assert_rc(xos_icf_list(infos, XOS_ARRAY_SIZE(infos)), NBUILTIN + 2);
	t_assert_str(infos[0].name, "thread");
	t_assert_str(infos[1].name, "process");
	t_assert_str(infos[NBUILTIN].name, "fake-a");
	t_assert_str(infos[NBUILTIN + 1].name, "fake_b");
	t_assert_ptr(infos[NBUILTIN + 2].name, NULL);
}

/* ---- ABI growth: ops_size --------------------------------------------------------- */

/* The registry's copy of @name's ops, through the internal lookup. */
static struct xos_icf_ops node_ops(const char *name)
{
	struct xos__icf_node *node = xos__icf_find(name);
	struct xos_icf_ops ops;

	assert_non_null(node);
	ops = node->ops;
	xos__icf_put(node);
	return ops;
}

static void test_older_ops_size_pads_null(void **state)
{
	/* An ICF built against a header that ended after wait. */
	static const struct xos_icf old = {
		.name = "older", .isolation = XOS_ISO_NONE, .ops = &full_ops,
		.ops_size = offsetof(struct xos_icf_ops, switch_in),
	};
	/* One that ended after dump. */
	static const struct xos_icf mid = {
		.name = "middle", .isolation = XOS_ISO_NONE, .ops = &full_ops,
		.ops_size = offsetof(struct xos_icf_ops, restore),
	};
	struct xos_icf_ops ops;

	(void)state;
	init_calls = 0;
	t_assert_rc(xos_icf_register(&old), 0);
	t_assert_int(init_calls, 1);
	ops = node_ops("older");
	t_assert_ptr(ops.init, init_ok);
	t_assert_ptr(ops.create, fake_create);
	t_assert_ptr(ops.wait, fake_wait);
	t_assert_ptr(ops.switch_in, NULL);
	t_assert_ptr(ops.switch_out, NULL);
	t_assert_ptr(ops.dump, NULL);
	t_assert_ptr(ops.restore, NULL);
	t_assert_ptr(ops.to_pivot, NULL);
	t_assert_ptr(ops.from_pivot, NULL);
	t_assert_ptr(ops.destroy, NULL);

	t_assert_rc(xos_icf_register(&mid), 0);
	ops = node_ops("middle");
	t_assert_ptr(ops.switch_in, switch_stub);
	t_assert_ptr(ops.switch_out, switch_stub);
	t_assert_ptr(ops.dump, dump_stub);
	t_assert_ptr(ops.destroy, NULL);

	/* The full size copies everything. */
	{
		static const struct xos_icf full = {
			.name = "full", .isolation = XOS_ISO_NONE, XOS_ICF_OPS(full_ops),
		};

		t_assert_rc(xos_icf_register(&full), 0);
		ops = node_ops("full");
		t_assert_ptr(ops.dump, dump_stub);
		t_assert_ptr(ops.destroy, fake_destroy);
	}
}

/*
 * An ops_size that ends inside a member cannot come from sizeof() of any
 * version of the table.  Copying it would leave half a function pointer in
 * the slot (non-NULL, so the core would call it): the descriptor must be
 * refused, or the partial slot left NULL.
 */
static void test_ops_size_inside_member(void **state)
{
	static const struct xos_icf odd = {
		.name = "odd", .isolation = XOS_ISO_NONE, .ops = &full_ops,
		.ops_size = offsetof(struct xos_icf_ops, dump) + 3,
	};
	int rc;

	(void)state;
	rc = xos_icf_register(&odd);
	if (rc == 0) {
		struct xos_icf_ops ops = node_ops("odd");

		if (ops.dump != NULL && ops.dump != dump_stub)
			fail_msg("ops_size %zu (3 bytes into dump): registered with a torn dump "
				 "pointer %p (dump_stub is %p); want -EINVAL or NULL",
				 odd.ops_size, (void *)ops.dump, (void *)dump_stub);
		t_assert_ptr(ops.dump, NULL);
	} else {
		t_assert_rc(rc, -EINVAL);
	}
}

/* ---- references ------------------------------------------------------------ */

static sem_t gate;

static int wait_gate(void *arg)
{
	(void)arg;
	while (sem_wait(&gate) < 0 && errno == EINTR)
		;
	return 42;
}

static int return_zero(void *arg)
{
	(void)arg;
	return 0;
}

static void test_unregister_busy_while_ef_lives(void **state)
{
	struct xos_ef_attr attr;
	struct xos_ef *ef = NULL;
	struct xos_ef_exit ex = { 0 };

	(void)state;
	assert_int_equal(sem_init(&gate, 0, 0), 0);
	t_assert_rc(xos_icf_register(&fake_a), 0);
	xos_ef_attr_init(&attr);
	attr.icf = "fake-a";
	t_assert_rc(xos_ef_create(&ef, &attr, wait_gate, NULL, 0), 0);
	t_assert_str(xos_ef_icf(ef), "fake-a");

	t_assert_rc(xos_icf_unregister(&fake_a), -EBUSY);
	t_assert_rc(xos_icf_unregister(&fake_a), -EBUSY);
	/* Still listed, still usable. */
	assert_true(list_find("fake-a", NULL) >= 0);

	assert_int_equal(sem_post(&gate), 0);
	t_assert_rc(xos_ef_join(ef, &ex), 0);
	t_assert_int(ex.how, XOS_EF_EXITED);
	t_assert_int(ex.status, 42);

	t_assert_rc(xos_icf_unregister(&fake_a), 0);
	t_assert_int(list_find("fake-a", NULL), -1);
	sem_destroy(&gate);
}

static void test_find_takes_reference(void **state)
{
	struct xos__icf_node *node;

	(void)state;
	t_assert_rc(xos_icf_register(&fake_a), 0);
	t_assert_ptr(xos__icf_find("nosuch"), NULL);
	node = xos__icf_find("fake-a");
	assert_non_null(node);
	t_assert_ptr(node->icf, &fake_a);
	t_assert_rc(xos_icf_unregister(&fake_a), -EBUSY);
	xos__icf_put(node);
	t_assert_rc(xos_icf_unregister(&fake_a), 0);
}

static void test_snapshot_takes_references(void **state)
{
	struct xos__icf_node *nodes[16];
	size_t n;

	(void)state;
	t_assert_rc(xos_icf_register(&fake_a), 0);
	n = xos__icf_snapshot(nodes, 16);
	t_assert_uint(n, NBUILTIN + 1);
	t_assert_ptr(nodes[NBUILTIN]->icf, &fake_a);
	t_assert_rc(xos_icf_unregister(&fake_a), -EBUSY);
	for (size_t i = 0; i < n; i++)
		xos__icf_put(nodes[i]);
	/* A smaller buffer gets the first ones. */
	t_assert_uint(xos__icf_snapshot(nodes, 1), 1);
	t_assert_str(nodes[0]->icf->name, "thread");
	xos__icf_put(nodes[0]);
	t_assert_rc(xos_icf_unregister(&fake_a), 0);
}

/* ---- init() may call back into the runtime ------------------------------------- */

static int listed_during_init = -1, com_during_init = -1;

static int init_calls_back(const struct xos_icf *icf, char *why, size_t why_len)
{
	(void)why, (void)why_len;
	listed_during_init = xos_icf_list(NULL, 0);
	com_during_init = xos_com_register(icf->name, "thread", "ring", 300);
	if (com_during_init == 0)
		com_during_init = xos_com_list(icf->name, NULL, NULL, 0);
	return 0;
}

static void test_init_may_call_runtime(void **state)
{
	static const struct xos_icf_ops ops = {
		.init = init_calls_back, .create = fake_create, .wait = fake_wait,
	};
	static const struct xos_icf icf = {
		.name = "reentrant", .isolation = XOS_ISO_NONE, XOS_ICF_OPS(ops),
	};

	(void)state;
	t_assert_rc(xos_icf_register(&icf), 0);
	t_assert_int(listed_during_init, NBUILTIN);
	t_assert_int(com_during_init, 1);
	t_assert_int(list_count(), NBUILTIN + 1);
}

/*
 * The operator's settings (XOS_ICF, XOS_POLICY) choose among ICFs; they do
 * not decide whether a well-formed ICF may register.  XOS_ICF may name an
 * ICF the application registers itself ("Run every new EF in ICF @name").
 */
static void test_register_with_xos_icf_naming_it(void **state)
{
	struct xos_ef_attr attr;
	struct xos_ef *ef = NULL;
	int rc;

	(void)state;
	setenv("XOS_ICF", "fake-a", 1);
	xos__runtime_reset();
	rc = xos_icf_register(&fake_a);
	unsetenv("XOS_ICF");
	if (rc != 0)
		fail_msg("with XOS_ICF=fake-a, xos_icf_register(fake-a) = %d (%s), want 0",
			 rc, t_errname(rc));
	xos_ef_attr_init(&attr);
	attr.icf = "fake-a";
	t_assert_rc(xos_ef_create(&ef, &attr, return_zero, NULL, 0), 0);
	t_assert_rc(xos_ef_join(ef, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, t_reset, t_reset)
		T(test_builtins_registered),
		T(test_reset_forgets_registrations),
		T(test_register_lists_in_order),
		T(test_register_duplicate_ebusy),
		T(test_unregister_unknown_einval),
		T(test_register_invalid_descriptors),
		T(test_init_failure_listed_unavailable),
		T(test_available_reason_empty),
		T(test_null_init_available),
		T(test_icf_list_counts_and_fills),
		T(test_older_ops_size_pads_null),
		T(test_ops_size_inside_member),
		T(test_unregister_busy_while_ef_lives),
		T(test_find_takes_reference),
		T(test_snapshot_takes_references),
		T(test_init_may_call_runtime),
		T(test_register_with_xos_icf_naming_it),
#undef T
	};

	t_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
