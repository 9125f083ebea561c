/* SPDX-License-Identifier: MIT */
/*
 * Running an EF on its domain stack, safe points, and the moves of mutate.
 *
 * A host (the flow an ICF started: a thread, or a process's only thread)
 * runs the EF by switching from its own stack to the EF's saved context on
 * the domain stack.  The EF comes back to the host only at a safe point
 * (when the creator asked for something) or when it ends; the host then
 * does what was asked on its own stack, never on the domain's:
 *  - PARK: report, wait until the creator releases it (dump);
 *  - TO_PROCESS (a thread host): the pivot ICF makes its context here, a
 *    fork whose child resumes the EF; the parent drops its mapping and
 *    ends its thread;
 *  - TO_THREAD (a process host): send the EF's fds over the control
 *    socket (SCM_RIGHTS) and _exit; the creator maps the same memfd at the
 *    same address and resumes the EF on a new thread.
 * Everything the EF needs to go on (its saved context, where to go when it
 * yields, its heap, its fd table) is in the domain, so each new host only
 * sets the "where to go" pointer before switching in.  TLS changes on
 * every hop: code on the EF's side re-reads it after each switch.
 */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../prim/fdpass.h"
#include "../prim/futex.h"
#include "xos_i.h"
#include "arch/ctx.h"

#ifdef XOS_SANITIZE
#include <sanitizer/common_interface_defs.h>
#endif

/* ---- sanitizer bookkeeping of the stack switches ------------------------------- */
#ifdef XOS_SANITIZE
/*
 * The host thread's stack, per thread.  The functions that touch it are
 * noipa: an EF may resume on another thread (a restore, a migration back),
 * and an address of this thread's variable computed before the swap and
 * kept in a register would point into the old thread's TLS after it.
 */
static __thread const void *asan_host_bottom;
static __thread size_t asan_host_size;

static void to_ef_begin(void **fake, const struct xos__domain_hdr *h)
{
	__sanitizer_start_switch_fiber(fake, (const void *)h->stack_lo, h->stack_hi - h->stack_lo);
}
static void to_ef_end(void *fake)
{
	__sanitizer_finish_switch_fiber(fake, NULL, NULL);
}
__attribute__((noipa)) static void to_host_begin(void **fake)
{
	__sanitizer_start_switch_fiber(fake, asan_host_bottom, asan_host_size);
}
__attribute__((noipa)) static void on_ef_arrived(void *fake)
{
	__sanitizer_finish_switch_fiber(fake, &asan_host_bottom, &asan_host_size);
}
#else
static void to_ef_begin(void **fake, const struct xos__domain_hdr *h)
{
	(void)fake, (void)h;
}
static void to_ef_end(void *fake)
{
	(void)fake;
}
static void to_host_begin(void **fake)
{
	(void)fake;
}
static void on_ef_arrived(void *fake)
{
	(void)fake;
}
#endif

/* Host: the request is done with @result (the creator polls: no wake). */
static void ack_polled(struct xos__ef_ctl *ctl, int result)
{
	atomic_store(&ctl->result, result);
	atomic_store(&ctl->answered, atomic_load(&ctl->req_id));
	atomic_fetch_add(&ctl->seq, 1);
}

void xos__ef_ack(struct xos__ef_ctl *ctl, int result)
{
	ack_polled(ctl, result);
	xos__futex_wake(&ctl->seq, INT32_MAX);
}

/* ---- the EF's side ----------------------------------------------------------------- */

static bool on_domain_stack(const struct xos__domain_hdr *h)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);

	return sp >= h->stack_lo && sp < h->stack_hi;
}

/* Leave the EF for its host; comes back when a host resumes it (maybe another one). */
static void ef_to_host(struct xos__domain_hdr *h, uint32_t state)
{
	void *fake = NULL;

	h->state = state;
	to_host_begin(state == XOS_DOM_ENDED ? NULL : &fake);
	xos__ctx_swap(&h->ef_sp, *h->host_sp);
	on_ef_arrived(fake);
}

static _Noreturn void domain_entry(void *arg)
{
	struct xos__domain_hdr *h = arg;
	int status;

	on_ef_arrived(NULL);
	status = h->fn(h->arg);
	h->exit_status = status;
	ef_to_host(h, XOS_DOM_ENDED);
	abort(); /* no host ever resumes an ended EF */
}

void xos__ef_domain_exit(struct xos_ef *ef, int status)
{
	struct xos__domain_hdr *h = ef->dom->hdr;

	h->exit_status = status;
	ef_to_host(h, XOS_DOM_ENDED);
	abort();
}

