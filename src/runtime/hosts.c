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
 * closes the connection and goes on.  Three kinds of connection:
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
#include "hosts_i.h"

#define HELLO_MAGIC "xoshost1"
#define BUILD_ID_MAX 32
#define SECRET_LEN 32
#define NONCE_LEN 32
#define MAX_CHANS 64
#define STR_MAX 1024
#define ARG_MAX_REMOTE (256u << 20)
#define TOKEN_WAIT_S 10
/*
 * Connections accepted that have not proved they belong to the launch yet:
 * a thread each, for up to AUTH_WAIT_S.  Beyond this many, new ones are
 * closed at once, so that a stranger opening connections and saying
 * nothing costs a host (rank 0's process included) no more than this.
 */
#define UNAUTH_MAX 32
#define AUTH_WAIT_S 10

enum conn_kind { KIND_SESSION = 1, KIND_EF = 2, KIND_CHAN = 3, KIND_MIGRATE = 4 };

struct hello {
	char magic[8];
	uint8_t nonce[NONCE_LEN];
	uint32_t rank;
	uint32_t build_id_len;
	uint8_t build_id[BUILD_ID_MAX];
};

struct auth {
	uint8_t mac[XOS__SHA256_LEN];
	uint32_t kind;
	uint32_t pad;
	uint64_t token;
};

struct ef_req {
	uint64_t ef_id;
	uint32_t isolation, perf, flags, nchans;
	uint64_t domain_size;
	uint64_t fn_off;
	uint32_t build_id_len;
	uint8_t build_id[BUILD_ID_MAX];
	uint32_t name_len, icf_len, icfs_len, options_len;
	uint64_t arg_size;
	uint32_t creator; /* the creator's rank */
	uint32_t pad;
};

struct chan_req {
	uint64_t token;
	uint64_t addr;    /* the end's address on the creator's host */
	uint32_t flags;   /* XOS_CHAN_F_* of the channel */
	uint32_t idx;     /* which end the EF takes */
	uint64_t capacity, max_msg;
	char name[48];
};

struct ef_rep {
	int32_t rc;
	uint32_t pad;
	char icf[32];
	char why[512];
};

struct ef_end {
	uint32_t how;   /* enum xos_ef_end, or EF_END_MOVED */
	int32_t status;
};
/* The EF left that host (migrated): it did not end. */
#define EF_END_MOVED 0x100u

struct host {
	char name[XOS_HOST_NAME_MAX];
	uint32_t rank;
	struct sockaddr_in addr;
	uint32_t build_id_len;
	uint8_t build_id[BUILD_ID_MAX];
	int session;       /* rank 0: the session connection, -1 if none */
	unsigned int live; /* EFs this process placed there and has not joined yet */
	bool lost;
	char reason[128];
};

/* What a remote EF is, on the creator's host. */
struct xos__remote {
	int sock;       /* its ef connection */
	int host;
	char icf[32];
	int holds[MAX_CHANS]; /* control sockets of the ends it took (chan/remote.c) */
	size_t nholds;
};

static struct {
	bool launched; /* joined a launch of more than one process */
	uint32_t rank, size;
	struct host *hosts; /* by rank, every rank's */
	uint8_t secret[SECRET_LEN];
	uint32_t build_id_len;
	uint8_t build_id[BUILD_ID_MAX];
	int listen_fd;
	char self_name[XOS_HOST_NAME_MAX];
	atomic_bool closing;   /* rank 0 is exiting: no more EFs for other hosts */
	atomic_uint unauth;    /* accepted connections not authenticated yet */
	pthread_mutex_t lock;
} H = { .listen_fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER };

/* ---- small I/O helpers ------------------------------------------------------ */

/* 0, -ECONNRESET at EOF, -errno. */
static int read_all(int fd, void *buf, size_t len)
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

static void set_timeout(int fd, int seconds)
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

	xos__hmac_sha256_init(&m, H.secret, sizeof(H.secret));
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
	H.build_id_len = note_build_id(info, H.build_id);
	(void)ctx;
	return 1; /* the first object is the program */
}

/* ---- hosts' bookkeeping ------------------------------------------------------- */

const char *xos__host_self_name(void)
{
	if (!H.self_name[0] && gethostname(H.self_name, sizeof(H.self_name) - 1) < 0)
		snprintf(H.self_name, sizeof(H.self_name), "localhost");
	return H.self_name;
}

static void host_lost(struct host *h, const char *why)
{
	pthread_mutex_lock(&H.lock);
	if (!h->lost) {
		h->lost = true;
		snprintf(h->reason, sizeof(h->reason), "%s", why);
	}
	pthread_mutex_unlock(&H.lock);
}

