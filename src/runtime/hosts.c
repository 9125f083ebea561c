/* SPDX-License-Identifier: MIT */
/*
 * The hosts of a launch: EFs placed on other machines.
 *
 * A program started by a PMIx launcher (mpirun -n 3 --host a,b,c, srun
 * --mpi=pmix) runs as one process per host.  Before main(), each process
 * joins the launch (launch.c) and publishes its endpoint (a TCP listener
 * on its first non-loopback IPv4 address, or XOS_HOST_ADDR / XOS_HOST_PORT)
 * and its build-id; rank 0 also publishes a secret it drew for this launch.
 * Rank 0 goes on into main(); every other rank serves as an EF host and
 * never runs main(): it accepts connections, one thread each, until rank
 * 0 closes its session connection, then leaves.  Rank 0 accepts too, from
 * a thread beside main(), every kind but sessions: an EF on any host may
 * create EFs on any other (each host places by its own counts) and move
 * the EFs it created.
 *
 * Every connection starts with the host's hello (a fresh nonce, its rank
 * and build-id); the client answers with HMAC-SHA256(secret, nonce, kind,
 * token).  A client that does not know the secret is refused: the host
 * closes the connection and goes on.  Three kinds of connection here, and
 * a fourth, migrate, for EFs moving between hosts (hosts_migrate.c; the
 * structures on the wire and the state both files share: hosts_proto.h):
 *
 *   session  one per host, from rank 0 at start-up: when it closes, rank
 *            0 has ended and the host leaves too;
 *   ef       one per remote EF, from its creator's host: the request (its
 *            creator's rank, the entry point as an offset in
 *            the object with the same build-id, attributes, channels, the
 *            copied argument), the reply (created or not, the ICF chosen
 *            there), and at the end how the EF ended.  A connection that
 *            closes before that means the host died: the EF is lost;
 *   chan     one per channel end handed to a remote EF, tagged with a
 *            random token the ef request names: the TCP socket both hosts
 *            bind their end to (src/chan/remote.c).
 *
 * The argument is copied as locally; pointers in it to channel ends the
 * EF was given (attr.chans) are rewritten to the ends made on the host
 * (an aligned word equal to an end's address).  Nothing else in it may
 * point anywhere: the host has its own memory.
 */
#include "config.h"

#include <arpa/inet.h>
#include <elf.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <link.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../prim/futex.h"
#include "../prim/sendall.h"
#include "hosts_proto.h"

struct xos__hosts_state xos__hosts = { .listen_fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER };

/* ---- small I/O helpers ------------------------------------------------------ */

/* 0, -ECONNRESET at EOF, -errno. */
int xos__hosts_read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = recv(fd, p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void xos__hosts_set_timeout(int fd, int seconds)
{
	struct timeval tv = { .tv_sec = seconds };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* A host that dies without a FIN (a machine, not a process) is found by keepalive. */
static void tune(int fd)
{
	int one = 1, idle = 5, intvl = 1, cnt = 5;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

static void mac_of(const uint8_t nonce[NONCE_LEN], uint32_t kind, uint64_t token,
		   uint8_t out[XOS__SHA256_LEN])
{
	struct xos__hmac_sha256 m;

	xos__hmac_sha256_init(&m, xos__hosts.secret, sizeof(xos__hosts.secret));
	xos__hmac_sha256_update(&m, nonce, NONCE_LEN);
	xos__hmac_sha256_update(&m, &kind, sizeof(kind));
	xos__hmac_sha256_update(&m, &token, sizeof(token));
	xos__hmac_sha256_final(&m, out);
}

/* ---- objects and build-ids ---------------------------------------------------- */

struct obj_query {
	uintptr_t addr;                 /* find the object holding addr, or */
	const uint8_t *want;            /* the object with this build-id */
	uint32_t want_len;
	/* results */
	bool found;
	uintptr_t base;
	uint32_t id_len;
	uint8_t id[BUILD_ID_MAX];
	bool exec_ok; /* addr (or base + off) is in an executable segment */
	uint64_t off;
};

static uint32_t note_build_id(struct dl_phdr_info *info, uint8_t *id)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const char *p, *end;

		if (ph->p_type != PT_NOTE)
			continue;
		p = (const char *)(info->dlpi_addr + ph->p_vaddr);
		end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)(const void *)p;
			size_t nsz = (nh->n_namesz + 3) & ~3u, dsz = (nh->n_descsz + 3) & ~3u;
			const char *name = p + sizeof(*nh), *desc = name + nsz;

			if (desc + dsz > end)
				break;
			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && memcmp(name, "GNU", 4) == 0 &&
			    nh->n_descsz > 0 && nh->n_descsz <= BUILD_ID_MAX) {
				memcpy(id, desc, nh->n_descsz);
				return nh->n_descsz;
			}
			p = desc + dsz;
		}
	}
	return 0;
}

static bool in_exec_segment(struct dl_phdr_info *info, uintptr_t addr)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && addr >= lo && addr - lo < ph->p_memsz)
			return true;
	}
	return false;
}

static int obj_cb(struct dl_phdr_info *info, size_t size, void *ctx)
{
	struct obj_query *q = ctx;
	uint8_t id[BUILD_ID_MAX];
	uint32_t len;

	(void)size;
	if (q->want) {
		len = note_build_id(info, id);
		if (len != q->want_len || memcmp(id, q->want, len) != 0)
			return 0;
		q->found = true;
		q->base = info->dlpi_addr;
		q->exec_ok = in_exec_segment(info, info->dlpi_addr + q->off);
		return 1;
	}
	if (!in_exec_segment(info, q->addr))
		return 0;
	q->found = true;
	q->base = info->dlpi_addr;
	q->id_len = note_build_id(info, q->id);
	q->exec_ok = true;
	return 1;
}

