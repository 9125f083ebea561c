/* SPDX-License-Identifier: MIT */
/*
 * Description: the policy (src/runtime/policy.c), which is pure, so every
 * combination is checked.  A table lists, for synthetic candidates (thread,
 * process, sandbox, kvm) in two availability scenarios, the ICF chosen or
 * the error for every policy x required isolation x performance hint x
 * acceptable set.  Then: an explicit attr.icf (-ENOENT, -ENODEV, -EPERM),
 * a forced ICF (used when allowed, else the policy decides and the
 * explanation names the forced ICF), malformed acceptable sets, ties, the
 * explanation itself, xos__policy_parse/xos__policy_name and
 * xos__icf_in_set.
 */
#include "unit.h"

#include <limits.h>

/* ---- synthetic candidates -------------------------------------------------- */

/*
 * Creation costs order them thread < process < sandbox < kvm.  Channel costs
 * (to the creator) order them process < kvm < sandbox < thread, so the hint
 * XOS_PERF_COMM changes the answer: process beats thread, kvm beats sandbox,
 * sandbox beats thread.
 */
static const struct xos_icf icf_thread = {
	.name = "thread", .isolation = XOS_ISO_NONE, .features = XOS_ICF_F_SHARED_MEMORY,
	.create_cost = 20000,
};
static const struct xos_icf icf_process = {
	.name = "process", .isolation = XOS_ISO_MEMORY,
	.features = XOS_ICF_F_OWN_FDS | XOS_ICF_F_CRASH_CONTAINED | XOS_ICF_F_PIVOT,
	.create_cost = 150000,
};
static const struct xos_icf icf_sandbox = {
	.name = "sandbox", .isolation = XOS_ISO_SYSCALLS,
	.features = XOS_ICF_F_OWN_FDS | XOS_ICF_F_CRASH_CONTAINED, .create_cost = 400000,
};
static const struct xos_icf icf_kvm = {
	.name = "kvm", .isolation = XOS_ISO_KERNEL,
	.features = XOS_ICF_F_OWN_FDS | XOS_ICF_F_CRASH_CONTAINED, .create_cost = 900000,
};

enum { CAND_THREAD, CAND_PROCESS, CAND_SANDBOX, CAND_KVM, NCANDS };

/* Availability scenarios. */
enum scenario {
	SC_ALL, /* all four available */
	SC_TS,  /* only thread and sandbox: process and kvm unavailable */
	SC_COUNT_,
};

static const char *const scenario_names[] = { [SC_ALL] = "all", [SC_TS] = "thread+sandbox" };

static void candidates(enum scenario sc, struct xos__candidate c[NCANDS])
{
	c[CAND_THREAD] = (struct xos__candidate){
		.icf = &icf_thread, .available = true, .reason = "", .com_cost = 60000,
		.com_mech = "pipe",
	};
	c[CAND_PROCESS] = (struct xos__candidate){
		.icf = &icf_process, .available = true, .reason = "", .com_cost = 200,
		.com_mech = "ring",
	};
	c[CAND_SANDBOX] = (struct xos__candidate){
		.icf = &icf_sandbox, .available = true, .reason = "", .com_cost = 55000,
		.com_mech = "unix",
	};
	c[CAND_KVM] = (struct xos__candidate){
		.icf = &icf_kvm, .available = true, .reason = "", .com_cost = 30000,
		.com_mech = "vsock",
	};
	if (sc == SC_TS) {
		c[CAND_PROCESS].available = false;
		c[CAND_PROCESS].reason = "fork disabled";
		c[CAND_KVM].available = false;
		c[CAND_KVM].reason = "no /dev/kvm";
	}
}

static struct xos__settings settings(enum xos__policy p, const char *forced)
{
	struct xos__settings s = { .policy = p };

	if (forced)
		snprintf(s.forced_icf, sizeof(s.forced_icf), "%s", forced);
	return s;
}

static struct xos_ef_attr attr_of(enum xos_isolation iso, enum xos_perf_hint perf, const char *set)
{
	struct xos_ef_attr attr;

	xos_ef_attr_init(&attr);
	attr.isolation = iso;
	attr.perf = perf;
	attr.icfs = set;
	return attr;
}

#define WHY_LEN 512

/* Choose; on success return the chosen name (else NULL) and check the explanation. */
static int choose(const struct xos__settings *set, const struct xos_ef_attr *attr,
		  const struct xos__candidate *c, size_t n, const char **ret_name, char *why)
{
	size_t index = SIZE_MAX;
	int rc;

	memset(why, 'x', WHY_LEN);
	rc = xos__policy_choose(set, attr, c, n, &index, why, WHY_LEN);
	if (!memchr(why, '\0', WHY_LEN))
		fail_msg("why is not NUL-terminated (rc %d)", rc);
	if (!why[0])
		fail_msg("empty explanation (rc %d)", rc);
	*ret_name = NULL;
	if (rc == 0) {
		if (index >= n)
			fail_msg("rc 0 but index %zu out of %zu candidates", index, n);
		*ret_name = c[index].icf->name;
	}
	return rc;
}

/* "isolation <level>" of the chosen ICF appears in @why. */
static void assert_why_names_isolation(const char *why, const char *name,
				       const struct xos__candidate *c, size_t n)
{
	char expect[64];

	for (size_t i = 0; i < n; i++) {
		if (strcmp(c[i].icf->name, name) == 0) {
			snprintf(expect, sizeof(expect), "isolation %s",
				 xos_isolation_name(c[i].icf->isolation));
			t_assert_contains(why, expect);
			return;
		}
	}
	fail_msg("%s is not a candidate", name);
}

/* ---- the table ---------------------------------------------------------------- */

#define P_PERF XOS_POLICY_PERF
#define P_ISO XOS_POLICY_ISOLATION
#define P_BAL XOS_POLICY_BALANCED
#define I_NONE XOS_ISO_NONE
#define I_MEM XOS_ISO_MEMORY
#define I_SYS XOS_ISO_SYSCALLS
#define I_KERN XOS_ISO_KERNEL
#define H_ANY XOS_PERF_ANY
#define H_CREATE XOS_PERF_CREATE
#define H_COMM XOS_PERF_COMM
#define W(name) name, 0   /* chosen ICF */
#define E(err) NULL, err  /* error */

struct row {
	enum scenario sc;
	enum xos__policy policy;
	enum xos_isolation iso;
	enum xos_perf_hint perf;
	const char *set; /* acceptable ICFs */
	const char *want;
	int rc;
};

/*
 * perf: cheapest that meets the isolation; isolation: strongest, cheapest
 * among equals; balanced: cheapest with at least memory isolation, else as
 * perf.  Cheapest: creation cost, then channel cost; channel cost first
 * under H_COMM.
 */
