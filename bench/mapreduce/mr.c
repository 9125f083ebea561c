/* SPDX-License-Identifier: MIT */
/*
 * The MapReduce runtime: record streams over channels or memory, and the
 * two ways of running a job (EFs + channels, or the pthreads baseline).
 *
 * A stream is a sequence of messages.  A message starts with a header
 * (kind, record count) and holds records, each an 8-byte length word and
 * the record padded to 8 bytes, so records stay 8-byte aligned inside a
 * message.  The last message of a stream has kind END: the reader knows a
 * producer finished on purpose, whatever EOF rules the mechanism has.
 * Everything read from a channel comes from another EF and is checked
 * before use.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <xos.h>

#include "mr.h"

#define MSG_DATA 0x4d524431u /* "MRD1" */
#define MSG_END 0x4d524531u  /* "MRE1" */
#define MSG_TASK 0x4d525431u /* "MRT1": master -> map, one task of a round */
#define MSG_QUIT 0x4d525131u /* "MRQ1": no more rounds */
/* Preferred message size: large enough to amortise a commit, well under max_msg. */
#define MSG_SIZE (256u << 10)
#define MSG_FIRST (16u << 10)
#define CHAN_CAPACITY (4u << 20)
#define CHAN_MAX_MSG (1u << 20)

struct msg_hdr {
	uint32_t kind;
	uint32_t nrec;
};

struct rec_hdr {
	uint64_t len;
};

static size_t pad8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/* ---- memory chunks: the pthreads baseline's streams ------------------------ */

struct chunk {
	struct chunk *next;
	size_t len;
	_Alignas(8) unsigned char data[];
};

struct chunk_list {
	struct chunk *head, *tail;
};

static void chunk_list_free(struct chunk_list *l)
{
	for (struct chunk *c = l->head, *n; c; c = n) {
		n = c->next;
		free(c);
	}
	l->head = l->tail = NULL;
}

/* ---- writers ----------------------------------------------------------------- */

struct mr_writer {
	struct xos_chan *chan;   /* EF mode */
	struct chunk_list *list; /* pthread mode */
	struct chunk *cur_chunk;
	unsigned char *buf; /* current message, NULL when none */
	size_t cap, used;
	size_t next_cap; /* size of the next message */
	uint32_t nrec;
	int err;
};

static void writer_init_chan(struct mr_writer *w, struct xos_chan *chan)
{
	memset(w, 0, sizeof(*w));
	w->chan = chan;
}

static void writer_init_mem(struct mr_writer *w, struct chunk_list *list)
{
	memset(w, 0, sizeof(*w));
	w->list = list;
}

/*
 * Start a message with room for at least @need bytes after its header.
 * Messages start small and double up to MSG_SIZE, so a writer with little
 * to say (or the END mark, @exact) claims little channel space or memory.
 */
static int writer_begin(struct mr_writer *w, size_t need, bool exact)
{
	size_t cap = sizeof(struct msg_hdr) + need;
	void *buf;
	int rc;

	if (!exact) {
		w->next_cap = w->next_cap ? w->next_cap : MSG_FIRST;
		if (cap < w->next_cap)
			cap = w->next_cap;
		if (w->next_cap < MSG_SIZE)
			w->next_cap *= 2;
	}
	if (w->chan) {
		rc = xos_chan_reserve(w->chan, cap, &buf);
		if (rc < 0)
			return rc;
	} else {
		struct chunk *c = malloc(sizeof(*c) + cap);

		if (!c)
			return -ENOMEM;
		c->next = NULL;
		c->len = 0;
		w->cur_chunk = c;
		buf = c->data;
	}
	w->buf = buf;
	w->cap = cap;
	w->used = sizeof(struct msg_hdr);
	w->nrec = 0;
	return 0;
}