/*
 * A safe point: if the creator asked for something, park the EF in its
 * domain and let the host act.  Nothing read before the switch is used
 * after it: the EF may come back in another thread or process.
 */
void xos__safe_point(void)
{
	struct xos_ef *ef = xos_ef_self();
	struct xos__domain_hdr *h;

	if (!ef || !ef->dom || !ef->ctl)
		return;
	if (atomic_load_explicit(&ef->ctl->request, memory_order_acquire) == XOS_REQ_NONE)
		return;
	h = ef->dom->hdr;
	if (!on_domain_stack(h))
		return;
	ef_to_host(h, XOS_DOM_PARKED);
	__asm__ __volatile__("" ::: "memory");
}

/*
 * The channel layer's wait_word: the calling EF is about to sleep in a
 * send or receive; the word its creator sets to ask it to a safe point
 * (xos__ef_request wakes it), so a blocked wait is a safe point too.
 * NULL when the caller cannot park here (no domain, not on its stack).
 */
const _Atomic uint32_t *xos__ef_wait_word(void)
{
	struct xos_ef *ef = xos_ef_self();

	if (!ef || !ef->dom || !ef->ctl || !ef->dom->mapped || !on_domain_stack(ef->dom->hdr))
		return NULL;
	return &ef->ctl->request;
}

/* A call the EF asked its host to make on the host's stack (same thread: TLS is fine). */
static __thread int (*host_call_fn)(void *) __attribute__((tls_model("initial-exec")));
static __thread void *host_call_arg __attribute__((tls_model("initial-exec")));
static __thread int host_call_ret __attribute__((tls_model("initial-exec")));

int xos__on_host(int (*fn)(void *), void *arg)
{
	struct xos_ef *ef = xos_ef_self();
	struct xos__domain_hdr *h;

	if (!ef || !ef->dom || !ef->dom->mapped || !on_domain_stack(ef->dom->hdr))
		return fn(arg);
	h = ef->dom->hdr;
	host_call_fn = fn;
	host_call_arg = arg;
	ef_to_host(h, XOS_DOM_CALL);
	__asm__ __volatile__("" ::: "memory");
	return host_call_ret;
}

int xos_ef_yield(void)
{
	if (!xos_ef_self())
		return -EPERM;
	xos__safe_point();
	return 0;
}

int xos_ef_fd_attach(int fd)
{
	struct xos_ef *ef = xos_ef_self();
	struct xos__domain_hdr *h;
	int flags;

	if (!ef)
		return -EPERM;
	if (!ef->dom)
		return -EOPNOTSUPP;
	flags = fcntl(fd, F_GETFD);
	if (fd < 0 || flags < 0)
		return -EBADF;
	h = ef->dom->hdr;
	for (int i = 0; i < h->nfds; i++)
		if (h->fds[i].fd == fd)
			return -EEXIST;
	if (h->nfds == XOS_DOMAIN_FDS)
		return -ENOSPC;
	h->fds[h->nfds].fd = fd;
	h->fds[h->nfds].cloexec = !!(flags & FD_CLOEXEC);
	h->nfds++;
	return 0;
}

int xos_ef_fd_detach(int fd)
{
	struct xos_ef *ef = xos_ef_self();
	struct xos__domain_hdr *h;

	if (!ef)
		return -EPERM;
	if (!ef->dom)
		return -EOPNOTSUPP;
	h = ef->dom->hdr;
	for (int i = 0; i < h->nfds; i++) {
		if (h->fds[i].fd == fd) {
			h->fds[i] = h->fds[--h->nfds];
			return 0;
		}
	}
	return -ENOENT;
}

/* ---- setup and release (creator) --------------------------------------------------- */

static size_t size_from_env(void)
{
	const char *s = secure_getenv("XOS_DOMAIN_SIZE");
	unsigned long long v;
	char *end;

	if (!s || !*s)
		return 0;
	v = strtoull(s, &end, 10);
	switch (*end) {
	case 'k': case 'K': v <<= 10; break;
	case 'm': case 'M': v <<= 20; break;
	case 'g': case 'G': v <<= 30; break;
	default: break;
	}
	return (size_t)v;
}