static const struct row table[] = {
	{ SC_ALL, P_PERF, I_NONE, H_ANY,    NULL,             W("thread") },
	{ SC_ALL, P_PERF, I_NONE, H_ANY,    "thread",         W("thread") },
	{ SC_ALL, P_PERF, I_NONE, H_ANY,    "process,thread", W("thread") },
	{ SC_ALL, P_PERF, I_NONE, H_ANY,    "sandbox",        W("sandbox") },
	{ SC_ALL, P_PERF, I_NONE, H_CREATE, NULL,             W("thread") },
	{ SC_ALL, P_PERF, I_NONE, H_CREATE, "thread",         W("thread") },
	{ SC_ALL, P_PERF, I_NONE, H_CREATE, "process,thread", W("thread") },
	{ SC_ALL, P_PERF, I_NONE, H_CREATE, "sandbox",        W("sandbox") },
	{ SC_ALL, P_PERF, I_NONE, H_COMM,   NULL,             W("process") },
	{ SC_ALL, P_PERF, I_NONE, H_COMM,   "thread",         W("thread") },
	{ SC_ALL, P_PERF, I_NONE, H_COMM,   "process,thread", W("process") },
	{ SC_ALL, P_PERF, I_NONE, H_COMM,   "sandbox",        W("sandbox") },
	{ SC_ALL, P_PERF, I_MEM,  H_ANY,    NULL,             W("process") },
	{ SC_ALL, P_PERF, I_MEM,  H_ANY,    "thread",         E(-ENODEV) },
	{ SC_ALL, P_PERF, I_MEM,  H_ANY,    "process,thread", W("process") },
	{ SC_ALL, P_PERF, I_MEM,  H_ANY,    "sandbox",        W("sandbox") },
	{ SC_ALL, P_PERF, I_MEM,  H_CREATE, NULL,             W("process") },
	{ SC_ALL, P_PERF, I_MEM,  H_CREATE, "thread",         E(-ENODEV) },
	{ SC_ALL, P_PERF, I_MEM,  H_CREATE, "process,thread", W("process") },
	{ SC_ALL, P_PERF, I_MEM,  H_CREATE, "sandbox",        W("sandbox") },
	{ SC_ALL, P_PERF, I_MEM,  H_COMM,   NULL,             W("process") },
	{ SC_ALL, P_PERF, I_MEM,  H_COMM,   "thread",         E(-ENODEV) },
	{ SC_ALL, P_PERF, I_MEM,  H_COMM,   "process,thread", W("process") },
	{ SC_ALL, P_PERF, I_MEM,  H_COMM,   "sandbox",        W("sandbox") },
	{ SC_ALL, P_PERF, I_SYS,  H_ANY,    NULL,             W("sandbox") },
	{ SC_ALL, P_PERF, I_SYS,  H_ANY,    "thread",         E(-ENODEV) },
	{ SC_ALL, P_PERF, I_SYS,  H_ANY,    "process,thread", E(-ENODEV) },
	{ SC_ALL, P_PERF, I_SYS,  H_ANY,    "sandbox",        W("sandbox") },
	{ SC_ALL, P_PERF, I_SYS,  H_CREATE, NULL,             W("sandbox") },
	{ SC_ALL, P_PERF, I_SYS,  H_CREATE, "thread",         E(-ENODEV) },
	{ SC_ALL, P_PERF, I_SYS,  H_CREATE, "process,thread", E(-ENODEV) },
	{ SC_ALL, P_PERF, I_SYS,  H_CREATE, "sandbox",        W("sandbox") },
	{ SC_ALL, P_PERF, I_SYS,  H_COMM,   NULL,             W("kvm") },
	{ SC_ALL, P_PERF, I_SYS,  H_COMM,   "thread",         E(-ENODEV) },
	{ SC_ALL, P_PERF, I_SYS,  H_COMM,   "process,thread", E(-ENODEV) },
	{ SC_ALL, P_PERF, I_SYS,  H_COMM,   "sandbox",        W("sandbox") },
	{ SC_ALL, P_PERF, I_KERN, H_ANY,    NULL,             W("kvm") },
	{ SC_ALL, P_PERF, I_KERN, H_ANY,    "thread",         E(-ENODEV) },
	{ SC_ALL, P_PERF, I_KERN, H_ANY,    "process,thread", E(-ENODEV) },
	{ SC_ALL, P_PERF, I_KERN, H_ANY,    "sandbox",        E(-ENODEV) },
	{ SC_ALL, P_PERF, I_KERN, H_CREATE, NULL,             W("kvm") },
	{ SC_ALL, P_PERF, I_KERN, H_CREATE, "thread",         E(-ENODEV) },
	{ SC_ALL, P_PERF, I_KERN, H_CREATE, "process,thread", E(-ENODEV) },
	{ SC_ALL, P_PERF, I_KERN, H_CREATE, "sandbox",        E(-ENODEV) },
	{ SC_ALL, P_PERF, I_KERN, H_COMM,   NULL,             W("kvm") },
	{ SC_ALL, P_PERF, I_KERN, H_COMM,   "thread",         E(-ENODEV) },
	{ SC_ALL, P_PERF, I_KERN, H_COMM,   "process,thread", E(-ENODEV) },
	{ SC_ALL, P_PERF, I_KERN, H_COMM,   "sandbox",        E(-ENODEV) },
	{ SC_ALL, P_ISO,  I_NONE, H_ANY,    NULL,             W("kvm") },
	{ SC_ALL, P_ISO,  I_NONE, H_ANY,    "thread",         W("thread") },
	{ SC_ALL, P_ISO,  I_NONE, H_ANY,    "process,thread", W("process") },
	{ SC_ALL, P_ISO,  I_NONE, H_ANY,    "sandbox",        W("sandbox") },
	{ SC_ALL, P_ISO,  I_NONE, H_CREATE, NULL,             W("kvm") },
	{ SC_ALL, P_ISO,  I_NONE, H_CREATE, "thread",         W("thread") },
	{ SC_ALL, P_ISO,  I_NONE, H_CREATE, "process,thread", W("process") },
	{ SC_ALL, P_ISO,  I_NONE, H_CREATE, "sandbox",        W("sandbox") },
	{ SC_ALL, P_ISO,  I_NONE, H_COMM,   NULL,             W("kvm") },
	{ SC_ALL, P_ISO,  I_NONE, H_COMM,   "thread",         W("thread") },
	{ SC_ALL, P_ISO,  I_NONE, H_COMM,   "process,thread", W("process") },
	{ SC_ALL, P_ISO,  I_NONE, H_COMM,   "sandbox",        W("sandbox") },
	{ SC_ALL, P_ISO,  I_MEM,  H_ANY,    NULL,             W("kvm") },
	{ SC_ALL, P_ISO,  I_MEM,  H_ANY,    "thread",         E(-ENODEV) },
	{ SC_ALL, P_ISO,  I_MEM,  H_ANY,    "process,thread", W("process") },
	{ SC_ALL, P_ISO,  I_MEM,  H_ANY,    "sandbox",        W("sandbox") },
	{ SC_ALL, P_ISO,  I_MEM,  H_CREATE, NULL,             W("kvm") },
	{ SC_ALL, P_ISO,  I_MEM,  H_CREATE, "thread",         E(-ENODEV) },
	{ SC_ALL, P_ISO,  I_MEM,  H_CREATE, "process,thread", W("process") },
	{ SC_ALL, P_ISO,  I_MEM,  H_CREATE, "sandbox",        W("sandbox") },
	{ SC_ALL, P_ISO,  I_MEM,  H_COMM,   NULL,             W("kvm") },
	{ SC_ALL, P_ISO,  I_MEM,  H_COMM,   "thread",         E(-ENODEV) },
	{ SC_ALL, P_ISO,  I_MEM,  H_COMM,   "process,thread", W("process") },
	{ SC_ALL, P_ISO,  I_MEM,  H_COMM,   "sandbox",        W("sandbox") },
	{ SC_ALL, P_ISO,  I_SYS,  H_ANY,    NULL,             W("kvm") },
	{ SC_ALL, P_ISO,  I_SYS,  H_ANY,    "thread",         E(-ENODEV) },
	{ SC_ALL, P_ISO,  I_SYS,  H_ANY,    "process,thread", E(-ENODEV) },
	{ SC_ALL, P_ISO,  I_SYS,  H_ANY,    "sandbox",        W("sandbox") },
	{ SC_ALL, P_ISO,  I_SYS,  H_CREATE, NULL,             W("kvm") },
	{ SC_ALL, P_ISO,  I_SYS,  H_CREATE, "thread",         E(-ENODEV) },
	{ SC_ALL, P_ISO,  I_SYS,  H_CREATE, "process,thread", E(-ENODEV) },
	{ SC_ALL, P_ISO,  I_SYS,  H_CREATE, "sandbox",        W("sandbox") },
	{ SC_ALL, P_ISO,  I_SYS,  H_COMM,   NULL,             W("kvm") },
	{ SC_ALL, P_ISO,  I_SYS,  H_COMM,   "thread",         E(-ENODEV) },
	{ SC_ALL, P_ISO,  I_SYS,  H_COMM,   "process,thread", E(-ENODEV) },
	{ SC_ALL, P_ISO,  I_SYS,  H_COMM,   "sandbox",        W("sandbox") },
	{ SC_ALL, P_ISO,  I_KERN, H_ANY,    NULL,             W("kvm") },
	{ SC_ALL, P_ISO,  I_KERN, H_ANY,    "thread",         E(-ENODEV) },
	{ SC_ALL, P_ISO,  I_KERN, H_ANY,    "process,thread", E(-ENODEV) },
	{ SC_ALL, P_ISO,  I_KERN, H_ANY,    "sandbox",        E(-ENODEV) },
	{ SC_ALL, P_ISO,  I_KERN, H_CREATE, NULL,             W("kvm") },
	{ SC_ALL, P_ISO,  I_KERN, H_CREATE, "thread",         E(-ENODEV) },
	{ SC_ALL, P_ISO,  I_KERN, H_CREATE, "process,thread", E(-ENODEV) },
	{ SC_ALL, P_ISO,  I_KERN, H_CREATE, "sandbox",        E(-ENODEV) },
	{ SC_ALL, P_ISO,  I_KERN, H_COMM,   NULL,             W("kvm") },
	{ SC_ALL, P_ISO,  I_KERN, H_COMM,   "thread",         E(-ENODEV) },
	{ SC_ALL, P_ISO,  I_KERN, H_COMM,   "process,thread", E(-ENODEV) },
	{ SC_ALL, P_ISO,  I_KERN, H_COMM,   "sandbox",        E(-ENODEV) },
	{ SC_ALL, P_BAL,  I_NONE, H_ANY,    NULL,             W("process") },
	{ SC_ALL, P_BAL,  I_NONE, H_ANY,    "thread",         W("thread") },
	{ SC_ALL, P_BAL,  I_NONE, H_ANY,    "process,thread", W("process") },
	{ SC_ALL, P_BAL,  I_NONE, H_ANY,    "sandbox",        W("sandbox") },
	{ SC_ALL, P_BAL,  I_NONE, H_CREATE, NULL,             W("process") },
	{ SC_ALL, P_BAL,  I_NONE, H_CREATE, "thread",         W("thread") },
	{ SC_ALL, P_BAL,  I_NONE, H_CREATE, "process,thread", W("process") },
	{ SC_ALL, P_BAL,  I_NONE, H_CREATE, "sandbox",        W("sandbox") },
	{ SC_ALL, P_BAL,  I_NONE, H_COMM,   NULL,             W("process") },
	{ SC_ALL, P_BAL,  I_NONE, H_COMM,   "thread",         W("thread") },
	{ SC_ALL, P_BAL,  I_NONE, H_COMM,   "process,thread", W("process") },
	{ SC_ALL, P_BAL,  I_NONE, H_COMM,   "sandbox",        W("sandbox") },
	{ SC_ALL, P_BAL,  I_MEM,  H_ANY,    NULL,             W("process") },
	{ SC_ALL, P_BAL,  I_MEM,  H_ANY,    "thread",         E(-ENODEV) },
	{ SC_ALL, P_BAL,  I_MEM,  H_ANY,    "process,thread", W("process") },
	{ SC_ALL, P_BAL,  I_MEM,  H_ANY,    "sandbox",        W("sandbox") },
	{ SC_ALL, P_BAL,  I_MEM,  H_CREATE, NULL,             W("process") },
	{ SC_ALL, P_BAL,  I_MEM,  H_CREATE, "thread",         E(-ENODEV) },
	{ SC_ALL, P_BAL,  I_MEM,  H_CREATE, "process,thread", W("process") },
	{ SC_ALL, P_BAL,  I_MEM,  H_CREATE, "sandbox",        W("sandbox") },
	{ SC_ALL, P_BAL,  I_MEM,  H_COMM,   NULL,             W("process") },
	{ SC_ALL, P_BAL,  I_MEM,  H_COMM,   "thread",         E(-ENODEV) },
	{ SC_ALL, P_BAL,  I_MEM,  H_COMM,   "process,thread", W("process") },
	{ SC_ALL, P_BAL,  I_MEM,  H_COMM,   "sandbox",        W("sandbox") },
	{ SC_ALL, P_BAL,  I_SYS,  H_ANY,    NULL,             W("sandbox") },
	{ SC_ALL, P_BAL,  I_SYS,  H_ANY,    "thread",         E(-ENODEV) },
	{ SC_ALL, P_BAL,  I_SYS,  H_ANY,    "process,thread", E(-ENODEV) },
	{ SC_ALL, P_BAL,  I_SYS,  H_ANY,    "sandbox",        W("sandbox") },
	{ SC_ALL, P_BAL,  I_SYS,  H_CREATE, NULL,             W("sandbox") },
	{ SC_ALL, P_BAL,  I_SYS,  H_CREATE, "thread",         E(-ENODEV) },
	{ SC_ALL, P_BAL,  I_SYS,  H_CREATE, "process,thread", E(-ENODEV) },
	{ SC_ALL, P_BAL,  I_SYS,  H_CREATE, "sandbox",        W("sandbox") },
	{ SC_ALL, P_BAL,  I_SYS,  H_COMM,   NULL,             W("kvm") },
	{ SC_ALL, P_BAL,  I_SYS,  H_COMM,   "thread",         E(-ENODEV) },
	{ SC_ALL, P_BAL,  I_SYS,  H_COMM,   "process,thread", E(-ENODEV) },
	{ SC_ALL, P_BAL,  I_SYS,  H_COMM,   "sandbox",        W("sandbox") },
	{ SC_ALL, P_BAL,  I_KERN, H_ANY,    NULL,             W("kvm") },
	{ SC_ALL, P_BAL,  I_KERN, H_ANY,    "thread",         E(-ENODEV) },
	{ SC_ALL, P_BAL,  I_KERN, H_ANY,    "process,thread", E(-ENODEV) },
	{ SC_ALL, P_BAL,  I_KERN, H_ANY,    "sandbox",        E(-ENODEV) },
	{ SC_ALL, P_BAL,  I_KERN, H_CREATE, NULL,             W("kvm") },
	{ SC_ALL, P_BAL,  I_KERN, H_CREATE, "thread",         E(-ENODEV) },
	{ SC_ALL, P_BAL,  I_KERN, H_CREATE, "process,thread", E(-ENODEV) },
	{ SC_ALL, P_BAL,  I_KERN, H_CREATE, "sandbox",        E(-ENODEV) },
	{ SC_ALL, P_BAL,  I_KERN, H_COMM,   NULL,             W("kvm") },
	{ SC_ALL, P_BAL,  I_KERN, H_COMM,   "thread",         E(-ENODEV) },
	{ SC_ALL, P_BAL,  I_KERN, H_COMM,   "process,thread", E(-ENODEV) },
	{ SC_ALL, P_BAL,  I_KERN, H_COMM,   "sandbox",        E(-ENODEV) },
	{ SC_TS,  P_PERF, I_NONE, H_ANY,    NULL,             W("thread") },
	{ SC_TS,  P_PERF, I_NONE, H_ANY,    "thread",         W("thread") },
	{ SC_TS,  P_PERF, I_NONE, H_ANY,    "process,thread", W("thread") },
	{ SC_TS,  P_PERF, I_NONE, H_ANY,    "sandbox",        W("sandbox") },
	{ SC_TS,  P_PERF, I_NONE, H_CREATE, NULL,             W("thread") },
	{ SC_TS,  P_PERF, I_NONE, H_CREATE, "thread",         W("thread") },
	{ SC_TS,  P_PERF, I_NONE, H_CREATE, "process,thread", W("thread") },
	{ SC_TS,  P_PERF, I_NONE, H_CREATE, "sandbox",        W("sandbox") },
	{ SC_TS,  P_PERF, I_NONE, H_COMM,   NULL,             W("sandbox") },
	{ SC_TS,  P_PERF, I_NONE, H_COMM,   "thread",         W("thread") },
	{ SC_TS,  P_PERF, I_NONE, H_COMM,   "process,thread", W("thread") },
	{ SC_TS,  P_PERF, I_NONE, H_COMM,   "sandbox",        W("sandbox") },
	{ SC_TS,  P_PERF, I_MEM,  H_ANY,    NULL,             W("sandbox") },
	{ SC_TS,  P_PERF, I_MEM,  H_ANY,    "thread",         E(-ENODEV) },
	{ SC_TS,  P_PERF, I_MEM,  H_ANY,    "process,thread", E(-ENODEV) },
	{ SC_TS,  P_PERF, I_MEM,  H_ANY,    "sandbox",        W("sandbox") },
	{ SC_TS,  P_PERF, I_MEM,  H_CREATE, NULL,             W("sandbox") },
	{ SC_TS,  P_PERF, I_MEM,  H_CREATE, "thread",         E(-ENODEV) },
	{ SC_TS,  P_PERF, I_MEM,  H_CREATE, "process,thread", E(-ENODEV) },
	{ SC_TS,  P_PERF, I_MEM,  H_CREATE, "sandbox",        W("sandbox") },
	{ SC_TS,  P_PERF, I_MEM,  H_COMM,   NULL,             W("sandbox") },
	{ SC_TS,  P_PERF, I_MEM,  H_COMM,   "thread",         E(-ENODEV) },
	{ SC_TS,  P_PERF, I_MEM,  H_COMM,   "process,thread", E(-ENODEV) },
	{ SC_TS,  P_PERF, I_MEM,  H_COMM,   "sandbox",        W("sandbox") },
	{ SC_TS,  P_PERF, I_SYS,  H_ANY,    NULL,             W("sandbox") },
	{ SC_TS,  P_PERF, I_SYS,  H_ANY,    "thread",         E(-ENODEV) },
	{ SC_TS,  P_PERF, I_SYS,  H_ANY,    "process,thread", E(-ENODEV) },
	{ SC_TS,  P_PERF, I_SYS,  H_ANY,    "sandbox",        W("sandbox") },
	{ SC_TS,  P_PERF, I_SYS,  H_CREATE, NULL,             W("sandbox") },
	{ SC_TS,  P_PERF, I_SYS,  H_CREATE, "thread",         E(-ENODEV) },
	{ SC_TS,  P_PERF, I_SYS,  H_CREATE, "process,thread", E(-ENODEV) },
	{ SC_TS,  P_PERF, I_SYS,  H_CREATE, "sandbox",        W("sandbox") },
	{ SC_TS,  P_PERF, I_SYS,  H_COMM,   NULL,             W("sandbox") },
	{ SC_TS,  P_PERF, I_SYS,  H_COMM,   "thread",         E(-ENODEV) },
	{ SC_TS,  P_PERF, I_SYS,  H_COMM,   "process,thread", E(-ENODEV) },
	{ SC_TS,  P_PERF, I_SYS,  H_COMM,   "sandbox",        W("sandbox") },
	{ SC_TS,  P_PERF, I_KERN, H_ANY,    NULL,             E(-ENODEV) },
	{ SC_TS,  P_PERF, I_KERN, H_ANY,    "thread",         E(-ENODEV) },
	{ SC_TS,  P_PERF, I_KERN, H_ANY,    "process,thread", E(-ENODEV) },
	{ SC_TS,  P_PERF, I_KERN, H_ANY,    "sandbox",        E(-ENODEV) },
	{ SC_TS,  P_PERF, I_KERN, H_CREATE, NULL,             E(-ENODEV) },
	{ SC_TS,  P_PERF, I_KERN, H_CREATE, "thread",         E(-ENODEV) },
	{ SC_TS,  P_PERF, I_KERN, H_CREATE, "process,thread", E(-ENODEV) },
	{ SC_TS,  P_PERF, I_KERN, H_CREATE, "sandbox",        E(-ENODEV) },
	{ SC_TS,  P_PERF, I_KERN, H_COMM,   NULL,             E(-ENODEV) },
	{ SC_TS,  P_PERF, I_KERN, H_COMM,   "thread",         E(-ENODEV) },
	{ SC_TS,  P_PERF, I_KERN, H_COMM,   "process,thread", E(-ENODEV) },
	{ SC_TS,  P_PERF, I_KERN, H_COMM,   "sandbox",        E(-ENODEV) },
	{ SC_TS,  P_ISO,  I_NONE, H_ANY,    NULL,             W("sandbox") },
	{ SC_TS,  P_ISO,  I_NONE, H_ANY,    "thread",         W("thread") },
	{ SC_TS,  P_ISO,  I_NONE, H_ANY,    "process,thread", W("thread") },
	{ SC_TS,  P_ISO,  I_NONE, H_ANY,    "sandbox",        W("sandbox") },
	{ SC_TS,  P_ISO,  I_NONE, H_CREATE, NULL,             W("sandbox") },
	{ SC_TS,  P_ISO,  I_NONE, H_CREATE, "thread",         W("thread") },
	{ SC_TS,  P_ISO,  I_NONE, H_CREATE, "process,thread", W("thread") },
	{ SC_TS,  P_ISO,  I_NONE, H_CREATE, "sandbox",        W("sandbox") },
	{ SC_TS,  P_ISO,  I_NONE, H_COMM,   NULL,             W("sandbox") },
	{ SC_TS,  P_ISO,  I_NONE, H_COMM,   "thread",         W("thread") },
	{ SC_TS,  P_ISO,  I_NONE, H_COMM,   "process,thread", W("thread") },
	{ SC_TS,  P_ISO,  I_NONE, H_COMM,   "sandbox",        W("sandbox") },
	{ SC_TS,  P_ISO,  I_MEM,  H_ANY,    NULL,             W("sandbox") },
	{ SC_TS,  P_ISO,  I_MEM,  H_ANY,    "thread",         E(-ENODEV) },
	{ SC_TS,  P_ISO,  I_MEM,  H_ANY,    "process,thread", E(-ENODEV) },
	{ SC_TS,  P_ISO,  I_MEM,  H_ANY,    "sandbox",        W("sandbox") },
	{ SC_TS,  P_ISO,  I_MEM,  H_CREATE, NULL,             W("sandbox") },
	{ SC_TS,  P_ISO,  I_MEM,  H_CREATE, "thread",         E(-ENODEV) },
	{ SC_TS,  P_ISO,  I_MEM,  H_CREATE, "process,thread", E(-ENODEV) },
	{ SC_TS,  P_ISO,  I_MEM,  H_CREATE, "sandbox",        W("sandbox") },
	{ SC_TS,  P_ISO,  I_MEM,  H_COMM,   NULL,             W("sandbox") },
	{ SC_TS,  P_ISO,  I_MEM,  H_COMM,   "thread",         E(-ENODEV) },
	{ SC_TS,  P_ISO,  I_MEM,  H_COMM,   "process,thread", E(-ENODEV) },
	{ SC_TS,  P_ISO,  I_MEM,  H_COMM,   "sandbox",        W("sandbox") },
	{ SC_TS,  P_ISO,  I_SYS,  H_ANY,    NULL,             W("sandbox") },
	{ SC_TS,  P_ISO,  I_SYS,  H_ANY,    "thread",         E(-ENODEV) },
	{ SC_TS,  P_ISO,  I_SYS,  H_ANY,    "process,thread", E(-ENODEV) },
	{ SC_TS,  P_ISO,  I_SYS,  H_ANY,    "sandbox",        W("sandbox") },
	{ SC_TS,  P_ISO,  I_SYS,  H_CREATE, NULL,             W("sandbox") },
	{ SC_TS,  P_ISO,  I_SYS,  H_CREATE, "thread",         E(-ENODEV) },
	{ SC_TS,  P_ISO,  I_SYS,  H_CREATE, "process,thread", E(-ENODEV) },
	{ SC_TS,  P_ISO,  I_SYS,  H_CREATE, "sandbox",        W("sandbox") },
	{ SC_TS,  P_ISO,  I_SYS,  H_COMM,   NULL,             W("sandbox") },
	{ SC_TS,  P_ISO,  I_SYS,  H_COMM,   "thread",         E(-ENODEV) },
	{ SC_TS,  P_ISO,  I_SYS,  H_COMM,   "process,thread", E(-ENODEV) },
	{ SC_TS,  P_ISO,  I_SYS,  H_COMM,   "sandbox",        W("sandbox") },
	{ SC_TS,  P_ISO,  I_KERN, H_ANY,    NULL,             E(-ENODEV) },
	{ SC_TS,  P_ISO,  I_KERN, H_ANY,    "thread",         E(-ENODEV) },
	{ SC_TS,  P_ISO,  I_KERN, H_ANY,    "process,thread", E(-ENODEV) },
	{ SC_TS,  P_ISO,  I_KERN, H_ANY,    "sandbox",        E(-ENODEV) },
	{ SC_TS,  P_ISO,  I_KERN, H_CREATE, NULL,             E(-ENODEV) },
	{ SC_TS,  P_ISO,  I_KERN, H_CREATE, "thread",         E(-ENODEV) },
	{ SC_TS,  P_ISO,  I_KERN, H_CREATE, "process,thread", E(-ENODEV) },
	{ SC_TS,  P_ISO,  I_KERN, H_CREATE, "sandbox",        E(-ENODEV) },
	{ SC_TS,  P_ISO,  I_KERN, H_COMM,   NULL,             E(-ENODEV) },
	{ SC_TS,  P_ISO,  I_KERN, H_COMM,   "thread",         E(-ENODEV) },
	{ SC_TS,  P_ISO,  I_KERN, H_COMM,   "process,thread", E(-ENODEV) },
	{ SC_TS,  P_ISO,  I_KERN, H_COMM,   "sandbox",        E(-ENODEV) },
	{ SC_TS,  P_BAL,  I_NONE, H_ANY,    NULL,             W("sandbox") },
	{ SC_TS,  P_BAL,  I_NONE, H_ANY,    "thread",         W("thread") },
	{ SC_TS,  P_BAL,  I_NONE, H_ANY,    "process,thread", W("thread") },
	{ SC_TS,  P_BAL,  I_NONE, H_ANY,    "sandbox",        W("sandbox") },
	{ SC_TS,  P_BAL,  I_NONE, H_CREATE, NULL,             W("sandbox") },
	{ SC_TS,  P_BAL,  I_NONE, H_CREATE, "thread",         W("thread") },
	{ SC_TS,  P_BAL,  I_NONE, H_CREATE, "process,thread", W("thread") },
	{ SC_TS,  P_BAL,  I_NONE, H_CREATE, "sandbox",        W("sandbox") },
	{ SC_TS,  P_BAL,  I_NONE, H_COMM,   NULL,             W("sandbox") },
	{ SC_TS,  P_BAL,  I_NONE, H_COMM,   "thread",         W("thread") },
	{ SC_TS,  P_BAL,  I_NONE, H_COMM,   "process,thread", W("thread") },
	{ SC_TS,  P_BAL,  I_NONE, H_COMM,   "sandbox",        W("sandbox") },
	{ SC_TS,  P_BAL,  I_MEM,  H_ANY,    NULL,             W("sandbox") },
	{ SC_TS,  P_BAL,  I_MEM,  H_ANY,    "thread",         E(-ENODEV) },
	{ SC_TS,  P_BAL,  I_MEM,  H_ANY,    "process,thread", E(-ENODEV) },
	{ SC_TS,  P_BAL,  I_MEM,  H_ANY,    "sandbox",        W("sandbox") },
	{ SC_TS,  P_BAL,  I_MEM,  H_CREATE, NULL,             W("sandbox") },
	{ SC_TS,  P_BAL,  I_MEM,  H_CREATE, "thread",         E(-ENODEV) },
	{ SC_TS,  P_BAL,  I_MEM,  H_CREATE, "process,thread", E(-ENODEV) },
	{ SC_TS,  P_BAL,  I_MEM,  H_CREATE, "sandbox",        W("sandbox") },
	{ SC_TS,  P_BAL,  I_MEM,  H_COMM,   NULL,             W("sandbox") },
	{ SC_TS,  P_BAL,  I_MEM,  H_COMM,   "thread",         E(-ENODEV) },
	{ SC_TS,  P_BAL,  I_MEM,  H_COMM,   "process,thread", E(-ENODEV) },
	{ SC_TS,  P_BAL,  I_MEM,  H_COMM,   "sandbox",        W("sandbox") },
	{ SC_TS,  P_BAL,  I_SYS,  H_ANY,    NULL,             W("sandbox") },
	{ SC_TS,  P_BAL,  I_SYS,  H_ANY,    "thread",         E(-ENODEV) },
	{ SC_TS,  P_BAL,  I_SYS,  H_ANY,    "process,thread", E(-ENODEV) },
	{ SC_TS,  P_BAL,  I_SYS,  H_ANY,    "sandbox",        W("sandbox") },
	{ SC_TS,  P_BAL,  I_SYS,  H_CREATE, NULL,             W("sandbox") },
	{ SC_TS,  P_BAL,  I_SYS,  H_CREATE, "thread",         E(-ENODEV) },
	{ SC_TS,  P_BAL,  I_SYS,  H_CREATE, "process,thread", E(-ENODEV) },
	{ SC_TS,  P_BAL,  I_SYS,  H_CREATE, "sandbox",        W("sandbox") },
	{ SC_TS,  P_BAL,  I_SYS,  H_COMM,   NULL,             W("sandbox") },
	{ SC_TS,  P_BAL,  I_SYS,  H_COMM,   "thread",         E(-ENODEV) },
	{ SC_TS,  P_BAL,  I_SYS,  H_COMM,   "process,thread", E(-ENODEV) },
	{ SC_TS,  P_BAL,  I_SYS,  H_COMM,   "sandbox",        W("sandbox") },
	{ SC_TS,  P_BAL,  I_KERN, H_ANY,    NULL,             E(-ENODEV) },
	{ SC_TS,  P_BAL,  I_KERN, H_ANY,    "thread",         E(-ENODEV) },
	{ SC_TS,  P_BAL,  I_KERN, H_ANY,    "process,thread", E(-ENODEV) },
	{ SC_TS,  P_BAL,  I_KERN, H_ANY,    "sandbox",        E(-ENODEV) },
	{ SC_TS,  P_BAL,  I_KERN, H_CREATE, NULL,             E(-ENODEV) },
	{ SC_TS,  P_BAL,  I_KERN, H_CREATE, "thread",         E(-ENODEV) },
	{ SC_TS,  P_BAL,  I_KERN, H_CREATE, "process,thread", E(-ENODEV) },
	{ SC_TS,  P_BAL,  I_KERN, H_CREATE, "sandbox",        E(-ENODEV) },
	{ SC_TS,  P_BAL,  I_KERN, H_COMM,   NULL,             E(-ENODEV) },
	{ SC_TS,  P_BAL,  I_KERN, H_COMM,   "thread",         E(-ENODEV) },
	{ SC_TS,  P_BAL,  I_KERN, H_COMM,   "process,thread", E(-ENODEV) },
	{ SC_TS,  P_BAL,  I_KERN, H_COMM,   "sandbox",        E(-ENODEV) },
};