/* Publish the current message (if any) with @kind. */
static int writer_end(struct mr_writer *w, uint32_t kind)
{
	struct msg_hdr h = { .kind = kind, .nrec = w->nrec };
	int rc = 0;

	if (!w->buf)
		return 0;
	memcpy(w->buf, &h, sizeof(h));
	if (w->chan) {
		rc = xos_chan_commit(w->chan, w->used);
	} else {
		struct chunk *c = w->cur_chunk;

		c->len = w->used;
		if (w->list->tail)
			w->list->tail->next = c;
		else
			w->list->head = c;
		w->list->tail = c;
		w->cur_chunk = NULL;
	}
	w->buf = NULL;
	return rc;
}

void *mr_put(struct mr_writer *w, size_t len)
{
	size_t need = sizeof(struct rec_hdr) + pad8(len);
	struct rec_hdr rh = { .len = len };
	unsigned char *rec;
	int rc;

	if (w->err)
		return NULL;
	if (len > MR_REC_MAX) {
		w->err = -EMSGSIZE;
		return NULL;
	}
	if (w->buf && w->used + need > w->cap) {
		rc = writer_end(w, MSG_DATA);
		if (rc < 0)
			goto fail;
	}
	if (!w->buf) {
		rc = writer_begin(w, need, false);
		if (rc < 0)
			goto fail;
	}
	rec = w->buf + w->used;
	memcpy(rec, &rh, sizeof(rh));
	/* The padding goes to another EF too: never let it carry stale memory. */
	memset(rec + sizeof(rh) + len, 0, pad8(len) - len);
	w->used += need;
	w->nrec++;
	return rec + sizeof(rh);
fail:
	w->err = rc;
	return NULL;
}

int mr_write(struct mr_writer *w, const void *rec, size_t len)
{
	void *p = mr_put(w, len);

	if (!p)
		return w->err;
	memcpy(p, rec, len);
	return 0;
}

/* Flush, then mark the end of the stream. */
static int writer_finish(struct mr_writer *w)
{
	int rc;

	if (w->err)
		return w->err;
	rc = writer_end(w, MSG_DATA);
	if (rc == 0)
		rc = writer_begin(w, 0, true);
	if (rc == 0)
		rc = writer_end(w, MSG_END);
	if (rc < 0)
		w->err = rc;
	return rc;
}

/* ---- readers ------------------------------------------------------------------- */

struct mr_reader {
	int nsrc, src;                 /* sources, and the one being read */
	struct xos_chan **chans;       /* EF mode */
	struct chunk_list **lists;     /* pthread mode */
	struct chunk *chunk;           /* pthread mode: current chunk */
	const unsigned char *msg;      /* current message (aligned) */
	size_t msg_len, off;
	uint32_t left;                 /* records left in the message */
	int peeked;                    /* a channel message awaits consume+release */
	unsigned char *bounce;         /* aligned copy of a misaligned message */
	size_t bounce_cap;
	int err;
};

static void reader_drop_msg(struct mr_reader *r)
{
	if (r->peeked) {
		int rc = xos_chan_consume(r->chans[r->src], r->msg_len);

		if (rc == 0)
			rc = xos_chan_release(r->chans[r->src]);
		if (rc < 0 && !r->err)
			r->err = rc;
		r->peeked = 0;
	}
	r->msg = NULL;
}

/*
 * Make the next message of the current source current; 1 if it holds
 * records, 0 at the source's END, 2 at its QUIT (no more rounds).
 */
static int reader_next_msg(struct mr_reader *r)
{
	struct msg_hdr h;
	const void *p;
	ssize_t n;

	reader_drop_msg(r);
	if (r->chans) {
		n = xos_chan_peek(r->chans[r->src], &p);
		if (n < 0) {
			r->err = (int)n;
			return -1;
		}
		if (n == 0) { /* EOF before END: the producer died */
			r->err = -EPIPE;
			return -1;
		}
		r->peeked = 1;
		r->msg_len = (size_t)n;
		if ((uintptr_t)p % 8) {
			if (r->bounce_cap < (size_t)n) {
				free(r->bounce);
				r->bounce = malloc((size_t)n);
				r->bounce_cap = r->bounce ? (size_t)n : 0;
				if (!r->bounce) {
					r->err = -ENOMEM;
					return -1;
				}
			}
			memcpy(r->bounce, p, (size_t)n);
			p = r->bounce;
		}
		r->msg = p;
	} else {
		struct chunk *c = r->chunk ? r->chunk->next : r->lists[r->src]->head;

		if (!c) /* a thread that failed before its END */
			return r->err = -EPIPE, -1;
		r->chunk = c;
		r->msg = c->data;
		r->msg_len = c->len;
	}
	if (r->msg_len < sizeof(h)) {
		r->err = -EBADMSG;
		return -1;
	}
	memcpy(&h, r->msg, sizeof(h));
	if (h.kind == MSG_END)
		return 0;
	if (h.kind == MSG_QUIT)
		return 2;
	if (h.kind != MSG_DATA) {
		r->err = -EBADMSG;
		return -1;
	}
	r->off = sizeof(h);
	r->left = h.nrec;
	return 1;
}