int xos__ef_domain_setup(struct xos_ef *ef, const struct xos_ef_attr *attr)
{
	size_t size = attr->domain_size;
	struct xos__domain_hdr *h;
	int rc;

#ifndef XOS_HAVE_CTX
	/* No context switch for this CPU (arch/): EFs run on their host's stack. */
	return -EOPNOTSUPP;
#endif
	if ((attr->flags & XOS_EF_F_DOMAIN_MALLOC) && !xos__malloc_interposed())
		return -EOPNOTSUPP; /* another allocator (ASan, valgrind...) owns malloc */
	if (!size)
		size = size_from_env();
	if (!size)
		size = XOS_DOMAIN_SIZE_DEFAULT;
	rc = xos__domain_new(size, &ef->dom);
	if (rc < 0)
		return rc;
	h = ef->dom->hdr;
	h->fn = ef->fn;
	h->ef_id = ef->id;
	snprintf(h->name, sizeof(h->name), "%s", ef->name);
	if (attr->flags & XOS_EF_F_DOMAIN_MALLOC)
		h->flags |= XOS_DOM_F_MALLOC;
	/* The argument's copy lives in the domain: it moves with the EF. */
	h->arg = NULL;
	if (ef->arg_size) {
		h->arg = xos__dheap_malloc(&h->heap, ef->arg_size);
		if (!h->arg) {
			rc = -ENOMEM;
			goto out_domain;
		}
		memcpy(h->arg, ef->arg, ef->arg_size);
	}
	h->ef_sp = xos__ctx_init(h->stack_hi, domain_entry, h);
	h->state = XOS_DOM_NEW;

	ef->ctl = mmap(NULL, sizeof(*ef->ctl), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		       -1, 0);
	if (ef->ctl == MAP_FAILED) {
		rc = -errno;
		ef->ctl = NULL;
		goto out_domain;
	}
	/* Seqpacket, not datagram: the EF's process holds both ends, and a datagram
	 * socket, even of a pair, sends to any host socket sendto() names by path. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ef->ctl_sock) < 0) {
		rc = -errno;
		goto out_ctl;
	}
	return 0;

out_ctl:
	munmap(ef->ctl, sizeof(*ef->ctl));
	ef->ctl = NULL;
out_domain:
	xos__domain_free(ef->dom);
	ef->dom = NULL;
	return rc;
}

void xos__ef_domain_release(struct xos_ef *ef)
{
	/* A background dump reads the domain until it is over. */
	xos__ckpt_finish(ef);
	if (ef->ctl) {
		munmap(ef->ctl, sizeof(*ef->ctl));
		ef->ctl = NULL;
		close(ef->ctl_sock[0]);
		close(ef->ctl_sock[1]);
	}
	for (size_t i = 0; i < ef->nplaceholders; i++)
		close(ef->placeholders[i]);
	xos__free(ef->placeholders);
	ef->placeholders = NULL;
	ef->nplaceholders = 0;
	xos__domain_free(ef->dom);
	ef->dom = NULL;
}

/* ---- requests (creator side) ------------------------------------------------------ */