static const enum xos__policy policies[] = { P_PERF, P_ISO, P_BAL };
static const enum xos_isolation isolations[] = { I_NONE, I_MEM, I_SYS, I_KERN };
static const enum xos_perf_hint hints[] = { H_ANY, H_CREATE, H_COMM };
static const char *const sets[] = { NULL, "thread", "process,thread", "sandbox" };
static const char *const hint_names[] = { "any", "create", "comm" };

static bool same_set(const char *a, const char *b)
{
	return (!a || !b) ? a == b : strcmp(a, b) == 0;
}

/* The table covers every combination, once. */
static void test_policy_table_complete(void **state)
{
	(void)state;
	for (int sc = 0; sc < SC_COUNT_; sc++)
	for (size_t p = 0; p < XOS_ARRAY_SIZE(policies); p++)
	for (size_t i = 0; i < XOS_ARRAY_SIZE(isolations); i++)
	for (size_t h = 0; h < XOS_ARRAY_SIZE(hints); h++)
	for (size_t s = 0; s < XOS_ARRAY_SIZE(sets); s++) {
		int found = 0;

		for (size_t r = 0; r < XOS_ARRAY_SIZE(table); r++)
			found += table[r].sc == (enum scenario)sc && table[r].policy == policies[p] &&
				 table[r].iso == isolations[i] && table[r].perf == hints[h] &&
				 same_set(table[r].set, sets[s]);
		if (found != 1)
			fail_msg("table has %d rows for %s/%s/%s/%s/%s, want 1", found,
				 scenario_names[sc], xos__policy_name(policies[p]),
				 xos_isolation_name(isolations[i]), hint_names[h],
				 sets[s] ? sets[s] : "NULL");
	}
	t_assert_uint(XOS_ARRAY_SIZE(table), SC_COUNT_ * 3 * 4 * 3 * 4);
}