const void *mr_get(struct mr_reader *r, size_t *ret_len)
{
	struct rec_hdr rh;
	const unsigned char *rec;

	while (!r->err && r->src < r->nsrc) {
		if (r->msg && r->left) {
			if (r->msg_len - r->off < sizeof(rh))
				break;
			memcpy(&rh, r->msg + r->off, sizeof(rh));
			if (rh.len > MR_REC_MAX ||
			    r->msg_len - r->off - sizeof(rh) < pad8(rh.len))
				break;
			rec = r->msg + r->off + sizeof(rh);
			r->off += sizeof(rh) + pad8(rh.len);
			r->left--;
			*ret_len = rh.len;
			return rec;
		}
		int rc = reader_next_msg(r);

		if (rc < 0)
			return NULL;
		if (rc == 2) { /* QUIT inside a round */
			r->err = -EBADMSG;
			return NULL;
		}
		if (rc == 0) { /* END: on to the next producer */
			reader_drop_msg(r);
			r->src++;
			r->chunk = NULL;
		}
	}
	if (!r->err && r->src < r->nsrc)
		r->err = -EBADMSG; /* a record overran its message */
	return NULL;
}

int mr_reader_error(const struct mr_reader *r)
{
	return r->err;
}

static void reader_done(struct mr_reader *r)
{
	if (r->chans && r->src < r->nsrc)
		reader_drop_msg(r);
	free(r->bounce);
	r->bounce = NULL;
}

/* Read every remaining record of @r into the spec's merge. */
static int merge_all(const struct mr_spec *spec, struct mr_reader *r, void *result)
{
	const void *rec;
	size_t len;
	int rc = 0;

	while ((rec = mr_get(r, &len)))
		if (rc == 0)
			rc = spec->merge(result, rec, len);
	return r->err ? r->err : rc;
}

/* ---- EF mode: a session of persistent map and reduce EFs ------------------------------ */

/*
 * The EFs of a session live across rounds (kmeans runs one round per
 * iteration), so an iterative job pays for EF and channel creation once.
 * Each round, the master sends every map EF its task (a TASK message on
 * the map's own input channel); maps write their partitions, each ended
 * by END; reducers read one round (every map's END), reduce, and end their
 * output with END.  At the end the master sends QUIT to the maps, which
 * pass it on to the reducers.
 */
struct mr_session {
	const struct mr_spec *spec;
	enum mr_mode mode;
	int broken; /* a round failed: the EFs are being torn down */
	struct xos_chan *tc[MR_MAX_MAPS][2];               /* master -> map: tasks */
	struct xos_chan *mc[MR_MAX_MAPS][MR_MAX_PARTS][2]; /* map -> reduce (or master) */
	struct xos_chan *rc[MR_MAX_PARTS][2];              /* reduce -> master */
	struct xos_ef *maps[MR_MAX_MAPS], *reds[MR_MAX_PARTS];
	struct xos_chan *master_in[MR_MAX_MAPS];           /* what the master merges from */
	int nin;
};

struct map_arg {
	struct mr_spec spec; /* a copy: the EF may run on another host */
	int nparts, forward_quit;
	struct xos_chan *in;
	struct xos_chan *out[MR_MAX_PARTS];
};

struct reduce_arg {
	struct mr_spec spec; /* a copy: the EF may run on another host */
	int part, nmap;
	struct xos_chan *in[MR_MAX_MAPS];
	struct xos_chan *out;
};

