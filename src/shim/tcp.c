/* SPDX-License-Identifier: MIT */
/*
 * Loopback TCP between two managed EFs of the program: the connecting and
 * the accepting side meet in the area's pairing table, keyed by the
 * connection's two addresses, and move onto one ring whenever the accept
 * comes, without either side ever waiting for the other:
 *
 *  - listen() on a loopback or wildcard address records the port;
 *  - connect() to a recorded port registers the connection (WAITING)
 *    before the real connect (binding the socket to a loopback port first
 *    if it is unbound, so its address is known), so that accept() always
 *    finds it; connect then returns as natively (blocking or not) and the
 *    client's fd is pending (f->pair): it moves bytes on the kernel
 *    socket, as natively, for as long as the server has not accepted;
 *  - accept() pairs with the WAITING entry, however late (PAIRED: a ring
 *    for both ends, the accepted fd on it at once); a connection it finds
 *    no entry for comes from an unmanaged client;
 *  - the pending client joins the ring at its next use of the fd after
 *    the accept (a look at its channel record, no system call).
 * Bytes already on the kernel socket keep their place: each direction of
 * the ring starts PRE_OPEN (its writers are on the kernel), and its
 * writers join it (PRE_SET, ring.c) once they know the reader is on the
 * ring: the client when it joins, the server at its first write after
 * that (and after any read of the client's through the kernel still in
 * flight then, kreading).  Joining records how many bytes the writers sent through the
 * kernel (their writes in flight counted first, see kwriting); readers
 * take exactly that many bytes from the kernel before the ring (the
 * client's reads before it joined count among them), and the bytes past
 * them on the kernel socket are bells.  A reader waiting on the kernel
 * socket for the writers' bytes counts as a sleeper of the ring, so their
 * first write there rings for it.  So no byte is lost,
 * duplicated or reordered, and no side waits for the other: a connection
 * accepted 200 ms after its client wrote ends on its ring like one
 * accepted at once.
 *
 * A pending fd used in a way the ring does not emulate, handed on (exec,
 * SCM_RIGHTS, dup onto stdio), shut down or closed settles at once:
 * joined if the server accepted, else DEAD (the connection stays TCP, and
 * a later accept finds no entry).
 * Entries live in a hash table (open addressing, SHIM_PAIR_PROBE places
 * from the key's hash), so pairing costs the same with 10,000
 * connections as with one.  A WAITING entry is given to another
 * connection only when every place near its hash is taken and it waited
 * longer than PAIR_STALE_NS (a client killed before the accept); the
 * client of an entry given away stays on TCP, and so does its server.
 * Every change of state is made under the area lock, so the two sides
 * always agree.
 * The connecting end is end 0 of the ring (it writes direction 0), the
 * accepted end is end 1.
 */
#include "config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "shim_i.h"

#define PAIR_STALE_NS 60000000000ull /* a WAITING entry older than this may be given away */

