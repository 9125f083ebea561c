/* SPDX-License-Identifier: MIT */
/*
 * Description: how the VIC core dispatches the optional operations of an
 * ICF, with fake ICFs that record every call.  xos__ef_dump: -EOPNOTSUPP
 * when dump is NULL, else the ICF's answer.  xos__ef_mutate: A->pivot
 * calls A.to_pivot only, pivot->B B.from_pivot only, A->B both in that
 * order; a missing step is -EOPNOTSUPP before anything is called; a
 * failing from_pivot leaves the EF in the pivot; references follow the EF.
 * switch_in/switch_out run on the EF's own flow around its function, and a
 * failing switch_in ends the EF with status 127 without running it.
 */
#include "unit.h"

#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>

/* ---- call log ------------------------------------------------------------------ */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char call_log[1024];

/* Append "<icf>.<op>" (or a bare word) to the log, space separated. */
static void log_call(const char *icf, const char *op)
{
	size_t used;

	pthread_mutex_lock(&log_lock);
	used = strlen(call_log);
	snprintf(call_log + used, sizeof(call_log) - used, "%s%s%s%s", used ? " " : "",
		 icf ? icf : "", icf ? "." : "", op);
	pthread_mutex_unlock(&log_lock);
}

static void log_clear(void)
{
	pthread_mutex_lock(&log_lock);
	call_log[0] = '\0';
	pthread_mutex_unlock(&log_lock);
}

#define t_assert_log(want)                                                                 \
	do {                                                                               \
		char t_log_[sizeof(call_log)];                                             \
		pthread_mutex_lock(&log_lock);                                             \
		memcpy(t_log_, call_log, sizeof(t_log_));                                  \
		pthread_mutex_unlock(&log_lock);                                           \
		if (strcmp(t_log_, (want)) != 0)                                           \
			fail_msg("calls: \"%s\", want \"%s\"", t_log_, (want));               \
	} while (0)

/* ---- fake ICFs ------------------------------------------------------------------ */

/*
 * One flow of control (a pthread running xos_ic_run) hosts the EF whatever
 * ICF it is in at the moment: mutate makes new ICs for the same flow.  All
 * the ICs of a flow are freed with it, at destroy.
 */
struct fake_flow {
	pthread_t tid;
	struct fake_ic *ics;
};

struct fake_ic {
	struct xos_ic ic;
	struct fake_flow *flow;
	struct fake_ic *next;
};

static struct fake_ic *fake_ic_new(const struct xos_icf *icf, struct xos_ef *ef,
				   struct fake_flow *flow)
{
	struct fake_ic *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->ic.icf = icf;
	f->ic.ef = ef;
	f->flow = flow;
	f->next = flow->ics;
	flow->ics = f;
	return f;
}

static struct fake_ic *fake_of(struct xos_ic *ic)
{
	return xos__container_of(ic, struct fake_ic, ic);
}

static void *fake_main(void *arg)
{
	struct fake_ic *f = arg;

	return (void *)(intptr_t)xos_ic_run(&f->ic);
}

static int fake_create(const struct xos_icf *icf, struct xos_ef *ef, struct xos_ic **ret_ic)
{
	struct fake_flow *flow = calloc(1, sizeof(*flow));
	struct fake_ic *f;
	int rc;

	if (!flow)
		return -ENOMEM;
	f = fake_ic_new(icf, ef, flow);
	if (!f) {
		free(flow);
		return -ENOMEM;
	}
	rc = pthread_create(&flow->tid, NULL, fake_main, f);
	if (rc) {
		free(f);
		free(flow);
		return -rc;
	}
	*ret_ic = &f->ic;
	return 0;
}

static int fake_wait(struct xos_ic *ic, struct xos_ef_exit *ret_exit)
{
	void *value;
	int rc = pthread_join(fake_of(ic)->flow->tid, &value);

	if (rc)
		return -rc;
	ret_exit->how = XOS_EF_EXITED;
	ret_exit->status = (int)(intptr_t)value;
	return 0;
}