/* Send a message of @kind with @len payload bytes copied from @payload. */
static int send_msg(struct xos_chan *c, uint32_t kind, const void *payload, size_t len)
{
	struct msg_hdr h = { .kind = kind };
	void *buf;
	int rc = xos_chan_reserve(c, sizeof(h) + len, &buf);

	if (rc < 0)
		return rc;
	memcpy(buf, &h, sizeof(h));
	if (len)
		memcpy((char *)buf + sizeof(h), payload, len);
	return xos_chan_commit(c, sizeof(h) + len);
}

/* Wait for the next task: 1 with it copied to @task, 0 on QUIT, -errno otherwise. */
static int map_next_task(struct map_arg *a, void *task)
{
	struct msg_hdr h;
	const void *p;
	ssize_t n = xos_chan_peek(a->in, &p);
	int rc;

	if (n <= 0)
		return n ? (int)n : -EPIPE; /* EOF: the master gave up */
	if ((size_t)n < sizeof(h)) {
		rc = -EBADMSG;
	} else {
		memcpy(&h, p, sizeof(h));
		if (h.kind == MSG_QUIT)
			rc = 0;
		else if (h.kind == MSG_TASK && (size_t)n == sizeof(h) + a->spec.task_size)
			rc = 1, memcpy(task, (const char *)p + sizeof(h), a->spec.task_size);
		else
			rc = -EBADMSG;
	}
	if (xos_chan_consume(a->in, (size_t)n) < 0 || xos_chan_release(a->in) < 0)
		rc = rc < 0 ? rc : -EIO;
	return rc;
}

static int map_ef(void *arg)
{
	struct map_arg *a = arg;
	struct mr_writer w[MR_MAX_PARTS], *wp[MR_MAX_PARTS];
	void *task = malloc(a->spec.task_size ? a->spec.task_size : 1);
	int rc = task ? 0 : -ENOMEM;

	while (rc == 0 && (rc = map_next_task(a, task)) == 1) {
		for (int p = 0; p < a->nparts; p++) {
			writer_init_chan(&w[p], a->out[p]);
			wp[p] = &w[p];
		}
		rc = a->spec.map(task, wp, a->nparts);
		for (int p = 0; p < a->nparts && rc == 0; p++)
			rc = writer_finish(&w[p]);
	}
	/* QUIT (rc 0): tell the reducers; anything else: closing says enough. */
	for (int p = 0; p < a->nparts; p++) {
		if (rc == 0 && a->forward_quit)
			rc = send_msg(a->out[p], MSG_QUIT, NULL, 0);
		xos_chan_close(a->out[p]);
	}
	xos_chan_close(a->in);
	free(task);
	return rc < 0 ? 1 : 0;
}

/*
 * Start a reducer's round: 1 when a round begins (the first message of
 * map 0 is already taken in), 0 when every map sent QUIT, -errno.
 */
static int reader_round_begin(struct mr_reader *r)
{
	int rc;

	r->src = 0;
	r->msg = NULL;
	r->left = 0;
	rc = reader_next_msg(r);
	if (rc == 0) { /* map 0 wrote nothing this round */
		reader_drop_msg(r);
		r->src++;
		return 1;
	}
	if (rc != 2)
		return rc < 0 ? rc : 1;
	for (;;) {
		reader_drop_msg(r);
		if (++r->src == r->nsrc)
			return 0;
		rc = reader_next_msg(r);
		if (rc != 2)
			return rc < 0 ? rc : -EBADMSG;
	}
}

static int reduce_ef(void *arg)
{
	struct reduce_arg *a = arg;
	struct mr_reader r = { .nsrc = a->nmap, .chans = a->in };
	struct mr_writer w;
	int rc;

	while ((rc = reader_round_begin(&r)) == 1) {
		writer_init_chan(&w, a->out);
		rc = a->spec.reduce(a->part, &r, &w);
		if (rc == 0 && r.err)
			rc = r.err;
		if (rc == 0 && r.src != r.nsrc)
			rc = -EBADMSG; /* the reducer stopped reading early */
		if (rc == 0)
			rc = writer_finish(&w);
		if (rc < 0)
			break;
	}
	if (rc == 0 && r.err)
		rc = r.err;
	reader_done(&r);
	for (int m = 0; m < a->nmap; m++)
		xos_chan_close(a->in[m]);
	xos_chan_close(a->out);
	return rc < 0 ? 1 : 0;
}