static bool loopback(const struct sockaddr_storage *ss, bool wildcard_ok)
{
	if (ss->ss_family == AF_INET) {
		uint32_t a = ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr);

		return (a >> 24) == 127 || (wildcard_ok && a == INADDR_ANY);
	}
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) || (wildcard_ok && IN6_IS_ADDR_UNSPECIFIED(a)) ||
		       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
					      : ((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* 20 bytes naming one address: family, port, address. */
static void addr_key(const struct sockaddr_storage *ss, uint8_t out[20])
{
	uint16_t port = port_of(ss);

	memset(out, 0, 20);
	out[0] = (uint8_t)ss->ss_family;
	memcpy(out + 2, &port, 2);
	if (ss->ss_family == AF_INET)
		memcpy(out + 4, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	else
		memcpy(out + 4, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
}

/* Where a connection's entry is looked for first (FNV-1a of its key). */
static uint32_t key_hash(const uint8_t key[40])
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < 40; i++)
		h = (h ^ key[i]) * 16777619u;
	return h;
}

void shim_tcp_listening(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct shim_fd *f = shim_fd_get(fd);
	uint16_t port;

	if (!shim.area || !f || shim.area->chan[f->chan - 1].kind != SHIM_CH_TCP ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) || !loopback(&ss, true))
		return;
	port = port_of(&ss);
	for (int i = 0; i < SHIM_MAX_LISTEN; i++)
		if (atomic_load(&shim.area->listen_port[i]) == port)
			return;
	for (int i = 0; i < SHIM_MAX_LISTEN; i++) {
		uint32_t free_ = 0;

		if (atomic_compare_exchange_strong(&shim.area->listen_port[i], &free_, port))
			return;
	}
}

static bool port_listened(uint16_t port)
{
	for (int i = 0; i < SHIM_MAX_LISTEN; i++)
		if (atomic_load(&shim.area->listen_port[i]) == port)
			return true;
	return false;
}

/* Both addresses of @fd's connection, client first. */
static bool conn_key(int fd, bool client, uint8_t key[40])
{
	struct sockaddr_storage me, peer;
	socklen_t l1 = sizeof(me), l2 = sizeof(peer);

	if (getsockname(fd, (struct sockaddr *)&me, &l1) || getpeername(fd, (struct sockaddr *)&peer, &l2) ||
	    !loopback(&peer, false))
		return false;
	addr_key(client ? &me : &peer, key);
	addr_key(client ? &peer : &me, key + 20);
	return true;
}

/* The entry to register @key in: its own (a connection of the same
 * addresses before), else a free one, else a stale one; area lock held. */
static struct shim_pair *pair_slot(const uint8_t key[40], uint64_t now)
{
	struct shim_pair *free_ = NULL, *stale = NULL;

	for (uint32_t k = 0, h = key_hash(key); k < SHIM_PAIR_PROBE; k++) {
		struct shim_pair *p = &shim.area->pair[(h + k) % SHIM_MAX_PAIR];
		uint32_t st = atomic_load(&p->state);

		if (st == SHIM_PAIR_WAITING && memcmp(p->key, key, 40) == 0)
			return p;
		if (!free_ && (st == SHIM_PAIR_EMPTY || st == SHIM_PAIR_DEAD || st == SHIM_PAIR_PAIRED))
			free_ = p;
		if (!stale && st == SHIM_PAIR_WAITING && now - p->t_ns > PAIR_STALE_NS)
			stale = p;
	}
	return free_ ? free_ : stale;
}

static struct shim_pair *pair_find(const uint8_t key[40])
{
	for (uint32_t k = 0, h = key_hash(key); k < SHIM_PAIR_PROBE; k++) {
		struct shim_pair *p = &shim.area->pair[(h + k) % SHIM_MAX_PAIR];

		if (atomic_load(&p->state) == SHIM_PAIR_WAITING && memcmp(p->key, key, 40) == 0)
			return p;
	}
	return NULL;
}

static void join(struct shim_fd *f, int32_t slot, int end)
{
	if (slot < 0 || !shim_own_process())
		return;
	f->end = (uint8_t)end;
	f->gen = atomic_load(&shim.area->ring[slot].gen);
	f->ring = 1;
	shim_ring_hold(f, 1);
}

/* Pair under the area lock: a ring for both channels. */
static int32_t pair_up(struct shim_pair *p)
{
	int32_t slot = shim_ring_attach(p->cchan, 2, 0);

	if (slot < 0) {
		atomic_store(&p->state, SHIM_PAIR_DEAD);
		return -1;
	}
	/* Both directions start with their writers on the kernel socket;
	 * the accepted end reads on the ring from now on (direction 0). */
	for (int d = 0; d < 2; d++) {
		struct shim_dir *D = &shim.area->ring[slot].dir[d];

		atomic_store(&D->pre_len, 0);
		atomic_store(&D->pre_read, 0);
		atomic_store(&D->rjoined, d == 0);
		atomic_store(&D->rready, d == 0);
		atomic_store(&D->pre, SHIM_PRE_OPEN);
	}
	shim.area->chan[p->achan].ring = slot;
	atomic_fetch_add(&shim.area->chan[p->achan].upgraded, 1);
	p->slot = slot;
	atomic_store(&p->state, SHIM_PAIR_PAIRED);
	return slot;
}

/* Before the real connect: register the connection if the server may pair. */
int shim_tcp_connecting(int fd, struct shim_fd *f, const struct sockaddr *to, socklen_t tolen)
{
	struct sockaddr_storage dst, me;
	socklen_t len = sizeof(me);
	uint8_t key[40];
	uint64_t now = shim_now_ns();
	struct shim_pair *p;

	if (!shim.perf || !f || shim.area->chan[f->chan - 1].kind != SHIM_CH_TCP || fd >= SHIM_FD_MAX || !to ||
	    tolen > sizeof(dst) || f->ring || f->pair)
		return -1;
	memset(&dst, 0, sizeof(dst));
	memcpy(&dst, to, tolen);
	if ((dst.ss_family != AF_INET && dst.ss_family != AF_INET6) || !loopback(&dst, false) ||
	    !port_listened(port_of(&dst)))
		return -1;
	if (getsockname(fd, (struct sockaddr *)&me, &len))
		return -1;
	if (port_of(&me) == 0) {
		/* Bind where connect would: the loopback address, any port. */
		memset(&me, 0, sizeof(me));
		me.ss_family = dst.ss_family;
		if (dst.ss_family == AF_INET)
			((struct sockaddr_in *)&me)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		else
			((struct sockaddr_in6 *)&me)->sin6_addr = in6addr_loopback;
		if (bind(fd, (struct sockaddr *)&me, dst.ss_family == AF_INET ? sizeof(struct sockaddr_in)
									 : sizeof(struct sockaddr_in6)))
			return -1;
		len = sizeof(me);
		if (getsockname(fd, (struct sockaddr *)&me, &len))
			return -1;
	}
	addr_key(&me, key);
	addr_key(&dst, key + 20);
	shim_area_lock();
	p = pair_slot(key, now);
	if (p) {
		memcpy(p->key, key, 40);
		p->cchan = f->chan - 1;
		p->achan = -1;
		p->slot = -1;
		p->t_ns = now;
		atomic_store(&p->state, SHIM_PAIR_WAITING);
	}
	shim_area_unlock();
	return p ? (int)(p - shim.area->pair) : -1;
}

/* The ring the server paired channel @cchan with, or -1.  A paired entry
 * is free for the next connection at once, so the answer is read from the
 * channel, not the entry.  Area lock held. */
static int32_t paired_ring(int32_t cchan)
{
	int32_t r;

	if (cchan < 0 || cchan >= SHIM_MAX_CHAN)
		return -1;
	r = atomic_load((_Atomic int32_t *)&shim.area->chan[cchan].ring);
	if (r >= 0 && r < SHIM_MAX_RING && shim.area->ring[r].chan == cchan &&
	    atomic_load(&shim.area->ring[r].mode) != SHIM_RING_FREE)
		return r;
	return -1;
}

/* After the real connect (@ok: it succeeded or is in progress). */
void shim_tcp_connected(int fd, struct shim_fd *f, int entry, bool ok)
{
	struct shim_pair *p;

	if (entry < 0 || entry >= SHIM_MAX_PAIR)
		return;
	if (ok && f && shim_own_process()) {
		f->pair = entry + 1;
		return;
	}
	/* No connection: nothing for accept to find. */
	p = &shim.area->pair[entry];
	shim_area_lock();
	if (f && p->cchan == f->chan - 1 && atomic_load(&p->state) == SHIM_PAIR_WAITING)
		atomic_store(&p->state, SHIM_PAIR_DEAD);
	shim_area_unlock();
	(void)fd;
}

/* Settle pending @f under the area lock: joined if accepted; else DEAD
 * when @now (or the entry went to another connection), else still
 * pending. */
static void settle(int fd, struct shim_fd *f, bool now)
{
	int entry = f->pair - 1;
	int32_t cchan = f->chan - 1, slot;
	struct shim_pair *p;

	/* A vfork child shares its parent's table: leave it as it is. */
	if (!shim_own_process())
		return;
	if (entry < 0 || entry >= SHIM_MAX_PAIR || !shim.area) {
		f->pair = 0;
		return;
	}
	p = &shim.area->pair[entry];
	shim_area_lock();
	slot = paired_ring(cchan);
	if (slot < 0 && p->cchan == cchan && atomic_load(&p->state) == SHIM_PAIR_WAITING && !now) {
		shim_area_unlock();
		return;
	}
	if (slot < 0 && p->cchan == cchan && atomic_load(&p->state) == SHIM_PAIR_WAITING)
		atomic_store(&p->state, SHIM_PAIR_DEAD);
	shim_area_unlock();
	f->pair = 0;
	join(f, slot, 0);
	/* What we read on the kernel counts among the server's bytes there;
	 * then our writes move to the ring, after those sent on the kernel
	 * (which lets the server's writes follow). */
	if (f->ring) {
		shim_ring_reader_join(f);
		shim_ring_writer_join(f);
	}
}

void shim_tcp_settle(int fd, struct shim_fd *f)
{
	settle(fd, f, true);
}

void shim_tcp_try_settle(int fd, struct shim_fd *f)
{
	int32_t cchan = f->chan - 1, r;
	int entry = f->pair - 1;

	if (!shim.area || cchan < 0 || cchan >= SHIM_MAX_CHAN || entry < 0 || entry >= SHIM_MAX_PAIR) {
		f->pair = 0;
		return;
	}
	/* Without the lock first: nothing changed is the common answer. */
	r = atomic_load((_Atomic int32_t *)&shim.area->chan[cchan].ring);
	if (r < 0 && shim.area->pair[entry].cchan == cchan &&
	    atomic_load(&shim.area->pair[entry].state) == SHIM_PAIR_WAITING)
		return;
	settle(fd, f, false);
}

bool shim_tcp_kwrite_begin(int fd, struct shim_fd *f)
{
	struct shim_chan *c = &shim.area->chan[f->chan - 1];

	atomic_fetch_add(&c->kwriting, 1);
	if (atomic_load((_Atomic int32_t *)&c->ring) < 0)
		return true;
	/* Accepted meanwhile: join, and write on the ring. */
	atomic_fetch_sub(&c->kwriting, 1);
	shim_tcp_try_settle(fd, f);
	return false;
}

void shim_tcp_kwrite_end(struct shim_fd *f)
{
	atomic_fetch_sub(&shim.area->chan[f->chan - 1].kwriting, 1);
}

bool shim_tcp_kread_begin(int fd, struct shim_fd *f)
{
	struct shim_chan *c = &shim.area->chan[f->chan - 1];

	atomic_fetch_add(&c->kreading, 1);
	if (atomic_load((_Atomic int32_t *)&c->ring) < 0)
		return true;
	atomic_fetch_sub(&c->kreading, 1);
	shim_tcp_try_settle(fd, f);
	return false;
}

void shim_tcp_kread_end(struct shim_fd *f)
{
	shim_ring_kread_done(f);
}

void shim_tcp_accepted(int fd, struct shim_fd *f)
{
	uint8_t key[40];
	struct shim_pair *p;
	int32_t slot = -1;

	if (!shim.perf || !f || shim.area->chan[f->chan - 1].kind != SHIM_CH_TCP || fd >= SHIM_FD_MAX ||
	    !conn_key(fd, false, key))
		return;
	shim_area_lock();
	p = pair_find(key);
	if (p) {
		p->achan = f->chan - 1;
		slot = pair_up(p);
	}
	shim_area_unlock();
	join(f, slot, 1);
}