static void fake_destroy(struct xos_ic *ic)
{
	struct fake_flow *flow = fake_of(ic)->flow;

	while (flow->ics) {
		struct fake_ic *next = flow->ics->next;

		free(flow->ics);
		flow->ics = next;
	}
	free(flow);
}

static const struct xos_icf fake_pivot;

/* Where and with what the last dump was called. */
static struct xos_ic *dump_ic;
static int dump_fd = -1, dump_ret;

static int fake_dump(struct xos_ic *ic, int fd)
{
	log_call(ic->icf->name, "dump");
	dump_ic = ic;
	dump_fd = fd;
	return dump_ret;
}

static int fake_to_pivot(struct xos_ic *ic, struct xos_ic **ret_ic)
{
	struct fake_ic *f;

	log_call(ic->icf->name, "to_pivot");
	if (ic != ic->ef->ic)
		fail_msg("to_pivot got IC %p, the EF's is %p", (void *)ic, (void *)ic->ef->ic);
	f = fake_ic_new(&fake_pivot, ic->ef, fake_of(ic)->flow);
	if (!f)
		return -ENOMEM;
	*ret_ic = &f->ic;
	return 0;
}

static int fake_to_pivot_fail(struct xos_ic *ic, struct xos_ic **ret_ic)
{
	(void)ret_ic;
	log_call(ic->icf->name, "to_pivot");
	return -EIO;
}

static int fake_from_pivot(const struct xos_icf *icf, struct xos_ic *pivot_ic,
			   struct xos_ic **ret_ic)
{
	struct fake_ic *f;

	log_call(icf->name, "from_pivot");
	if (pivot_ic->icf != &fake_pivot)
		fail_msg("from_pivot got an IC of %s, want the pivot's", pivot_ic->icf->name);
	f = fake_ic_new(icf, pivot_ic->ef, fake_of(pivot_ic)->flow);
	if (!f)
		return -ENOMEM;
	*ret_ic = &f->ic;
	return 0;
}

static int fake_from_pivot_fail(const struct xos_icf *icf, struct xos_ic *pivot_ic,
				struct xos_ic **ret_ic)
{
	(void)pivot_ic, (void)ret_ic;
	log_call(icf->name, "from_pivot");
	return -EIO;
}

/* switch_in/switch_out record the flow they run on. */
static pthread_t switch_in_tid, switch_out_tid, fn_tid;
static int switch_in_ret;
static bool switch_in_wrong_ic; /* not an IC of fsw (cannot fail_msg off the main thread) */

static const struct xos_icf fake_switch;

static int fake_switch_in(struct xos_ic *ic)
{
	log_call(ic->icf->name, "switch_in");
	if (ic->icf != &fake_switch || !ic->ef)
		switch_in_wrong_ic = true;
	switch_in_tid = pthread_self();
	return switch_in_ret;
}

/* When set (by a test that ordered the EF's end after its own writes): */
static bool check_switch_out_ic;
static bool switch_out_stale_ic; /* switch_out got another IC than the EF's current one */

static int fake_switch_out(struct xos_ic *ic)
{
	log_call(ic->icf->name, "switch_out");
	switch_out_tid = pthread_self();
	if (check_switch_out_ic && ic != ic->ef->ic)
		switch_out_stale_ic = true;
	return 0;
}

static int init_unavailable(const struct xos_icf *icf, char *why, size_t why_len)
{
	(void)icf;
	snprintf(why, why_len, "test: unavailable");
	return -ENODEV;
}

#define BASE_OPS .create = fake_create, .wait = fake_wait, .destroy = fake_destroy