static int chan_open(struct xos_chan *ends[2], const char *job, const char *what, int a, int b)
{
	struct xos_chan_attr attr;
	char name[64];

	xos_chan_attr_init(&attr);
	snprintf(name, sizeof(name), "%s.%s%d.%d", job, what, a, b);
	attr.name = name;
	attr.capacity = CHAN_CAPACITY;
	attr.max_msg = CHAN_MAX_MSG;
	return xos_chan_open(ends, &attr);
}

static int ef_start(struct xos_ef **ret, const char *name, struct xos_chan **chans, size_t nchans,
		    xos_ef_fn fn, const void *arg, size_t arg_size)
{
	struct xos_ef_attr attr;

	xos_ef_attr_init(&attr);
	attr.name = name;
	attr.chans = chans;
	attr.nchans = nchans;
	return xos_ef_create(ret, &attr, fn, arg, arg_size);
}

/* Close the master's ends, join every EF; 0 if all of them ended well. */
static int session_teardown(struct mr_session *s)
{
	const int M = s->spec->nmap, R = s->spec->nreduce, P = R ? R : 1;
	int rc = 0;

	/* Without QUIT, closing the task channels makes the maps give up. */
	for (int m = 0; m < M; m++)
		if (s->tc[m][0])
			xos_chan_close(s->tc[m][0]);
	/* The master's inputs: an EF blocked writing to one gets EPIPE. */
	for (int i = 0; i < s->nin; i++)
		xos_chan_close(s->master_in[i]);
	for (int m = 0; m < M; m++) {
		struct xos_ef_exit ex;

		if (s->maps[m] && (xos_ef_join(s->maps[m], &ex) < 0 || ex.how != XOS_EF_EXITED ||
				   ex.status))
			rc = -ECHILD;
	}
	for (int p = 0; p < R; p++) {
		struct xos_ef_exit ex;

		if (s->reds[p] && (xos_ef_join(s->reds[p], &ex) < 0 || ex.how != XOS_EF_EXITED ||
				   ex.status))
			rc = -ECHILD;
	}
	/* Ends never handed to an EF are still the master's to close. */
	for (int m = 0; m < M; m++) {
		if (!s->maps[m] && s->tc[m][1])
			xos_chan_close(s->tc[m][1]);
		for (int p = 0; p < P; p++) {
			if (!s->maps[m] && s->mc[m][p][0])
				xos_chan_close(s->mc[m][p][0]);
			if (R && !s->reds[p] && s->mc[m][p][1])
				xos_chan_close(s->mc[m][p][1]);
		}
	}
	for (int p = 0; p < R; p++)
		if (!s->reds[p] && s->rc[p][0])
			xos_chan_close(s->rc[p][0]);
	return rc;
}

