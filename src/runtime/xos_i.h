/* SPDX-License-Identifier: MIT */
/*
 * Private to libxos: the runtime's internal types and the functions its
 * files share (prefix xos__).  Not installed.
 */
#ifndef XOS_I_H
#define XOS_I_H

#ifndef XOS_USE_VERSION
#define XOS_USE_VERSION 1
#endif

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <xos/common.h>
#include <xos/ef.h>
#include <xos/vic.h>

#define XOS_HIDDEN __attribute__((visibility("hidden")))

#define xos__container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#define XOS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Turn libc's -1/errno convention into -errno, restoring errno. */
static inline int xos__neg_errno(int rc)
{
	return rc < 0 ? -errno : rc;
}

/* ---- allocation (alloc.c): the runtime's own memory, never an EF's ---- */
void *xos__malloc(size_t size) XOS_HIDDEN;
void *xos__calloc(size_t n, size_t size) XOS_HIDDEN;
void xos__free(void *p) XOS_HIDDEN;
char *xos__strdup(const char *s) XOS_HIDDEN;

/* ---- logging (log.c) ---------------------------------------------------- */
enum xos__log_level { XOS_LOG_NONE = 0, XOS_LOG_DEBUG = 1 };
/* Debug log (XOS_LOG=debug), to stderr; silent otherwise. */
void xos__log_debug(const char *fmt, ...) XOS_HIDDEN __attribute__((format(printf, 1, 2)));
/* One --explain line (XOS_EXPLAIN=1 or an explain fd), prefixed "xos: ". */
void xos__explain(const char *fmt, ...) XOS_HIDDEN __attribute__((format(printf, 1, 2)));
bool xos__explaining(void) XOS_HIDDEN;
void xos__log_configure(void) XOS_HIDDEN;

/* ---- ICF registry (registry.c) -------------------------------------------- */
#define XOS_REASON_MAX 160

/* A registered ICF: the author's descriptor plus what the registry learned. */
struct xos__icf_node {
	const struct xos_icf *icf;
	struct xos_icf_ops ops; /* copy, NULL-padded to this library's size */
	bool available;
	char reason[XOS_REASON_MAX];
	unsigned long refs; /* EFs it hosts + snapshots in flight; blocks unregister */
	struct xos__icf_node *next;
};

/* Find a registered ICF by name and take a reference; NULL if none. */
struct xos__icf_node *xos__icf_find(const char *name) XOS_HIDDEN;
/* Snapshot of the registry (a reference on each node), registration order; returns count (<= max). */
size_t xos__icf_snapshot(struct xos__icf_node **nodes, size_t max) XOS_HIDDEN;
void xos__icf_get(struct xos__icf_node *node) XOS_HIDDEN;
void xos__icf_put(struct xos__icf_node *node) XOS_HIDDEN;
/* xos_icf_register() minus the runtime initialisation (for the built-ins). */
int xos__icf_register_builtin(const struct xos_icf *icf) XOS_HIDDEN;
/* Drop every registration (tests only). */
void xos__icf_reset(void) XOS_HIDDEN;
bool xos__name_valid(const char *name) XOS_HIDDEN;

/* ---- register_com table (com.c) ------------------------------------------- */
/* Cheapest cost of any mechanism between @a and @b; UINT_MAX if none. */
unsigned int xos__com_best(const char *a, const char *b, const char **ret_mechanism) XOS_HIDDEN;
void xos__com_reset(void) XOS_HIDDEN;

/* ---- policy (policy.c) -------------------------------------------------- */
#define XOS_POLICY_MAP(X) \
	X(PERF, "perf")           \
	X(ISOLATION, "isolation") \
	X(BALANCED, "balanced")

enum xos__policy {
#define XOS_POLICY_ENUM_(name, str) XOS_POLICY_##name,
	XOS_POLICY_MAP(XOS_POLICY_ENUM_)
#undef XOS_POLICY_ENUM_
	XOS_POLICY_COUNT_
};

int xos__policy_parse(const char *name, enum xos__policy *ret) XOS_HIDDEN;
const char *xos__policy_name(enum xos__policy p) XOS_HIDDEN;