/* Two complete ICFs, A with dump, B without. */
static const struct xos_icf_ops ops_a = {
	BASE_OPS, .dump = fake_dump, .to_pivot = fake_to_pivot, .from_pivot = fake_from_pivot,
};
static const struct xos_icf_ops ops_b = {
	BASE_OPS, .to_pivot = fake_to_pivot, .from_pivot = fake_from_pivot,
};
/* The pivot: neither to_pivot nor from_pivot needed. */
static const struct xos_icf_ops ops_pivot = { BASE_OPS };
static const struct xos_icf_ops ops_no_to = { BASE_OPS, .from_pivot = fake_from_pivot };
static const struct xos_icf_ops ops_no_from = { BASE_OPS, .to_pivot = fake_to_pivot };
static const struct xos_icf_ops ops_from_fails = {
	BASE_OPS, .to_pivot = fake_to_pivot, .from_pivot = fake_from_pivot_fail,
};
static const struct xos_icf_ops ops_to_fails = {
	BASE_OPS, .to_pivot = fake_to_pivot_fail, .from_pivot = fake_from_pivot,
};
static const struct xos_icf_ops ops_down = {
	BASE_OPS, .init = init_unavailable, .to_pivot = fake_to_pivot,
	.from_pivot = fake_from_pivot,
};
static const struct xos_icf_ops ops_switch = {
	BASE_OPS, .switch_in = fake_switch_in, .switch_out = fake_switch_out,
};
static const struct xos_icf_ops ops_switch_mutate = {
	BASE_OPS, .switch_in = fake_switch_in, .switch_out = fake_switch_out,
	.to_pivot = fake_to_pivot, .from_pivot = fake_from_pivot,
};

#define FAKE(nm, iso, feat, table)                                                       \
	{ .name = (nm), .description = "fake", .isolation = (iso), .features = (feat),       \
	  .create_cost = 1000, XOS_ICF_OPS(table) }

static const struct xos_icf fake_a = FAKE("fa", XOS_ISO_NONE, 0, ops_a);
static const struct xos_icf fake_b = FAKE("fb", XOS_ISO_NONE, 0, ops_b);
static const struct xos_icf fake_pivot =
	FAKE("fp", XOS_ISO_MEMORY, XOS_ICF_F_PIVOT | XOS_ICF_F_OWN_FDS, ops_pivot);
static const struct xos_icf fake_no_to = FAKE("fnoto", XOS_ISO_NONE, 0, ops_no_to);
static const struct xos_icf fake_no_from = FAKE("fnofrom", XOS_ISO_NONE, 0, ops_no_from);
static const struct xos_icf fake_from_fails = FAKE("ffromfail", XOS_ISO_NONE, 0, ops_from_fails);
static const struct xos_icf fake_to_fails = FAKE("ftofail", XOS_ISO_NONE, 0, ops_to_fails);
static const struct xos_icf fake_down = FAKE("fdown", XOS_ISO_NONE, 0, ops_down);
static const struct xos_icf fake_switch = FAKE("fsw", XOS_ISO_NONE, 0, ops_switch);
static const struct xos_icf fake_switch_a = FAKE("fswa", XOS_ISO_NONE, 0, ops_switch_mutate);
static const struct xos_icf fake_switch_b = FAKE("fswb", XOS_ISO_NONE, 0, ops_switch_mutate);

static const struct xos_icf *const fakes[] = {
	&fake_a, &fake_b, &fake_pivot, &fake_no_to, &fake_no_from, &fake_from_fails,
	&fake_to_fails, &fake_down, &fake_switch, &fake_switch_a, &fake_switch_b,
};

/* ---- EFs in the fakes ------------------------------------------------------------- */

/*
 * EFs started by wait_gate() tell the test they run (started), then live
 * until the test opens their own gate (one per EF: a shared one could wake
 * another EF than the one joined).  Live EFs are tracked so that a failing
 * test's teardown can still release and join them before the reset.
 */
static sem_t gates[8], started;
static struct xos_ef *live[8];

static int wait_gate(void *arg)
{
	size_t slot = *(const size_t *)arg;

	sem_post(&started);
	while (sem_wait(&gates[slot]) < 0 && errno == EINTR)
		;
	return 42;
}

static struct xos_ef *start_in_arg(const char *icf, xos_ef_fn fn, const void *arg, size_t size)
{
	struct xos_ef_attr attr;
	struct xos_ef *ef = NULL;

