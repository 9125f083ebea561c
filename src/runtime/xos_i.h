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
#include <xos/mutate.h>

#include "../chan/chan_host.h"

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
/* One line the user must see whatever XOS_LOG says (no prefix): errors only the library can report. */
void xos__log_error(const char *fmt, ...) XOS_HIDDEN __attribute__((format(printf, 1, 2)));
/* One --explain line (XOS_EXPLAIN=1 or an explain fd), prefixed "xos: ". */
void xos__explain(const char *fmt, ...) XOS_HIDDEN __attribute__((format(printf, 1, 2)));
bool xos__explaining(void) XOS_HIDDEN;
void xos__log_configure(void) XOS_HIDDEN;
/* Prefix --explain lines with @name: this process serves EFs on host @name. */
void xos__log_set_host(const char *name) XOS_HIDDEN;

/* ---- ICF registry (registry.c) -------------------------------------------- */
#define XOS_REASON_MAX 160

/* A registered ICF: the author's descriptor plus what the registry learned. */
struct xos__icf_node {
	const struct xos_icf *icf;
	struct xos_icf_ops ops; /* copy, NULL-padded to this library's size */
	bool available; /* meaningful once probe is XOS__PROBED (xos__icf_probe) */
	char reason[XOS_REASON_MAX];
	_Atomic int probe; /* enum xos__probe_state */
	unsigned long refs; /* EFs it hosts + snapshots in flight; blocks unregister */
	struct xos__icf_node *next;
};

/* The most ICFs the runtime considers at once (snapshots). */
#define XOS__ICFS_MAX 32
/* Find a registered ICF by name and take a reference; NULL if none. */
struct xos__icf_node *xos__icf_find(const char *name) XOS_HIDDEN;
/* Snapshot of the registry (a reference on each node), registration order; returns count (<= max). */
size_t xos__icf_snapshot(struct xos__icf_node **nodes, size_t max) XOS_HIDDEN;
void xos__icf_get(struct xos__icf_node *node) XOS_HIDDEN;
void xos__icf_put(struct xos__icf_node *node) XOS_HIDDEN;
/* xos_icf_register() minus the runtime initialisation (for the built-ins). */
int xos__icf_register_builtin(const struct xos_icf *icf, bool lazy) XOS_HIDDEN;
/* Drop every registration (tests only). */
void xos__icf_reset(void) XOS_HIDDEN;
/* ICFs are probed (init()) on first need, not at registration: a sandbox
 * probe costs milliseconds and most runs never consider the sandbox. */
enum xos__probe_state { XOS__UNPROBED = 0, XOS__PROBING, XOS__PROBED };
/* Probe @node once; returns node->available (true while its own init runs). */
bool xos__icf_probe(struct xos__icf_node *node) XOS_HIDDEN;
/* Has @node been probed?  (An unprobed node is judged optimistically.) */
bool xos__icf_probed(const struct xos__icf_node *node) XOS_HIDDEN;
/* Number of init() probes this process ran (--explain/tests). */
unsigned int xos__icf_probe_count(void) XOS_HIDDEN;
/* Probe every registered ICF (listings). */
void xos__icf_probe_all(void) XOS_HIDDEN;
bool xos__name_valid(const char *name) XOS_HIDDEN;

/* ---- register_com table (com.c) ------------------------------------------- */
/* Cheapest cost of any mechanism between @a and @b; UINT_MAX if none. */
unsigned int xos__com_best(const char *a, const char *b, const char **ret_mechanism) XOS_HIDDEN;
void xos__com_reset(void) XOS_HIDDEN;
/* @icf was probed available: register every mechanism between it, itself and every available ICF. */
void xos__com_connect_icf(const struct xos_icf *icf) XOS_HIDDEN;
/* @mech was registered: register it between every pair of available ICFs that lets it through. */
void xos__com_connect_mech(const struct xos_mech *mech) XOS_HIDDEN;

/* ---- policy (policy.c) -------------------------------------------------- */
#define XOS_POLICY_MAP(X) \
	X(PERF, "perf")           \
	X(ISOLATION, "isolation") \
	X(BALANCED, "balanced") \
	X(SPREAD, "spread")

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
	const char *forced_mech; /* XOS_CHAN when it names a mechanism, else NULL (chanbind.c) */
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
/* A channel between an end in ICF @a and one in ICF @b, and what each ICF isolates. */
struct xos__chan_pair {
	const char *a, *b;
	enum xos_isolation iso_a, iso_b;
	bool apart; /* the ends are on different hosts */
};