/* The build-id of the main program. */
static int self_cb(struct dl_phdr_info *info, size_t size, void *ctx)
{
	(void)size;
	xos__hosts.build_id_len = note_build_id(info, xos__hosts.build_id);
	(void)ctx;
	return 1; /* the first object is the program */
}

/* ---- hosts' bookkeeping ------------------------------------------------------- */

const char *xos__host_self_name(void)
{
	if (!xos__hosts.self_name[0] && gethostname(xos__hosts.self_name, sizeof(xos__hosts.self_name) - 1) < 0)
		snprintf(xos__hosts.self_name, sizeof(xos__hosts.self_name), "localhost");
	return xos__hosts.self_name;
}

static void host_lost(struct host *h, const char *why)
{
	pthread_mutex_lock(&xos__hosts.lock);
	if (!h->lost) {
		h->lost = true;
		snprintf(h->reason, sizeof(h->reason), "%s", why);
	}
	pthread_mutex_unlock(&xos__hosts.lock);
}

/* Connect to host @h and authenticate as @kind; the socket or -errno. */
int xos__hosts_connect(struct host *h, uint32_t kind, uint64_t token)
{
	struct hello hi;
	struct auth au = { .kind = kind, .token = token };
	int fd, rc;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	xos__hosts_set_timeout(fd, 10);
	if (connect(fd, (struct sockaddr *)&h->addr, sizeof(h->addr)) < 0) {
		rc = -errno;
		goto fail;
	}
	tune(fd);
	rc = xos__hosts_read_all(fd, &hi, sizeof(hi));
	if (rc < 0)
		goto fail;
	if (memcmp(hi.magic, HELLO_MAGIC, 8) != 0 || hi.rank != h->rank) {
		rc = -EPROTO;
		goto fail;
	}
	mac_of(hi.nonce, kind, token, au.mac);
	rc = xos__send_all(fd, &au, sizeof(au));
	if (rc < 0)
		goto fail;
	xos__hosts_set_timeout(fd, 0);
	return fd;
fail:
	close(fd);
	return rc;
}

/*
 * After an exchange with @h failed with *@rc: if that says a connection was
 * refused or broke (a cut image stream reads as a damaged one), did @h's
 * process die?  Nothing listens on its endpoint any more: then it is lost
 * (the hosts but rank 0 have no session to tell), and *@rc becomes
 * -EHOSTDOWN.  A process being killed closes its listener a moment after
 * the connection that broke: a few looks, 20 ms apart.  Any other error (a
 * refusal in words) is left as it is, unprobed.
 */
void xos__hosts_lost_if_gone(struct host *h, int *rc, char *why, size_t why_len)
{
	bool gone = false;

	if (*rc != -ECONNREFUSED && *rc != -ECONNRESET && *rc != -EPIPE && *rc != -EBADMSG &&
	    *rc != -EHOSTDOWN)
		return;
	for (int i = 0; i < 5 && !gone; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return;
		if (i)
			usleep(20000);
		xos__hosts_set_timeout(fd, 2);
		gone = connect(fd, (struct sockaddr *)&h->addr, sizeof(h->addr)) < 0 &&
		       (errno == ECONNREFUSED || errno == ECONNRESET);
		close(fd);
	}
	if (!gone)
		return;
	host_lost(h, "its endpoint refuses connections: its process ended");
	snprintf(why, why_len, "host %s is gone (%s)", h->name, strerror(-*rc));
	*rc = -EHOSTDOWN;
}

/* ---- start-up ------------------------------------------------------------------ */

/* The address this host serves on: XOS_HOST_ADDR, else its first non-loopback IPv4 address. */
static int serve_addr(struct sockaddr_in *a)
{
	const char *env = secure_getenv("XOS_HOST_ADDR"), *port = secure_getenv("XOS_HOST_PORT");
	struct ifaddrs *ifs, *i;
	bool found = false;

	*a = (struct sockaddr_in){ .sin_family = AF_INET };
	if (port && *port) {
		char *end;
		unsigned long p = strtoul(port, &end, 10);

		if (*end || p > 65535)
			return -EINVAL;
		a->sin_port = htons((uint16_t)p);
	}
	if (env && *env)
		return inet_pton(AF_INET, env, &a->sin_addr) == 1 ? 0 : -EINVAL;
	if (getifaddrs(&ifs) < 0)
		return -errno;
	for (i = ifs; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK) ||
		    !(i->ifa_flags & IFF_UP))
			continue;
		a->sin_addr = ((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr;
		found = true;
	}
	freeifaddrs(ifs);
	if (!found)
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* a launch on one machine */
	return 0;
}

static int listen_on(struct sockaddr_in *a)
{
	socklen_t len = sizeof(*a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)a, sizeof(*a)) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)a, &len) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return fd;
}

static _Noreturn void serve(void);
static int serve_in_thread(void);

/*
 * Chaos tests: a host kills itself (SIGKILL, as kill -9 from outside would)
 * at the step XOS_HOSTS_FAULT names, one no outside kill can hit reliably.
 * Steps: "fetch-committed" (a host that fetched an EF, right after it told
 * the host left to let it go, before it tells the creator).
 */
void xos__hosts_fault_point(const char *step)
{
	const char *f = secure_getenv("XOS_HOSTS_FAULT");

	if (f && strcmp(f, step) == 0) {
		xos__log_debug("hosts: fault point %s: killed", step);
		raise(SIGKILL);
	}
}

/* Rank 0: open a session with every host (checks the secret and the build now, not at the first EF). */
static void sessions_open(void)
{
	for (uint32_t r = 1; r < xos__hosts.size; r++) {
		struct host *h = &xos__hosts.hosts[r];
		int fd = xos__hosts_connect(h, KIND_SESSION, 0);

		if (fd < 0) {
			char why[128];

			snprintf(why, sizeof(why), "cannot reach it at %s:%u: %s", inet_ntoa(h->addr.sin_addr),
				 ntohs(h->addr.sin_port), strerror(-fd));
			host_lost(h, why);
			continue;
		}
		h->session = fd;
	}
}