	xos_ef_attr_init(&attr);
	attr.icf = icf;
	t_assert_rc(xos_ef_create(&ef, &attr, fn, arg, size), 0);
	t_assert_str(xos_ef_icf(ef), icf);
	return ef;
}

static struct xos_ef *start_in(const char *icf, xos_ef_fn fn)
{
	return start_in_arg(icf, fn, NULL, 0);
}

/* Start an EF in @icf that lives until finish_waiting(). */
static struct xos_ef *start_waiting(const char *icf)
{
	struct xos_ef *ef;
	size_t i;

	for (i = 0; i < XOS_ARRAY_SIZE(live) && live[i]; i++)
		;
	assert_true(i < XOS_ARRAY_SIZE(live));
	ef = start_in_arg(icf, wait_gate, &i, sizeof(i));
	live[i] = ef;
	while (sem_wait(&started) < 0 && errno == EINTR)
		;
	return ef;
}

/* Forget @ef and open its gate. */
static void release(struct xos_ef *ef)
{
	for (size_t i = 0; i < XOS_ARRAY_SIZE(live); i++) {
		if (live[i] == ef) {
			live[i] = NULL;
			assert_int_equal(sem_post(&gates[i]), 0);
		}
	}
}

static void finish_waiting(struct xos_ef *ef)
{
	struct xos_ef_exit ex = { 0 };

	release(ef);
	t_assert_rc(xos_ef_join(ef, &ex), 0);
	t_assert_int(ex.how, XOS_EF_EXITED);
	t_assert_int(ex.status, 42);
}

/* References held on ICF @name (EFs it hosts), not counting the lookup's own. */
static unsigned long icf_refs(const char *name)
{
	struct xos__icf_node *node = xos__icf_find(name);
	unsigned long refs;

	assert_non_null(node);
	refs = node->refs - 1;
	xos__icf_put(node);
	return refs;
}

/*
 * A runtime with the fakes only.  Initialising registers the built-ins (the
 * real process ICF is a pivot too): unregister them, so the only pivot is
 * the fake one and nothing real can be called.
 */
static int setup_with(bool with_pivot)
{
	xos__runtime_reset();
	if (xos__runtime_init() < 0 || xos_icf_unregister(&xos__icf_thread) < 0 ||
	    xos_icf_unregister(&xos__icf_process) < 0)
		return -1;
	for (size_t i = 0; i < XOS_ARRAY_SIZE(fakes); i++) {
		if (!with_pivot && fakes[i] == &fake_pivot)
			continue;
		if (xos_icf_register(fakes[i]) < 0)
			return -1;
	}
	for (size_t i = 0; i < XOS_ARRAY_SIZE(gates); i++)
		if (sem_init(&gates[i], 0, 0) < 0)
			return -1;
	if (sem_init(&started, 0, 0) < 0)
		return -1;
	memset(live, 0, sizeof(live));
	log_clear();
	dump_ic = NULL;
	dump_fd = -1;
	dump_ret = 0;
	switch_in_ret = 0;
	switch_in_wrong_ic = false;
	check_switch_out_ic = false;
	switch_out_stale_ic = false;
	return 0;
}

static int setup(void **state)
{
	(void)state;
	return setup_with(true);
}

static int setup_no_pivot(void **state)
{
	(void)state;
	return setup_with(false);
}

/* Every reference taken was given back: each fake can be unregistered. */
static int teardown(void **state)
{
	int rc = 0;

	(void)state;
	for (size_t i = 0; i < XOS_ARRAY_SIZE(live); i++) {
		if (live[i]) {
			sem_post(&gates[i]);
			xos_ef_join(live[i], NULL);
			live[i] = NULL;
		}
	}
	for (size_t i = 0; i < XOS_ARRAY_SIZE(fakes); i++) {
		int r = xos_icf_unregister(fakes[i]);

		if (r < 0 && r != -EINVAL) {
			print_error("teardown: unregister %s = %d (%s): a reference leaked\n",
				    fakes[i]->name, r, t_errname(r));
			rc = -1;
		}
	}
	for (size_t i = 0; i < XOS_ARRAY_SIZE(gates); i++)
		sem_destroy(&gates[i]);
	sem_destroy(&started);
	xos__runtime_reset();
	return rc;
}