static void test_policy_table(void **state)
{
	int failures = 0;

	(void)state;
	for (size_t r = 0; r < XOS_ARRAY_SIZE(table); r++) {
		const struct row *row = &table[r];
		struct xos__candidate c[NCANDS];
		struct xos__settings set = settings(row->policy, NULL);
		struct xos_ef_attr attr = attr_of(row->iso, row->perf, row->set);
		char why[WHY_LEN];
		const char *got;
		int rc;

		candidates(row->sc, c);
		rc = choose(&set, &attr, c, NCANDS, &got, why);
		if (rc != row->rc || !same_set(got, row->want)) {
			print_error("row %zu (%s, policy %s, isolation %s, hint %s, set %s): "
				    "got %s rc %d (%s), want %s rc %d (%s); why: %s\n",
				    r, scenario_names[row->sc], xos__policy_name(row->policy),
				    xos_isolation_name(row->iso), hint_names[row->perf],
				    row->set ? row->set : "NULL", got ? got : "-", rc, t_errname(rc),
				    row->want ? row->want : "-", row->rc, t_errname(row->rc), why);
			failures++;
			continue;
		}
		if (rc == 0) {
			assert_why_names_isolation(why, got, c, NCANDS);
			{
				char pol[32];

				snprintf(pol, sizeof(pol), "policy %s", xos__policy_name(row->policy));
				t_assert_contains(why, pol);
			}
		}
	}
	if (failures)
		fail_msg("%d of %zu rows wrong", failures, XOS_ARRAY_SIZE(table));
}