/* Connect to host @h and authenticate as @kind; the socket or -errno. */
static int connect_auth(struct host *h, uint32_t kind, uint64_t token)
{
	struct hello hi;
	struct auth au = { .kind = kind, .token = token };
	int fd, rc;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	set_timeout(fd, 10);
	if (connect(fd, (struct sockaddr *)&h->addr, sizeof(h->addr)) < 0) {
		rc = -errno;
		goto fail;
	}
	tune(fd);
	rc = read_all(fd, &hi, sizeof(hi));
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
	set_timeout(fd, 0);
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
static void lost_if_gone(struct host *h, int *rc, char *why, size_t why_len)
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
		set_timeout(fd, 2);
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
static void serve_migrate(int fd);
static int take_out(int src, uint32_t creator, uint64_t ef_id, size_t n, const uint64_t *tok,
		    struct xos__chan_move *mv, int *ret_sock, uint64_t *ret_len, char *why, size_t why_len);
static void hosted_add(uint64_t id0, struct xos_ef *ef, bool movable);
static bool hosted_del(uint64_t id0);

/*
 * Chaos tests: a host kills itself (SIGKILL, as kill -9 from outside would)
 * at the step XOS_HOSTS_FAULT names, one no outside kill can hit reliably.
 * Steps: "fetch-committed" (a host that fetched an EF, right after it told
 * the host left to let it go, before it tells the creator).
 */
static void fault_point(const char *step)
{
	const char *f = secure_getenv("XOS_HOSTS_FAULT");

	if (f && strcmp(f, step) == 0) {
		xos__log_debug("hosts: fault point %s: killed", step);
		raise(SIGKILL);
	}
}

/* EF ids count from 1 in each process: the creator's rank makes them one name space. */
static uint64_t hosted_key(uint32_t creator, uint64_t ef_id)
{
	return (uint64_t)creator << 48 ^ ef_id;
}

/* Rank 0: open a session with every host (checks the secret and the build now, not at the first EF). */
static void sessions_open(void)
{
	for (uint32_t r = 1; r < H.size; r++) {
		struct host *h = &H.hosts[r];
		int fd = connect_auth(h, KIND_SESSION, 0);

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
	xos__log_error("xos: cannot join the launch (rank %u): %s: %s", H.rank, what, strerror(-rc));
	if (H.rank != 0) {
		xos__launch_fini();
		_exit(1);
	}
	H.launched = false; /* rank 0 goes on as a host of its own */
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
	rc = xos__launch_init(&H.rank, &H.size);
	if (rc < 0)
		return;
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("XOS_HOSTS_PID", pid, 1);
	if (xos__launch_hostname(H.rank, H.self_name, sizeof(H.self_name)) < 0)
		snprintf(H.self_name, sizeof(H.self_name), "rank%u", H.rank);
	atexit(xos__launch_fini);
	if (H.size < 2)
		return;
	H.launched = true;
	dl_iterate_phdr(self_cb, NULL);
	H.hosts = calloc(H.size, sizeof(*H.hosts));
	if (!H.hosts)
		return boot_fail("memory", -ENOMEM);
	/* Every rank serves: EFs anywhere may create EFs on any host, rank 0's included. */
	rc = serve_addr(&a);
	if (rc < 0)
		return boot_fail("XOS_HOST_ADDR/XOS_HOST_PORT", rc);
	H.listen_fd = listen_on(&a);
	if (H.listen_fd < 0)
		return boot_fail("listen", H.listen_fd);
	rc = xos__launch_put("xos.ep", &a, sizeof(a));
	if (rc == 0 && H.rank == 0) {
		if (getrandom(H.secret, sizeof(H.secret), 0) != (ssize_t)sizeof(H.secret))
			return boot_fail("getrandom", -EIO);
		rc = xos__launch_put("xos.secret", H.secret, sizeof(H.secret));
	}
	if (rc == 0)
		rc = xos__launch_put("xos.bid", H.build_id, H.build_id_len);
	if (rc == 0)
		rc = xos__launch_fence();
	if (rc < 0)
		return boot_fail("publishing endpoints", rc);
	if (H.rank != 0) {
		rc = xos__launch_get(0, "xos.secret", H.secret, sizeof(H.secret), &len);
		if (rc < 0 || len != sizeof(H.secret))
			return boot_fail("the launch's secret", rc < 0 ? rc : -EPROTO);
	}
	for (uint32_t r = 0; r < H.size; r++) {
		struct host *h = &H.hosts[r];

		h->rank = r;
		h->session = -1;
		if (xos__launch_hostname(r, h->name, sizeof(h->name)) < 0)
			snprintf(h->name, sizeof(h->name), "rank%u", r);
		if (r == H.rank)
			continue;
		if (xos__launch_get(r, "xos.ep", &h->addr, sizeof(h->addr), &len) < 0 ||
		    len != sizeof(h->addr)) {
			host_lost(h, "published no endpoint");
			continue;
		}
		if (xos__launch_get(r, "xos.bid", h->build_id, sizeof(h->build_id), &len) == 0)
			h->build_id_len = (uint32_t)len;
	}
	if (H.rank != 0) {
		xos__log_set_host(H.self_name);
		serve();
	}
	sessions_open();
	rc = serve_in_thread();
	if (rc < 0) {
		/* Rank 0 goes on; EFs elsewhere cannot create EFs here (they are told so). */
		xos__log_error("xos: rank 0 cannot serve EFs for other hosts: %s", strerror(-rc));
		close(H.listen_fd);
		H.listen_fd = -1;
	}
	xos__log_debug("hosts: rank 0 of %u, placing EFs on the others and serving theirs", H.size);
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
static int pending_take(uint64_t token)
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
	rc = read_all(fd, s, len);
	if (rc < 0 || strlen(s) != len) {
		free(s);
		return rc < 0 ? rc : -EPROTO;
	}
	*ret = s;
	return 0;
}

static void reply(int fd, int rc, const char *icf, const char *why)
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
	set_timeout(fd, 30);
	rc = read_all(fd, &req, sizeof(req));
	if (rc < 0)
		goto out;
	if (req.nchans > MAX_CHANS || req.arg_size > ARG_MAX_REMOTE || req.build_id_len > BUILD_ID_MAX ||
	    req.creator >= H.size || req.creator == H.rank) {
		rc = -EPROTO;
		goto out_reply;
	}
	if (atomic_load(&H.closing)) {
		rc = -ESHUTDOWN; /* rank 0's main() has returned: its process is ending */
		goto out_reply;
	}
	if ((rc = read_str(fd, req.name_len, &name)) < 0 || (rc = read_str(fd, req.icf_len, &icf)) < 0 ||
	    (rc = read_str(fd, req.icfs_len, &icfs)) < 0 ||
	    (rc = read_str(fd, req.options_len, &options)) < 0)
		goto out_reply;
	if (req.nchans && (rc = read_all(fd, creq, req.nchans * sizeof(creq[0]))) < 0)
		goto out_reply;
	if (req.arg_size) {
		arg = malloc(req.arg_size);
		if (!arg) {
			rc = -ENOMEM;
			goto out_reply;
		}
		rc = read_all(fd, arg, req.arg_size);
		if (rc < 0)
			goto out_reply;
	}
	set_timeout(fd, 0);

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
		socks[i] = pending_take(creq[i].token);
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
	reply(fd, 0, xos_ef_icf(ef), "");
	free(arg);
	arg = NULL;
	/* A domain EF without channels may leave for another host (its creator's xos_ef_migrate). */
	key = hosted_key(req.creator, req.ef_id);
	hosted_add(key, ef, ef->dom && req.nchans == 0);
	rc = xos_ef_join(ef, &ex);
	end.how = rc < 0 ? XOS_EF_LOST : ex.how;
	end.status = rc < 0 ? 0 : ex.status;
	if (hosted_del(key))
		end.how = EF_END_MOVED;
	(void)xos__send_all(fd, &end, sizeof(end));
	goto out;

out_reply:
	reply(fd, rc, "",
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
	struct hello hi = { .rank = H.rank, .build_id_len = H.build_id_len };
	struct auth au;
	uint8_t want[XOS__SHA256_LEN];
	struct sockaddr_in peer;
	socklen_t plen = sizeof(peer);
	bool ok;
	char c;

	memcpy(hi.magic, HELLO_MAGIC, 8);
	memcpy(hi.build_id, H.build_id, sizeof(hi.build_id));
	set_timeout(fd, AUTH_WAIT_S);
	ok = getrandom(hi.nonce, sizeof(hi.nonce), 0) == (ssize_t)sizeof(hi.nonce) &&
	     xos__send_all(fd, &hi, sizeof(hi)) == 0 && read_all(fd, &au, sizeof(au)) == 0;
	if (ok) {
		mac_of(hi.nonce, au.kind, au.token, want);
		ok = xos__equal_ct(want, au.mac, sizeof(want));
	}
	atomic_fetch_sub(&H.unauth, 1); /* proved, or out */
	if (!ok)
		goto refuse;
	set_timeout(fd, 0);
	tune(fd);
	if (H.rank == 0) {
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
		serve_migrate(fd);
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
		int fd = accept4(H.listen_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE)
				continue;
			xos__log_error("xos: host %s: accept: %s", H.self_name, strerror(errno));
			break;
		}
		if (atomic_fetch_add(&H.unauth, 1) >= UNAUTH_MAX ||
		    pthread_create(&t, &ta, serve_conn, (void *)(intptr_t)fd) != 0) {
			atomic_fetch_sub(&H.unauth, 1);
			close(fd);
		}
	}
	pthread_attr_destroy(&ta);
}

/* Every rank but 0: serve until rank 0's session ends. */
static void serve(void)
{
	xos__log_debug("hosts: rank %u serves EFs", H.rank);
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
	atomic_store(&H.closing, true);
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

static int host_find(const char *name)
{
	for (uint32_t r = 0; r < H.size; r++)
		if (strcmp(H.hosts[r].name, name) == 0)
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
	if (!H.launched) {
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
	for (uint32_t r = 1; r < H.size; r++) {
		struct pollfd pfd = { .fd = H.hosts[r].session, .events = POLLRDHUP };

		if (pfd.fd >= 0 && poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLRDHUP | POLLERR)))
			host_lost(&H.hosts[r], "its process ended");
	}
	if (want && strcmp(want, "self") == 0) {
		snprintf(why, why_len, "the EF asks for its creator's host");
		return 0;
	}
	if (want && strcmp(want, "any") != 0) {
		int r = host_find(want);

		if (r < 0) {
			snprintf(why, why_len, "no host of the launch is called \"%s\"", want);
			return -ENOENT;
		}
		if (H.hosts[r].lost) {
			snprintf(why, why_len, "host %s is lost (%s)", want, H.hosts[r].reason);
			return -EHOSTDOWN;
		}
		snprintf(why, why_len, "the EF names host %s", want);
		*ret_host = r == (int)H.rank ? -1 : r;
		return 0;
	}
	if (set.policy != XOS_POLICY_SPREAD) {
		snprintf(why, why_len, "policy %s keeps EFs on their creator's host (spread balances them)",
			 xos__policy_name(set.policy));
		return 0;
	}
	pthread_mutex_lock(&H.lock);
	/* This host's own count, and those of the EFs it placed elsewhere. */
	H.hosts[H.rank].live = (unsigned int)xos__ef_count();
	for (uint32_t r = 0; r < H.size; r++) {
		if (H.hosts[r].lost)
			continue;
		if (best < 0 || H.hosts[r].live < best_n) {
			best = (int)r;
			best_n = H.hosts[r].live;
		}
	}
	snprintf(why, why_len, "policy spread: fewest live EFs (");
	used = strlen(why);
	for (uint32_t r = 0; r < H.size && used + 1 < why_len; r++) {
		if (H.hosts[r].lost)
			snprintf(why + used, why_len - used, "%s%s lost", r ? ", " : "", H.hosts[r].name);
		else
			snprintf(why + used, why_len - used, "%s%s %u", r ? ", " : "", H.hosts[r].name,
				 H.hosts[r].live);
		used = strlen(why);
	}
	pthread_mutex_unlock(&H.lock);
	if (used + 1 < why_len)
		snprintf(why + used, why_len - used, ")");
	*ret_host = best < 0 || best == (int)H.rank ? -1 : best;
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

static uint64_t token_new(void)
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
	struct host *h = &H.hosts[idx];
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
	if (h->build_id_len != H.build_id_len || memcmp(h->build_id, H.build_id, H.build_id_len) != 0) {
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
	fd = connect_auth(h, KIND_EF, 0);
	if (fd < 0) {
		rc = fd;
		snprintf(why, why_len, "cannot reach host %s: %s", h->name, strerror(-rc));
		lost_if_gone(h, &rc, why, why_len);
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		struct xos_chan *end = attr->chans[i];
		struct xos_chan_attr shape;

		xos__chan_shape(end, &shape);
		creq[i] = (struct chan_req){
			.token = token_new(),
			.addr = (uint64_t)(uintptr_t)end,
			.flags = shape.flags,
			.idx = (uint32_t)xos__chan_idx(end),
			.capacity = shape.capacity,
			.max_msg = shape.max_msg,
		};
		snprintf(creq[i].name, sizeof(creq[i].name), "%s", shape.name);
		socks[i] = connect_auth(h, KIND_CHAN, creq[i].token);
		if (socks[i] < 0) {
			rc = socks[i];
			snprintf(why, why_len, "cannot reach host %s: %s", h->name, strerror(-rc));
			goto fail;
		}
	}
	req.ef_id = ef->id;
	req.creator = H.rank;
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
	set_timeout(fd, 60); /* a host that takes the request but never answers is as good as lost */
	if ((rc = xos__send_all(fd, &req, sizeof(req))) < 0 || (rc = xos__send_all(fd, ef->name, req.name_len)) < 0 ||
	    (rc = xos__send_all(fd, attr->icf, req.icf_len)) < 0 ||
	    (rc = xos__send_all(fd, attr->icfs, req.icfs_len)) < 0 ||
	    (rc = xos__send_all(fd, attr->options, req.options_len)) < 0 ||
	    (n && (rc = xos__send_all(fd, creq, n * sizeof(creq[0]))) < 0) ||
	    (ef->arg_size && (rc = xos__send_all(fd, ef->arg, ef->arg_size)) < 0) ||
	    (rc = read_all(fd, &rep, sizeof(rep))) < 0) {
		snprintf(why, why_len, "host %s: %s", h->name,
			 rc == -ECONNRESET ? "lost while starting the EF" : strerror(-rc));
		rc = rc == -ECONNRESET ? -EHOSTDOWN : rc;
		goto fail;
	}
	set_timeout(fd, 0);
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
	pthread_mutex_lock(&H.lock);
	h->live++;
	pthread_mutex_unlock(&H.lock);
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
	struct host *h = &H.hosts[r->host];
	struct ef_end end;
	int rc = read_all(r->sock, &end, sizeof(end));

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
	pthread_mutex_lock(&H.lock);
	h->live--;
	pthread_mutex_unlock(&H.lock);
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
	return H.hosts[ef->remote->host].name;
}

/* ---- migration: a domain EF moves to another host ------------------------------------ */

/*
 * One KIND_MIGRATE connection per move.  IN: the request and the image
 * follow; the host restores the EF (its own policy picks the ICF), replies
 * as to an ef request, and the connection then serves as the EF's ef
 * connection (its end, or EF_END_MOVED when it leaves again).  OUT: the
 * host parks the EF named by the creator's rank and id at its next safe point and
 * sends its image; the EF stays parked there until the mover says
 * whether it was restored elsewhere (then it leaves) or not (it goes on).
 * FETCH (an EF between two hosts neither of which is its creator's): the
 * host takes the EF from host @from with an OUT of its own, restores it as
 * for IN and tells @from the verdict; the creator's
 * connection gets the reply, then the image's length, and serves as the
 * EF's ef connection from then on.  The image does not pass through the
 * creator's host.  WHERE (the creator, after a FETCH whose destination
 * died before it replied): the host says, once no move of the EF is going
 * on, whether it still runs the EF (0) or let it go (-ESRCH).
 */
enum { MIG_IN = 1, MIG_OUT = 2, MIG_FETCH = 3, MIG_WHERE = 4 };
#define MIG_IMAGE_MAX ((uint64_t)XOS__DOMAIN_SIZE_MAX + (64u << 20))

struct mig_req {
	uint32_t op;
	uint32_t isolation, perf, nchans;
	uint64_t ef_id;      /* the creator's id of the EF */
	uint64_t image_len;  /* IN: bytes of image that follow */
	uint32_t creator;    /* the creator's rank (the one moving it) */
	uint32_t from;       /* FETCH: the rank of the host the EF runs on */
	char name[XOS_EF_NAME_MAX];
	char icf[32], icfs[128];
};

struct mig_rep {
	int32_t rc;
	uint32_t nchans;
	uint64_t image_len; /* OUT: bytes of image that follow */
	char why[256];
};

/* IN: per channel end, after the request: its state and the tokens of its two connections. */
struct mig_chan {
	struct xos__chan_move mv;
	uint64_t tok_next;  /* the new path to the peer */
	uint64_t tok_drain; /* what the peer wrote before its marker (0: the end does not read) */
};

/* OUT: after the request, per end, the token of its drain; after the image the verdict. */
struct mig_verdict {
	int32_t rc;
	uint32_t pad;
	uint64_t next_id[MAX_CHANS]; /* the path each end's peer continues on */
};

/* EFs this host runs for other hosts that may leave: by creator's rank and id (hosted_key). */
struct hosted {
	uint64_t id0;
	struct xos_ef *ef;
	bool movable; /* a domain; ends only of its arrival here */
	bool leaving, busy;
	bool closing; /* it ended and is being joined: no move may take it (its control page goes) */
	size_t nends;
	struct xos_chan *ends[MAX_CHANS]; /* the ends it arrived with (a move) */
	int holds[MAX_CHANS];
	struct hosted *next;
};
static pthread_mutex_t hosted_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hosted_cond = PTHREAD_COND_INITIALIZER;
static struct hosted *hosted_head;

static void hosted_add(uint64_t id0, struct xos_ef *ef, bool movable)
{
	struct hosted *h = calloc(1, sizeof(*h));

	if (!h)
		return; /* it cannot leave, that is all */
	h->id0 = id0;
	h->ef = ef;
	h->movable = movable;
	pthread_mutex_lock(&hosted_lock);
	h->next = hosted_head;
	hosted_head = h;
	pthread_mutex_unlock(&hosted_lock);
}

/* The EF ended or left: forget it; did it leave?  (When it left, its ends' forwarders own the holds.) */
static bool hosted_del(uint64_t id0)
{
	bool left = false;

	pthread_mutex_lock(&hosted_lock);
	for (struct hosted **pp = &hosted_head; *pp; pp = &(*pp)->next) {
		if ((*pp)->id0 == id0) {
			struct hosted *h = *pp;

			/* A move in progress still uses it (it ended at its safe point: the move fails). */
			while (h->busy)
				pthread_cond_wait(&hosted_cond, &hosted_lock);
			*pp = h->next;
			left = h->leaving;
			for (size_t i = 0; i < h->nends && !left; i++)
				close(h->holds[i]);
			free(h);
			break;
		}
	}
	pthread_mutex_unlock(&hosted_lock);
	return left;
}

/*
 * Take the hosted EF @id0 for a move (one at a time): 0, -ESRCH (ended),
 * -EOPNOTSUPP, or -EBUSY when another move of it is still going on after
 * BUSY_WAIT_S.  Waiting, not refusing at once: a move that failed because
 * its destination died may still be letting the EF go on here when its
 * creator, told first, asks again.
 */
#define BUSY_WAIT_S 10
static int hosted_take(uint64_t id0, struct hosted **ret)
{
	struct timespec dl;
	int rc;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += BUSY_WAIT_S;
	pthread_mutex_lock(&hosted_lock);
	for (;;) {
		struct hosted *h;

		for (h = hosted_head; h; h = h->next)
			if (h->id0 == id0 && !h->leaving && !h->closing)
				break;
		rc = -ESRCH;
		if (h && !h->movable) {
			rc = -EOPNOTSUPP;
		} else if (h && !h->busy) {
			h->busy = true;
			*ret = h;
			rc = 0;
		} else if (h) {
			rc = -EBUSY;
		}
		if (rc != -EBUSY || pthread_cond_timedwait(&hosted_cond, &hosted_lock, &dl) != 0)
			break;
	}
	pthread_mutex_unlock(&hosted_lock);
	return rc;
}

/*
 * Before the EF @id0 is joined here (which frees its control page): wait
 * until it has ended with no move using it, then let no move take it; or
 * until it has left for another host.
 */
static void hosted_close(uint64_t id0, struct xos_ef *ef)
{
	for (;;) {
		uint32_t seq = atomic_load(&ef->ctl->seq);
		struct hosted *h;
		bool done = true;

		pthread_mutex_lock(&hosted_lock);
		for (h = hosted_head; h && h->id0 != id0; h = h->next)
			;
		if (h && !h->leaving) {
			done = (atomic_load(&ef->ctl->ended) || xos__ef_host_gone(ef)) && !h->busy;
			h->closing = done;
		}
		pthread_mutex_unlock(&hosted_lock);
		if (done)
			return;
		/* Its host bumps seq when it ends (and at every request it answers). */
		xos__futex_wait_ms(&ef->ctl->seq, seq, 200);
	}
}

static void hosted_done(struct hosted *h, bool leaving)
{
	pthread_mutex_lock(&hosted_lock);
	h->busy = false;
	h->leaving = leaving;
	pthread_cond_broadcast(&hosted_cond);
	pthread_mutex_unlock(&hosted_lock);
}

/* Close the sockets of @n ends' connections (-1: none). */
static void socks_close(int *socks, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (socks[i] >= 0)
			close(socks[i]);
}

/*
 * Connections to host @src, where an EF runs, for the drains of its ends
 * that read (@reads[@n]): a new token in @tok[i] and the socket in
 * @drains[i] for each (0 and -1 for the others).  0, or -errno with none
 * left open.
 */
static int drains_open(int src, const bool *reads, size_t n, uint64_t *tok, int *drains)
{
	for (size_t i = 0; i < n; i++) {
		tok[i] = 0;
		drains[i] = -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!reads[i])
			continue;
		tok[i] = token_new();
		drains[i] = connect_auth(&H.hosts[src], KIND_CHAN, tok[i]);
		if (drains[i] < 0) {
			int rc = drains[i];

			socks_close(drains, i);
			return rc;
		}
	}
	return 0;
}

/*
 * A fetched EF (MIG_FETCH): tell the host it leaves whether it runs here
 * now (it lets it go, its ends' markers naming the paths in @mc[@n]) or not
 * (it goes on there), once; closed either way, which also ends a stream
 * the arrival stopped reading.
 */
static void tell_source(int *src, int rc, const struct mig_chan *mc, size_t n)
{
	struct mig_verdict v = { .rc = rc < 0 ? rc : 0 };

	if (*src < 0)
		return;
	for (size_t i = 0; i < n; i++)
		v.next_id[i] = mc[i].mv.next_id;
	if (rc == 0)
		(void)xos__send_all(*src, &v, sizeof(v));
	close(*src);
	*src = -1;
}

/*
 * An EF arrives (MIG_IN, or MIG_FETCH with *@src the connection to the
 * host it leaves, else -1) with its ends' state @mc[req->nchans]: restore
 * it here, then serve it as an ef connection on @fd.  Each end's drain is
 * the chan connection of its token, or, fetched, @drains[i] (taken).
 */
static void serve_migrate_in(int fd, const struct mig_req *req, struct mig_chan *mc, int *drains, int *src)
{
	struct ef_rep rep = { 0 };
	struct ef_end end;
	struct xos_ef_exit ex = { 0 };
	struct xos_chan *ends[MAX_CHANS];
	int holds[MAX_CHANS];
	uint64_t reloc[2 * MAX_CHANS];
	struct hosted *h;
	struct xos_ef *ef;
	size_t n = req->nchans, made = 0;
	char why[512] = "out of memory";
	uint64_t key = hosted_key(req->creator, req->ef_id);
	int rc;

	rc = xos__runtime_init(); /* the mechanisms, before the ends are made */
	if (rc < 0) {
		reply(fd, rc, "", "the runtime does not start here");
		goto fail_drains;
	}
	if (req->image_len == 0 || req->image_len > MIG_IMAGE_MAX) {
		reply(fd, -EPROTO, "", "no image, or one larger than a domain can be");
		goto fail_drains;
	}
	/* Its ends: each on the new path to its peer and the drain of what the peer sent before. */
	for (size_t i = 0; i < n; i++) {
		int next = pending_take(mc[i].tok_next);
		int drain = drains ? drains[i] : mc[i].tok_drain ? pending_take(mc[i].tok_drain) : -1;

		if (drains)
			drains[i] = -1;
		mc[i].mv.name[sizeof(mc[i].mv.name) - 1] = '\0';
		if (next < 0 || (mc[i].mv.can_rx && drain < 0)) {
			if (next >= 0)
				close(next);
			if (drain >= 0)
				close(drain);
			rc = next < 0 ? -ETIMEDOUT : -EPROTO;
			snprintf(why, sizeof(why), "chan \"%s\": %s", mc[i].mv.name,
				 next < 0 ? "a channel connection did not come" : "an end that reads has no drain");
			goto fail_ends;
		}
		rc = xos__chan_move_arrive(&mc[i].mv, next, drain, &ends[i], &holds[i]);
		if (rc < 0) {
			snprintf(why, sizeof(why), "chan \"%s\" cannot arrive: %s", mc[i].mv.name, strerror(-rc));
			goto fail_ends;
		}
		reloc[2 * i] = mc[i].mv.addr;
		reloc[2 * i + 1] = (uint64_t)(uintptr_t)ends[i];
		made++;
	}
	ef = xos__calloc(1, sizeof(*ef));
	if (!ef || (n && !(ef->chans = xos__calloc(n, sizeof(*ef->chans))))) {
		xos__free(ef);
		rc = -ENOMEM;
		goto fail_ends;
	}
	for (size_t i = 0; i < n; i++)
		ef->chans[i] = ends[i];
	ef->nchans = n;
	ef->reloc = reloc;
	ef->nreloc = n;
	ef->magic = XOS_EF_MAGIC;
	ef->id = req->ef_id; /* the creator's, so --explain lines match up */
	ef->iso = (enum xos_isolation)req->isolation;
	ef->perf = (enum xos_perf_hint)req->perf;
	memcpy(ef->req_icf, req->icf, sizeof(ef->req_icf));
	memcpy(ef->req_icfs, req->icfs, sizeof(ef->req_icfs));
	ef->req_icf[sizeof(ef->req_icf) - 1] = ef->req_icfs[sizeof(ef->req_icfs) - 1] = '\0';
	if ((unsigned int)ef->iso >= XOS_ISO_COUNT_ || (unsigned int)ef->perf > XOS_PERF_COMM ||
	    (ef->req_icf[0] && !xos__name_valid(ef->req_icf))) {
		rc = -EPROTO;
		snprintf(why, sizeof(why), "malformed requirements");
	} else {
		if (n)
			xos__chans_hand(ef->chans, n, ef->id); /* closed at its end here, if it ends here */
		/* Straight from the connection into place: no copy of the image here. */
		ef->image_stream_len = req->image_len;
		rc = xos__ef_restore_into(ef, *src >= 0 ? *src : fd, why, sizeof(why));
		ef->image_stream_len = 0;
	}
	ef->reloc = NULL;
	ef->nreloc = 0;
	/* Fetched: it runs here, or it goes on where it was (before the creator hears either). */
	tell_source(src, rc, mc, n);
	if (rc == 0 && req->op == MIG_FETCH)
		fault_point("fetch-committed");
	if (rc < 0) {
		xos__explain("ef %llu: arrival refused (%s): %s", (unsigned long long)req->ef_id,
			     strerror(-rc), why);
		ef->magic = 0;
		xos__free(ef->chans);
		xos__free(ef);
		rep.rc = rc;
		snprintf(rep.why, sizeof(rep.why), "%s", why);
		(void)xos__send_all(fd, &rep, sizeof(rep));
		for (size_t i = 0; i < made; i++) {
			xos_chan_close(ends[i]);
			close(holds[i]);
		}
		return;
	}
	xos__explain("ef %llu \"%s\" arrived%s%s (%llu bytes of image, %zu channel end%s re-bound: tcp to its peer) -> %s",
		     (unsigned long long)ef->id, ef->name, req->op == MIG_FETCH ? " from host " : "",
		     req->op == MIG_FETCH ? H.hosts[req->from].name : "", (unsigned long long)req->image_len, n,
		     n == 1 ? "" : "s", why);
	hosted_add(key, ef, true);
	pthread_mutex_lock(&hosted_lock);
	for (h = hosted_head; h && h->id0 != key; h = h->next)
		;
	if (h) {
		h->nends = n;
		memcpy(h->ends, ends, n * sizeof(ends[0]));
		memcpy(h->holds, holds, n * sizeof(holds[0]));
		made = 0;
	}
	pthread_mutex_unlock(&hosted_lock);
	for (size_t i = 0; i < made; i++)
		close(holds[i]); /* no memory to list it: it cannot leave, its peer sees it go at its end */
	snprintf(rep.icf, sizeof(rep.icf), "%s", xos_ef_icf(ef));
	snprintf(rep.why, sizeof(rep.why), "%s", why);
	if (xos__send_all(fd, &rep, sizeof(rep)) < 0 ||
	    (req->op == MIG_FETCH && xos__send_all(fd, &req->image_len, sizeof(req->image_len)) < 0))
		xos__log_debug("hosts: ef %llu: the creator went away", (unsigned long long)req->ef_id);
	hosted_close(key, ef);
	rc = xos_ef_join(ef, &ex);
	end.how = rc < 0 ? XOS_EF_LOST : ex.how;
	end.status = rc < 0 ? 0 : ex.status;
	if (hosted_del(key))
		end.how = EF_END_MOVED;
	(void)xos__send_all(fd, &end, sizeof(end));
	return;

fail_ends:
	for (size_t i = 0; i < made; i++) {
		xos_chan_close(ends[i]);
		close(holds[i]);
	}
	reply(fd, rc, "", why);
fail_drains:
	if (drains)
		socks_close(drains, n);
}

/* The EF stays: the drains its taker made for its ends (@tok[@n], 0: none) are not needed. */
static void drains_drop(const uint64_t *tok, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int drain = tok[i] ? pending_take(tok[i]) : -1;

		if (drain >= 0)
			close(drain);
	}
}