static void boot_fail(const char *what, int rc)
{
	xos__log_error("xos: cannot join the launch (rank %u): %s: %s", xos__hosts.rank, what, strerror(-rc));
	if (xos__hosts.rank != 0) {
		xos__launch_fini();
		_exit(1);
	}
	xos__hosts.launched = false; /* rank 0 goes on as a host of its own */
}

static void hosts_boot(void)
{
	struct sockaddr_in a;
	const char *off = secure_getenv("XOS_HOSTS");
	char pid[32];
	size_t len;
	int rc;

	if (off && strcmp(off, "off") == 0)
		return;
	/* Processes this one starts (EFs that exec, programs run by EFs) are no ranks. */
	if (secure_getenv("XOS_HOSTS_PID"))
		return;
	rc = xos__launch_init(&xos__hosts.rank, &xos__hosts.size);
	if (rc < 0)
		return;
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("XOS_HOSTS_PID", pid, 1);
	if (xos__launch_hostname(xos__hosts.rank, xos__hosts.self_name, sizeof(xos__hosts.self_name)) < 0)
		snprintf(xos__hosts.self_name, sizeof(xos__hosts.self_name), "rank%u", xos__hosts.rank);
	atexit(xos__launch_fini);
	if (xos__hosts.size < 2)
		return;
	xos__hosts.launched = true;
	dl_iterate_phdr(self_cb, NULL);
	xos__hosts.hosts = calloc(xos__hosts.size, sizeof(*xos__hosts.hosts));
	if (!xos__hosts.hosts)
		return boot_fail("memory", -ENOMEM);
	/* Every rank serves: EFs anywhere may create EFs on any host, rank 0's included. */
	rc = serve_addr(&a);
	if (rc < 0)
		return boot_fail("XOS_HOST_ADDR/XOS_HOST_PORT", rc);
	xos__hosts.listen_fd = listen_on(&a);
	if (xos__hosts.listen_fd < 0)
		return boot_fail("listen", xos__hosts.listen_fd);
	rc = xos__launch_put("xos.ep", &a, sizeof(a));
	if (rc == 0 && xos__hosts.rank == 0) {
		if (getrandom(xos__hosts.secret, sizeof(xos__hosts.secret), 0) !=
		    (ssize_t)sizeof(xos__hosts.secret))
			return boot_fail("getrandom", -EIO);
		rc = xos__launch_put("xos.secret", xos__hosts.secret, sizeof(xos__hosts.secret));
	}
	if (rc == 0)
		rc = xos__launch_put("xos.bid", xos__hosts.build_id, xos__hosts.build_id_len);
	if (rc == 0)
		rc = xos__launch_fence();
	if (rc < 0)
		return boot_fail("publishing endpoints", rc);
	if (xos__hosts.rank != 0) {
		rc = xos__launch_get(0, "xos.secret", xos__hosts.secret, sizeof(xos__hosts.secret), &len);
		if (rc < 0 || len != sizeof(xos__hosts.secret))
			return boot_fail("the launch's secret", rc < 0 ? rc : -EPROTO);
	}
	for (uint32_t r = 0; r < xos__hosts.size; r++) {
		struct host *h = &xos__hosts.hosts[r];

		h->rank = r;
		h->session = -1;
		if (xos__launch_hostname(r, h->name, sizeof(h->name)) < 0)
			snprintf(h->name, sizeof(h->name), "rank%u", r);
		if (r == xos__hosts.rank)
			continue;
		if (xos__launch_get(r, "xos.ep", &h->addr, sizeof(h->addr), &len) < 0 ||
		    len != sizeof(h->addr)) {
			host_lost(h, "published no endpoint");
			continue;
		}
		if (xos__launch_get(r, "xos.bid", h->build_id, sizeof(h->build_id), &len) == 0)
			h->build_id_len = (uint32_t)len;
	}
	if (xos__hosts.rank != 0) {
		xos__log_set_host(xos__hosts.self_name);
		serve();
	}
	sessions_open();
	rc = serve_in_thread();
	if (rc < 0) {
		/* Rank 0 goes on; EFs elsewhere cannot create EFs here (they are told so). */
		xos__log_error("xos: rank 0 cannot serve EFs for other hosts: %s", strerror(-rc));
		close(xos__hosts.listen_fd);
		xos__hosts.listen_fd = -1;
	}
	xos__log_debug("hosts: rank 0 of %u, placing EFs on the others and serving theirs", xos__hosts.size);
}

/*
 * Before main(): a process started by a launcher joins it; every rank but
 * 0 stays here serving EFs.  Without a launcher this only reads the
 * environment.
 */
__attribute__((constructor)) static void hosts_ctor(void)
{
	hosts_boot();
}

/* ---- the host side: serving connections --------------------------------------------- */

struct pending {
	uint64_t token;
	int fd;
	struct pending *next;
};

static pthread_mutex_t pend_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pend_cond = PTHREAD_COND_INITIALIZER;
static struct pending *pend_head;

static void pending_add(uint64_t token, int fd)
{
	struct pending *p = malloc(sizeof(*p));

	if (!p) {
		close(fd);
		return;
	}
	p->token = token;
	p->fd = fd;
	pthread_mutex_lock(&pend_lock);
	p->next = pend_head;
	pend_head = p;
	pthread_cond_broadcast(&pend_cond);
	pthread_mutex_unlock(&pend_lock);
}