/* ---- explicit attr.icf ------------------------------------------------------------ */

static void test_policy_explicit_icf(void **state)
{
	static const struct {
		enum scenario sc;
		enum xos__policy policy;
		const char *forced;
		const char *icf;
		enum xos_isolation iso;
		const char *set;
		const char *want;
		int rc;
	} cases[] = {
		/* Honoured even when the policy would pick another. */
		{ SC_ALL, P_PERF, NULL, "process", I_NONE, NULL, W("process") },
		{ SC_ALL, P_ISO, NULL, "thread", I_NONE, NULL, W("thread") },
		{ SC_ALL, P_BAL, NULL, "sandbox", I_SYS, "sandbox,thread", W("sandbox") },
		{ SC_ALL, P_PERF, NULL, "process", I_MEM, "process,thread", W("process") },
		/* Beats a forced ICF. */
		{ SC_ALL, P_PERF, "process", "thread", I_NONE, NULL, W("thread") },
		/* Never substituted. */
		{ SC_ALL, P_PERF, NULL, "nosuch", I_NONE, NULL, E(-ENOENT) },
		{ SC_ALL, P_PERF, NULL, "nosuch", I_NONE, "nosuch", E(-ENOENT) },
		{ SC_TS, P_PERF, NULL, "kvm", I_NONE, NULL, E(-ENODEV) },
		{ SC_TS, P_ISO, NULL, "process", I_MEM, NULL, E(-ENODEV) },
		{ SC_ALL, P_PERF, NULL, "thread", I_MEM, NULL, E(-EPERM) },
		{ SC_ALL, P_PERF, NULL, "sandbox", I_KERN, NULL, E(-EPERM) },
		{ SC_ALL, P_PERF, NULL, "thread", I_NONE, "process", E(-EPERM) },
		{ SC_ALL, P_PERF, NULL, "thread", I_NONE, "process,sandbox", E(-EPERM) },
		{ SC_ALL, P_PERF, "thread", "thread", I_MEM, NULL, E(-EPERM) },
	};

	(void)state;
	for (size_t k = 0; k < XOS_ARRAY_SIZE(cases); k++) {
		struct xos__candidate c[NCANDS];
		struct xos__settings set = settings(cases[k].policy, cases[k].forced);
		struct xos_ef_attr attr = attr_of(cases[k].iso, H_ANY, cases[k].set);
		char why[WHY_LEN];
		const char *got;
		int rc;

		candidates(cases[k].sc, c);
		attr.icf = cases[k].icf;
		rc = choose(&set, &attr, c, NCANDS, &got, why);
		if (rc != cases[k].rc || !same_set(got, cases[k].want))
			fail_msg("case %zu (icf %s): got %s rc %d (%s), want %s rc %d (%s); why: %s",
				 k, cases[k].icf, got ? got : "-", rc, t_errname(rc),
				 cases[k].want ? cases[k].want : "-", cases[k].rc,
				 t_errname(cases[k].rc), why);
		/* The explanation of a refusal names the ICF asked for. */
		if (rc < 0)
			t_assert_contains(why, cases[k].icf);
	}
}

