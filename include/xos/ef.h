/* SPDX-License-Identifier: MIT */
/*
 * The execution-flow (EF) API: what applications use to start concurrent
 * work without deciding which isolation hosts it.
 *
 * An EF is like a thread that promises nothing about sharing memory: its
 * argument is copied at creation, it talks to other EFs through channels
 * (<xos/chan.h>), and the runtime picks the isolation context factory
 * (thread, process, ...) from the EF's requirements, what this machine
 * offers and the policy (XOS_POLICY, XOS_ICF, xos-run --policy/--icf).
 *
 * Every function returning int returns 0 (or a count) on success and a
 * negative errno on failure; errno is left untouched.
 */
#ifndef XOS_EF_H
#define XOS_EF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xos/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An execution flow; opaque.  Valid from xos_ef_create() to xos_ef_join(). */
struct xos_ef;
/* A channel between EFs (<xos/chan.h>). */
struct xos_chan;

/* What matters most to the EF's creator when the runtime weighs ICFs. */
enum xos_perf_hint {
	XOS_PERF_ANY = 0, /* no preference */
	XOS_PERF_CREATE,  /* short-lived EFs: creation cost dominates */
	XOS_PERF_COMM,    /* chatty EFs: channel cost dominates */
};

/* Requirements of a new EF.  Initialise with xos_ef_attr_init(). */
struct xos_ef_attr {
	const char *name;             /* label for --explain and stats; copied */
	const char *icf;              /* exactly this ICF, or NULL: runtime picks */
	const char *icfs;             /* acceptable ICFs, "thread,process"; NULL: any */
	enum xos_isolation isolation; /* minimum isolation the EF needs */
	enum xos_perf_hint perf;      /* what to optimise within that */
	unsigned int flags;           /* XOS_EF_F_* (<xos/mutate.h>), or 0 */
	struct xos_chan *const *chans; /* channels the EF will use: bound before it starts */
	size_t nchans;
	size_t domain_size;           /* with XOS_EF_F_DOMAIN: bytes reserved; 0: default */
	/*
	 * Settings for the ICFs that may host the EF, like a file system's
	 * mount options: "icf.key=value,icf.key,..." (e.g.
	 * "sandbox.mem=64M,sandbox.allow=socket:connect").  Each item names
	 * the ICF it is for; an ICF reads its own items (xos_ef_options_each()
	 * in <xos/vic.h>) when it hosts the EF and ignores the others.  Values
	 * hold no ','; lists inside a value are ':'-separated.  Copied; NULL: none.
	 */
	const char *options;
	/*
	 * Which host may run the EF, when the program was started on several
	 * by a launcher (xos(7), HOSTS): "any" (the policy chooses; spread
	 * balances), "self" (the creator's host), or a host's name.  NULL:
	 * "any" under the policy spread, else "self".  Copied.
	 */
	const char *host;
	void *reserved[1];            /* must be NULL */
};

/* How an EF ended, as reported by xos_ef_join(). */
enum xos_ef_end {
	XOS_EF_EXITED = 1, /* returned or called xos_ef_exit(): status is its value */
	XOS_EF_KILLED = 2, /* killed by a signal: status is the signal number */
	XOS_EF_LOST = 3,   /* its host died (another host of the launch): status is 0 */
};

struct xos_ef_exit {
	enum xos_ef_end how;
	int status;
};

/* The entry point of an EF: receives its private copy of the argument. */
typedef int (*xos_ef_fn)(void *arg);

/* Availability of one registered isolation context factory (get_ICFs). */
struct xos_icf_info {
	const char *name;
	const char *description;
	enum xos_isolation isolation; /* what its contexts isolate */
	unsigned int features;        /* XOS_ICF_F_* from <xos/vic.h> */
	bool available;               /* init() succeeded on this machine */
	const char *reason;           /* why not, when !available; else "" */
};

/* One mechanism able to connect two ICFs, with its relative cost. */
struct xos_com_info {
	const char *icf_a;
	const char *icf_b;
	const char *mechanism;
	unsigned int cost; /* relative; lower is cheaper */
};

/* Set @attr to the defaults: any ICF, no isolation needed, no hint. */
XOS_EXPORT void xos_ef_attr_init(struct xos_ef_attr *attr);

/* Start @fn on a copy of @arg_size bytes at @arg in an IC the runtime picks. */
XOS_EXPORT int xos_ef_create(struct xos_ef **ret_ef, const struct xos_ef_attr *attr,
			     xos_ef_fn fn, const void *arg, size_t arg_size);

/* Wait for @ef to end, report how in @ret_exit (may be NULL), free @ef. */
XOS_EXPORT int xos_ef_join(struct xos_ef *ef, struct xos_ef_exit *ret_exit);

/* End the calling EF with @status; returns -EPERM when not called from an EF. */
XOS_EXPORT int xos_ef_exit(int status);

/* The calling EF, or NULL when called outside any EF (e.g. from main). */
XOS_EXPORT struct xos_ef *xos_ef_self(void);

/* The EF's identifier, unique within the program run. */
XOS_EXPORT uint64_t xos_ef_id(const struct xos_ef *ef);

/* The EF's name (never NULL). */
XOS_EXPORT const char *xos_ef_name(const struct xos_ef *ef);

/* The name of the ICF hosting the EF ("thread", "process", ...). */
XOS_EXPORT const char *xos_ef_icf(const struct xos_ef *ef);

/* The name of the host running the EF (this one's unless placed on another host of the launch). */
XOS_EXPORT const char *xos_ef_host(const struct xos_ef *ef);

/* Use policy @name ("perf", "isolation", "balanced", "spread") for EFs created from now. */
XOS_EXPORT int xos_policy_set(const char *name);

/* The policy in force. */
XOS_EXPORT const char *xos_policy_get(void);

/* Run every new EF in ICF @name when its requirements allow; NULL: stop forcing. */
XOS_EXPORT int xos_icf_force(const char *name);

/* Fill up to @n entries of @infos; returns how many ICFs are registered. */
XOS_EXPORT int xos_icf_list(struct xos_icf_info *infos, size_t n);

/* Mechanisms registered between ICFs @a and @b (either order), cheapest first. */
XOS_EXPORT int xos_com_list(const char *a, const char *b, struct xos_com_info *infos, size_t n);

/* Name of isolation level @iso, or NULL when out of range. */
XOS_EXPORT const char *xos_isolation_name(enum xos_isolation iso);

#ifdef __cplusplus
}
#endif
#endif /* XOS_EF_H */