/* One ICF as the policy sees it. */
struct xos__candidate {
	const struct xos_icf *icf;
	bool available;
	const char *reason;    /* why unavailable */
	unsigned int com_cost; /* cheapest mechanism to the creator's ICF */
	const char *com_mech;  /* its name, or NULL */
};

/* The runtime's standing choices, from the environment and the API. */
struct xos__settings {
	enum xos__policy policy;
	char forced_icf[32]; /* XOS_ICF / xos_icf_force(), or "" */
};

/*
 * Choose among @cands for an EF with requirements @attr.  Stores the index
 * in *@ret_index and a one-line reason in @why.  Pure: no global state.
 * Returns -ENOENT (asked-for ICF not registered), -ENODEV (no acceptable
 * ICF available), -EPERM (the forced ICF or explicit choice does not meet
 * the EF's requirements) or -EINVAL (malformed acceptable set).
 */
int xos__policy_choose(const struct xos__settings *set, const struct xos_ef_attr *attr,
		       const struct xos__candidate *cands, size_t n, size_t *ret_index,
		       char *why, size_t why_len) XOS_HIDDEN;
/* Does the comma-separated list @set name @icf?  NULL or "" means any. */
bool xos__icf_in_set(const char *set, const char *icf) XOS_HIDDEN;

/* ---- runtime (runtime.c) ------------------------------------------------ */
/* Initialise once (built-in ICFs, environment); 0 or -errno.  Idempotent. */
int xos__runtime_init(void) XOS_HIDDEN;
/* Copy of the current settings, taken under the settings lock. */
void xos__settings_get(struct xos__settings *ret) XOS_HIDDEN;
/* For tests: forget the runtime's state, as if the library had just loaded. */
void xos__runtime_reset(void) XOS_HIDDEN;

/* ---- execution flows (ef.c) --------------------------------------------- */
#define XOS_EF_MAGIC 0x78656621u /* "xef!" */
#define XOS_EF_NAME_MAX 48

struct xos_ef {
	uint32_t magic;
	uint64_t id;
	uint64_t parent_id;             /* 0: created outside any EF */
	char name[XOS_EF_NAME_MAX];
	struct xos__icf_node *icf;      /* holds a reference while the EF lives */
	struct xos_ic *ic;
	xos_ef_fn fn;
	void *arg;                      /* private copy, freed at join */
	size_t arg_size;
	pid_t owner_pid;                /* process allowed to join */
	struct xos_chan **chans;        /* channel ends the EF owns (attr.chans), copied */
	size_t nchans;
	/* set on the EF's own flow while it runs */
	jmp_buf exit_jmp;
	int exit_status;
	struct xos_ef *prev_self;       /* the EF this flow ran before (nested run) */
	struct xos_ef *tbl_prev, *tbl_next; /* table of live EFs */
};

/* Live EFs created by this process. */
size_t xos__ef_count(void) XOS_HIDDEN;
/* Dispatch dump to the EF's ICF; -EOPNOTSUPP when it has none. */
int xos__ef_dump(struct xos_ef *ef, int fd) XOS_HIDDEN;
/* Move @ef to ICF @target through the pivot; -EOPNOTSUPP when a step is missing. */
int xos__ef_mutate(struct xos_ef *ef, const char *target) XOS_HIDDEN;

/* ---- channels (src/chan) ------------------------------------------------- */
/* Bind each unbound channel of a new EF to a mechanism for (creator, ef) ICFs. */
int xos__chans_bind(struct xos_chan *const *chans, size_t n, const char *creator_icf,
		    const char *ef_icf) XOS_HIDDEN;
/* In a new process hosting an EF: forget every end but @keep[0..n), without closing them. */
void xos__chans_forget_others(struct xos_chan *const *keep, size_t n) XOS_HIDDEN;
/* In the creator, after handing @ends to an EF in another process: forget them here. */
void xos__chans_detach(struct xos_chan *const *ends, size_t n) XOS_HIDDEN;

/* Built-in ICFs (src/icf/). */
extern const struct xos_icf xos__icf_thread XOS_HIDDEN;
extern const struct xos_icf xos__icf_process XOS_HIDDEN;

#endif /* XOS_I_H */