/* Is process @pid (a process host; 0: a thread host) gone or a zombie? */
static bool host_dead(pid_t pid)
{
	char path[64], buf[256], *p;
	ssize_t n;
	int fd;

	if (pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return !p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X';
}

bool xos__ef_host_gone(const struct xos_ef *ef)
{
	return host_dead(atomic_load(&ef->ctl->pid));
}

/*
 * Ask for @req and wait until the host has done it.  @polled: the host
 * does not wake us (XOS_REQ_CALL), so sleep from 50 us, doubling to 10
 * ms: an EF far from a safe point costs a few wake-ups, not a spin.
 */
static int request(struct xos_ef *ef, enum xos__req req, bool polled)
{
	struct xos__ef_ctl *ctl = ef->ctl;
	struct timespec nap = { 0, polled ? 50000 : 200000000 };
	/*
	 * A thread host answers TO_PROCESS after it has published the pid of
	 * the child it made for the EF, and that child may run the EF to its
	 * end first: the answer comes from this process, whatever the child.
	 * For the same reason the answer is known by its number: that child's
	 * "ended" bumps seq too, before or after the answer.
	 */
	bool threaded = req == XOS_REQ_TO_PROCESS;
	uint32_t id = atomic_load(&ctl->req_id) + 1;
	int rc;

	if (atomic_load(&ctl->ended))
		return -ESRCH;
	atomic_store(&ctl->req_id, id);
	atomic_store(&ctl->request, (uint32_t)req);
	/* An EF asleep in a channel wait wakes up to its safe point (xos__ef_wait_word). */
	xos__futex_wake(&ctl->request, INT32_MAX);
	xos__wake_sleeper(ef);
	for (;;) {
		uint32_t seq = atomic_load(&ctl->seq);

		if (atomic_load(&ctl->answered) == id)
			break;
		xos__futex_wait(&ctl->seq, seq, &nap);
		if (polled && nap.tv_nsec < 10000000)
			nap.tv_nsec *= 2;
		/* A process host killed before its next safe point never answers (dead first: an answer it gave is seen). */
		if (!threaded && host_dead(atomic_load(&ctl->pid)) && atomic_load(&ctl->answered) != id) {
			atomic_store(&ctl->request, XOS_REQ_NONE);
			return -ESRCH;
		}
	}
	rc = atomic_load(&ctl->result);
	if (rc < 0)
		atomic_store(&ctl->request, XOS_REQ_NONE);
	return rc;
}

int xos__ef_request(struct xos_ef *ef, enum xos__req req)
{
	return request(ef, req, false);
}

int xos__ef_request_call(struct xos_ef *ef, int (*fn)(void *), void *arg)
{
	struct xos__ef_ctl *ctl = ef->ctl;

	if (!ctl || !ef->dom || !ef->dom->mapped || atomic_load(&ctl->pid) != 0)
		return -EOPNOTSUPP;
	ctl->call_fn = fn;
	ctl->call_arg = arg;
	/*
	 * Polled, not woken: a wake from the EF's thread inside its pause
	 * could hand this thread its CPU and leave the EF waiting a time slice.
	 */
	return request(ef, XOS_REQ_CALL, true);
}

void xos__ef_release(struct xos_ef *ef)
{
	atomic_store(&ef->ctl->request, XOS_REQ_NONE);
	atomic_fetch_add(&ef->ctl->resume, 1);
	xos__futex_wake(&ef->ctl->resume, INT32_MAX);
}

int xos__ef_leave(struct xos_ef *ef)
{
	struct xos__ef_ctl *ctl = ef->ctl;

	/*
	 * Parked: its host sleeps on resume and reads the request when woken,
	 * then ends its flow (or process).  Whoever joins that flow next may
	 * free the control page: nothing here touches it after the wake.
	 */
	atomic_store(&ctl->request, XOS_REQ_LEAVE);
	atomic_fetch_add(&ctl->resume, 1);
	xos__futex_wake(&ctl->resume, INT32_MAX);
	return 0;
}

/* Message of a process host handing its EF's fds over. */
struct fd_msg {
	int n;
	int fd[XOS_DOMAIN_FDS];
	int cloexec[XOS_DOMAIN_FDS];
	int nchan;            /* channel descriptors, after the n of the fd table */
	uint64_t chan_blob;   /* their ends' state, in the domain heap (handover.c) */
	uint64_t chan_len;
};
#define FD_MSG_MAX (XOS_DOMAIN_FDS + XOS_HANDOVER_FDS)

static void placeholder_forget(struct xos_ef *ef, int fd)
{
	for (size_t i = 0; i < ef->nplaceholders; i++) {
		if (ef->placeholders[i] == fd) {
			ef->placeholders[i] = ef->placeholders[--ef->nplaceholders];
			return;
		}
	}
}

int xos__ef_fds_receive(struct xos_ef *ef)
{
	return xos__ef_fds_receive_chans(ef, false);
}

int xos__ef_fds_receive_chans(struct xos_ef *ef, bool chans)
{
	struct fd_msg m;
	int got[FD_MSG_MAX], rc = 0;
	size_t ngot;
	ssize_t len;

	len = xos__fds_recv(ef->ctl_sock[0], &m, sizeof(m), got, FD_MSG_MAX, &ngot, MSG_DONTWAIT);
	if (len < 0)
		return (int)len;
	if ((size_t)len < sizeof(m) || m.n < 0 || m.n > XOS_DOMAIN_FDS || m.nchan < 0 ||
	    m.nchan > XOS_HANDOVER_FDS) {
		for (size_t i = 0; i < ngot; i++)
			close(got[i]);
		return -EPROTO;
	}
	if (ngot != (size_t)(m.n + m.nchan))
		rc = -EPROTO;
	/* The channel state must lie inside the domain (it comes from another process). */
	if (rc == 0 && m.chan_len &&
	    (m.chan_blob < ef->dom->base || m.chan_len > ef->dom->size ||
	     m.chan_blob - ef->dom->base > ef->dom->size - m.chan_len))
		rc = -EPROTO;
	if (rc == 0 && (m.nchan || m.chan_len)) {
		int crc = -EPROTO;

		if (chans) {
			crc = xos__chans_handover_load(ef, (const void *)(uintptr_t)m.chan_blob,
						       (size_t)m.chan_len, got + m.n, m.nchan);
			ngot = m.n; /* the channel fds are the ends' now, or closed */
		}
		if (m.chan_len)
			xos__dheap_free(&ef->dom->hdr->heap, (void *)(uintptr_t)m.chan_blob);
		if (crc < 0)
			rc = crc;
	}
	for (size_t i = 0; i < ngot; i++) {
		int want = i < (size_t)m.n ? m.fd[i] : -1;

		if (rc == 0 && want >= 0) {
			/* dup3 replaces the placeholder that kept the number free. */
			if (dup3(got[i], want, m.cloexec[i] ? O_CLOEXEC : 0) < 0)
				rc = -errno;
			else
				placeholder_forget(ef, want);
		}
		close(got[i]);
	}
	return rc;
}

/* ---- the host's side ----------------------------------------------------------------- */

/* Keep @fd's number taken (by /dev/null) in this process while the EF is away. */
static void placeholder_put(struct xos_ef *ef, int fd)
{
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	int *grown;

	if (nul < 0)
		return;
	if (dup3(nul, fd, O_CLOEXEC) < 0) {
		close(nul);
		return;
	}
	close(nul);
	grown = xos__malloc((ef->nplaceholders + 1) * sizeof(int));
	if (!grown)
		return;
	if (ef->nplaceholders)
		memcpy(grown, ef->placeholders, ef->nplaceholders * sizeof(int));
	xos__free(ef->placeholders);
	ef->placeholders = grown;
	ef->placeholders[ef->nplaceholders++] = fd;
}

/*
 * Thread host, TO_PROCESS (xos_ef_pivot_give): the pivot makes its context
 * for the EF here, on the host's stack, by a fork whose child goes on with
 * the EF as it was; then this flow leaves the EF.
 */
static int host_to_process(struct xos_ic *ic)
{
	struct xos_ef *ef = ic->ef;
	struct xos__icf_node *pivot = ef->next_icf;
	struct xos__ef_ctl *ctl = ef->ctl;
	struct xos_ic *pivot_ic;
	int fds[XOS_DOMAIN_FDS], n, rc;

	atomic_store(&ctl->request, XOS_REQ_NONE);
	if (!pivot) {
		xos__ef_ack(ctl, -EINVAL);
		return 0;
	}
	/* Read everything needed from the domain before the fork: after it, the child owns it. */
	n = ef->dom->hdr->nfds;
	for (int i = 0; i < n; i++)
		fds[i] = ef->dom->hdr->fds[i].fd;
	rc = pivot->ops.create(pivot->icf, ef, &pivot_ic);
	if (rc < 0) {
		xos__ef_ack(ctl, rc);
		return 0; /* the EF goes on here */
	}
	/* The pivot's create() leaves the domain (xos_ef_domain_leave); make sure. */
	if (ef->dom->mapped)
		xos_ef_domain_leave(ef);
	for (int i = 0; i < n; i++)
		placeholder_put(ef, fds[i]);
	ef->moved_ic = pivot_ic;
	xos__ef_ack(ctl, 0);
	return XOS_IC_MOVED;
}

/* Process host, TO_THREAD: hand the fds over and end this process. */
static int host_to_thread(struct xos_ic *ic)
{
	struct xos_ef *ef = ic->ef;
	struct xos__domain_hdr *h = ef->dom->hdr;
	struct xos__ef_ctl *ctl = ef->ctl;
	struct fd_msg m = { .n = 0 };
	int all[FD_MSG_MAX], rc;
	void *blob;
	size_t blob_len;
	ssize_t sent;

	for (int i = 0; i < h->nfds && i < XOS_DOMAIN_FDS; i++) {
		m.fd[m.n] = h->fds[i].fd;
		m.cloexec[m.n] = h->fds[i].cloexec;
		all[m.n] = m.fd[m.n];
		m.n++;
	}
	/* The channel ends' state goes through the domain, their fds with the others. */
	rc = xos__chans_handover_save(ef, &h->heap, &blob, &blob_len, all + m.n, XOS_HANDOVER_FDS,
				      &m.nchan);
	atomic_store(&ctl->request, XOS_REQ_NONE);
	if (rc < 0) {
		xos__ef_ack(ctl, rc);
		return 0; /* the EF goes on in this process */
	}
	m.chan_blob = (uint64_t)(uintptr_t)blob;
	m.chan_len = blob_len;
	sent = xos__fds_send(ef->ctl_sock[1], &m, sizeof(m), all, (size_t)(m.n + m.nchan), 0);
	if (sent < 0) {
		if (blob)
			xos__dheap_free(&h->heap, blob);
		xos__ef_ack(ctl, (int)sent);
		return 0; /* the EF goes on in this process */
	}
	fflush(NULL);
	xos__ef_ack(ctl, 0);
	/* The EF is the creator's again; this process touches nothing more. */
	_exit(0);
}

/* Host, PARK: tell the creator, wait until it lets the EF go on. */
static void host_park(struct xos__ef_ctl *ctl)
{
	uint32_t r0 = atomic_load(&ctl->resume);

	xos__ef_ack(ctl, 0);
	while (atomic_load(&ctl->resume) == r0)
		xos__futex_wait_ms(&ctl->resume, r0, -1);
}

/* The host's saved context while it runs an EF: one EF at a time per flow. */
static __thread void *host_saved_sp __attribute__((tls_model("initial-exec")));

/*
 * ---- a page that never comes: the EF ends alone ----
 *
 * A lazily restored domain whose chunk failed its check has that chunk's
 * pages poisoned (lazy.c): touching one raises SIGBUS in the toucher.  On
 * a flow that runs that domain's EF, the handler below ends the EF there,
 * as killed by SIGBUS (its joiner hears so, xos_ef_join() returns the
 * chunk's error), and goes back to the host's context: the EF's stack is
 * abandoned, the process and its other EFs go on.  The handler runs on a
 * stack of its own (the faulting page may be the EF's stack), made for
 * such flows only.  Any other SIGBUS gets what it got before: the handler
 * found installed, or the default action (the process ends).  An EF that
 * held a lock of the process when it touched the page (inside a libc
 * call) leaves it held, as a thread killed there would.
 */
#define BUS_STACK_SIZE ((size_t)64 << 10)
static __thread struct xos_ef *host_ef __attribute__((tls_model("initial-exec")));
static struct sigaction bus_prev;
static pthread_once_t bus_once = PTHREAD_ONCE_INIT;

static void bus_handler(int sig, siginfo_t *si, void *uc)
{
	struct xos_ef *ef = host_ef;
	struct xos__domain *d = ef ? ef->dom : NULL;
	uintptr_t a = (uintptr_t)si->si_addr;

	if (d && si->si_code > 0 && a >= d->base && a - d->base < d->size && xos__lazy_poisoned(d->lazy)) {
		struct xos__domain_hdr *h = d->hdr; /* brought in and checked before the EF ran */
		sigset_t bus;
		void *abandoned;

		ef->killed_by = SIGBUS;
		h->exit_status = 128 + SIGBUS;
		h->state = XOS_DOM_ENDED;
		sigemptyset(&bus);
		sigaddset(&bus, SIGBUS);
		pthread_sigmask(SIG_UNBLOCK, &bus, NULL);
		to_host_begin(NULL); /* as an EF that ends: its stack is not switched back to */
		xos__ctx_swap(&abandoned, *h->host_sp); /* never comes back */
	}
	if (bus_prev.sa_flags & SA_SIGINFO) {
		bus_prev.sa_sigaction(sig, si, uc);
	} else if (bus_prev.sa_handler != SIG_DFL && bus_prev.sa_handler != SIG_IGN) {
		bus_prev.sa_handler(sig);
	} else if (bus_prev.sa_handler == SIG_IGN && si->si_code <= 0) {
		return; /* a sent one, ignored as before */
	} else {
		/* The default: the faulting access again (or a sent signal again) ends the process. */
		sigaction(SIGBUS, &bus_prev, NULL);
		if (si->si_code <= 0)
			raise(SIGBUS);
	}
}

static void bus_install(void)
{
	struct sigaction sa = { .sa_sigaction = bus_handler, .sa_flags = SA_SIGINFO | SA_ONSTACK };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &bus_prev);
}