/* ---- dump ------------------------------------------------------------------------- */

static void test_dump_dispatch(void **state)
{
	struct xos_ef *a, *b;
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

	(void)state;
	assert_true(fd >= 0);
	a = start_waiting("fa");
	b = start_waiting("fb");

	t_assert_rc(xos__ef_dump(a, fd), 0);
	t_assert_log("fa.dump");
	t_assert_ptr(dump_ic, a->ic);
	t_assert_int(dump_fd, fd);

	/* The ICF's answer is passed on. */
	dump_ret = -ENOSPC;
	t_assert_rc(xos__ef_dump(a, fd), -ENOSPC);

	/* A NULL dump: not supported, nothing called. */
	log_clear();
	t_assert_rc(xos__ef_dump(b, fd), -EOPNOTSUPP);
	t_assert_log("");

	/* Bad arguments. */
	t_assert_rc(xos__ef_dump(NULL, fd), -EINVAL);
	t_assert_rc(xos__ef_dump(a, -1), -EINVAL);
	t_assert_log("");

	finish_waiting(a);
	finish_waiting(b);
	close(fd);
}

/* ---- mutate ---------------------------------------------------------------------- */

static void test_mutate_to_pivot(void **state)
{
	struct xos_ef *ef;

	(void)state;
	ef = start_waiting("fa");
	t_assert_uint(icf_refs("fa"), 1);
	t_assert_rc(xos__ef_mutate(ef, "fp"), 0);
	t_assert_log("fa.to_pivot");
	t_assert_str(xos_ef_icf(ef), "fp");
	t_assert_ptr(ef->ic->icf, &fake_pivot);
	/* The EF holds the pivot now, not A. */
	t_assert_uint(icf_refs("fa"), 0);
	t_assert_uint(icf_refs("fp"), 1);
	finish_waiting(ef);
	t_assert_uint(icf_refs("fp"), 0);
}

static void test_mutate_from_pivot(void **state)
{
	struct xos_ef *ef;

	(void)state;
	ef = start_waiting("fp");
	t_assert_rc(xos__ef_mutate(ef, "fb"), 0);
	t_assert_log("fb.from_pivot");
	t_assert_str(xos_ef_icf(ef), "fb");
	t_assert_ptr(ef->ic->icf, &fake_b);
	t_assert_uint(icf_refs("fp"), 0);
	t_assert_uint(icf_refs("fb"), 1);
	finish_waiting(ef);
	t_assert_uint(icf_refs("fb"), 0);
}

static void test_mutate_through_pivot(void **state)
{
	struct xos_ef *ef;

	(void)state;
	ef = start_waiting("fa");
	t_assert_rc(xos__ef_mutate(ef, "fb"), 0);
	t_assert_log("fa.to_pivot fb.from_pivot");
	t_assert_str(xos_ef_icf(ef), "fb");
	t_assert_ptr(ef->ic->icf, &fake_b);
	t_assert_uint(icf_refs("fa"), 0);
	t_assert_uint(icf_refs("fp"), 0);
	t_assert_uint(icf_refs("fb"), 1);
	/* And back. */
	log_clear();
	t_assert_rc(xos__ef_mutate(ef, "fa"), 0);
	t_assert_log("fb.to_pivot fa.from_pivot");
	t_assert_str(xos_ef_icf(ef), "fa");
	/* Only the EF's current ICF is held. */
	t_assert_uint(icf_refs("fb"), 0);
	t_assert_uint(icf_refs("fp"), 0);
	t_assert_uint(icf_refs("fa"), 1);
	finish_waiting(ef);
}