/* The chan connection tagged @token: its socket, or -ETIMEDOUT. */
int xos__hosts_pending_take(uint64_t token)
{
	struct timespec dl;
	int fd = -ETIMEDOUT;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += TOKEN_WAIT_S;
	pthread_mutex_lock(&pend_lock);
	for (;;) {
		for (struct pending **pp = &pend_head; *pp; pp = &(*pp)->next) {
			if ((*pp)->token == token) {
				struct pending *p = *pp;

				*pp = p->next;
				fd = p->fd;
				free(p);
				goto out;
			}
		}
		if (pthread_cond_timedwait(&pend_cond, &pend_lock, &dl) != 0)
			break;
	}
out:
	pthread_mutex_unlock(&pend_lock);
	return fd;
}

static int read_str(int fd, uint32_t len, char **ret)
{
	char *s;
	int rc;

	*ret = NULL;
	if (len == 0)
		return 0;
	if (len > STR_MAX)
		return -EPROTO;
	s = calloc(1, len + 1);
	if (!s)
		return -ENOMEM;
	rc = xos__hosts_read_all(fd, s, len);
	if (rc < 0 || strlen(s) != len) {
		free(s);
		return rc < 0 ? rc : -EPROTO;
	}
	*ret = s;
	return 0;
}

void xos__hosts_reply(int fd, int rc, const char *icf, const char *why)
{
	struct ef_rep rep = { .rc = rc };

	snprintf(rep.icf, sizeof(rep.icf), "%s", icf ? icf : "");
	snprintf(rep.why, sizeof(rep.why), "%s", why ? why : "");
	(void)xos__send_all(fd, &rep, sizeof(rep));
}

/* One remote EF, from its request to its end. */
static void serve_ef(int fd)
{
	struct ef_req req;
	struct chan_req creq[MAX_CHANS];
	struct xos_chan *mine[MAX_CHANS];
	int holds[MAX_CHANS], socks[MAX_CHANS];
	char *name = NULL, *icf = NULL, *icfs = NULL, *options = NULL;
	struct obj_query q = { 0 };
	struct xos_ef_attr attr;
	struct xos_ef_exit ex = { 0 };
	struct ef_end end;
	struct xos_ef *ef;
	void *arg = NULL;
	size_t nmine = 0, nholds = 0;
	uint64_t key;
	int rc;

	for (size_t i = 0; i < MAX_CHANS; i++)
		socks[i] = -1;
	xos__hosts_set_timeout(fd, 30);
	rc = xos__hosts_read_all(fd, &req, sizeof(req));
	if (rc < 0)
		goto out;
	if (req.nchans > MAX_CHANS || req.arg_size > ARG_MAX_REMOTE || req.build_id_len > BUILD_ID_MAX ||
	    req.creator >= xos__hosts.size || req.creator == xos__hosts.rank) {
		rc = -EPROTO;
		goto out_reply;
	}
	if (atomic_load(&xos__hosts.closing)) {
		rc = -ESHUTDOWN; /* rank 0's main() has returned: its process is ending */
		goto out_reply;
	}
	if ((rc = read_str(fd, req.name_len, &name)) < 0 || (rc = read_str(fd, req.icf_len, &icf)) < 0 ||
	    (rc = read_str(fd, req.icfs_len, &icfs)) < 0 ||
	    (rc = read_str(fd, req.options_len, &options)) < 0)
		goto out_reply;
	if (req.nchans && (rc = xos__hosts_read_all(fd, creq, req.nchans * sizeof(creq[0]))) < 0)
		goto out_reply;
	if (req.arg_size) {
		arg = malloc(req.arg_size);
		if (!arg) {
			rc = -ENOMEM;
			goto out_reply;
		}
		rc = xos__hosts_read_all(fd, arg, req.arg_size);
		if (rc < 0)
			goto out_reply;
	}
	xos__hosts_set_timeout(fd, 0);

	/* The entry point: the same offset in the object of the same build. */
	q.want = req.build_id;
	q.want_len = req.build_id_len;
	q.off = req.fn_off;
	dl_iterate_phdr(obj_cb, &q);
	if (!q.found || !q.exec_ok || req.build_id_len == 0) {
		rc = -ENOEXEC;
		goto out_reply;
	}

	for (uint32_t i = 0; i < req.nchans; i++) {
		struct xos_chan_attr ca;
		struct xos_chan *pair[2];

		creq[i].name[sizeof(creq[i].name) - 1] = '\0';
		socks[i] = xos__hosts_pending_take(creq[i].token);
		if (socks[i] < 0) {
			rc = socks[i];
			goto out_reply;
		}
		xos_chan_attr_init(&ca);
		ca.name = creq[i].name;
		ca.flags = creq[i].flags;
		ca.capacity = creq[i].capacity;
		ca.max_msg = creq[i].max_msg;
		if (creq[i].idx > 1) {
			rc = -EPROTO;
			goto out_reply;
		}
		rc = xos__chan_open_unbound(pair, &ca);
		if (rc < 0)
			goto out_reply;
		rc = xos__chan_bind_remote(pair[!creq[i].idx], socks[i], &holds[nholds]);
		socks[i] = -1;
		if (rc < 0) {
			xos_chan_close(pair[creq[i].idx]);
			goto out_reply;
		}
		nholds++;
		mine[nmine++] = pair[creq[i].idx];
	}
	/*
	 * The EF finds its ends where the creator put them in the argument: each
	 * word rewritten once, in one pass (an end made here may have the address
	 * another end has on the creator's host: hosts run the same program).
	 */
	for (size_t off = 0; off + sizeof(uint64_t) <= req.arg_size; off += sizeof(uint64_t)) {
		uint64_t w;

		memcpy(&w, (char *)arg + off, sizeof(w));
		for (uint32_t i = 0; i < req.nchans; i++) {
			if (w == creq[i].addr) {
				w = (uint64_t)(uintptr_t)mine[i];
				memcpy((char *)arg + off, &w, sizeof(w));
				break;
			}
		}
	}

	xos_ef_attr_init(&attr);
	attr.name = name;
	attr.icf = icf;
	attr.icfs = icfs;
	attr.options = options;
	attr.isolation = (enum xos_isolation)req.isolation;
	attr.perf = (enum xos_perf_hint)req.perf;
	attr.flags = req.flags;
	attr.domain_size = req.domain_size;
	attr.chans = mine;
	attr.nchans = nmine;
	attr.host = "self";
	rc = xos_ef_create(&ef, &attr, (xos_ef_fn)(q.base + req.fn_off), arg, req.arg_size);
	if (rc < 0)
		goto out_reply;
	nmine = 0; /* the EF's now */
	xos__hosts_reply(fd, 0, xos_ef_icf(ef), "");
	free(arg);
	arg = NULL;
	/* A domain EF without channels may leave for another host (its creator's xos_ef_migrate). */
	key = xos__hosted_key(req.creator, req.ef_id);
	xos__hosted_add(key, ef, ef->dom && req.nchans == 0);
	rc = xos_ef_join(ef, &ex);
	end.how = rc < 0 ? XOS_EF_LOST : ex.how;
	end.status = rc < 0 ? 0 : ex.status;
	if (xos__hosted_del(key))
		end.how = EF_END_MOVED;
	(void)xos__send_all(fd, &end, sizeof(end));
	goto out;

out_reply:
	xos__hosts_reply(fd, rc, "",
	      rc == -ENOEXEC    ? "the host runs another build (build-ids differ)" :
	      rc == -ESHUTDOWN ? "rank 0 is ending (its main() returned)" :
				  strerror(-rc));
out:
	for (size_t i = 0; i < nmine; i++)
		xos_chan_close(mine[i]);
	for (size_t i = 0; i < nholds; i++)
		close(holds[i]);
	for (size_t i = 0; i < MAX_CHANS; i++)
		if (socks[i] >= 0)
			close(socks[i]);
	free(arg);
	free(name);
	free(icf);
	free(icfs);
	free(options);
	close(fd);
}