/* The signal stack this flow had before (restored after its EF). */
static __thread stack_t bus_old_stack;

/* For a flow about to run a lazily restored EF: the handler, and a stack for it on this thread. */
static void *bus_guard_begin(void)
{
	stack_t ss = { .ss_size = BUS_STACK_SIZE };

	pthread_once(&bus_once, bus_install);
	ss.ss_sp = mmap(NULL, BUS_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ss.ss_sp == MAP_FAILED)
		return NULL;
	if (sigaltstack(&ss, &bus_old_stack) < 0) {
		munmap(ss.ss_sp, BUS_STACK_SIZE);
		return NULL;
	}
	return ss.ss_sp;
}

static void bus_guard_end(void *stack)
{
	if (!stack)
		return;
	sigaltstack(&bus_old_stack, NULL);
	munmap(stack, BUS_STACK_SIZE);
}

static int domain_host(struct xos_ic *ic, bool bus_guarded)
{
	struct xos_ef *ef = ic->ef;
	struct xos__domain_hdr *h = ef->dom->hdr;
	struct xos__ef_ctl *ctl = ef->ctl;
	bool is_process = ic->icf->features & XOS_ICF_F_PIVOT;

	/* Who hosts the EF now: lets the creator notice a process host that died. */
	atomic_store(&ctl->pid, is_process ? (int32_t)getpid() : 0);
	/* And which thread a request interrupts when the EF sleeps on a descriptor (wake.c). */
	atomic_store(&ctl->wake_id, xos__wake_id(ic->icf));
	for (;;) {
		void *fake = NULL;
		uint32_t req;

		h->host_sp = &host_saved_sp;
		h->state = XOS_DOM_RUNNING;
		xos__route_heap = (h->flags & XOS_DOM_F_MALLOC) ? &h->heap : NULL;
		to_ef_begin(&fake, h);
		host_ef = bus_guarded ? ef : NULL;
		xos__ctx_swap(&host_saved_sp, h->ef_sp);
		host_ef = NULL;
		to_ef_end(fake);
		xos__route_heap = NULL;
		__asm__ __volatile__("" ::: "memory");

		if (h->state == XOS_DOM_CALL) {
			/* A fork here leaves the child in fn: it never comes back. */
			host_call_ret = host_call_fn(host_call_arg);
			continue;
		}
		if (h->state == XOS_DOM_ENDED) {
			int status = h->exit_status;

			/*
			 * A request nobody took gets "ended" as its answer; one a
			 * host took is answered by it (a thread host handing the EF
			 * to this process answers TO_PROCESS, maybe after the EF
			 * ended here).  seq moves either way: hosts.c waits on it.
			 */
			atomic_store(&ctl->ended, 1);
			if (atomic_load(&ctl->request) != XOS_REQ_NONE) {
				xos__ef_ack(ctl, -ESRCH);
			} else {
				atomic_fetch_add(&ctl->seq, 1); /* no answer: result stays the last one's */
				xos__futex_wake(&ctl->seq, INT32_MAX);
			}
			return status;
		}
		req = atomic_load(&ctl->request);
		if (req == XOS_REQ_PARK) {
			host_park(ctl);
			if (atomic_load(&ctl->request) == XOS_REQ_LEAVE) {
				/* Migrated: the EF goes on on another host; this host lets it go. */
				atomic_store(&ctl->request, XOS_REQ_NONE);
				xos__ef_ack(ctl, 0);
				if (is_process) {
					fflush(NULL);
					_exit(0);
				}
				return XOS_IC_MOVED;
			}
		} else if (req == XOS_REQ_TO_PROCESS && !is_process) {
			if (host_to_process(ic) == XOS_IC_MOVED)
				return XOS_IC_MOVED;
		} else if (req == XOS_REQ_TO_THREAD && is_process) {
			host_to_thread(ic);
		} else if (req == XOS_REQ_CALL && !is_process) {
			/* Run here, on the host's stack, and go straight back to the EF. */
			int rc = ctl->call_fn(ctl->call_arg);

			atomic_store(&ctl->request, XOS_REQ_NONE);
			ack_polled(ctl, rc);
		} else if (req != XOS_REQ_NONE) {
			atomic_store(&ctl->request, XOS_REQ_NONE);
			xos__ef_ack(ctl, -EINVAL);
		}
	}
}