static void test_mutate_same_icf(void **state)
{
	struct xos_ef *ef;

	(void)state;
	ef = start_waiting("fa");
	t_assert_rc(xos__ef_mutate(ef, "fa"), 0);
	t_assert_log("");
	t_assert_str(xos_ef_icf(ef), "fa");
	t_assert_uint(icf_refs("fa"), 1);
	finish_waiting(ef);
	ef = start_waiting("fp");
	t_assert_rc(xos__ef_mutate(ef, "fp"), 0);
	t_assert_log("");
	t_assert_uint(icf_refs("fp"), 1);
	finish_waiting(ef);
}

static void test_mutate_missing_step(void **state)
{
	static const struct {
		const char *from, *to;
	} cases[] = {
		{ "fnoto", "fp" },   /* no to_pivot */
		{ "fnoto", "fb" },   /* no to_pivot, B fine */
		{ "fp", "fnofrom" }, /* no from_pivot */
		{ "fa", "fnofrom" }, /* A fine, no from_pivot: A.to_pivot must not run */
	};

	(void)state;
	for (size_t k = 0; k < XOS_ARRAY_SIZE(cases); k++) {
		struct xos_ef *ef = start_waiting(cases[k].from);
		int rc;

		log_clear();
		rc = xos__ef_mutate(ef, cases[k].to);
		if (rc != -EOPNOTSUPP)
			fail_msg("mutate %s -> %s = %d (%s), want %d (EOPNOTSUPP)", cases[k].from,
				 cases[k].to, rc, t_errname(rc), -EOPNOTSUPP);
		t_assert_log("");
		t_assert_str(xos_ef_icf(ef), cases[k].from);
		t_assert_uint(icf_refs(cases[k].from), 1);
		t_assert_uint(icf_refs(cases[k].to), 0);
		finish_waiting(ef);
	}
}

static void test_mutate_from_pivot_fails(void **state)
{
	struct xos_ef *ef;

	(void)state;
	ef = start_waiting("fa");
	t_assert_rc(xos__ef_mutate(ef, "ffromfail"), -EIO);
	t_assert_log("fa.to_pivot ffromfail.from_pivot");
	/* Stays, running, in the pivot. */
	t_assert_str(xos_ef_icf(ef), "fp");
	t_assert_ptr(ef->ic->icf, &fake_pivot);
	t_assert_uint(icf_refs("fa"), 0);
	t_assert_uint(icf_refs("ffromfail"), 0);
	t_assert_uint(icf_refs("fp"), 1);
	/* It can still move on from there. */
	log_clear();
	t_assert_rc(xos__ef_mutate(ef, "fb"), 0);
	t_assert_log("fb.from_pivot");
	t_assert_uint(icf_refs("fp"), 0);
	t_assert_uint(icf_refs("fb"), 1);
	finish_waiting(ef);
}

static void test_mutate_to_pivot_fails(void **state)
{
	struct xos_ef *ef;

	(void)state;
	ef = start_waiting("ftofail");
	t_assert_rc(xos__ef_mutate(ef, "fb"), -EIO);
	t_assert_log("ftofail.to_pivot");
	t_assert_str(xos_ef_icf(ef), "ftofail");
	t_assert_uint(icf_refs("fp"), 0);
	t_assert_uint(icf_refs("fb"), 0);
	t_assert_uint(icf_refs("ftofail"), 1);
	finish_waiting(ef);
}

static void test_mutate_bad_target(void **state)
{
	struct xos_ef *ef;

	(void)state;
	ef = start_waiting("fa");
	t_assert_rc(xos__ef_mutate(ef, "nosuch"), -ENOENT);
	t_assert_rc(xos__ef_mutate(ef, "Bad Name"), -EINVAL);
	t_assert_rc(xos__ef_mutate(ef, ""), -EINVAL);
	t_assert_rc(xos__ef_mutate(ef, NULL), -EINVAL);
	t_assert_rc(xos__ef_mutate(NULL, "fb"), -EINVAL);
	/* Registered but unavailable. */
	t_assert_rc(xos__ef_mutate(ef, "fdown"), -ENODEV);
	t_assert_log("");
	t_assert_str(xos_ef_icf(ef), "fa");
	t_assert_uint(icf_refs("fdown"), 0);
	finish_waiting(ef);
}