/* One mechanism registered between a channel's two ICFs, as the mechanism choice sees it. */
struct xos__mech_cand {
	const char *name;
	unsigned int cost;
	bool known;  /* the channel layer has a mechanism of that name */
	bool kernel; /* the kernel moves its bytes: the peers share no memory */
	bool hosts;  /* it connects EFs on different hosts (XOS_MECH_F_HOSTS) */
};

/*
 * Choose the mechanism for a channel @pair among @cands (cheapest first,
 * as xos_com_list() returns them), with a one-line reason in @why.  Pure;
 * with nothing usable, "ring" -- except for ends on different hosts
 * (@pair->apart), which only a mechanism with XOS_MECH_F_HOSTS connects:
 * NULL when none is among @cands.  The name returned is one of
 * @cands' names, @set->forced_mech or a literal.
 */
const char *xos__policy_choose_mech(const struct xos__settings *set, const struct xos__chan_pair *pair,
				    const struct xos__mech_cand *cands, size_t n, char *why,
				    size_t why_len) XOS_HIDDEN;
/* Does @mech, the mechanism a channel is on, still serve a pair with @cands registered? */
bool xos__policy_mech_serves(const struct xos__settings *set, const char *mech,
			     const struct xos__mech_cand *cands, size_t n) XOS_HIDDEN;
/* Does the comma-separated list @set name @icf?  NULL or "" means any. */
bool xos__icf_in_set(const char *set, const char *icf) XOS_HIDDEN;

/* ---- runtime (runtime.c) ------------------------------------------------ */
/* Initialise once (built-in ICFs, environment); 0 or -errno.  Idempotent. */
int xos__runtime_init(void) XOS_HIDDEN;
/* Copy of the current settings, taken under the settings lock. */
void xos__settings_get(struct xos__settings *ret) XOS_HIDDEN;
/* How many ICFs the runtime registers itself (tests count with it). */
size_t xos__builtin_count(void) XOS_HIDDEN;
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
	char *options;                  /* copy of attr.options, or NULL */
	pid_t owner_pid;                /* process allowed to join */
	struct xos_chan **chans;        /* channel ends the EF owns (attr.chans), copied */
	size_t nchans;
	/* set on the EF's own flow while it runs */
	jmp_buf exit_jmp;
	int exit_status;
	int killed_by;                  /* ended by this signal on a page that never came (mutate.c), or 0 */
	struct xos_ef *prev_self;       /* the EF this flow ran before (nested run) */
	struct xos_ef *tbl_prev, *tbl_next; /* table of live EFs */
	/* mutate (mutate.c): NULL/-1 for EFs without a domain */
	struct xos__domain *dom;        /* its memory domain, this process's view */
	struct xos__ef_ctl *ctl;        /* MAP_SHARED between creator and every host */
	int ctl_sock[2];                /* unix pair: fds travel [1] -> [0] on process->thread */
	int *placeholders;              /* creator: /dev/null fds holding the EF's numbers */
	size_t nplaceholders;
	struct xos__icf_node *next_icf; /* the pivot, while a mutate gives it there */
	struct xos_ic *moved_ic;        /* the pivot's context its host made for it */
	struct xos__ckpt *ckpt;         /* a dump in the background (ckpt.c), or NULL */
	struct xos__remote *remote;     /* runs on another host (hosts.c); NULL: here */
	struct xos__remote *left;       /* the host it last left, whose "left" is still to read (hosts.c) */
	/* its requirements, for the policy to choose again where it arrives (migration) */
	enum xos_isolation iso;
	enum xos_perf_hint perf;
	char req_icf[32], req_icfs[128];
	/* while it is restored after a move: (old, new) addresses of its channel ends */
	const uint64_t *reloc;
	size_t nreloc;
	bool restore_eager; /* restore the whole domain before it runs (a migration's arrival) */
	/* restore: run once the image is verified and in place, before the EF
	 * runs; failing, the restore fails (a migration's ends come home here) */
	int (*restore_ready)(struct xos_ef *ef, void *arg);
	void *restore_ready_arg;
	uint64_t image_stream_len; /* restore: the fd is a migration's stream socket, this many bytes (0: a file) */
	bool image_spliced;        /* that stream's data came socket to memfd, no checksums (IMG_F_UNSUMMED) */
};