static int session_start_ef(struct mr_session *s)
{
	const struct mr_spec *spec = s->spec;
	const int M = spec->nmap, R = spec->nreduce, P = R ? R : 1;
	char name[64];
	int rc = 0;

	for (int m = 0; m < M && rc == 0; m++) {
		rc = chan_open(s->tc[m], spec->name, "t", m, 0);
		for (int p = 0; p < P && rc == 0; p++)
			rc = chan_open(s->mc[m][p], spec->name, "m", m, p);
	}
	for (int p = 0; p < R && rc == 0; p++)
		rc = chan_open(s->rc[p], spec->name, "r", p, 0);
	/* The master's inputs are its own from the start: teardown closes them. */
	s->nin = R ? R : M;
	for (int i = 0; i < s->nin; i++)
		s->master_in[i] = R ? s->rc[i][1] : s->mc[i][0][1];
	if (rc < 0)
		goto fail;

	for (int p = 0; p < R && rc == 0; p++) {
		struct reduce_arg ra = { .spec = *spec, .part = p, .nmap = M, .out = s->rc[p][0] };
		struct xos_chan *ends[MR_MAX_MAPS + 1];

		for (int m = 0; m < M; m++)
			ends[m] = ra.in[m] = s->mc[m][p][1];
		ends[M] = s->rc[p][0];
		snprintf(name, sizeof(name), "%s.reduce%d", spec->name, p);
		rc = ef_start(&s->reds[p], name, ends, (size_t)M + 1, reduce_ef, &ra, sizeof(ra));
	}
	for (int m = 0; m < M && rc == 0; m++) {
		struct map_arg ma = { .spec = *spec, .nparts = P, .forward_quit = R > 0,
				      .in = s->tc[m][1] };
		struct xos_chan *ends[MR_MAX_PARTS + 1];

		for (int p = 0; p < P; p++)
			ends[p] = ma.out[p] = s->mc[m][p][0];
		ends[P] = s->tc[m][1];
		snprintf(name, sizeof(name), "%s.map%d", spec->name, m);
		rc = ef_start(&s->maps[m], name, ends, (size_t)P + 1, map_ef, &ma, sizeof(ma));
	}
	if (rc == 0)
		return 0;
fail:
	s->broken = 1;
	session_teardown(s);
	return rc;
}

static int session_round_ef(struct mr_session *s, const unsigned char *tasks, void *result)
{
	const struct mr_spec *spec = s->spec;
	struct mr_reader r = { .nsrc = s->nin, .chans = s->master_in };
	int rc = 0;

	for (int m = 0; m < spec->nmap && rc == 0; m++)
		rc = send_msg(s->tc[m][0], MSG_TASK, tasks + (size_t)m * spec->task_size,
			      spec->task_size);
	if (rc == 0)
		rc = merge_all(spec, &r, result);
	reader_done(&r);
	if (rc < 0)
		s->broken = 1;
	return rc;
}

static int session_end_ef(struct mr_session *s)
{
	int rc = 0;

	if (!s->broken)
		for (int m = 0; m < s->spec->nmap && rc == 0; m++)
			rc = send_msg(s->tc[m][0], MSG_QUIT, NULL, 0);
	if (session_teardown(s) < 0 && rc == 0)
		rc = -ECHILD;
	return rc;
}

/* ---- pthread mode (the baseline) --------------------------------------------------- */

struct pmap_arg {
	const struct mr_spec *spec;
	const void *task;
	int nparts;
	struct chunk_list *out; /* nparts lists */
	int rc;
};

struct preduce_arg {
	const struct mr_spec *spec;
	int part, nmap;
	struct chunk_list *in[MR_MAX_MAPS];
	struct chunk_list *out;
	int rc;
};

static void *pmap_thread(void *arg)
{
	struct pmap_arg *a = arg;
	struct mr_writer w[MR_MAX_PARTS], *wp[MR_MAX_PARTS];

	for (int p = 0; p < a->nparts; p++) {
		writer_init_mem(&w[p], &a->out[p]);
		wp[p] = &w[p];
	}
	a->rc = a->spec->map(a->task, wp, a->nparts);
	for (int p = 0; p < a->nparts; p++) {
		int frc = a->rc < 0 ? 0 : writer_finish(&w[p]);

		if (a->rc == 0 && frc < 0)
			a->rc = frc;
		free(w[p].cur_chunk);
	}
	return NULL;
}

static void *preduce_thread(void *arg)
{
	struct preduce_arg *a = arg;
	struct mr_reader r = { .nsrc = a->nmap, .lists = a->in };
	struct mr_writer w;

	writer_init_mem(&w, a->out);
	a->rc = a->spec->reduce(a->part, &r, &w);
	if (a->rc == 0 && r.err)
		a->rc = r.err;
	if (a->rc == 0)
		a->rc = writer_finish(&w);
	free(w.cur_chunk);
	reader_done(&r);
	return NULL;
}