/* ---- forced ICF (XOS_ICF, xos_icf_force) ------------------------------------------- */

static void test_policy_forced(void **state)
{
	static const struct {
		enum scenario sc;
		enum xos__policy policy;
		const char *forced;
		enum xos_isolation iso;
		const char *set;
		const char *want;
		int rc;
		bool fallback; /* the policy decided: the explanation names the forced ICF */
	} cases[] = {
		/* Used wherever the EF allows it, whatever the policy prefers. */
		{ SC_ALL, P_PERF, "process", I_NONE, NULL, W("process"), false },
		{ SC_ALL, P_ISO, "thread", I_NONE, NULL, W("thread"), false },
		{ SC_ALL, P_BAL, "thread", I_NONE, "thread,process", W("thread"), false },
		{ SC_ALL, P_PERF, "kvm", I_SYS, NULL, W("kvm"), false },
		/* Excluded by the EF's isolation or acceptable set: the policy decides. */
		{ SC_ALL, P_PERF, "thread", I_MEM, NULL, W("process"), true },
		{ SC_ALL, P_ISO, "thread", I_MEM, NULL, W("kvm"), true },
		{ SC_ALL, P_PERF, "thread", I_NONE, "process,sandbox", W("process"), true },
		{ SC_ALL, P_PERF, "process", I_NONE, "thread", W("thread"), true },
		/* Unavailable or unknown: the policy decides. */
		{ SC_TS, P_PERF, "kvm", I_NONE, NULL, W("thread"), true },
		{ SC_TS, P_BAL, "process", I_NONE, NULL, W("sandbox"), true },
		{ SC_ALL, P_PERF, "nosuch", I_NONE, NULL, W("thread"), true },
		/* ... and may find nothing either. */
		{ SC_TS, P_PERF, "thread", I_KERN, NULL, E(-ENODEV), true },
	};

	(void)state;
	for (size_t k = 0; k < XOS_ARRAY_SIZE(cases); k++) {
		struct xos__candidate c[NCANDS];
		struct xos__settings set = settings(cases[k].policy, cases[k].forced);
		struct xos_ef_attr attr = attr_of(cases[k].iso, H_ANY, cases[k].set);
		char why[WHY_LEN];
		const char *got;
		int rc;

		candidates(cases[k].sc, c);
		rc = choose(&set, &attr, c, NCANDS, &got, why);
		if (rc != cases[k].rc || !same_set(got, cases[k].want))
			fail_msg("case %zu (forced %s): got %s rc %d (%s), want %s rc %d (%s); why: %s",
				 k, cases[k].forced, got ? got : "-", rc, t_errname(rc),
				 cases[k].want ? cases[k].want : "-", cases[k].rc,
				 t_errname(cases[k].rc), why);
		t_assert_contains(why, cases[k].forced);
		if (cases[k].fallback && rc == 0)
			assert_why_names_isolation(why, got, c, NCANDS);
	}
}