/* ---- EF options (options.c) ---------------------------------------------- */
/* Is @options (attr.options) well formed?  NULL is. */
bool xos__options_valid(const char *options) XOS_HIDDEN;

/* Live EFs created by this process. */
size_t xos__ef_count(void) XOS_HIDDEN;
/* Dispatch dump to the EF's ICF; -EOPNOTSUPP when it has none. */
int xos__ef_dump(struct xos_ef *ef, int fd) XOS_HIDDEN;
/* Wait for @ef's background dump, if any, and drop its result (ckpt.c). */
void xos__ckpt_finish(struct xos_ef *ef) XOS_HIDDEN;
/* Move @ef to ICF @target through the pivot (mutate.c); -EOPNOTSUPP when a step is missing. */
int xos__ef_mutate(struct xos_ef *ef, const char *target) XOS_HIDDEN;
/* May the caller mutate or dump @ef's domain now?  0, -EPERM (not its
 * creator, or itself), -EOPNOTSUPP (no domain), -EBUSY (a dump runs). */
int xos__ef_domain_usable(const struct xos_ef *ef) XOS_HIDDEN;

/* ---- memory domains (domain.c, domain_alloc.c) ------------------------- */
#define XOS_DOMAIN_MAGIC 0x31646f6d2d736f78ull /* "xos-dom1" */
#define XOS_DOMAIN_FDS 64
#define XOS_DHEAP_BINS 128
/* Domains live in this zone, so free() tells a domain pointer by one compare. */
#define XOS_ZONE_LO ((uintptr_t)0x200000000000ull) /* above ASan's shadow */
#define XOS_ZONE_HI ((uintptr_t)0x400000000000ull)

/* A domain's heap: every byte of its state is inside the domain. */
struct xos__dheap {
	_Atomic int lock;         /* spin lock: process-shared, never held across a safe point */
	uintptr_t lo, top, hi;    /* chunks in [lo, top); the untouched rest [top, hi) */
	uintptr_t bins[XOS_DHEAP_BINS]; /* free lists, by size class */
	uint64_t binmap[XOS_DHEAP_BINS / 64];
	size_t in_use;
};

enum xos__dom_state { XOS_DOM_NEW = 0, XOS_DOM_RUNNING, XOS_DOM_PARKED, XOS_DOM_ENDED, XOS_DOM_CALL };
enum { XOS_DOM_F_MALLOC = 1u << 0 };

/* At the domain's base: everything that must move with the EF. */
struct xos__domain_hdr {
	uint64_t magic;
	uint32_t version, flags;    /* XOS_DOM_F_* */
	uintptr_t base;
	size_t size;
	uintptr_t stack_lo, stack_hi;
	void *ef_sp;                /* the EF's saved context: registers pushed on its stack */
	void **host_sp;             /* where to go when it yields or ends: set by each host */
	uint32_t state;             /* enum xos__dom_state */
	int exit_status;
	xos_ef_fn fn;
	void *arg;                  /* the argument's copy, in the heap */
	uint64_t ef_id;
	char name[XOS_EF_NAME_MAX];
	int nfds;                   /* the EF's fd table: what moves on process->thread */
	struct { int fd, cloexec; } fds[XOS_DOMAIN_FDS];
	struct xos__dheap heap;
};

/* This process's view of a domain. */
struct xos__domain {
	struct xos__domain_hdr *hdr; /* == base; readable only while mapped */
	uintptr_t base;
	size_t size;
	int memfd;
	bool mapped;
	struct xos__lazy *lazy; /* a lazy restore still bringing pages in (lazy.c), or NULL */
};

/* Reserve a range and a memfd of @size bytes, map it, lay out header, stack and heap. */
int xos__domain_new(size_t size, struct xos__domain **ret) XOS_HIDDEN;
/* Rebuild a view of an existing memfd at @base (restore); the range must be free. */
int xos__domain_adopt(uintptr_t base, size_t size, int memfd, struct xos__domain **ret) XOS_HIDDEN;
int xos__domain_map(struct xos__domain *d) XOS_HIDDEN;
/* Drop the mapping, keep the range reserved (PROT_NONE) for the EF's return. */
int xos__domain_unmap(struct xos__domain *d) XOS_HIDDEN;
void xos__domain_free(struct xos__domain *d) XOS_HIDDEN;

