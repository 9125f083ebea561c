/* SPDX-License-Identifier: MIT */
/*
 * EFs moving between the hosts of a launch: xos_ef_migrate() on the
 * creator's side, MIG_* connections on the hosts' side (the protocol is
 * described below), the image streamed from one host's domain straight
 * into the other's, each of the EF's channel ends re-bound on the way.
 * The connections, their authentication and the launch are hosts.c's.
 */
#include "config.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../prim/futex.h"
#include "../prim/sendall.h"
#include "hosts_proto.h"

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

static int take_out(int src, uint32_t creator, uint64_t ef_id, size_t n, const uint64_t *tok,
		    struct xos__chan_move *mv, int *ret_sock, uint64_t *ret_len, char *why, size_t why_len);

/* How an arrived image's bytes came in, for --explain (dump.c, image_splice.c). */
static const char *image_path(const struct xos_ef *ef)
{
	return ef->image_spliced ? "spliced from the connection into place, no key: no chunk checked"
				 : "each chunk checked against its MAC";
}

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

void xos__hosted_add(uint64_t id0, struct xos_ef *ef, bool movable)
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
bool xos__hosted_del(uint64_t id0)
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
		tok[i] = xos__hosts_token_new();
		drains[i] = xos__hosts_connect(&xos__hosts.hosts[src], KIND_CHAN, tok[i]);
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
	uint64_t key = xos__hosted_key(req->creator, req->ef_id);
	int rc;

	rc = xos__runtime_init(); /* the mechanisms, before the ends are made */
	if (rc < 0) {
		xos__hosts_reply(fd, rc, "", "the runtime does not start here");
		goto fail_drains;
	}
	if (req->image_len == 0 || req->image_len > MIG_IMAGE_MAX) {
		xos__hosts_reply(fd, -EPROTO, "", "no image, or one larger than a domain can be");
		goto fail_drains;
	}
	/* Its ends: each on the new path to its peer and the drain of what the peer sent before. */
	for (size_t i = 0; i < n; i++) {
		int next = xos__hosts_pending_take(mc[i].tok_next);
		int drain = drains ? drains[i] : mc[i].tok_drain ? xos__hosts_pending_take(mc[i].tok_drain) : -1;

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
		xos__hosts_fault_point("fetch-committed");
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
	xos__explain("ef %llu \"%s\" arrived%s%s (%llu bytes of image, %s; %zu channel end%s re-bound: tcp to its peer) -> %s",
		     (unsigned long long)ef->id, ef->name, req->op == MIG_FETCH ? " from host " : "",
		     req->op == MIG_FETCH ? xos__hosts.hosts[req->from].name : "",
		     (unsigned long long)req->image_len, image_path(ef), n, n == 1 ? "" : "s", why);
	xos__hosted_add(key, ef, true);
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
	if (xos__hosted_del(key))
		end.how = EF_END_MOVED;
	(void)xos__send_all(fd, &end, sizeof(end));
	return;

fail_ends:
	for (size_t i = 0; i < made; i++) {
		xos_chan_close(ends[i]);
		close(holds[i]);
	}
	xos__hosts_reply(fd, rc, "", why);
fail_drains:
	if (drains)
		socks_close(drains, n);
}