int xos__domain_host(struct xos_ic *ic)
{
	/*
	 * Only a lazily restored domain has pages that may never come, and only
	 * where the EF runs on the restorer's mapping (lazy_ok, dump.c).
	 */
	bool lazy_here = ic->ef->dom->lazy && (ic->icf->features & XOS_ICF_F_SHARED_MEMORY);
	void *bus_stack = lazy_here ? bus_guard_begin() : NULL;
	int status = domain_host(ic, bus_stack != NULL);

	bus_guard_end(bus_stack);
	return status;
}

/* ---- the public mutate ----------------------------------------------------------- */

/* Find the registered pivot ICF (the one with XOS_ICF_F_PIVOT), with a reference. */
static struct xos__icf_node *pivot_find(void)
{
	struct xos__icf_node *nodes[XOS__ICFS_MAX], *pivot = NULL;
	size_t n = xos__icf_snapshot(nodes, XOS__ICFS_MAX);

	for (size_t i = 0; i < n; i++) {
		if (!pivot && (nodes[i]->icf->features & XOS_ICF_F_PIVOT) && xos__icf_probe(nodes[i])) {
			pivot = nodes[i];
			continue; /* keep this reference */
		}
		xos__icf_put(nodes[i]);
	}
	return pivot;
}

/*
 * Move @ef into an IC of ICF @target: source -> pivot with the source's
 * to_pivot, pivot -> target with the target's from_pivot.  If the second
 * step fails the EF stays, running, in the pivot.
 */