/* The creator takes an EF away (MIG_OUT): its image, then leave or go on. */
struct out_head {
	int fd;
	struct mig_rep *rep;
	const struct xos__chan_move *mv;
	size_t n;
};

/* The reply, once the image's length is known; the image follows. */
static int out_head(void *arg, uint64_t len)
{
	struct out_head *oh = arg;
	int rc;

	oh->rep->image_len = len;
	rc = xos__send_all(oh->fd, oh->rep, sizeof(*oh->rep));
	if (rc == 0 && oh->n)
		rc = xos__send_all(oh->fd, oh->mv, oh->n * sizeof(oh->mv[0]));
	return rc;
}

static void serve_migrate_out(int fd, const struct mig_req *req)
{
	struct mig_rep rep = { 0 };
	struct hosted *h = NULL;
	struct mig_verdict verdict = { .rc = -EPROTO };
	struct xos__chan_move mv[MAX_CHANS];
	struct out_head oh = { .fd = fd, .rep = &rep, .mv = mv };
	uint64_t tok[MAX_CHANS];
	int rc;

	if (req->nchans > MAX_CHANS || (req->nchans && read_all(fd, tok, req->nchans * sizeof(tok[0])) < 0))
		return;
	rc = hosted_take(hosted_key(req->creator, req->ef_id), &h);
	if (rc == 0 && h->nends != req->nchans) {
		hosted_done(h, false);
		h = NULL;
		rc = -EPROTO;
	}
	if (rc == 0)
		rc = xos__ef_request(h->ef, XOS_REQ_PARK);
	for (size_t i = 0; rc == 0 && i < h->nends; i++) {
		rc = xos__chan_move_prepare(h->ends[i], &mv[i]);
		if (rc < 0)
			xos__ef_release(h->ef);
	}
	if (rc < 0) {
		if (h)
			hosted_done(h, false);
		rep.rc = rc;
		snprintf(rep.why, sizeof(rep.why), "%s",
			 rc == -EOPNOTSUPP ? "the EF holds channel ends or has no domain" :
			 rc == -ESRCH ? "the EF ended" : strerror(-rc));
		(void)xos__send_all(fd, &rep, sizeof(rep));
		drains_drop(tok, req->nchans);
		return;
	}
	rep.nchans = (uint32_t)h->nends;
	oh.n = h->nends;
	set_timeout(fd, 120);
	/* Parked: its image goes out as it is read from the domain, then the creator's verdict. */
	if (xos__image_send(h->ef, fd, out_head, &oh) == 0)
		(void)read_all(fd, &verdict, sizeof(verdict));
	if (verdict.rc == 0) {
		/* It runs elsewhere now: its ends hand over to the new paths, its flow here lets it go. */
		for (size_t i = 0; i < h->nends; i++) {
			int drain = tok[i] ? pending_take(tok[i]) : -1;

			(void)xos__chan_move_leave(h->ends[i], verdict.next_id[i], drain, false, h->holds[i]);
		}
		hosted_done(h, true);
		xos__explain("ef %llu \"%s\" left for another host", (unsigned long long)req->ef_id,
			     h->ef->name);
		(void)xos__ef_leave(h->ef);
	} else {
		hosted_done(h, false);
		xos__ef_release(h->ef);
		drains_drop(tok, req->nchans);
	}
}