static int run_pthread(const struct mr_spec *spec, const unsigned char *tasks, void *result)
{
	const int M = spec->nmap, R = spec->nreduce, P = R ? R : 1;
	struct chunk_list (*mq)[MR_MAX_PARTS] = calloc(MR_MAX_MAPS, sizeof(*mq));
	struct chunk_list rq[MR_MAX_PARTS] = { 0 };
	struct chunk_list *master_in[MR_MAX_MAPS];
	struct pmap_arg ma[MR_MAX_MAPS];
	struct preduce_arg ra[MR_MAX_PARTS];
	pthread_t tid[MR_MAX_MAPS];
	struct mr_reader r = { 0 };
	int rc = 0, started;

	if (!mq)
		return -ENOMEM;
	for (started = 0; started < M; started++) {
		ma[started] = (struct pmap_arg){ .spec = spec, .nparts = P, .out = mq[started],
						 .task = tasks + (size_t)started * spec->task_size };
		if (pthread_create(&tid[started], NULL, pmap_thread, &ma[started])) {
			rc = -EAGAIN;
			break;
		}
	}
	for (int m = 0; m < started; m++) {
		pthread_join(tid[m], NULL);
		if (ma[m].rc && !rc)
			rc = ma[m].rc;
	}
	if (rc == 0 && R) {
		for (started = 0; started < R; started++) {
			ra[started] = (struct preduce_arg){ .spec = spec, .part = started, .nmap = M,
							    .out = &rq[started] };
			for (int m = 0; m < M; m++)
				ra[started].in[m] = &mq[m][started];
			if (pthread_create(&tid[started], NULL, preduce_thread, &ra[started])) {
				rc = -EAGAIN;
				break;
			}
		}
		for (int p = 0; p < started; p++) {
			pthread_join(tid[p], NULL);
			if (ra[p].rc && !rc)
				rc = ra[p].rc;
		}
	}
	if (rc == 0) {
		r.nsrc = R ? R : M;
		for (int i = 0; i < r.nsrc; i++)
			master_in[i] = R ? &rq[i] : &mq[i][0];
		r.lists = master_in;
		rc = merge_all(spec, &r, result);
		reader_done(&r);
	}
	for (int m = 0; m < M; m++)
		for (int p = 0; p < P; p++)
			chunk_list_free(&mq[m][p]);
	for (int p = 0; p < R; p++)
		chunk_list_free(&rq[p]);
	free(mq);
	return rc;
}

static int spec_check(enum mr_mode mode, const struct mr_spec *spec)
{
	if (!spec || spec->nmap < 1 || spec->nmap > MR_MAX_MAPS || spec->nreduce < 0 ||
	    spec->nreduce > MR_MAX_PARTS || !spec->map || !spec->merge ||
	    (spec->nreduce && !spec->reduce) || (mode != MR_EF && mode != MR_PTHREAD))
		return -EINVAL;
	return 0;
}

int mr_session_start(enum mr_mode mode, const struct mr_spec *spec, struct mr_session **ret)
{
	struct mr_session *s;
	int rc = spec_check(mode, spec);

	if (rc < 0)
		return rc;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->spec = spec;
	s->mode = mode;
	if (mode == MR_EF) {
		rc = session_start_ef(s);
		if (rc < 0) {
			free(s);
			return rc;
		}
	}
	*ret = s;
	return 0;
}

int mr_session_round(struct mr_session *s, const void *tasks, void *result)
{
	if (!s || !tasks)
		return -EINVAL;
	if (s->broken)
		return -EPIPE;
	if (s->mode == MR_PTHREAD)
		return run_pthread(s->spec, tasks, result);
	return session_round_ef(s, tasks, result);
}

int mr_session_end(struct mr_session *s)
{
	int rc = 0;

	if (!s)
		return -EINVAL;
	if (s->mode == MR_EF)
		rc = session_end_ef(s);
	free(s);
	return rc;
}

int mr_run(enum mr_mode mode, const struct mr_spec *spec, const void *tasks, void *result)
{
	struct mr_session *s;
	int rc, erc;

	if (!tasks)
		return -EINVAL;
	rc = mr_session_start(mode, spec, &s);
	if (rc < 0)
		return rc;
	rc = mr_session_round(s, tasks, result);
	erc = mr_session_end(s);
	return rc < 0 ? rc : erc;
}