/* The EF stays: the drains its taker made for its ends (@tok[@n], 0: none) are not needed. */
static void drains_drop(const uint64_t *tok, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int drain = tok[i] ? xos__hosts_pending_take(tok[i]) : -1;

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

	if (req->nchans > MAX_CHANS ||
	    (req->nchans && xos__hosts_read_all(fd, tok, req->nchans * sizeof(tok[0])) < 0))
		return;
	rc = hosted_take(xos__hosted_key(req->creator, req->ef_id), &h);
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
	xos__hosts_set_timeout(fd, 120);
	/* Parked: its image goes out as it is read from the domain, then the creator's verdict. */
	if (xos__image_send(h->ef, fd, out_head, &oh) == 0)
		(void)xos__hosts_read_all(fd, &verdict, sizeof(verdict));
	if (verdict.rc == 0) {
		/* It runs elsewhere now: its ends hand over to the new paths, its flow here lets it go. */
		for (size_t i = 0; i < h->nends; i++) {
			int drain = tok[i] ? xos__hosts_pending_take(tok[i]) : -1;

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

	if (req->from >= xos__hosts.size || req->from == xos__hosts.rank || req->from == req->creator) {
		xos__hosts_reply(fd, -EPROTO, "", "a fetch from this host or from the EF's creator's");
		return;
	}
	for (size_t i = 0; i < n; i++)
		reads[i] = mc[i].tok_drain != 0;
	rc = drains_open((int)req->from, reads, n, tok, drains);
	if (rc < 0)
		snprintf(why, sizeof(why), "cannot reach host %s: %s", xos__hosts.hosts[req->from].name,
			 strerror(-rc));
	else
		rc = take_out((int)req->from, req->creator, req->ef_id, n, tok, mv, &src, &in.image_len, why,
			      sizeof(why));
	if (rc < 0) {
		socks_close(drains, n);
		xos__hosts_reply(fd, rc, "", why);
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
	uint64_t key = xos__hosted_key(req->creator, req->ef_id);
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

void xos__hosts_serve_migrate(int fd)
{
	struct mig_req req;
	struct mig_chan mc[MAX_CHANS];
	int none = -1;

	xos__hosts_set_timeout(fd, 30);
	/* Rank 0 ending takes no EF in and lets none out: the mover is told by the closed connection. */
	if (xos__hosts_read_all(fd, &req, sizeof(req)) == 0 && req.creator < xos__hosts.size &&
	    req.creator != xos__hosts.rank && !atomic_load(&xos__hosts.closing)) {
		req.name[sizeof(req.name) - 1] = '\0';
		xos__hosts_set_timeout(fd, 120);
		if (req.nchans > MAX_CHANS)
			xos__hosts_reply(fd, -EPROTO, "", "too many channel ends");
		else if (req.op == MIG_OUT)
			serve_migrate_out(fd, &req);
		else if (req.op == MIG_WHERE)
			serve_migrate_where(fd, &req);
		else if ((req.op == MIG_IN || req.op == MIG_FETCH) && req.nchans &&
			 xos__hosts_read_all(fd, mc, req.nchans * sizeof(mc[0])) < 0)
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
	struct host *h = &xos__hosts.hosts[dst];
	struct mig_req req = { .op = from < 0 ? MIG_IN : MIG_FETCH, .ef_id = ef->id, .creator = xos__hosts.rank };
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
	fd = xos__hosts_connect(h, KIND_MIGRATE, 0);
	if (fd < 0) {
		rc = fd;
		snprintf(why, why_len, "cannot reach host %s: %s", h->name, strerror(-rc));
		free(r);
		xos__hosts_lost_if_gone(h, &rc, why, why_len);
		return rc;
	}
	xos__hosts_set_timeout(fd, 120);
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
	if (rc == -EPIPE || rc == -ECONNRESET) {
		/*
		 * Refused before it took the whole image, the host closed on the
		 * rest; its reply, which says why, came before that.
		 */
		if (from < 0 && xos__hosts_read_all(fd, &rep, sizeof(rep)) == 0 && rep.rc < 0)
			rc = 0;
	} else if (rc == 0) {
		rc = xos__hosts_read_all(fd, &rep, sizeof(rep));
	}
	if (rc == 0 && rep.rc == 0 && from >= 0)
		rc = xos__hosts_read_all(fd, len, sizeof(*len));
	if (rc < 0) {
		snprintf(why, why_len, "host %s: %s", h->name,
			 rc == -ECONNRESET ? "lost while taking the EF" : strerror(-rc));
		xos__hosts_lost_if_gone(h, &rc, why, why_len);
		goto fail;
	}
	rep.icf[sizeof(rep.icf) - 1] = '\0';
	rep.why[sizeof(rep.why) - 1] = '\0';
	if (rep.rc < 0) {
		rc = rep.rc < -4095 ? -EPROTO : rep.rc;
		snprintf(why, why_len, "host %s refused it: %.400s", h->name, rep.why);
		/* Fetching, it could not reach the EF's host, or lost it mid-stream: is that host gone? */
		if (from >= 0)
			xos__hosts_lost_if_gone(&xos__hosts.hosts[from], &rc, why, why_len);
		goto fail;
	}
	xos__hosts_set_timeout(fd, 0);
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
	struct host *h = &xos__hosts.hosts[src];
	struct mig_req req = { .op = MIG_OUT, .ef_id = ef_id, .nchans = (uint32_t)n, .creator = creator };
	struct mig_rep rep;
	int fd, rc;

	fd = xos__hosts_connect(h, KIND_MIGRATE, 0);
	if (fd < 0) {
		snprintf(why, why_len, "cannot reach host %s: %s", h->name, strerror(-fd));
		return -EHOSTDOWN;
	}
	xos__hosts_set_timeout(fd, 120);
	rc = xos__send_all(fd, &req, sizeof(req));
	if (rc == 0 && n)
		rc = xos__send_all(fd, tok, n * sizeof(tok[0]));
	if (rc == 0)
		rc = xos__hosts_read_all(fd, &rep, sizeof(rep));
	if (rc == 0 && rep.rc == 0 && rep.nchans != n)
		rc = -EPROTO;
	if (rc == 0 && rep.rc == 0 && n)
		rc = xos__hosts_read_all(fd, mv, n * sizeof(mv[0]));
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
	struct host *h = &xos__hosts.hosts[dst];
	int rc;

	for (size_t i = 0; i < ef->nchans; i++)
		next[i] = drain[i] = -1;
	for (size_t i = 0; i < ef->nchans; i++) {
		rc = xos__chan_move_prepare(ef->chans[i], &mc[i].mv);
		if (rc < 0)
			return rc;
		mc[i].tok_next = xos__hosts_token_new();
		mc[i].tok_drain = mc[i].mv.can_rx ? xos__hosts_token_new() : 0;
		next[i] = xos__hosts_connect(h, KIND_CHAN, mc[i].tok_next);
		if (next[i] < 0)
			return next[i];
		if (mc[i].tok_drain) {
			drain[i] = xos__hosts_connect(h, KIND_CHAN, mc[i].tok_drain);
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
		mc[i].tok_next = xos__hosts_token_new();
		mc[i].tok_drain = end_reads(ef->chans[i]); /* a flag: the destination makes the drain */
		next[i] = -1;
	}
	for (size_t i = 0; i < ef->nchans; i++) {
		next[i] = xos__hosts_connect(&xos__hosts.hosts[dst], KIND_CHAN, mc[i].tok_next);
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
	struct mig_req req = { .op = MIG_WHERE, .ef_id = ef->id, .creator = xos__hosts.rank };
	struct mig_rep rep;
	int fd = xos__hosts_connect(&xos__hosts.hosts[ef->remote->host], KIND_MIGRATE, 0), rc;

	if (fd < 0)
		return false;
	xos__hosts_set_timeout(fd, 130);
	rc = xos__send_all(fd, &req, sizeof(req));
	if (rc == 0)
		rc = xos__hosts_read_all(fd, &rep, sizeof(rep));
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
		pthread_mutex_lock(&xos__hosts.lock);
		xos__hosts.hosts[dst].live++;
		pthread_mutex_unlock(&xos__hosts.lock);
		*ret_len = len;
		return 0;
	}

	if (dst != (int)xos__hosts.rank) {
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
				     (unsigned long long)ef->id, ef->name, xos__hosts.hosts[dst].name,
				     xos__hosts.hosts[ef->remote->host].name);
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
	rc = take_out(ef->remote->host, xos__hosts.rank, ef->id, n, tok, mv, &src_sock, &len, why, why_len);
	if (rc < 0) {
		socks_close(drain, n);
		xos__hosts_lost_if_gone(&xos__hosts.hosts[ef->remote->host], &rc, why, why_len);
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
		xos__hosts_lost_if_gone(&xos__hosts.hosts[ef->remote->host], &rc, why, why_len);
	verdict.rc = rc < 0 ? rc : 0;
	(void)xos__send_all(src_sock, &verdict, sizeof(verdict));
	close(src_sock);
	if (rc < 0)
		return rc;
moved:
	old = ef->remote;
	pthread_mutex_lock(&xos__hosts.lock);
	xos__hosts.hosts[old->host].live--;
	if (r)
		xos__hosts.hosts[dst].live++;
	pthread_mutex_unlock(&xos__hosts.lock);
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
	xos__hosts_set_timeout(old->sock, 30);
	(void)xos__hosts_read_all(old->sock, &end, sizeof(end));
	close(old->sock);
	free(old);
	ef->left = NULL;
}

int xos_ef_migrate(struct xos_ef *ef, const char *host)
{
	char why[512] = "";
	double t0 = now_ms();
	uint64_t len = 0;
	const int here = (int)xos__hosts.rank; /* the creator's host: the EF's home */
	int dst, cur, rc;

	if (!ef || ef->magic != XOS_EF_MAGIC || !host || !*host)
		return -EINVAL;
	if (ef->owner_pid != getpid() || ef == xos_ef_self())
		return -EPERM;
	if (!xos__hosts.launched)
		return -ENOTCONN;
	dst = strcmp(host, "self") == 0 ? here : xos__hosts_find(host);
	if (dst < 0)
		return -ENOENT;
	cur = ef->remote ? ef->remote->host : here;
	if (dst == cur)
		return -EALREADY;
	if (xos__hosts.hosts[dst].lost || (ef->remote && xos__hosts.hosts[cur].lost))
		return -EHOSTDOWN;
	if (dst != here &&
	    (xos__hosts.hosts[dst].build_id_len != xos__hosts.build_id_len ||
	     memcmp(xos__hosts.hosts[dst].build_id, xos__hosts.build_id, xos__hosts.build_id_len) != 0))
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
			     ef->name, xos__hosts.hosts[dst].name, strerror(-rc), why);
		return rc;
	}
	xos__explain("ef %llu \"%s\" migrated from host %s to host %s (%.1f MiB image%s%s%s, %zu channel end%s "
		     "re-bound: %s, %.1f ms), there -> %s",
		     (unsigned long long)ef->id, ef->name, xos__hosts.hosts[cur].name, xos__hosts.hosts[dst].name,
		     (double)len / (1 << 20), cur != here && dst != here ? " straight between them" : "",
		     dst == here ? ", " : "", dst == here ? image_path(ef) : "",
		     ef->nchans, ef->nchans == 1 ? "" : "s",
		     dst == here ? "ring with its peers here" : "tcp to its peers", now_ms() - t0, why);
	return 0;
}
