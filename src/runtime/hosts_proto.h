/* SPDX-License-Identifier: MIT */
/*
 * Private to libxos: what the hosts of a launch say to each other (the
 * wire structures of their connections) and what the two halves of their
 * code share: hosts.c (joining the launch, authenticating connections,
 * serving them, EFs created and joined on other hosts) and
 * hosts_migrate.c (EFs moving between hosts).  Not installed; the rest of
 * the runtime sees hosts_i.h only.
 */
#ifndef XOS_HOSTS_PROTO_H
#define XOS_HOSTS_PROTO_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* This process's view of the launch: one, defined in hosts.c. */
struct xos__hosts_state {
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
};
extern struct xos__hosts_state xos__hosts XOS_HIDDEN;

/* ---- shared by hosts.c and hosts_migrate.c ------------------------------------- */
/* Exactly @len bytes from stream socket @fd: 0, -ECONNRESET if it closes first, or -errno. */
int xos__hosts_read_all(int fd, void *buf, size_t len) XOS_HIDDEN;
/* Receive and send timeouts of @fd (0: none). */
void xos__hosts_set_timeout(int fd, int seconds) XOS_HIDDEN;
/* Connect to host @h and authenticate as @kind (KIND_*) with @token; the socket or -errno. */
int xos__hosts_connect(struct host *h, uint32_t kind, uint64_t token) XOS_HIDDEN;
/* After an exchange with @h failed with *@rc: if its process is gone, mark it lost, *@rc = -EHOSTDOWN. */
void xos__hosts_lost_if_gone(struct host *h, int *rc, char *why, size_t why_len) XOS_HIDDEN;
/* Answer an ef or migrate request on @fd: @rc, the ICF chosen, why. */
void xos__hosts_reply(int fd, int rc, const char *icf, const char *why) XOS_HIDDEN;
/* The chan connection that arrived with @token (waiting for it a while), or -errno. */
int xos__hosts_pending_take(uint64_t token) XOS_HIDDEN;
/* A fresh random token naming a chan connection to come. */
uint64_t xos__hosts_token_new(void) XOS_HIDDEN;
/* Chaos tests: SIGKILL this process at @step when XOS_HOSTS_FAULT names it. */
void xos__hosts_fault_point(const char *step) XOS_HIDDEN;
/* The rank of the host named @name, or -1. */
int xos__hosts_find(const char *name) XOS_HIDDEN;

/* EF ids count from 1 in each process: the creator's rank makes them one name space. */
static inline uint64_t xos__hosted_key(uint32_t creator, uint64_t ef_id)
{
	return (uint64_t)creator << 48 ^ ef_id;
}

/* hosts_migrate.c: an EF this host runs for another may leave (@movable) or not; listed by its key. */
void xos__hosted_add(uint64_t id0, struct xos_ef *ef, bool movable) XOS_HIDDEN;
/* Unlist it once it ended here: true if it had left instead (moved on). */
bool xos__hosted_del(uint64_t id0) XOS_HIDDEN;
/* Serve a migrate connection (MIG_*), then close it. */
void xos__hosts_serve_migrate(int fd) XOS_HIDDEN;

#endif /* XOS_HOSTS_PROTO_H */