int xos__ef_mutate(struct xos_ef *ef, const char *target)
{
	struct xos__icf_node *src, *dst, *pivot;
	struct xos_ic *ic;
	int rc = 0;

	if (!ef || ef->magic != XOS_EF_MAGIC || !xos__name_valid(target))
		return -EINVAL;
	dst = xos__icf_find(target);
	if (!dst)
		return -ENOENT;
	src = ef->icf;
	if (dst == src)
		goto out_put_dst;
	if (!xos__icf_probe(dst)) {
		rc = -ENODEV;
		goto out_put_dst;
	}
	pivot = pivot_find();
	if (!pivot) {
		rc = -EOPNOTSUPP;
		goto out_put_dst;
	}
	if ((src != pivot && !src->ops.to_pivot) || (dst != pivot && !dst->ops.from_pivot)) {
		rc = -EOPNOTSUPP;
		goto out_put_pivot;
	}

	if (src != pivot) {
		/* Where xos_ef_pivot_give() takes it, for this step only. */
		ef->next_icf = pivot;
		rc = src->ops.to_pivot(ef->ic, &ic);
		ef->next_icf = NULL;
		if (rc < 0)
			goto out_put_pivot;
		ef->ic = ic;
		ef->icf = pivot;
		xos__icf_get(pivot);
		xos__icf_put(src);
	}
	if (dst != pivot) {
		rc = dst->ops.from_pivot(dst->icf, ef->ic, &ic);
		if (rc < 0)
			goto out_put_pivot;
		ef->ic = ic;
		ef->icf = dst;
		xos__icf_get(dst);
		xos__icf_put(pivot);
	}
	xos__explain("ef %llu \"%s\" mutated %s -> %s", (unsigned long long)ef->id, ef->name,
		     src->icf->name, dst->icf->name);
	if (ef->nchans)
		xos__chans_mutated(ef->chans, ef->nchans, dst->icf->name);
out_put_pivot:
	xos__icf_put(pivot);
out_put_dst:
	xos__icf_put(dst);
	return rc;
}