/* ---- lazy restore (lazy.c): the domain filled while the EF runs ---- */
struct xos__lazy;
struct xos__image;
struct xos__image_key;
/* Register @d's range for missing pages; takes @img's tables.  -errno where it cannot (then restore eagerly). */
int xos__lazy_open(struct xos__domain *d, int fd, struct xos__image *img, const struct xos__image_key *key,
		   struct xos__lazy **ret) XOS_HIDDEN;
/* The image tables it took (valid while it lives). */
const struct xos__image *xos__lazy_image(const struct xos__lazy *l) XOS_HIDDEN;
/* Bring in (verified) what holds domain bytes [@off, @off+@len) now, before the EF runs. */
int xos__lazy_prefetch(struct xos__lazy *l, uint64_t off, size_t len) XOS_HIDDEN;
/* Start the thread that serves faults and fills the rest. */
int xos__lazy_start(struct xos__lazy *l) XOS_HIDDEN;
/* Until every chunk is in (0; CLOCK_MONOTONIC ns of that in *@ret_done_ns) or one failed (its -errno). */
int xos__lazy_wait(struct xos__lazy *l, uint64_t *ret_done_ns) XOS_HIDDEN;
/* The error of a chunk that failed so far, or 0. */
int xos__lazy_error(struct xos__lazy *l) XOS_HIDDEN;
/* Are some of its pages poisoned (a chunk failed)?  Async-signal-safe. */
bool xos__lazy_poisoned(const struct xos__lazy *l) XOS_HIDDEN;
/* Stop the thread, unregister, free (NULL: nothing). */
void xos__lazy_close(struct xos__lazy *l) XOS_HIDDEN;
/* The mapped domain of this process holding @p, or NULL. */
struct xos__domain *xos__domain_of(const void *p) XOS_HIDDEN;
/* In a fresh fork: unmap and close every domain but @keep (isolation of process EFs). */
void xos__domains_drop_except(struct xos__domain *keep) XOS_HIDDEN;

void xos__dheap_init(struct xos__dheap *h, uintptr_t lo, uintptr_t hi) XOS_HIDDEN;
void *xos__dheap_malloc(struct xos__dheap *h, size_t size) XOS_HIDDEN;
void *xos__dheap_memalign(struct xos__dheap *h, size_t align, size_t size) XOS_HIDDEN;
void *xos__dheap_realloc(struct xos__dheap *h, void *p, size_t size) XOS_HIDDEN;
void xos__dheap_free(struct xos__dheap *h, void *p) XOS_HIDDEN;
size_t xos__dheap_usable(const void *p) XOS_HIDDEN;
/* The heap plain malloc routes to on this flow (set by the host around the EF's run). */
extern __thread struct xos__dheap *xos__route_heap XOS_HIDDEN;
/* Is libxos's malloc the one the program calls (not ASan's, valgrind's...)? */
bool xos__malloc_interposed(void) XOS_HIDDEN;

/* ---- mutate (mutate.c) --------------------------------------------------- */
enum xos__req { XOS_REQ_NONE = 0, XOS_REQ_PARK, XOS_REQ_TO_PROCESS, XOS_REQ_TO_THREAD, XOS_REQ_LEAVE, XOS_REQ_CALL };

struct xos__ef_result {
	_Atomic int done; /* set once status holds what the EF returned */
	int status;
};

/* Shared (MAP_SHARED) by the creator and every host of one EF. */
struct xos__ef_ctl {
	_Atomic uint32_t request; /* enum xos__req: asked by the creator */
	_Atomic uint32_t req_id;  /* the creator's number for that request */
	_Atomic uint32_t answered; /* the req_id of the last request answered (result is its) */
	_Atomic uint32_t seq;     /* futex: a host bumps it when a request is done, or the EF ended */
	_Atomic uint32_t resume;  /* futex: the creator bumps it to release a parked EF */
	_Atomic int32_t result;   /* of the last request */
	_Atomic int32_t pid;      /* the new process host (to process) */
	_Atomic int ended;        /* the EF has ended */
	struct xos__ef_result res;
	/* XOS_REQ_CALL: what the EF's thread host runs at the safe point (this process only) */
	int (*call_fn)(void *);
	void *call_arg;
	/*
	 * The thread hosting the EF (pid << 32 | tid, as the creator's pid
	 * namespace sees them), 0 when its host cannot be interrupted; and
	 * whether the EF sleeps in a channel's descriptor wait now.  A request
	 * then interrupts that sleep (SIGURG, wake.c) instead of leaving it
	 * to the wait's next look at the request word.
	 */
	_Atomic uint64_t wake_id;
	_Atomic uint32_t sleeping;
};