/* ---- malformed acceptable sets ------------------------------------------------------ */

static void test_policy_malformed_sets(void **state)
{
	static const char *const bad[] = {
		"thread,,process", ",", ",thread", "a b", "THREAD", "thread;process",
		"process, thread", "abcdefghijklmnopqrstuvwxyz012345", /* 32 */
	};

	(void)state;
	for (size_t k = 0; k < XOS_ARRAY_SIZE(bad); k++) {
		struct xos__candidate c[NCANDS];
		struct xos__settings set = settings(P_PERF, NULL);
		struct xos_ef_attr attr = attr_of(I_NONE, H_ANY, bad[k]);
		char why[WHY_LEN];
		const char *got;
		int rc;

		candidates(SC_ALL, c);
		rc = choose(&set, &attr, c, NCANDS, &got, why);
		if (rc != -EINVAL)
			fail_msg("set \"%s\": rc %d (%s), want -EINVAL; why: %s", bad[k], rc,
				 t_errname(rc), why);
		/* Checked before anything else: an explicit or forced ICF does not help. */
		attr.icf = "thread";
		t_assert_rc(choose(&set, &attr, c, NCANDS, &got, why), -EINVAL);
		attr.icf = NULL;
		set = settings(P_PERF, "thread");
		t_assert_rc(choose(&set, &attr, c, NCANDS, &got, why), -EINVAL);
	}
}

/*
 * A trailing comma leaves an empty last name, as malformed as the empty
 * first name of ",thread" or the empty middle one of "thread,,process".
 */
static void test_policy_set_trailing_comma(void **state)
{
	static const char *const bad[] = { "thread,", "process,thread," };

	(void)state;
	for (size_t k = 0; k < XOS_ARRAY_SIZE(bad); k++) {
		struct xos__candidate c[NCANDS];
		struct xos__settings set = settings(P_PERF, NULL);
		struct xos_ef_attr attr = attr_of(I_NONE, H_ANY, bad[k]);
		char why[WHY_LEN];
		const char *got;
		int rc;

		candidates(SC_ALL, c);
		rc = choose(&set, &attr, c, NCANDS, &got, why);
		if (rc != -EINVAL)
			fail_msg("set \"%s\": rc %d (%s), chose %s, want -EINVAL (as for \",thread\")",
				 bad[k], rc, t_errname(rc), got ? got : "-");
	}
}

static void test_policy_empty_set_means_any(void **state)
{
	struct xos__candidate c[NCANDS];
	struct xos__settings set = settings(P_ISO, NULL);
	struct xos_ef_attr attr = attr_of(I_NONE, H_ANY, "");
	char why[WHY_LEN];
	const char *got;

	(void)state;
	candidates(SC_ALL, c);
	t_assert_rc(choose(&set, &attr, c, NCANDS, &got, why), 0);
	t_assert_str(got, "kvm");
}

/* ---- ties, costs, edge cases --------------------------------------------------------- */