/*
 * MIG_FETCH: take the EF from host req->from (an OUT of our own), then as
 * MIG_IN.  Its ends (@mc: the creator's new path to each end's peer, its
 * id, and whether the end reads) come with it: what each peer wrote before
 * its marker comes from the host left on a drain made here, as a move home
 * takes it.
 */
static void serve_migrate_fetch(int fd, const struct mig_req *req, struct mig_chan *mc)
{
	struct mig_req in = *req;
	struct xos__chan_move mv[MAX_CHANS];
	uint64_t tok[MAX_CHANS];
	int drains[MAX_CHANS];
	bool reads[MAX_CHANS];
	size_t n = req->nchans;
	char why[300];
	int src = -1, rc;

	if (req->from >= H.size || req->from == H.rank || req->from == req->creator) {
		reply(fd, -EPROTO, "", "a fetch from this host or from the EF's creator's");
		return;
	}
	for (size_t i = 0; i < n; i++)
		reads[i] = mc[i].tok_drain != 0;
	rc = drains_open((int)req->from, reads, n, tok, drains);
	if (rc < 0)
		snprintf(why, sizeof(why), "cannot reach host %s: %s", H.hosts[req->from].name, strerror(-rc));
	else
		rc = take_out((int)req->from, req->creator, req->ef_id, n, tok, mv, &src, &in.image_len, why,
			      sizeof(why));
	if (rc < 0) {
		socks_close(drains, n);
		reply(fd, rc, "", why);
		return;
	}
	/* Each end as it was there, on to the path its creator made for it. */
	for (size_t i = 0; i < n; i++) {
		uint64_t id = mc[i].mv.next_id;

		mc[i].mv = mv[i];
		mc[i].mv.next_id = id;
	}
	serve_migrate_in(fd, &in, mc, drains, &src);
	tell_source(&src, -EPROTO, NULL, 0); /* refused before its image was read: it goes on there */
}