static _Noreturn void leave(void)
{
	fflush(NULL);
	xos__launch_fini();
	_exit(0);
}

static void *serve_conn(void *p)
{
	int fd = (int)(intptr_t)p;
	struct hello hi = { .rank = xos__hosts.rank, .build_id_len = xos__hosts.build_id_len };
	struct auth au;
	uint8_t want[XOS__SHA256_LEN];
	struct sockaddr_in peer;
	socklen_t plen = sizeof(peer);
	bool ok;
	char c;

	memcpy(hi.magic, HELLO_MAGIC, 8);
	memcpy(hi.build_id, xos__hosts.build_id, sizeof(hi.build_id));
	xos__hosts_set_timeout(fd, AUTH_WAIT_S);
	ok = getrandom(hi.nonce, sizeof(hi.nonce), 0) == (ssize_t)sizeof(hi.nonce) &&
	     xos__send_all(fd, &hi, sizeof(hi)) == 0 && xos__hosts_read_all(fd, &au, sizeof(au)) == 0;
	if (ok) {
		mac_of(hi.nonce, au.kind, au.token, want);
		ok = xos__equal_ct(want, au.mac, sizeof(want));
	}
	atomic_fetch_sub(&xos__hosts.unauth, 1); /* proved, or out */
	if (!ok)
		goto refuse;
	xos__hosts_set_timeout(fd, 0);
	tune(fd);
	if (xos__hosts.rank == 0) {
		/* The EFs started or restored here begin with no signal blocked, as on
		 * the other hosts (the accepting thread blocks them all: rank 0's
		 * signals are its program's). */
		sigset_t none;

		/* Rank 0 opens the sessions: one to it is not of this launch's making. */
		if (au.kind == KIND_SESSION) {
			xos__log_debug("hosts: refused a session connection: rank 0 opens them");
			close(fd);
			return NULL;
		}
		sigemptyset(&none);
		pthread_sigmask(SIG_SETMASK, &none, NULL);
	}
	switch (au.kind) {
	case KIND_SESSION:
		/* Rank 0 ended (or died): so does this host, and the EFs it runs. */
		for (;;) {
			ssize_t n = recv(fd, &c, 1, 0);

			if (n == 0 || (n < 0 && errno != EINTR))
				break;
		}
		leave();
	case KIND_EF:
		serve_ef(fd);
		return NULL;
	case KIND_CHAN:
		pending_add(au.token, fd);
		return NULL;
	case KIND_MIGRATE:
		xos__hosts_serve_migrate(fd);
		return NULL;
	default:
		break;
	}
refuse:
	if (getpeername(fd, (struct sockaddr *)&peer, &plen) == 0)
		xos__log_debug("hosts: refused a connection from %s:%u (not of this launch)",
			       inet_ntoa(peer.sin_addr), ntohs(peer.sin_port));
	close(fd);
	return NULL;
}

/* Accept connections of the launch, a thread each; until accept fails for good. */
static void accept_loop(void)
{
	pthread_attr_t ta;

	pthread_attr_init(&ta);
	pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
	for (;;) {
		pthread_t t;
		int fd = accept4(xos__hosts.listen_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE)
				continue;
			xos__log_error("xos: host %s: accept: %s", xos__hosts.self_name, strerror(errno));
			break;
		}
		if (atomic_fetch_add(&xos__hosts.unauth, 1) >= UNAUTH_MAX ||
		    pthread_create(&t, &ta, serve_conn, (void *)(intptr_t)fd) != 0) {
			atomic_fetch_sub(&xos__hosts.unauth, 1);
			close(fd);
		}
	}
	pthread_attr_destroy(&ta);
}