/*
 * The first run of the context the pivot made for @ef at its host's safe
 * point (host_to_process): in that new process, the EF is the pivot's now.
 * The creator's own view changes when to_pivot returns (xos__ef_mutate).
 */
void xos__ef_mutate_arrived(struct xos_ef *ef, struct xos_ic *ic)
{
	if (ic->icf != ef->next_icf->icf || ef->owner_pid == getpid())
		return;
	ef->icf = ef->next_icf;
	ef->ic = ic;
	ef->next_icf = NULL;
}


int xos__ef_domain_usable(const struct xos_ef *ef)
{
	if (ef->owner_pid != getpid() || ef == xos_ef_self())
		return -EPERM;
	if (!ef->dom)
		return -EOPNOTSUPP;
	if (ef->ckpt)
		return -EBUSY; /* its domain is being written where it is mapped now */
	/* Restored lazily: the whole domain first (or the error of the chunk that failed). */
	if (ef->dom->lazy)
		return xos__lazy_wait(ef->dom->lazy, NULL);
	return 0;
}

int xos_ef_mutate(struct xos_ef *ef, const char *icf)
{
	int rc;

	if (!ef || ef->magic != XOS_EF_MAGIC || !icf)
		return -EINVAL;
	rc = xos__ef_domain_usable(ef);
	if (rc < 0)
		return rc;
	return xos__ef_mutate(ef, icf);
}