static void test_mutate_without_pivot(void **state)
{
	struct xos_ef *ef;

	(void)state;
	ef = start_waiting("fa");
	t_assert_rc(xos__ef_mutate(ef, "fb"), -EOPNOTSUPP);
	t_assert_log("");
	t_assert_str(xos_ef_icf(ef), "fa");
	t_assert_uint(icf_refs("fb"), 0);
	finish_waiting(ef);
}

/* ---- switch_in / switch_out ------------------------------------------------------- */

static struct xos_ef *self_seen;

static int logged_fn(void *arg)
{
	log_call(NULL, "fn");
	fn_tid = pthread_self();
	self_seen = xos_ef_self();
	if (strcmp(xos_ef_icf(self_seen), "fsw") != 0)
		return 1000;
	if (arg)
		xos_ef_exit(*(int *)arg);
	return 7;
}

static void test_switch_around_fn(void **state)
{
	struct xos_ef *ef;
	struct xos_ef_exit ex = { 0 };

	(void)state;
	self_seen = NULL;
	ef = start_in("fsw", logged_fn);
	t_assert_rc(xos_ef_join(ef, &ex), 0);
	t_assert_int(ex.how, XOS_EF_EXITED);
	t_assert_int(ex.status, 7);
	t_assert_log("fsw.switch_in fn fsw.switch_out");
	t_assert_ptr(self_seen, ef);
	assert_false(switch_in_wrong_ic);
	/* On the EF's own flow, not the creator's. */
	assert_true(pthread_equal(switch_in_tid, fn_tid));
	assert_true(pthread_equal(switch_out_tid, fn_tid));
	assert_false(pthread_equal(fn_tid, pthread_self()));
}

static void test_switch_around_exit(void **state)
{
	struct xos_ef_attr attr;
	struct xos_ef *ef = NULL;
	struct xos_ef_exit ex = { 0 };
	int status = 5;

	(void)state;
	xos_ef_attr_init(&attr);
	attr.icf = "fsw";
	t_assert_rc(xos_ef_create(&ef, &attr, logged_fn, &status, sizeof(status)), 0);
	t_assert_rc(xos_ef_join(ef, &ex), 0);
	t_assert_int(ex.status, 5);
	/* xos_ef_exit() still switches out. */
	t_assert_log("fsw.switch_in fn fsw.switch_out");
}

static void test_switch_in_fails(void **state)
{
	struct xos_ef *ef;
	struct xos_ef_exit ex = { 0 };

	(void)state;
	switch_in_ret = -EACCES;
	ef = start_in("fsw", logged_fn);
	t_assert_rc(xos_ef_join(ef, &ex), 0);
	t_assert_int(ex.how, XOS_EF_EXITED);
	t_assert_int(ex.status, 127);
	/* The function never ran. */
	if (strstr(call_log, "fn"))
		fail_msg("calls: \"%s\": the EF ran after switch_in failed", call_log);
	assert_true(strncmp(call_log, "fsw.switch_in", 13) == 0);
}

/*
 * An EF mutated A -> B while it runs ends in B: the switch_out that closes
 * its last period goes to B with B's IC, never to A with the IC that
 * A.to_pivot destroyed ("around every period in which the EF runs in @ic";
 * to_pivot: "@ic is destroyed on success").  Whether the core also calls
 * the hooks around the mutate itself is left open here.
 */