/* Every rank but 0: serve until rank 0's session ends. */
static void serve(void)
{
	xos__log_debug("hosts: rank %u serves EFs", xos__hosts.rank);
	accept_loop();
	leave();
}

static void *accept_run(void *arg)
{
	(void)arg;
	accept_loop();
	return NULL;
}

static void stop_serving(void)
{
	atomic_store(&xos__hosts.closing, true);
}

/* Rank 0: serve the EFs other hosts place here from a thread, beside main(), until exit. */
static int serve_in_thread(void)
{
	pthread_attr_t ta;
	pthread_t t;
	sigset_t all, old;
	int rc;

	pthread_attr_init(&ta);
	pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
	/* The program's signals are for its own threads, not this one. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = -pthread_create(&t, &ta, accept_run, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&ta);
	if (rc == 0)
		atexit(stop_serving); /* registered last among libxos's: runs before the others */
	return rc;
}

/* ---- the creator's side: placement, create, join ------------------------------------ */

int xos__hosts_find(const char *name)
{
	for (uint32_t r = 0; r < xos__hosts.size; r++)
		if (strcmp(xos__hosts.hosts[r].name, name) == 0)
			return (int)r;
	return -1;
}

int xos__hosts_place(const struct xos_ef_attr *attr, int *ret_host, char *why, size_t why_len)
{
	struct xos__settings set;
	const char *want = attr->host;
	unsigned int best_n = 0;
	int best = -1;
	size_t used;

	*ret_host = -1;
	if (want && (!*want || strlen(want) >= XOS_HOST_NAME_MAX)) {
		snprintf(why, why_len, "malformed host \"%s\"", want);
		return -EINVAL;
	}
	if (!xos__hosts.launched) {
		if (want && strcmp(want, "any") != 0 && strcmp(want, "self") != 0 &&
		    strcmp(want, xos__host_self_name()) != 0) {
			snprintf(why, why_len, "host \"%s\": not started by a launcher: one host", want);
			return -ENOENT;
		}
		snprintf(why, why_len, "one host");
		return 0;
	}
	xos__settings_get(&set);
	/* A host whose session broke is gone: no EF goes there any more. */
	for (uint32_t r = 1; r < xos__hosts.size; r++) {
		struct pollfd pfd = { .fd = xos__hosts.hosts[r].session, .events = POLLRDHUP };

		if (pfd.fd >= 0 && poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLRDHUP | POLLERR)))
			host_lost(&xos__hosts.hosts[r], "its process ended");
	}
	if (want && strcmp(want, "self") == 0) {
		snprintf(why, why_len, "the EF asks for its creator's host");
		return 0;
	}
	if (want && strcmp(want, "any") != 0) {
		int r = xos__hosts_find(want);

		if (r < 0) {
			snprintf(why, why_len, "no host of the launch is called \"%s\"", want);
			return -ENOENT;
		}
		if (xos__hosts.hosts[r].lost) {
			snprintf(why, why_len, "host %s is lost (%s)", want, xos__hosts.hosts[r].reason);
			return -EHOSTDOWN;
		}
		snprintf(why, why_len, "the EF names host %s", want);
		*ret_host = r == (int)xos__hosts.rank ? -1 : r;
		return 0;
	}
	if (set.policy != XOS_POLICY_SPREAD) {
		snprintf(why, why_len, "policy %s keeps EFs on their creator's host (spread balances them)",
			 xos__policy_name(set.policy));
		return 0;
	}
	pthread_mutex_lock(&xos__hosts.lock);
	/* This host's own count, and those of the EFs it placed elsewhere. */
	xos__hosts.hosts[xos__hosts.rank].live = (unsigned int)xos__ef_count();
	for (uint32_t r = 0; r < xos__hosts.size; r++) {
		if (xos__hosts.hosts[r].lost)
			continue;
		if (best < 0 || xos__hosts.hosts[r].live < best_n) {
			best = (int)r;
			best_n = xos__hosts.hosts[r].live;
		}
	}
	snprintf(why, why_len, "policy spread: fewest live EFs (");
	used = strlen(why);
	for (uint32_t r = 0; r < xos__hosts.size && used + 1 < why_len; r++) {
		if (xos__hosts.hosts[r].lost)
			snprintf(why + used, why_len - used, "%s%s lost", r ? ", " : "", xos__hosts.hosts[r].name);
		else
			snprintf(why + used, why_len - used, "%s%s %u", r ? ", " : "", xos__hosts.hosts[r].name,
				 xos__hosts.hosts[r].live);
		used = strlen(why);
	}
	pthread_mutex_unlock(&xos__hosts.lock);
	if (used + 1 < why_len)
		snprintf(why + used, why_len - used, ")");
	*ret_host = best < 0 || best == (int)xos__hosts.rank ? -1 : best;
	return 0;
}

/* ---- relays: an end that cannot go to another host itself ------------------------- */

/*
 * An end given to a remote EF whose channel is already in use here, or
 * whose other end is gone from this process (given to another EF, on
 * another host or here), stays here: the remote EF gets a fresh channel of
 * the same shape, and a thread of this process copies each message from
 * one to the other, in order, until end of file or a broken pipe, which it
 * passes on by closing.  Unidirectional channels only.
 */
struct relay {
	struct xos_chan *from, *to;
	size_t max;
};

static void *relay_run(void *p)
{
	struct relay *r = p;
	char *buf = malloc(r->max ? r->max : 1);
	ssize_t n = buf ? 1 : -ENOMEM;

	xos_chan_set_nonblock(r->from, false);
	xos_chan_set_nonblock(r->to, false);
	while (n > 0) {
		n = xos_chan_recv(r->from, buf, r->max);
		if (n > 0 && xos_chan_send(r->to, buf, (size_t)n) < 0)
			n = -EPIPE;
	}
	free(buf);
	xos_chan_close(r->from);
	xos_chan_close(r->to);
	free(r);
	return NULL;
}