/* MIG_WHERE: does this host still run the EF, or did a move take it? */
static void serve_migrate_where(int fd, const struct mig_req *req)
{
	uint64_t key = hosted_key(req->creator, req->ef_id);
	struct mig_rep rep = { .rc = -ESRCH };
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 120;
	pthread_mutex_lock(&hosted_lock);
	for (;;) {
		struct hosted *h;

		for (h = hosted_head; h && h->id0 != key; h = h->next)
			;
		/* A move of it still going on (its taker's verdict not read yet): its outcome is the answer. */
		if (h && h->busy && pthread_cond_timedwait(&hosted_cond, &hosted_lock, &dl) == 0)
			continue;
		rep.rc = !h || h->leaving ? -ESRCH : h->busy ? -EBUSY : 0;
		break;
	}
	pthread_mutex_unlock(&hosted_lock);
	(void)xos__send_all(fd, &rep, sizeof(rep));
}

static void serve_migrate(int fd)
{
	struct mig_req req;
	struct mig_chan mc[MAX_CHANS];
	int none = -1;

	set_timeout(fd, 30);
	/* Rank 0 ending takes no EF in and lets none out: the mover is told by the closed connection. */
	if (read_all(fd, &req, sizeof(req)) == 0 && req.creator < H.size && req.creator != H.rank &&
	    !atomic_load(&H.closing)) {
		req.name[sizeof(req.name) - 1] = '\0';
		set_timeout(fd, 120);
		if (req.nchans > MAX_CHANS)
			reply(fd, -EPROTO, "", "too many channel ends");
		else if (req.op == MIG_OUT)
			serve_migrate_out(fd, &req);
		else if (req.op == MIG_WHERE)
			serve_migrate_where(fd, &req);
		else if ((req.op == MIG_IN || req.op == MIG_FETCH) && req.nchans &&
			 read_all(fd, mc, req.nchans * sizeof(mc[0])) < 0)
			; /* the mover went away */
		else if (req.op == MIG_IN)
			serve_migrate_in(fd, &req, mc, NULL, &none);
		else if (req.op == MIG_FETCH)
			serve_migrate_fetch(fd, &req, mc);
	}
	close(fd);
}