static void test_switch_out_after_mutate(void **state)
{
	struct xos_ef *ef;
	char log_copy[sizeof(call_log)];
	const char *to_pivot, *last;

	(void)state;
	check_switch_out_ic = true;
	ef = start_waiting("fswa");
	t_assert_rc(xos__ef_mutate(ef, "fswb"), 0);
	t_assert_str(xos_ef_icf(ef), "fswb");
	finish_waiting(ef);

	pthread_mutex_lock(&log_lock);
	memcpy(log_copy, call_log, sizeof(log_copy));
	pthread_mutex_unlock(&log_lock);
	to_pivot = strstr(log_copy, "fswa.to_pivot");
	assert_non_null(to_pivot);
	if (strstr(to_pivot, "fswa.switch_out"))
		fail_msg("calls: \"%s\": fswa.switch_out after fswa.to_pivot (the EF had "
			 "left fswa; its IC was destroyed)", log_copy);
	last = strrchr(log_copy, ' ');
	last = last ? last + 1 : log_copy;
	if (strcmp(last, "fswb.switch_out") != 0)
		fail_msg("calls: \"%s\": the EF's last call is %s, want fswb.switch_out",
			 log_copy, last);
	assert_false(switch_out_stale_ic);
}

/* NULL switch_in/switch_out/destroy/init: nothing to do. */
static void test_minimal_icf(void **state)
{
	static const struct xos_icf_ops ops = { .create = fake_create, .wait = fake_wait };
	static const struct xos_icf minimal = FAKE("fmin", XOS_ISO_NONE, 0, ops);
	struct xos_ef *ef;
	struct fake_flow *flow;
	struct xos_ef_exit ex = { 0 };

	(void)state;
	t_assert_rc(xos_icf_register(&minimal), 0);
	ef = start_in("fmin", logged_fn);
	flow = fake_of(ef->ic)->flow;
	t_assert_rc(xos__ef_dump(ef, 2), -EOPNOTSUPP);
	t_assert_rc(xos__ef_mutate(ef, "fb"), -EOPNOTSUPP);
	t_assert_rc(xos__ef_mutate(ef, "fp"), -EOPNOTSUPP);
	t_assert_rc(xos_ef_join(ef, &ex), 0);
	/* logged_fn returns 1000 outside "fsw". */
	t_assert_int(ex.status, 1000);
	t_assert_log("fn");
	/* No destroy: the IC is ours to free. */
	fake_destroy(&flow->ics->ic);
	t_assert_rc(xos_icf_unregister(&minimal), 0);
}

static int create_fails(const struct xos_icf *icf, struct xos_ef *ef, struct xos_ic **ret_ic)
{
	(void)ef, (void)ret_ic;
	log_call(icf->name, "create");
	return -EAGAIN;
}

/* A failing create() is reported as is, and gives back the ICF's reference. */
static void test_create_fails(void **state)
{
	static const struct xos_icf_ops ops = { .create = create_fails, .wait = fake_wait };
	static const struct xos_icf failing = FAKE("fcreatefail", XOS_ISO_NONE, 0, ops);
	struct xos_ef_attr attr;
	struct xos_ef *ef = (struct xos_ef *)&attr;

	(void)state;
	t_assert_rc(xos_icf_register(&failing), 0);
	xos_ef_attr_init(&attr);
	attr.icf = "fcreatefail";
	t_assert_rc(xos_ef_create(&ef, &attr, logged_fn, NULL, 0), -EAGAIN);
	t_assert_ptr(ef, &attr);
	t_assert_log("fcreatefail.create");
	t_assert_uint(xos__ef_count(), 0);
	t_assert_rc(xos_icf_unregister(&failing), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_dump_dispatch),
		T(test_mutate_to_pivot),
		T(test_mutate_from_pivot),
		T(test_mutate_through_pivot),
		T(test_mutate_same_icf),
		T(test_mutate_missing_step),
		T(test_mutate_from_pivot_fails),
		T(test_mutate_to_pivot_fails),
		T(test_mutate_bad_target),
		cmocka_unit_test_setup_teardown(test_mutate_without_pivot, setup_no_pivot, teardown),
		T(test_switch_around_fn),
		T(test_switch_around_exit),
		T(test_switch_in_fails),
		T(test_switch_out_after_mutate),
		T(test_minimal_icf),
		T(test_create_fails),
#undef T
	};

	t_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