/* Relay @end (idx @idx, now the relay's) to the remote side of the new channel @x, attached to @sock. */
static int relay_start(struct xos_chan *end, int idx, const struct xos_chan_attr *shape, int sock,
		       int *ret_hold)
{
	struct xos_chan_attr a = *shape;
	struct xos_chan *x[2];
	struct relay *r;
	pthread_attr_t ta;
	pthread_t t;
	int rc;

	a.flags &= ~(unsigned int)XOS_CHAN_F_NONBLOCK;
	rc = xos__chan_open_unbound(x, &a);
	if (rc < 0) {
		close(sock);
		return rc;
	}
	rc = xos__chan_bind_remote(x[idx], sock, ret_hold);
	if (rc < 0) {
		xos_chan_close(x[0]);
		xos_chan_close(x[1]);
		return rc;
	}
	r = malloc(sizeof(*r));
	if (!r) {
		xos_chan_close(x[!idx]);
		close(*ret_hold);
		return -ENOMEM;
	}
	r->from = idx == 1 ? end : x[1];
	r->to = idx == 1 ? x[0] : end;
	r->max = shape->max_msg;
	pthread_attr_init(&ta);
	pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
	rc = -pthread_create(&t, &ta, relay_run, r);
	pthread_attr_destroy(&ta);
	if (rc < 0) {
		free(r);
		xos_chan_close(x[!idx]);
		close(*ret_hold);
	}
	return rc;
}

uint64_t xos__hosts_token_new(void)
{
	uint64_t t = 0;

	while (t == 0)
		if (getrandom(&t, sizeof(t), 0) != (ssize_t)sizeof(t))
			t = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)&t;
	return t;
}