/* Set up domain, control page and socket of a new EF created with @attr. */
int xos__ef_domain_setup(struct xos_ef *ef, const struct xos_ef_attr *attr) XOS_HIDDEN;
void xos__ef_domain_release(struct xos_ef *ef) XOS_HIDDEN;
/* Host side: run @ic's EF on its domain stack; returns its status when it ends. */
int xos__domain_host(struct xos_ic *ic) XOS_HIDDEN;
/* Host side: the request asked last is done with @result; wake the creator. */
void xos__ef_ack(struct xos__ef_ctl *ctl, int result) XOS_HIDDEN;
/* Creator side: ask @ef's host for @req at the next safe point, wait for it. */
int xos__ef_request(struct xos_ef *ef, enum xos__req req) XOS_HIDDEN;
/* Is @ef's process host (if it runs in one) gone or a zombie?  A thread host is never. */
bool xos__ef_host_gone(const struct xos_ef *ef) XOS_HIDDEN;
/*
 * Creator side: have @ef's own host run @fn(@arg) at the EF's next safe
 * point, then go on running the EF; @fn's result, or -EOPNOTSUPP when the
 * host is not a thread of this process (park instead), -ESRCH if it ended.
 * The EF stops only for @fn: no park, no release, no thread wake-up in
 * its pause.
 */
int xos__ef_request_call(struct xos_ef *ef, int (*fn)(void *), void *arg) XOS_HIDDEN;
/* Creator side: release an EF parked by XOS_REQ_PARK. */
void xos__ef_release(struct xos_ef *ef) XOS_HIDDEN;
/*
 * Creator side: the EF parked by XOS_REQ_PARK goes on elsewhere (it was
 * migrated): its host here lets it go without running it again, and the
 * EF's local IC, domain and table entry are dropped (ef.c: the flow is
 * reaped there).  The struct stays the user's handle.
 */
int xos__ef_leave(struct xos_ef *ef) XOS_HIDDEN;
void xos__ef_drop_local(struct xos_ef *ef) XOS_HIDDEN;
/*
 * Rebuild the EF imaged in @fd (at offset 0) in this process into @ef
 * (magic, id, name, options kept): the ICF is chosen again by the policy
 * here from the EF's requirements; one line why in @why.
 */
int xos__ef_restore_into(struct xos_ef *ef, int fd, char *why, size_t why_len) XOS_HIDDEN;
/* Creator side, process->thread: take the fds the process host sent. */
int xos__ef_fds_receive(struct xos_ef *ef) XOS_HIDDEN;
/* The same, and rebuild the EF's channel ends handed over with them (@chans; else refuse them). */
int xos__ef_fds_receive_chans(struct xos_ef *ef, bool chans) XOS_HIDDEN;
/* EF side: end the calling domain EF (xos_ef_exit); a safe point. */
_Noreturn void xos__ef_domain_exit(struct xos_ef *ef, int status) XOS_HIDDEN;
void xos__safe_point(void) XOS_HIDDEN;
/* Channel waits: the word set when the calling EF is asked to a safe point, or NULL (chan_host.h). */
const _Atomic uint32_t *xos__ef_wait_word(void) XOS_HIDDEN;
/* Channel waits: the calling EF sleeps on a descriptor now, or is back (chan_host.h). */
void xos__ef_wait_sleeping(bool sleeping) XOS_HIDDEN;
/* Host side (wake.c): can a request interrupt this host thread's sleeps?  Its wake_id, or 0. */
uint64_t xos__wake_id(const struct xos_icf *icf) XOS_HIDDEN;
/* Creator side (wake.c): interrupt the EF's descriptor sleep, if it sleeps in one, after a request. */
void xos__wake_sleeper(struct xos_ef *ef) XOS_HIDDEN;
/* Run @fn(@arg) on the host's own stack when called on a domain stack (fork), else here. */
int xos__on_host(int (*fn)(void *), void *arg) XOS_HIDDEN;
/* In xos_ic_run(): a context the pivot made for @ef's move there now hosts it. */
void xos__ef_mutate_arrived(struct xos_ef *ef, struct xos_ic *ic) XOS_HIDDEN;
/* Status xos_ic_run() returns when the EF left the flow for another host. */
#define XOS_IC_MOVED (-0x7fff)