struct push_head {
	int fd;
	struct mig_req *req;
	const struct mig_chan *mc;
	size_t n;
	uint64_t len;
};

/* The request, once the image's length is known, then the image follows. */
static int push_head(void *arg, uint64_t len)
{
	struct push_head *ph = arg;
	int rc;

	ph->req->image_len = len;
	ph->len = len;
	rc = xos__send_all(ph->fd, ph->req, sizeof(*ph->req));
	if (rc == 0 && ph->n)
		rc = xos__send_all(ph->fd, ph->mc, ph->n * sizeof(ph->mc[0]));
	return rc;
}

/*
 * Host @dst takes @ef.  Parked here (@from -1): its image streamed from
 * here as it is read, with its ends' state @mc[@n] (MIG_IN).  Else
 * (MIG_FETCH) straight from host @from, where it runs, with its ends' new
 * paths @mc[@n] (their state comes from @from).  On success, @ef's new
 * remote part in *@ret and the image's length in *@len.
 */
static int send_to_host(struct xos_ef *ef, int dst, int from, uint64_t *len, const struct mig_chan *mc,
			size_t n, struct xos__remote **ret, char *why, size_t why_len)
{
	struct host *h = &H.hosts[dst];
	struct mig_req req = { .op = from < 0 ? MIG_IN : MIG_FETCH, .ef_id = ef->id, .creator = H.rank };
	struct push_head ph = { .req = &req, .mc = mc, .n = n };
	struct ef_rep rep;
	struct xos__remote *r;
	int fd, rc;

	req.from = from < 0 ? 0 : (uint32_t)from;
	req.isolation = ef->iso;
	req.perf = ef->perf;
	req.nchans = (uint32_t)n;
	snprintf(req.name, sizeof(req.name), "%s", ef->name);
	memcpy(req.icf, ef->req_icf, sizeof(req.icf));
	memcpy(req.icfs, ef->req_icfs, sizeof(req.icfs));
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	fd = connect_auth(h, KIND_MIGRATE, 0);
	if (fd < 0) {
		rc = fd;
		snprintf(why, why_len, "cannot reach host %s: %s", h->name, strerror(-rc));
		free(r);
		lost_if_gone(h, &rc, why, why_len);
		return rc;
	}
	set_timeout(fd, 120);
	ph.fd = fd;
	if (from < 0) {
		/* No copy of it here: the domain goes onto the connection as it is read. */
		rc = xos__image_send(ef, fd, push_head, &ph);
		*len = ph.len;
	} else {
		rc = xos__send_all(fd, &req, sizeof(req));
		if (rc == 0 && n)
			rc = xos__send_all(fd, mc, n * sizeof(mc[0]));
	}
	if (rc == 0)
		rc = read_all(fd, &rep, sizeof(rep));
	if (rc == 0 && rep.rc == 0 && from >= 0)
		rc = read_all(fd, len, sizeof(*len));
	if (rc < 0) {
		snprintf(why, why_len, "host %s: %s", h->name,
			 rc == -ECONNRESET ? "lost while taking the EF" : strerror(-rc));
		lost_if_gone(h, &rc, why, why_len);
		goto fail;
	}
	rep.icf[sizeof(rep.icf) - 1] = '\0';
	rep.why[sizeof(rep.why) - 1] = '\0';
	if (rep.rc < 0) {
		rc = rep.rc < -4095 ? -EPROTO : rep.rc;
		snprintf(why, why_len, "host %s refused it: %.400s", h->name, rep.why);
		/* Fetching, it could not reach the EF's host, or lost it mid-stream: is that host gone? */
		if (from >= 0)
			lost_if_gone(&H.hosts[from], &rc, why, why_len);
		goto fail;
	}
	set_timeout(fd, 0);
	r->sock = fd;
	r->host = dst;
	snprintf(r->icf, sizeof(r->icf), "%s", rep.icf);
	snprintf(why, why_len, "%s", rep.why);
	*ret = r;
	return 0;
fail:
	close(fd);
	free(r);
	return rc;
}

/*
 * Ask host @src for the EF @ef_id of creator @creator, with its @n ends
 * (the tokens of their drains in @tok, their state into @mv): the host
 * parks it and streams its image (it stays parked there until the verdict
 * on the same connection).  0, the connection in *@ret_sock and the image's
 * length in *@ret_len; or -errno.
 */