int xos__host_ef_create(struct xos_ef *ef, int idx, const struct xos_ef_attr *attr, char *why,
			size_t why_len)
{
	struct host *h = &xos__hosts.hosts[idx];
	struct obj_query q = { .addr = (uintptr_t)ef->fn };
	struct ef_req req = { 0 };
	struct chan_req creq[MAX_CHANS];
	int socks[MAX_CHANS];
	bool relayed[MAX_CHANS];
	struct xos__remote *r;
	struct ef_rep rep;
	int fd = -1, rc;
	size_t n = attr->nchans;

	if (n > MAX_CHANS)
		return -E2BIG;
	if (h->lost) {
		snprintf(why, why_len, "host %s is lost (%s)", h->name, h->reason);
		return -EHOSTDOWN;
	}
	if (h->build_id_len != xos__hosts.build_id_len ||
	    memcmp(h->build_id, xos__hosts.build_id, xos__hosts.build_id_len) != 0) {
		snprintf(why, why_len, "host %s runs another build of the program (build-ids differ)", h->name);
		return -ENOEXEC;
	}
	dl_iterate_phdr(obj_cb, &q);
	if (!q.found || q.id_len == 0) {
		snprintf(why, why_len, "the entry point is in no object with a build-id");
		return -ENOEXEC;
	}
	for (size_t i = 0; i < n; i++) {
		struct xos_chan *end = attr->chans[i];
		struct xos_chan_attr shape;
		char cwhy[256];
		const char *mech;

		xos__chan_shape(end, &shape);
		relayed[i] = xos__chan_remote(end) || !xos__chan_peer_here(end) || xos__chan_bound(end);
		if (shape.flags & XOS_CHAN_F_MULTI_PRODUCER) {
			snprintf(why, why_len, "chan \"%s\": a multi-producer channel cannot reach another host",
				 xos_chan_name(end));
			return -EOPNOTSUPP;
		}
		if (relayed[i] && (shape.flags & XOS_CHAN_F_BIDIR)) {
			snprintf(why, why_len, "chan \"%s\": bidirectional, and %s: it cannot reach another host",
				 xos_chan_name(end), xos__chan_bound(end) ? "already in use" :
				 "its other end is not in this process");
			return -EOPNOTSUPP;
		}
		mech = xos__chans_choose_apart(end, "?", cwhy, sizeof(cwhy));
		if (!mech || strcmp(mech, "tcp") != 0) {
			snprintf(why, why_len, "chan \"%s\": %s", xos_chan_name(end),
				 mech ? "only tcp reaches another host" : cwhy);
			return -EOPNOTSUPP;
		}
		xos__explain("chan \"%s\" (to host %s) -> %s%s: %s", xos_chan_name(end), h->name, mech,
			     relayed[i] ? ", relayed by this process (its end here is in use or its "
					  "other end elsewhere)" : "", cwhy);
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	for (size_t i = 0; i < MAX_CHANS; i++)
		socks[i] = -1;
	fd = xos__hosts_connect(h, KIND_EF, 0);
	if (fd < 0) {
		rc = fd;
		snprintf(why, why_len, "cannot reach host %s: %s", h->name, strerror(-rc));
		xos__hosts_lost_if_gone(h, &rc, why, why_len);
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		struct xos_chan *end = attr->chans[i];
		struct xos_chan_attr shape;

		xos__chan_shape(end, &shape);
		creq[i] = (struct chan_req){
			.token = xos__hosts_token_new(),
			.addr = (uint64_t)(uintptr_t)end,
			.flags = shape.flags,
			.idx = (uint32_t)xos__chan_idx(end),
			.capacity = shape.capacity,
			.max_msg = shape.max_msg,
		};
		snprintf(creq[i].name, sizeof(creq[i].name), "%s", shape.name);
		socks[i] = xos__hosts_connect(h, KIND_CHAN, creq[i].token);
		if (socks[i] < 0) {
			rc = socks[i];
			snprintf(why, why_len, "cannot reach host %s: %s", h->name, strerror(-rc));
			goto fail;
		}
	}
	req.ef_id = ef->id;
	req.creator = xos__hosts.rank;
	req.isolation = attr->isolation;
	req.perf = attr->perf;
	req.flags = attr->flags;
	req.nchans = (uint32_t)n;
	req.domain_size = attr->domain_size;
	req.fn_off = (uint64_t)((uintptr_t)ef->fn - q.base);
	req.build_id_len = q.id_len;
	memcpy(req.build_id, q.id, sizeof(req.build_id));
	req.name_len = (uint32_t)strlen(ef->name);
	req.icf_len = attr->icf ? (uint32_t)strlen(attr->icf) : 0;
	req.icfs_len = attr->icfs ? (uint32_t)strlen(attr->icfs) : 0;
	req.options_len = attr->options ? (uint32_t)strlen(attr->options) : 0;
	req.arg_size = ef->arg_size;
	if (req.icf_len > STR_MAX || req.icfs_len > STR_MAX || req.options_len > STR_MAX) {
		rc = -E2BIG;
		goto fail;
	}
	xos__hosts_set_timeout(fd, 60); /* a host that takes the request but never answers is as good as lost */
	if ((rc = xos__send_all(fd, &req, sizeof(req))) < 0 || (rc = xos__send_all(fd, ef->name, req.name_len)) < 0 ||
	    (rc = xos__send_all(fd, attr->icf, req.icf_len)) < 0 ||
	    (rc = xos__send_all(fd, attr->icfs, req.icfs_len)) < 0 ||
	    (rc = xos__send_all(fd, attr->options, req.options_len)) < 0 ||
	    (n && (rc = xos__send_all(fd, creq, n * sizeof(creq[0]))) < 0) ||
	    (ef->arg_size && (rc = xos__send_all(fd, ef->arg, ef->arg_size)) < 0) ||
	    (rc = xos__hosts_read_all(fd, &rep, sizeof(rep))) < 0) {
		snprintf(why, why_len, "host %s: %s", h->name,
			 rc == -ECONNRESET ? "lost while starting the EF" : strerror(-rc));
		rc = rc == -ECONNRESET ? -EHOSTDOWN : rc;
		goto fail;
	}
	xos__hosts_set_timeout(fd, 0);
	rep.icf[sizeof(rep.icf) - 1] = '\0';
	rep.why[sizeof(rep.why) - 1] = '\0';
	if (rep.rc < 0 || rep.rc < -4095) {
		rc = rep.rc < -4095 ? -EPROTO : rep.rc;
		snprintf(why, why_len, "host %s refused it: %s", h->name, rep.why);
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		struct xos_chan_attr shape;

		xos__chan_shape(attr->chans[i], &shape);
		if (relayed[i])
			rc = relay_start(attr->chans[i], xos__chan_idx(attr->chans[i]), &shape, socks[i],
					 &r->holds[r->nholds]);
		else
			rc = xos__chan_bind_remote(attr->chans[i], socks[i], &r->holds[r->nholds]);
		socks[i] = -1;
		if (rc < 0)
			xos__log_debug("hosts: chan %zu of ef %llu: %s", i, (unsigned long long)ef->id,
				       strerror(-rc));
		else
			r->nholds++;
	}
	r->sock = fd;
	r->host = idx;
	snprintf(r->icf, sizeof(r->icf), "%s", rep.icf);
	ef->remote = r;
	pthread_mutex_lock(&xos__hosts.lock);
	h->live++;
	pthread_mutex_unlock(&xos__hosts.lock);
	snprintf(why, why_len, "%s", rep.icf);
	return 0;
fail:
	for (size_t i = 0; i < MAX_CHANS; i++)
		if (socks[i] >= 0)
			close(socks[i]);
	if (fd >= 0)
		close(fd);
	free(r);
	return rc;
}

int xos__host_ef_join(struct xos_ef *ef, struct xos_ef_exit *ret_exit)
{
	struct xos__remote *r = ef->remote;
	struct host *h = &xos__hosts.hosts[r->host];
	struct ef_end end;
	int rc = xos__hosts_read_all(r->sock, &end, sizeof(end));

	if (rc == 0 && end.how == EF_END_MOVED) {
		/* It left that host for one that took it and died before the creator heard. */
		end.how = XOS_EF_LOST;
		end.status = 0;
		xos__explain("ef %llu \"%s\": lost (it left host %s for a host that died taking it)",
			     (unsigned long long)ef->id, ef->name, h->name);
	} else if (rc < 0 || (end.how != XOS_EF_EXITED && end.how != XOS_EF_KILLED && end.how != XOS_EF_LOST)) {
		char reason[96];

		/* The connection closed before the EF's end: its host died. */
		end.how = XOS_EF_LOST;
		end.status = 0;
		snprintf(reason, sizeof(reason), "the connection to it broke (%s)",
			 rc < 0 ? strerror(-rc) : "protocol error");
		host_lost(h, reason);
		xos__explain("ef %llu \"%s\" on host %s: lost (%s)", (unsigned long long)ef->id, ef->name,
			     h->name, reason);
	}
	ret_exit->how = (enum xos_ef_end)end.how;
	ret_exit->status = end.status;
	close(r->sock);
	for (size_t i = 0; i < r->nholds; i++)
		close(r->holds[i]);
	pthread_mutex_lock(&xos__hosts.lock);
	h->live--;
	pthread_mutex_unlock(&xos__hosts.lock);
	free(r);
	ef->remote = NULL;
	return 0;
}

const char *xos__host_ef_icf(const struct xos_ef *ef)
{
	return ef->remote->icf;
}

const char *xos__host_ef_host(const struct xos_ef *ef)
{
	return xos__hosts.hosts[ef->remote->host].name;
}