/* ---- images (dump.c, image.c) ----------------------------------------------- */
/* The largest domain: bounds what an image may claim (and so what a restore allocates). */
#define XOS__DOMAIN_SIZE_MAX ((size_t)1 << 30)
/* Write the image of the parked @ef to @fd (domain pages with data, layout, checksum). */
int xos__image_write(struct xos_ef *ef, int fd) XOS_HIDDEN;
/* The same, onto a stream socket: @head(@arg, length) first, then the streamed image (image_i.h). */
int xos__image_send(struct xos_ef *ef, int fd, int (*head)(void *arg, uint64_t len), void *arg) XOS_HIDDEN;
/* Check the image in @fd and rebuild @ef's domain from it (a parked EF, ready to resume). */
int xos__image_read(struct xos_ef *ef, int fd) XOS_HIDDEN;

/* ---- SHA-256 and HMAC-SHA256 (sha256.c): the MAC of keyed images ------------ */
#define XOS__SHA256_LEN 32
struct xos__sha256 {
	uint32_t h[8];
	uint64_t len;
	size_t used;
	unsigned char buf[64];
};
struct xos__hmac_sha256 {
	struct xos__sha256 inner, outer;
};
void xos__sha256_init(struct xos__sha256 *s) XOS_HIDDEN;
void xos__sha256_update(struct xos__sha256 *s, const void *data, size_t len) XOS_HIDDEN;
void xos__sha256_final(struct xos__sha256 *s, uint8_t out[XOS__SHA256_LEN]) XOS_HIDDEN;
void xos__hmac_sha256_init(struct xos__hmac_sha256 *m, const void *key, size_t len) XOS_HIDDEN;
void xos__hmac_sha256_update(struct xos__hmac_sha256 *m, const void *data, size_t len) XOS_HIDDEN;
void xos__hmac_sha256_final(struct xos__hmac_sha256 *m, uint8_t out[XOS__SHA256_LEN]) XOS_HIDDEN;
/* Equal or not in a time that depends on @len only. */
bool xos__equal_ct(const void *a, const void *b, size_t len) XOS_HIDDEN;

/* ---- lifelines (lifeline.c) ------------------------------------------------ */
/* Is the calling thread its process's main thread?  Asked before a fork. */
bool xos__lifeline_forker_main(void) XOS_HIDDEN;
/*
 * In a child just forked by process @parent: die with it (SIGKILL).
 * @forker_main: the fork was made by @parent's main thread.
 */
void xos__lifeline_arm(pid_t parent, bool forker_main) XOS_HIDDEN;

/* ---- channels (src/chan below, chanbind.c here) ------------------------------ */
/* Bind each unbound channel of a new EF to a mechanism for (creator, ef) ICFs. */
int xos__chans_bind(struct xos_chan *const *chans, size_t n, const char *creator_icf,
		    const char *ef_icf) XOS_HIDDEN;
/*
 * The mechanism for @end's channel when the EF taking @end runs on another
 * host than its peer (one line why in @why); NULL when none crosses hosts.
 */
const char *xos__chans_choose_apart(struct xos_chan *end, const char *ef_icf, char *why,
				    size_t len) XOS_HIDDEN;
/* After a mutate to @icf: record it per channel; switch live what the new pair does not serve. */
void xos__chans_mutated(struct xos_chan *const *ends, size_t n, const char *icf) XOS_HIDDEN;
/*
 * Mutate process -> thread: xos__chan_handover_save/load for the ends of
 * @ef, the blob in the domain heap @heap.
 */
int xos__chans_handover_save(struct xos_ef *ef, struct xos__dheap *heap, void **ret_blob,
			     size_t *ret_len, int *fds, int max, int *ret_nfds) XOS_HIDDEN;
int xos__chans_handover_load(struct xos_ef *ef, const void *blob, size_t len, int *fds,
			     int nfds) XOS_HIDDEN;

/* Built-in ICFs (src/icf/). */
extern const struct xos_icf xos__icf_thread XOS_HIDDEN;
extern const struct xos_icf xos__icf_process XOS_HIDDEN;
extern const struct xos_icf xos__icf_sandbox XOS_HIDDEN;

#endif /* XOS_I_H */