static int take_out(int src, uint32_t creator, uint64_t ef_id, size_t n, const uint64_t *tok,
		    struct xos__chan_move *mv, int *ret_sock, uint64_t *ret_len, char *why, size_t why_len)
{
	struct host *h = &H.hosts[src];
	struct mig_req req = { .op = MIG_OUT, .ef_id = ef_id, .nchans = (uint32_t)n, .creator = creator };
	struct mig_rep rep;
	int fd, rc;

	fd = connect_auth(h, KIND_MIGRATE, 0);
	if (fd < 0) {
		snprintf(why, why_len, "cannot reach host %s: %s", h->name, strerror(-fd));
		return -EHOSTDOWN;
	}
	set_timeout(fd, 120);
	rc = xos__send_all(fd, &req, sizeof(req));
	if (rc == 0 && n)
		rc = xos__send_all(fd, tok, n * sizeof(tok[0]));
	if (rc == 0)
		rc = read_all(fd, &rep, sizeof(rep));
	if (rc == 0 && rep.rc == 0 && rep.nchans != n)
		rc = -EPROTO;
	if (rc == 0 && rep.rc == 0 && n)
		rc = read_all(fd, mv, n * sizeof(mv[0]));
	if (rc < 0) {
		snprintf(why, why_len, "host %s: %s", h->name, strerror(-rc));
		close(fd);
		return rc == -ECONNRESET ? -EHOSTDOWN : rc;
	}
	rep.why[sizeof(rep.why) - 1] = '\0';
	if (rep.rc < 0) {
		snprintf(why, why_len, "host %s: %s", h->name, rep.why);
		close(fd);
		return rep.rc < -4095 ? -EPROTO : rep.rc;
	}
	if (rep.image_len == 0 || rep.image_len > MIG_IMAGE_MAX) {
		snprintf(why, why_len, "host %s: no image, or one larger than a domain can be", h->name);
		close(fd);
		return -EPROTO;
	}
	*ret_sock = fd;
	*ret_len = rep.image_len;
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/*
 * The EF's ends, from here to host @dst: tokens and connections for each
 * end's new path and drain, the state in @mc.  The EF is parked.
 */
static int ends_prepare_out(struct xos_ef *ef, int dst, struct mig_chan *mc, int *next, int *drain)
{
	struct host *h = &H.hosts[dst];
	int rc;

	for (size_t i = 0; i < ef->nchans; i++)
		next[i] = drain[i] = -1;
	for (size_t i = 0; i < ef->nchans; i++) {
		rc = xos__chan_move_prepare(ef->chans[i], &mc[i].mv);
		if (rc < 0)
			return rc;
		mc[i].tok_next = token_new();
		mc[i].tok_drain = mc[i].mv.can_rx ? token_new() : 0;
		next[i] = connect_auth(h, KIND_CHAN, mc[i].tok_next);
		if (next[i] < 0)
			return next[i];
		if (mc[i].tok_drain) {
			drain[i] = connect_auth(h, KIND_CHAN, mc[i].tok_drain);
			if (drain[i] < 0)
				return drain[i];
		}
	}
	return 0;
}

/* Does @end read (then what its peer wrote before a move follows it on a drain)? */
static bool end_reads(const struct xos_chan *end)
{
	struct xos_chan_attr shape;

	xos__chan_shape(end, &shape);
	return (shape.flags & XOS_CHAN_F_BIDIR) || xos__chan_idx(end) == 1;
}

/*
 * The EF's ends, on from the host it runs on to host @dst, neither of them
 * this one: a new path from each end's peer here to @dst (its id from the
 * end's channel), and whether the end reads (then @dst fetches a drain of
 * what the peer wrote before its marker from the host left).  The peers
 * take the paths once the EF runs there (ends_fetched).
 */
static int ends_prepare_fetch(struct xos_ef *ef, int dst, struct mig_chan *mc, int *next)
{
	for (size_t i = 0; i < ef->nchans; i++) {
		memset(&mc[i], 0, sizeof(mc[i]));
		mc[i].mv.next_id = xos__chan_move_begin(ef->chans[i]);
		mc[i].tok_next = token_new();
		mc[i].tok_drain = end_reads(ef->chans[i]); /* a flag: the destination makes the drain */
		next[i] = -1;
	}
	for (size_t i = 0; i < ef->nchans; i++) {
		next[i] = connect_auth(&H.hosts[dst], KIND_CHAN, mc[i].tok_next);
		if (next[i] < 0)
			return next[i];
	}
	return 0;
}

/*
 * The fetch is over: on success (@ok) each peer continues on its new path
 * (given before its wait for it ends: the host left may have written its
 * marker already); else the paths were never used.
 */
static void ends_fetched(struct xos_ef *ef, const struct mig_chan *mc, int *next, bool ok)
{
	for (size_t i = 0; i < ef->nchans; i++) {
		if (ok && next[i] >= 0) {
			int rc = xos__chan_move_give_peer(ef->chans[i], mc[i].mv.next_id, next[i]);

			if (rc < 0)
				xos__log_debug("migrate: chan %zu: %s", i, strerror(-rc));
		} else if (next[i] >= 0) {
			close(next[i]);
		}
		next[i] = -1;
		xos__chan_move_end(ef->chans[i]);
	}
}

/* The ends of an EF coming home, for ends_come_home. */
struct home_ends {
	const struct xos__chan_move *mv;
	int *drain;
	uint64_t *next_id;
};

/*
 * Its image verified and in place, before the EF runs: each end of an EF
 * coming home goes on a ring with its peer here.  Not before: a restore
 * refused (another build, a library loaded on the host it left and not
 * here, a damaged image) then leaves the EF where it is, its ends on the
 * paths they were on.
 */
static int ends_come_home(struct xos_ef *ef, void *arg)
{
	struct home_ends *he = arg;
	int rc = 0;

	for (size_t i = 0; i < ef->nchans && rc == 0; i++) {
		rc = xos__chan_move_home(ef->chans[i], &he->mv[i], "ring", he->drain[i], &he->next_id[i]);
		he->drain[i] = -1;
	}
	return rc;
}

/*
 * A fetch failed because its destination died: had the host the EF ran
 * on let it go to it (the destination took it and died before it said
 * so)?  Asked of that host, which answers once the move is over there;
 * false when it cannot say (it is gone too, or its answer is not "let go").
 */
static bool host_let_go(const struct xos_ef *ef)
{
	struct mig_req req = { .op = MIG_WHERE, .ef_id = ef->id, .creator = H.rank };
	struct mig_rep rep;
	int fd = connect_auth(&H.hosts[ef->remote->host], KIND_MIGRATE, 0), rc;

	if (fd < 0)
		return false;
	set_timeout(fd, 130);
	rc = xos__send_all(fd, &req, sizeof(req));
	if (rc == 0)
		rc = read_all(fd, &rep, sizeof(rep));
	close(fd);
	return rc == 0 && rep.rc == -ESRCH;
}

static int migrate(struct xos_ef *ef, int dst, char *why, size_t why_len, uint64_t *ret_len)
{
	struct xos__remote *r = NULL, *old;
	struct mig_chan mc[MAX_CHANS];
	struct xos__chan_move mv[MAX_CHANS];
	struct mig_verdict verdict = { 0 };
	uint64_t tok[MAX_CHANS] = { 0 }, reloc[2 * MAX_CHANS];
	int next[MAX_CHANS], drain[MAX_CHANS];
	bool reads[MAX_CHANS];
	struct home_ends he = { .mv = mv, .drain = drain, .next_id = verdict.next_id };
	uint64_t len = 0;
	size_t n = ef->nchans;
	int src_sock = -1, rc;
	bool lost;

	for (size_t i = 0; i < MAX_CHANS; i++)
		next[i] = drain[i] = -1;
	if (!ef->remote) {
		/* From here: parked, its ends' state taken, connections made, its image streamed. */
		rc = xos__ef_request(ef, XOS_REQ_PARK);
		if (rc < 0)
			return rc;
		rc = ends_prepare_out(ef, dst, mc, next, drain);
		if (rc == 0)
			rc = send_to_host(ef, dst, -1, &len, mc, n, &r, why, why_len);
		if (rc < 0) {
			socks_close(next, n);
			socks_close(drain, n);
			xos__ef_release(ef); /* it goes on here, its ends as they were */
			return rc;
		}
		/* It runs there: each end's peer goes on the new path, the ends leave, then the EF. */
		for (size_t i = 0; i < n; i++) {
			struct xos_chan *end = ef->chans[i];

			rc = xos__chan_move_give_peer(end, mc[i].mv.next_id, next[i]);
			if (rc < 0)
				xos__log_debug("migrate: chan %zu: %s", i, strerror(-rc));
			rc = xos__chan_move_leave(end, mc[i].mv.next_id, drain[i], true, -1);
			if (rc < 0)
				xos__log_debug("migrate: chan %zu: %s", i, strerror(-rc));
			xos__chan_park_keep(end);
		}
		(void)xos__ef_leave(ef);
		xos__ef_drop_local(ef);
		ef->remote = r;
		pthread_mutex_lock(&H.lock);
		H.hosts[dst].live++;
		pthread_mutex_unlock(&H.lock);
		*ret_len = len;
		return 0;
	}

	if (dst != (int)H.rank) {
		/* On to a third host, straight from the one it runs on, its ends' peers staying here. */
		rc = ends_prepare_fetch(ef, dst, mc, next);
		if (rc == 0)
			rc = send_to_host(ef, dst, ef->remote->host, &len, mc, n, &r, why, why_len);
		/*
		 * The destination died.  If it had taken the EF, the host left wrote
		 * each end's marker naming the new path: the peers go on that path, to
		 * the dead host (the end of file, EPIPE), as for an EF lost there.
		 */
		lost = rc == -EHOSTDOWN && n && host_let_go(ef);
		if (lost)
			xos__explain("ef %llu \"%s\": lost (host %s took it from host %s and died before it said so); "
				     "its channels' peers get the end of file",
				     (unsigned long long)ef->id, ef->name, H.hosts[dst].name,
				     H.hosts[ef->remote->host].name);
		ends_fetched(ef, mc, next, rc == 0 || lost);
		if (rc < 0)
			return rc; /* it goes on where it was; or, taken there and that host gone, its join says lost */
		goto moved;
	}
	/* Home from another host: its ends come back to their peers. */
	for (size_t i = 0; i < n; i++)
		reads[i] = end_reads(ef->chans[i]);
	rc = drains_open(ef->remote->host, reads, n, tok, drain);
	if (rc < 0)
		return rc;
	rc = take_out(ef->remote->host, H.rank, ef->id, n, tok, mv, &src_sock, &len, why, why_len);
	if (rc < 0) {
		socks_close(drain, n);
		lost_if_gone(&H.hosts[ef->remote->host], &rc, why, why_len);
		return rc;
	}
	/* Its ends stay where they are (at their structs' addresses here) until the image is in. */
	for (size_t i = 0; i < n; i++) {
		reloc[2 * i] = mv[i].addr;
		reloc[2 * i + 1] = (uint64_t)(uintptr_t)ef->chans[i];
	}
	ef->reloc = reloc;
	ef->nreloc = n;
	ef->restore_ready = ends_come_home;
	ef->restore_ready_arg = &he;
	/* Straight from the connection into place: no copy of the image here. */
	ef->image_stream_len = len;
	rc = xos__ef_restore_into(ef, src_sock, why, why_len);
	ef->image_stream_len = 0;
	ef->restore_ready = NULL;
	ef->restore_ready_arg = NULL;
	ef->reloc = NULL;
	ef->nreloc = 0;
	socks_close(drain, n);
	if (rc < 0) /* a cut stream reads as a damaged image: was it its host dying? */
		lost_if_gone(&H.hosts[ef->remote->host], &rc, why, why_len);
	verdict.rc = rc < 0 ? rc : 0;
	(void)xos__send_all(src_sock, &verdict, sizeof(verdict));
	close(src_sock);
	if (rc < 0)
		return rc;
moved:
	old = ef->remote;
	pthread_mutex_lock(&H.lock);
	H.hosts[old->host].live--;
	if (r)
		H.hosts[dst].live++;
	pthread_mutex_unlock(&H.lock);
	/*
	 * The old host says it left once it has let the EF's domain go (5 ms
	 * for 64 MiB): read that before this EF's next move or its join, not
	 * now, while the EF already runs here.
	 */
	for (size_t i = 0; i < old->nholds; i++)
		close(old->holds[i]);
	old->nholds = 0;
	xos__host_left_settle(ef);
	ef->left = old;
	ef->remote = r; /* NULL when home */
	*ret_len = len;
	return 0;
}

void xos__host_left_settle(struct xos_ef *ef)
{
	struct xos__remote *old = ef->left;
	struct ef_end end;

	if (!old)
		return;
	/* It was parked there and cannot have ended: only "left" can come, or nothing if it died. */
	set_timeout(old->sock, 30);
	(void)read_all(old->sock, &end, sizeof(end));
	close(old->sock);
	free(old);
	ef->left = NULL;
}

int xos_ef_migrate(struct xos_ef *ef, const char *host)
{
	char why[512] = "";
	double t0 = now_ms();
	uint64_t len = 0;
	const int here = (int)H.rank; /* the creator's host: the EF's home */
	int dst, cur, rc;

	if (!ef || ef->magic != XOS_EF_MAGIC || !host || !*host)
		return -EINVAL;
	if (ef->owner_pid != getpid() || ef == xos_ef_self())
		return -EPERM;
	if (!H.launched)
		return -ENOTCONN;
	dst = strcmp(host, "self") == 0 ? here : host_find(host);
	if (dst < 0)
		return -ENOENT;
	cur = ef->remote ? ef->remote->host : here;
	if (dst == cur)
		return -EALREADY;
	if (H.hosts[dst].lost || (ef->remote && H.hosts[cur].lost))
		return -EHOSTDOWN;
	if (dst != here && (H.hosts[dst].build_id_len != H.build_id_len ||
			 memcmp(H.hosts[dst].build_id, H.build_id, H.build_id_len) != 0))
		return -ENOEXEC;
	if (ef->nchans > MAX_CHANS)
		return -E2BIG;
	/* Its last host has let it go: a move back there must not meet its old self. */
	xos__host_left_settle(ef);
	if (!ef->remote) {
		rc = xos__ef_domain_usable(ef);
		if (rc < 0)
			return rc;
		if (ef->nchans && !(ef->icf->icf->features & XOS_ICF_F_SHARED_MEMORY))
			return -EOPNOTSUPP; /* its ends live in its own process: mutate it to a thread first */
		for (size_t i = 0; i < ef->nchans; i++) {
			rc = xos__chan_move_check(ef->chans[i]);
			if (rc < 0)
				return rc;
		}
		if (atomic_load(&ef->ctl->ended))
			return -ESRCH;
	}
	rc = migrate(ef, dst, why, sizeof(why), &len);
	if (rc < 0) {
		xos__explain("ef %llu \"%s\": migration to host %s refused (%s): %s", (unsigned long long)ef->id,
			     ef->name, H.hosts[dst].name, strerror(-rc), why);
		return rc;
	}
	xos__explain("ef %llu \"%s\" migrated from host %s to host %s (%.1f MiB image%s, %zu channel end%s "
		     "re-bound: %s, %.1f ms), there -> %s",
		     (unsigned long long)ef->id, ef->name, H.hosts[cur].name, H.hosts[dst].name,
		     (double)len / (1 << 20), cur != here && dst != here ? " straight between them" : "",
		     ef->nchans, ef->nchans == 1 ? "" : "s",
		     dst == here ? "ring with its peers here" : "tcp to its peers", now_ms() - t0, why);
	return 0;
}