static void test_policy_ties(void **state)
{
	static const struct xos_icf twin_a = {
		.name = "twin-a", .isolation = XOS_ISO_MEMORY, .create_cost = 1000,
	};
	static const struct xos_icf twin_b = {
		.name = "twin-b", .isolation = XOS_ISO_MEMORY, .create_cost = 1000,
	};
	struct xos__candidate c[2] = {
		{ .icf = &twin_a, .available = true, .com_cost = 500 },
		{ .icf = &twin_b, .available = true, .com_cost = 500 },
	};
	char why[WHY_LEN];
	const char *got;

	(void)state;
	for (size_t p = 0; p < XOS_ARRAY_SIZE(policies); p++) {
		struct xos__settings set = settings(policies[p], NULL);

		for (size_t h = 0; h < XOS_ARRAY_SIZE(hints); h++) {
			struct xos_ef_attr attr = attr_of(I_NONE, hints[h], NULL);
			struct xos__candidate r[2] = { c[1], c[0] };

			/* Equal in every respect: registration order decides. */
			t_assert_rc(choose(&set, &attr, c, 2, &got, why), 0);
			t_assert_str(got, "twin-a");
			t_assert_rc(choose(&set, &attr, r, 2, &got, why), 0);
			t_assert_str(got, "twin-b");
		}
		{
			/* Same creation cost: the cheaper channel wins under any hint. */
			struct xos_ef_attr attr = attr_of(I_NONE, H_ANY, NULL);

			c[1].com_cost = 499;
			t_assert_rc(choose(&set, &attr, c, 2, &got, why), 0);
			t_assert_str(got, "twin-b");
			/* No mechanism to the creator at all ranks last under comm. */
			c[1].com_cost = UINT_MAX;
			attr.perf = H_COMM;
			t_assert_rc(choose(&set, &attr, c, 2, &got, why), 0);
			t_assert_str(got, "twin-a");
			c[1].com_cost = 500;
		}
	}
}

static void test_policy_no_candidates(void **state)
{
	struct xos__settings set = settings(P_PERF, NULL);
	struct xos_ef_attr attr = attr_of(I_NONE, H_ANY, NULL);
	char why[WHY_LEN];
	const char *got;

	(void)state;
	t_assert_rc(choose(&set, &attr, NULL, 0, &got, why), -ENODEV);
	set = settings(P_PERF, "thread");
	t_assert_rc(choose(&set, &attr, NULL, 0, &got, why), -ENODEV);
	attr.icf = "thread";
	t_assert_rc(choose(&set, &attr, NULL, 0, &got, why), -ENOENT);
}

/* The explanation says why each other candidate lost. */
static void test_policy_why_lists_others(void **state)
{
	struct xos__candidate c[NCANDS];
	struct xos__settings set = settings(P_PERF, NULL);
	struct xos_ef_attr attr = attr_of(I_MEM, H_ANY, NULL);
	char why[WHY_LEN];
	const char *got;

	(void)state;
	candidates(SC_TS, c);
	t_assert_rc(choose(&set, &attr, c, NCANDS, &got, why), 0);
	t_assert_str(got, "sandbox");
	t_assert_contains(why, "isolation syscalls");
	t_assert_contains(why, "no /dev/kvm");
	t_assert_contains(why, "fork disabled");
	t_assert_contains(why, "thread");

	attr.isolation = I_KERN;
	t_assert_rc(choose(&set, &attr, c, NCANDS, &got, why), -ENODEV);
	t_assert_contains(why, "no /dev/kvm");
	t_assert_contains(why, "sandbox");
}

/* A short explanation buffer is truncated, NUL-terminated, never overrun. */
static void test_policy_why_short_buffer(void **state)
{
	static const size_t lens[] = { 1, 2, 8, 17, 40, 100 };

	(void)state;
	for (size_t l = 0; l < XOS_ARRAY_SIZE(lens); l++) {
		struct xos__candidate c[NCANDS];
		struct xos__settings set = settings(P_BAL, "nosuch");
		struct xos_ef_attr attr = attr_of(I_MEM, H_COMM, NULL);
		char buf[256];
		size_t index = SIZE_MAX;

		candidates(SC_TS, c);
		memset(buf, '#', sizeof(buf));
		t_assert_rc(xos__policy_choose(&set, &attr, c, NCANDS, &index, buf, lens[l]), 0);
		t_assert_uint(index, CAND_SANDBOX);
		if (!memchr(buf, '\0', lens[l]))
			fail_msg("why_len %zu: not NUL-terminated", lens[l]);
		for (size_t b = lens[l]; b < sizeof(buf); b++)
			if (buf[b] != '#')
				fail_msg("why_len %zu: byte %zu written", lens[l], b);
	}
}

/* ---- xos__policy_parse / xos__policy_name ---------------------------------------------- */

static void test_policy_parse_name(void **state)
{
	static const char *const names[] = { "perf", "isolation", "balanced", "spread" };
	static const enum xos__policy want[] = { XOS_POLICY_PERF, XOS_POLICY_ISOLATION,
						 XOS_POLICY_BALANCED, XOS_POLICY_SPREAD };
	static const char *const bad[] = { NULL, "", "Perf", "perf ", " perf", "bogus", "bal" };
	enum xos__policy p;

	(void)state;
	t_assert_int(XOS_POLICY_COUNT_, 4);
	for (size_t i = 0; i < XOS_ARRAY_SIZE(names); i++) {
		p = XOS_POLICY_COUNT_;
		t_assert_rc(xos__policy_parse(names[i], &p), 0);
		t_assert_int(p, want[i]);
		t_assert_str(xos__policy_name(p), names[i]);
	}
	for (size_t i = 0; i < XOS_ARRAY_SIZE(bad); i++) {
		p = XOS_POLICY_BALANCED;
		t_assert_rc(xos__policy_parse(bad[i], &p), -EINVAL);
		t_assert_int(p, XOS_POLICY_BALANCED); /* untouched */
	}
	t_assert_str(xos__policy_name(XOS_POLICY_COUNT_), "?");
	t_assert_str(xos__policy_name((enum xos__policy)-1), "?");
}

/* ---- xos__icf_in_set -------------------------------------------------------------------- */

static void test_icf_in_set(void **state)
{
	static const struct {
		const char *set, *icf;
		bool in;
	} cases[] = {
		{ NULL, "thread", true },
		{ "", "thread", true },
		{ "thread", "thread", true },
		{ "process,thread", "thread", true },
		{ "thread,process", "thread", true },
		{ "thread,process,sandbox", "process", true },
		{ "process", "thread", false },
		{ "threads", "thread", false },
		{ "thread", "threads", false },
		{ "thread", "thr", false },
		{ "thr,ead", "thread", false },
		{ "process,sandbox", "kvm", false },
	};

	(void)state;
	for (size_t k = 0; k < XOS_ARRAY_SIZE(cases); k++)
		if (xos__icf_in_set(cases[k].set, cases[k].icf) != cases[k].in)
			fail_msg("xos__icf_in_set(\"%s\", \"%s\") = %d, want %d",
				 cases[k].set ? cases[k].set : "(null)", cases[k].icf,
				 !cases[k].in, cases[k].in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_table_complete),
		cmocka_unit_test(test_policy_table),
		cmocka_unit_test(test_policy_explicit_icf),
		cmocka_unit_test(test_policy_forced),
		cmocka_unit_test(test_policy_malformed_sets),
		cmocka_unit_test(test_policy_set_trailing_comma),
		cmocka_unit_test(test_policy_empty_set_means_any),
		cmocka_unit_test(test_policy_ties),
		cmocka_unit_test(test_policy_no_candidates),
		cmocka_unit_test(test_policy_why_lists_others),
		cmocka_unit_test(test_policy_why_short_buffer),
		cmocka_unit_test(test_policy_parse_name),
		cmocka_unit_test(test_icf_in_set),
	};

	t_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
