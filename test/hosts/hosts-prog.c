/* SPDX-License-Identifier: MIT */
/*
 * An EF program run on several hosts by mpirun (test/hosts/hosts.sh): main()
 * runs once, on rank 0; the other ranks serve EFs.  Each scenario is one
 * argument; every check prints "ok - ..." or "not ok - ..." and the exit
 * status counts the failures.
 *
 *   basic    EFs spread over the hosts, exits and signals as locally,
 *            a named host, the creator's host, an unknown host
 *   chans    a channel to an EF on another host: sequenced messages both
 *            ways, a stream, EOF and EPIPE at its end
 *   foreign  a connection that does not know the launch's secret is refused
 *   other    the other hosts run another build: refused with -ENOEXEC
 *   kill     a host killed while its EFs run: they end lost, their
 *            channels see EOF/EPIPE, the program goes on without it
 *   migrate  a domain EF moved a -> b -> c -> a while it runs (each step
 *            logged with its sequence number and its host's pid: none
 *            lost, repeated or out of order, every host seen), its heap
 *            state intact at join; moves refused with the right errno
 *   migrate_chans  the same EF with two channels to rank 0 in use both ways
 *            while it moves a -> b -> c -> a: every message once, in
 *            order; the ring becomes tcp while it is away, a ring again
 *            when it is back
 *   migrate_blocked  a domain EF moved a -> b -> c -> a while it sleeps
 *            in xos_chan_recv (a ring, then tcp): the move does not wait
 *            for a message, and the message sent after it arrives once
 *   mutate_blocked  one host: the same EF mutated thread -> process ->
 *            thread -> process while it sleeps in recv, then to a thread
 *            while it sleeps in send on a full ring: nothing lost,
 *            repeated or reordered
 *   migrate_send_blocked  a domain EF streaming 60 KB messages to rank 0,
 *            which reads none until the end, moved a -> b -> c -> a while
 *            it sleeps in send (a full ring, then full TCP connections with
 *            a frame in part out): every message once, in order, intact
 *   migrate_refused  a domain EF with a channel end moved to b, where it
 *            loads a library rank 0's process lacks, then asked home: the
 *            image names a mapping home does not have, the move is
 *            refused before its end is touched, and the EF goes on on b
 *            with its channel as it was
 *   migrate_rekeyed  the same EF moved to b, then rank 0's image key changes
 *            (run with a key file of its own): its image from b fails its
 *            MAC at the end of the stream, the move home is refused and the
 *            EF goes on on b with its channel; the key back, it comes home
 *   migrate_keyless  rank 0 without an image key, b and c with one: the
 *            EF's image from a has no MACs, b refuses it before its data
 *            (more than the connection holds), the EF goes on on a
 *   fetch_committed  (with XOS_HOSTS_FAULT=fetch-committed) c takes the
 *            EF with its channel end from b and dies right after b let it
 *            go: the EF is lost, its channel at the end of file
 *   send_blocked_big MECH  one host: a domain EF asleep in a send of 60 KB
 *            on a full MECH with part of it out, mutated and dumped
 *   alone    without a launcher: one host
 *   abandon  rank 0 dies while an EF runs on host b (the script checks
 *            that the launch ends and nothing of it is left)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* gettid */
#endif
#define XOS_USE_VERSION 1
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xos.h>

static int failures;

/* One check's line, after @prefix; @ok again. */
__attribute__((format(printf, 3, 4))) static bool check_line(const char *prefix, bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s%s - ", prefix, ok ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return ok;
}

/* @cond first: the message may print what it set. */
#define CHECK(cond, ...)                                         \
	do {                                                     \
		bool ok_ = (cond);                               \
		failures += !check_line("", ok_, __VA_ARGS__);   \
	} while (0)

#ifdef OTHER_BUILD
/* Another build of this program: a different text, so a different build-id. */
int other_build_marker(void);
int other_build_marker(void)
{
	return 42;
}
#endif

struct job {
	int x;
	int sig;
	struct xos_chan *chan;
	size_t n;
};

static int ef_double(void *p)
{
	struct job *j = p;

	if (j->sig)
		raise(j->sig);
	return j->x * 2;
}

typedef int (*ef_fn_t)(void *);

/* An EF (@icf and @host NULL: the runtime's choice) holding @nchans ends; a domain of 8 MiB if @domain. */
static struct xos_ef *make_ef(const char *name, const char *host, const char *icf, bool domain,
			      struct xos_chan **chans, size_t nchans, ef_fn_t fn, const void *arg, size_t len,
			      int *ret_rc)
{
	struct xos_ef_attr attr;
	struct xos_ef *ef = NULL;

	xos_ef_attr_init(&attr);
	attr.name = name;
	attr.host = host;
	attr.icf = icf;
	attr.chans = chans;
	attr.nchans = nchans;
	if (domain) {
		attr.flags = XOS_EF_F_DOMAIN;
		attr.domain_size = 8u << 20;
	}
	*ret_rc = xos_ef_create(&ef, &attr, fn, arg, len);
	return *ret_rc == 0 ? ef : NULL;
}

static struct xos_ef *make(const char *name, const char *host, const char *icf, ef_fn_t fn,
			   struct job *j, struct xos_chan **chans, size_t nchans, int *ret_rc)
{
	return make_ef(name, host, icf, false, chans, nchans, fn, j, sizeof(*j), ret_rc);
}

static void scenario_basic(void)
{
	struct xos_ef *efs[3];
	struct xos_ef_exit ex;
	struct job j = { 0 };
	const char *hosts[3];
	int rc;

	/* spread: three EFs, three hosts (rank 0's own included) */
	for (int i = 0; i < 3; i++) {
		j.x = 10 + i;
		efs[i] = make("spread", NULL, NULL, ef_double, &j, NULL, 0, &rc);
		CHECK(efs[i] != NULL, "spread EF %d created (%s)", i, strerror(-rc));
		hosts[i] = efs[i] ? xos_ef_host(efs[i]) : "";
	}
	CHECK(strcmp(hosts[0], hosts[1]) != 0 && strcmp(hosts[1], hosts[2]) != 0 &&
		      strcmp(hosts[0], hosts[2]) != 0,
	      "spread put the three EFs on three hosts (%s %s %s)", hosts[0], hosts[1], hosts[2]);
	for (int i = 0; i < 3; i++) {
		if (!efs[i])
			continue;
		rc = xos_ef_join(efs[i], &ex);
		CHECK(rc == 0 && ex.how == XOS_EF_EXITED && ex.status == 2 * (10 + i),
		      "spread EF %d joined: exited %d", i, ex.status);
	}

	/* a named host, and a signal there reported as locally */
	j.x = 21;
	efs[0] = make("named", "c", NULL, ef_double, &j, NULL, 0, &rc);
	CHECK(efs[0] && strcmp(xos_ef_host(efs[0]), "c") == 0, "named host c runs the EF (%s)",
	      efs[0] ? xos_ef_host(efs[0]) : strerror(-rc));
	if (efs[0]) {
		CHECK(xos_ef_join(efs[0], &ex) == 0 && ex.how == XOS_EF_EXITED && ex.status == 42,
		      "named-host EF exited 42 (%d/%d)", ex.how, ex.status);
	}
	j.x = 0;
	j.sig = SIGTERM;
	efs[0] = make("signal", "b", "process", ef_double, &j, NULL, 0, &rc);
	CHECK(efs[0] && strcmp(xos_ef_icf(efs[0]), "process") == 0, "process EF on host b (%s)",
	      efs[0] ? xos_ef_icf(efs[0]) : strerror(-rc));
	if (efs[0])
		CHECK(xos_ef_join(efs[0], &ex) == 0 && ex.how == XOS_EF_KILLED && ex.status == SIGTERM,
		      "remote EF killed by SIGTERM reported as killed, signal %d (%d)", SIGTERM, ex.status);
	j.sig = 0;

	/* the creator's host, and hosts that do not exist */
	efs[0] = make("self", "self", NULL, ef_double, &j, NULL, 0, &rc);
	CHECK(efs[0] && strcmp(xos_ef_host(efs[0]), "a") == 0, "host \"self\" keeps the EF on a (%s)",
	      efs[0] ? xos_ef_host(efs[0]) : strerror(-rc));
	if (efs[0])
		xos_ef_join(efs[0], &ex);
	efs[0] = make("nowhere", "nosuchhost", NULL, ef_double, &j, NULL, 0, &rc);
	CHECK(!efs[0] && rc == -ENOENT, "an unknown host is refused with -ENOENT (%s)", strerror(-rc));
}

/* Echo: each message is a sequence number; send back seq + 1.  Then stream back @n bytes. */
static int ef_echo(void *p)
{
	struct job *j = p;
	uint64_t seq, expect = 0;
	ssize_t n;
	int bad = 0;

	while ((n = xos_chan_recv(j->chan, &seq, sizeof(seq))) > 0) {
		bad += n != sizeof(seq) || seq != expect;
		expect = seq + 1;
		seq++;
		if (xos_chan_send(j->chan, &seq, sizeof(seq)) != sizeof(seq))
			bad++;
	}
	if (n < 0)
		bad++;
	return bad ? 100 + (bad > 50 ? 50 : bad) : (int)(expect & 0x3f);
}

static int ef_stream(void *p)
{
	struct job *j = p;
	static char buf[65536];
	int rc = 0;

	for (size_t i = 0; i < j->n && rc == 0; i++) {
		memset(buf, (int)(i & 0xff), sizeof(buf));
		if (xos_chan_send(j->chan, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			rc = 1;
	}
	xos_chan_close(j->chan);
	return rc;
}

/* Reads sequence numbers 0, 1, ... until EOF; returns how many (-1 when out of order). */
static int ef_sink(void *p)
{
	struct job *j = p;
	uint64_t seq;
	int n = 0;

	while (xos_chan_recv(j->chan, &seq, sizeof(seq)) > 0) {
		if (seq != (uint64_t)n)
			return -1 & 0xff;
		n++;
	}
	return n;
}

/* Sends sequence numbers 0 .. n-1, then closes. */
static int ef_count(void *p)
{
	struct job *j = p;
	int bad = 0;

	for (uint64_t seq = 0; seq < j->n; seq++)
		bad += xos_chan_send(j->chan, &seq, sizeof(seq)) != sizeof(seq);
	xos_chan_close(j->chan);
	return bad ? 1 : 0;
}

/* Send 0 .. @n-1 on @end, up to 64 in flight, each echoed as seq + 1 in order: how many went wrong. */
static int echo_pipelined(struct xos_chan *end, uint64_t n)
{
	uint64_t seq = 0, back = 0;
	int bad = 0;

	while (back < n) {
		uint64_t r;

		while (seq < n && seq - back < 64) {
			bad += xos_chan_send(end, &seq, sizeof(seq)) != sizeof(seq);
			seq++;
		}
		if (xos_chan_recv(end, &r, sizeof(r)) != sizeof(r))
			return bad + (int)(n - back); /* the rest never came */
		bad += r != back + 1;
		back++;
	}
	return bad;
}

static void scenario_chans(void)
{
	struct xos_chan_attr ca;
	struct xos_chan *ends[2];
	struct xos_ef *ef;
	struct xos_ef_exit ex;
	struct job j = { 0 };
	uint64_t seq;
	int rc, bad = 0;
	const uint64_t N = 20000;

	/* sequenced messages both ways over a bidirectional channel */
	xos_chan_attr_init(&ca);
	ca.name = "echo";
	ca.flags = XOS_CHAN_F_BIDIR;
	CHECK(xos_chan_open(ends, &ca) == 0, "echo channel opened");
	j.chan = ends[1];
	ef = make("echo", "b", NULL, ef_echo, &j, &ends[1], 1, &rc);
	CHECK(ef && strcmp(xos_ef_host(ef), "b") == 0, "echo EF on host b (%s)", ef ? "" : strerror(-rc));
	if (!ef)
		return;
	CHECK(strcmp(xos_chan_mechanism(ends[0]), "tcp") == 0, "the channel to host b is on tcp (%s)",
	      xos_chan_mechanism(ends[0]));
	bad = echo_pipelined(ends[0], N);
	CHECK(bad == 0, "%llu sequenced messages echoed in order, none lost or duplicated",
	      (unsigned long long)N);
	rc = xos_chan_switch(ends[0], "ring");
	CHECK(rc == -EOPNOTSUPP, "a channel to another host is not switched: -EOPNOTSUPP (%s)", strerror(-rc));
	xos_chan_close(ends[0]);
	CHECK(xos_ef_join(ef, &ex) == 0 && ex.how == XOS_EF_EXITED && ex.status == (int)(N & 0x3f),
	      "the echo EF saw every message in order, then EOF (status %d)", ex.status);

	/* a stream from host c: 64 MiB in 64 KiB messages, then EOF */
	xos_chan_attr_init(&ca);
	ca.name = "stream";
	CHECK(xos_chan_open(ends, &ca) == 0, "stream channel opened");
	j.chan = ends[0];
	j.n = 1024;
	ef = make("stream", "c", NULL, ef_stream, &j, &ends[0], 1, &rc);
	CHECK(ef != NULL, "stream EF on host c (%s)", strerror(-rc));
	if (ef) {
		static char buf[65536];
		size_t got = 0, msgs = 0;
		ssize_t n;

		bad = 0;
		while ((n = xos_chan_recv(ends[1], buf, sizeof(buf))) > 0) {
			bad += n != (ssize_t)sizeof(buf) || buf[0] != (char)(msgs & 0xff) ||
			       buf[n - 1] != (char)(msgs & 0xff);
			got += (size_t)n;
			msgs++;
		}
		CHECK(n == 0 && bad == 0 && msgs == 1024, "64 MiB from host c in order, then EOF (%zu msgs)",
		      msgs);
		CHECK(xos_ef_join(ef, &ex) == 0 && ex.how == XOS_EF_EXITED && ex.status == 0,
		      "stream EF exited 0");
	}
	xos_chan_close(ends[1]);

	/* EF to EF on two other hosts: the reader on c first (its channel goes there), the
	 * writer on b second: this process relays; and a channel used here before */
	xos_chan_attr_init(&ca);
	ca.name = "b-to-c";
	CHECK(xos_chan_open(ends, &ca) == 0, "b-to-c channel opened");
	{
		struct job jr = { .chan = ends[1] }, jw = { .chan = ends[0], .n = 5000 };
		struct xos_ef *r, *w;

		r = make("reader", "c", NULL, ef_sink, &jr, &ends[1], 1, &rc);
		CHECK(r != NULL, "reader EF on host c (%s)", strerror(-rc));
		w = make("writer", "b", NULL, ef_count, &jw, &ends[0], 1, &rc);
		CHECK(w != NULL, "writer EF on host b, its end relayed here (%s)", strerror(-rc));
		if (w)
			CHECK(xos_ef_join(w, &ex) == 0 && ex.how == XOS_EF_EXITED && ex.status == 0,
			      "the writer on b sent 5000 messages (%d)", ex.status);
		if (r)
			CHECK(xos_ef_join(r, &ex) == 0 && ex.how == XOS_EF_EXITED && ex.status == 5000,
			      "the reader on c got 5000 messages in order, then EOF (%d)", ex.status);
	}
	xos_chan_attr_init(&ca);
	ca.name = "used";
	CHECK(xos_chan_open(ends, &ca) == 0, "used channel opened");
	seq = 0;
	CHECK(xos_chan_send(ends[0], &seq, sizeof(seq)) == sizeof(seq), "a message sent before the reader exists");
	j.chan = ends[1];
	ef = make("used-reader", "b", NULL, ef_sink, &j, &ends[1], 1, &rc);
	CHECK(ef != NULL, "reader of a channel in use on host b, relayed (%s)", strerror(-rc));
	if (ef) {
		for (seq = 1; seq < 50; seq++)
			xos_chan_send(ends[0], &seq, sizeof(seq));
		xos_chan_close(ends[0]);
		CHECK(xos_ef_join(ef, &ex) == 0 && ex.how == XOS_EF_EXITED && ex.status == 50,
		      "it read the 50 messages, the first sent before it existed (%d)", ex.status);
	}

	/* EPIPE: the remote reader ends, the writer here is told */
	xos_chan_attr_init(&ca);
	ca.name = "sink";
	CHECK(xos_chan_open(ends, &ca) == 0, "sink channel opened");
	j.chan = ends[1];
	ef = make("sink", "b", NULL, ef_sink, &j, &ends[1], 1, &rc);
	if (ef) {
		for (seq = 0; seq < 100; seq++)
			xos_chan_send(ends[0], &seq, sizeof(seq));
		xos_chan_close(ends[0]);
		CHECK(xos_ef_join(ef, &ex) == 0 && ex.how == XOS_EF_EXITED && ex.status == 100,
		      "the sink on host b read 100 messages then EOF (%d)", ex.status);
	}
}

/* A check inside an EF on another host: printed there, counted in @bad (the EF's status). */
#define NCHECK(bad, cond, ...)                                       \
	do {                                                         \
		bool ok_ = (cond);                                   \
		(bad) += !check_line("# nested: ", ok_, __VA_ARGS__); \
	} while (0)

/*
 * Runs on host b: EFs created from there on c (with a channel between
 * them: b and c connect directly), on a (rank 0's host), on b itself,
 * spread, killed, and on no host.  Returns how many checks failed.
 */
static int ef_nest(void *p)
{
	struct xos_chan_attr ca;
	struct xos_chan *ends[2];
	struct xos_ef *ef, *sp[2];
	struct xos_ef_exit ex;
	struct job j = { 0 };
	const uint64_t N = 5000;
	int bad = 0, lost = 0, rc;

	(void)p;
	xos_chan_attr_init(&ca);
	ca.name = "b-c";
	ca.flags = XOS_CHAN_F_BIDIR;
	if (xos_chan_open(ends, &ca) < 0)
		return 99;
	j.chan = ends[1];
	ef = make("nested-echo", "c", NULL, ef_echo, &j, &ends[1], 1, &rc);
	NCHECK(bad, ef && strcmp(xos_ef_host(ef), "c") == 0, "an EF on b created an EF on host c (%s)",
	       ef ? xos_ef_host(ef) : strerror(-rc));
	if (ef) {
		NCHECK(bad, strcmp(xos_chan_mechanism(ends[0]), "tcp") == 0, "its channel from b is on tcp (%s)",
		       xos_chan_mechanism(ends[0]));
		lost = echo_pipelined(ends[0], N);
		NCHECK(bad, lost == 0, "%llu sequenced messages b <-> c, in order, none lost",
		       (unsigned long long)N);
		xos_chan_close(ends[0]);
		NCHECK(bad, xos_ef_join(ef, &ex) == 0 && ex.how == XOS_EF_EXITED && ex.status == (int)(N & 0x3f),
		       "the EF on c saw every message, then EOF (status %d)", ex.status);
	} else {
		xos_chan_close(ends[0]);
	}

	j.x = 7;
	ef = make("nested-home", "a", NULL, ef_double, &j, NULL, 0, &rc);
	NCHECK(bad, ef && strcmp(xos_ef_host(ef), "a") == 0, "an EF on b created an EF on host a, rank 0's (%s)",
	       ef ? xos_ef_host(ef) : strerror(-rc));
	if (ef)
		NCHECK(bad, xos_ef_join(ef, &ex) == 0 && ex.how == XOS_EF_EXITED && ex.status == 14,
		       "the EF on a exited 14 (%d/%d)", ex.how, ex.status);

	j.x = 0;
	j.sig = SIGTERM;
	ef = make("nested-signal", "c", "process", ef_double, &j, NULL, 0, &rc);
	NCHECK(bad, ef != NULL, "a process EF on c from b (%s)", strerror(-rc));
	if (ef)
		NCHECK(bad, xos_ef_join(ef, &ex) == 0 && ex.how == XOS_EF_KILLED && ex.status == SIGTERM,
		       "killed there by SIGTERM, reported to b as killed (%d/%d)", ex.how, ex.status);
	j.sig = 0;

	ef = make("nested-self", "self", NULL, ef_double, &j, NULL, 0, &rc);
	NCHECK(bad, ef && strcmp(xos_ef_host(ef), "b") == 0, "host \"self\" from b keeps the EF on b (%s)",
	       ef ? xos_ef_host(ef) : strerror(-rc));
	if (ef)
		xos_ef_join(ef, &ex);

	/* spread, as counted from b: b runs this EF, a and c run none of b's */
	for (int i = 0; i < 2; i++) {
		j.x = i;
		sp[i] = make("nested-spread", NULL, NULL, ef_double, &j, NULL, 0, &rc);
	}
	NCHECK(bad, sp[0] && sp[1] && strcmp(xos_ef_host(sp[0]), "b") != 0 && strcmp(xos_ef_host(sp[1]), "b") != 0 &&
		       strcmp(xos_ef_host(sp[0]), xos_ef_host(sp[1])) != 0,
	       "spread from b put two EFs on the two other hosts (%s %s)", sp[0] ? xos_ef_host(sp[0]) : "-",
	       sp[1] ? xos_ef_host(sp[1]) : "-");
	for (int i = 0; i < 2; i++)
		if (sp[i])
			NCHECK(bad, xos_ef_join(sp[i], &ex) == 0 && ex.status == 2 * i, "spread EF %d exited %d", i,
			       ex.status);

	ef = make("nested-nowhere", "nosuchhost", NULL, ef_double, &j, NULL, 0, &rc);
	NCHECK(bad, !ef && rc == -ENOENT, "an unknown host is refused on b too: -ENOENT (%s)", strerror(-rc));
	return bad;
}

/* Run @fn (its NCHECKs) in a thread EF on host b; its status is how many failed there. */
static void run_on_b(const char *name, ef_fn_t fn, const char *what)
{
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	struct job j = { 0 };
	int rc;

	ef = make(name, "b", "thread", fn, &j, NULL, 0, &rc);
	CHECK(ef && strcmp(xos_ef_host(ef), "b") == 0, "EF \"%s\" runs on host b (%s)", name,
	      ef ? xos_ef_host(ef) : strerror(-rc));
	if (!ef)
		return;
	rc = xos_ef_join(ef, &ex);
	CHECK(rc == 0 && ex.how == XOS_EF_EXITED && ex.status == 0, "%s: every check there passed (%d failed)",
	      what, ex.status);
}

static void scenario_nested(void)
{
	run_on_b("nest", ef_nest, "EFs created from b on c, a, b, spread, killed, refused");
}

/* Connect to @f (addr:port of host @who) without the secret: refused without a word? */
static void foreign_probe(const char *f, const char *who)
{
	char addr[64], hello[128], junk[48];
	struct sockaddr_in sa = { .sin_family = AF_INET };
	ssize_t n, total = 0;
	int fd;

	if (!f || sscanf(f, "%63[^:]:%hu", addr, &sa.sin_port) != 2) {
		CHECK(0, "FOREIGN/FOREIGN0 name host %s's endpoint", who);
		return;
	}
	sa.sin_port = htons(sa.sin_port);
	inet_pton(AF_INET, addr, &sa.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connected to host %s at %s", who, f);
	n = recv(fd, hello, sizeof(hello), 0);
	CHECK(n > 8 && memcmp(hello, "xoshost1", 8) == 0, "host %s says hello", who);
	/* an answer that does not know the secret, asking for a session */
	memset(junk, 0x5a, sizeof(junk));
	junk[32] = 1;
	send(fd, junk, sizeof(junk), MSG_NOSIGNAL);
	while ((n = recv(fd, hello, sizeof(hello), 0)) > 0)
		total += n;
	CHECK(n == 0 && total == 0, "host %s closed the foreign connection without a word", who);
	close(fd);
}

static int threads_of_self(void)
{
	char line[256];
	int n = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	if (f)
		fclose(f);
	return n;
}

/*
 * 200 connections to this process's own endpoint (rank 0's) that never say
 * a word: a host gives such strangers a bounded number of threads, and goes
 * on serving the launch.  The number of threads of this process, then.
 */
static int flood(const char *f, int *ret_before)
{
	char addr[64];
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fds[200], most = 0;

	*ret_before = threads_of_self();
	if (!f || sscanf(f, "%63[^:]:%hu", addr, &sa.sin_port) != 2)
		return -1;
	sa.sin_port = htons(sa.sin_port);
	inet_pton(AF_INET, addr, &sa.sin_addr);
	for (int i = 0; i < 200; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fds[i] >= 0 && connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			close(fds[i]);
			fds[i] = -1;
		}
	}
	for (int k = 0; k < 20; k++) { /* the accepts happen meanwhile */
		int n = threads_of_self();

		most = n > most ? n : most;
		usleep(10000);
	}
	for (int i = 0; i < 200; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return most;
}

/* On host b: an EF created from here on host a; its status. */
static int ef_home(void *p)
{
	struct job *j = p;
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	int rc;

	ef = make("home", "a", NULL, ef_double, j, NULL, 0, &rc);
	if (!ef)
		return 100;
	if (xos_ef_join(ef, &ex) < 0 || ex.how != XOS_EF_EXITED)
		return 101;
	return ex.status;
}

/* FOREIGN, FOREIGN0: addr:port of hosts b and a; connect without the secret. */
static void scenario_foreign(void)
{
	struct xos_ef *ef;
	struct xos_ef_exit ex;
	struct job j = { .x = 5 };
	int rc;

	foreign_probe(getenv("FOREIGN"), "b");
	ef = make("after-foreign", "b", NULL, ef_double, &j, NULL, 0, &rc);
	CHECK(ef && xos_ef_join(ef, &ex) == 0 && ex.how == XOS_EF_EXITED && ex.status == 10,
	      "host b still serves the launch (%s)", strerror(-rc));
	/* rank 0 serves the EFs other hosts create there: the same door, the same lock */
	foreign_probe(getenv("FOREIGN0"), "a (rank 0)");
	{
		int before, most = flood(getenv("FOREIGN0"), &before);

		CHECK(most >= 0 && most - before <= 40,
		      "200 silent connections to rank 0 cost it at most 40 threads (%d, %d before)", most, before);
	}
	usleep(100000); /* the closed ones go */
	j.x = 6;
	ef = make("from-b", "b", NULL, ef_home, &j, NULL, 0, &rc);
	CHECK(ef && xos_ef_join(ef, &ex) == 0 && ex.how == XOS_EF_EXITED && ex.status == 12,
	      "rank 0 still serves the launch: an EF on b created one on a, exited 12 (%d)", ex.status);
}

static void scenario_other(void)
{
	struct job j = { .x = 1 };
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	int rc;

	ef = make("other", "b", NULL, ef_double, &j, NULL, 0, &rc);
	CHECK(!ef && rc == -ENOEXEC, "host b runs another build: -ENOEXEC (%s)", strerror(-rc));
	ef = make("local", NULL, NULL, ef_double, &j, NULL, 0, &rc);
	CHECK(ef && strcmp(xos_ef_host(ef), "a") == 0, "an EF that may stay here runs here (%s)",
	      ef ? xos_ef_host(ef) : strerror(-rc));
	if (ef)
		CHECK(xos_ef_join(ef, &ex) == 0 && ex.status == 2, "and exits 2 (%d)", ex.status);
}

/* Reports its host's pid, then reads until EOF. */
static int ef_victim(void *p)
{
	struct job *j = p;
	uint64_t v = (uint64_t)getpid();

	xos_chan_send(j->chan, &v, sizeof(v));
	while (xos_chan_recv(j->chan, &v, sizeof(v)) > 0)
		;
	return 0;
}

/* On host b, after host c was killed: c refused (-EHOSTDOWN), spread from b avoids it. */
static int ef_after_kill(void *p)
{
	struct job *j = p;
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	int rc, bad = 0;

	ef = make("from-b-to-c", "c", NULL, ef_double, j, NULL, 0, &rc);
	NCHECK(bad, !ef && rc == -EHOSTDOWN, "from b, host c is refused: -EHOSTDOWN (%s)", strerror(-rc));
	for (int i = 0; i < 2; i++) {
		ef = make("spread-from-b", NULL, NULL, ef_double, j, NULL, 0, &rc);
		NCHECK(bad, ef && strcmp(xos_ef_host(ef), "c") != 0, "spread from b avoids the lost host (%s)",
		       ef ? xos_ef_host(ef) : strerror(-rc));
		if (ef)
			NCHECK(bad, xos_ef_join(ef, &ex) == 0 && ex.status == 2 * j->x, "and its EF runs (%d)",
			       ex.status);
	}
	return bad;
}

static void scenario_kill(void)
{
	struct xos_chan_attr ca;
	struct xos_chan *ends[2];
	struct xos_ef *ef, *ef2;
	struct xos_ef_exit ex;
	struct job j = { 0 };
	uint64_t pid = 0, v = 1;
	ssize_t n;
	int rc, sends = 0;

	xos_chan_attr_init(&ca);
	ca.name = "victim";
	ca.flags = XOS_CHAN_F_BIDIR;
	xos_chan_open(ends, &ca);
	j.chan = ends[1];
	ef = make("victim", "c", "thread", ef_victim, &j, &ends[1], 1, &rc);
	CHECK(ef != NULL, "victim EF on host c (%s)", strerror(-rc));
	if (!ef)
		return;
	CHECK(xos_chan_recv(ends[0], &pid, sizeof(pid)) == sizeof(pid) && pid > 1, "host c's pid is %llu",
	      (unsigned long long)pid);
	CHECK(kill((pid_t)pid, SIGKILL) == 0, "host c killed");
	rc = xos_ef_join(ef, &ex);
	CHECK(rc == 0 && ex.how == XOS_EF_LOST, "its EF ends lost (how %d)", ex.how);
	n = xos_chan_recv(ends[0], &v, sizeof(v));
	CHECK(n == 0, "its channel reads EOF (%zd)", n);
	while (sends < 1000 && (n = xos_chan_send(ends[0], &v, sizeof(v))) > 0)
		sends++;
	CHECK(n == -EPIPE, "and sending on it fails with EPIPE (%zd after %d sends)", n, sends);
	xos_chan_close(ends[0]);
	j.x = 4;
	ef2 = make("after-kill", "c", NULL, ef_double, &j, NULL, 0, &rc);
	CHECK(!ef2 && rc == -EHOSTDOWN, "host c is refused now: -EHOSTDOWN (%s)", strerror(-rc));
	for (int i = 0; i < 3; i++) {
		ef2 = make("spread-after", NULL, NULL, ef_double, &j, NULL, 0, &rc);
		CHECK(ef2 && strcmp(xos_ef_host(ef2), "c") != 0, "spread avoids the lost host (%s)",
		      ef2 ? xos_ef_host(ef2) : strerror(-rc));
		if (ef2)
			CHECK(xos_ef_join(ef2, &ex) == 0 && ex.status == 8, "and its EF runs");
	}
	ef2 = make("after-kill-b", "b", NULL, ef_after_kill, &j, NULL, 0, &rc);
	CHECK(ef2 && xos_ef_join(ef2, &ex) == 0 && ex.how == XOS_EF_EXITED && ex.status == 0,
	      "an EF on b finds host c lost too (%d checks failed there)", ex.status);
}

struct leaf_job {
	struct xos_chan *chan;
	char path[160]; /* made when the channel ends */
};

/* Reads until its channel ends (its creator died), then says so in a file. */
static int ef_leaf(void *p)
{
	struct leaf_job *l = p;
	uint64_t v;
	int fd;

	while (xos_chan_recv(l->chan, &v, sizeof(v)) > 0)
		;
	fd = open(l->path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	return 0;
}

/* On host b: leaves on c and on a, each with a channel from here; then its pid to rank 0, and waits. */
static int ef_mid(void *p)
{
	struct leaf_job *me = p, lj;
	static const char *const where[] = { "c", "a" };
	struct xos_chan_attr ca;
	struct xos_chan *ends[2];
	uint64_t v = (uint64_t)getpid();
	int rc;

	for (int i = 0; i < 2; i++) {
		xos_chan_attr_init(&ca);
		ca.name = "mid-leaf";
		if (xos_chan_open(ends, &ca) < 0)
			return 1;
		lj.chan = ends[1];
		snprintf(lj.path, sizeof(lj.path), "%.150s.%s", me->path, where[i]);
		if (!make_ef("leaf", where[i], NULL, false, &ends[1], 1, ef_leaf, &lj, sizeof(lj), &rc))
			return 2;
		v = (uint64_t)getpid();
		xos_chan_send(ends[0], &v, sizeof(v)); /* in use: the leaf is running */
	}
	xos_chan_send(me->chan, &v, sizeof(v));
	while (xos_chan_recv(me->chan, &v, sizeof(v)) > 0)
		;
	return 0;
}

static bool appears(const char *path, int seconds)
{
	for (int i = 0; i < seconds * 100; i++) {
		if (access(path, F_OK) == 0)
			return true;
		usleep(10000);
	}
	return false;
}

/* Host b, which created EFs on c and on a, is killed: they see their channels end; a and c go on. */
static void scenario_creator_killed(void)
{
	struct xos_chan_attr ca;
	struct xos_chan *ends[2];
	struct leaf_job mj;
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	struct job j = { .x = 9 };
	char dir[] = "/tmp/xos-hosts-XXXXXX", path[200];
	uint64_t pid = 0;
	int rc;

	CHECK(mkdtemp(dir) != NULL, "a directory the hosts share: %s", dir);
	xos_chan_attr_init(&ca);
	ca.flags = XOS_CHAN_F_BIDIR;
	xos_chan_open(ends, &ca);
	mj.chan = ends[1];
	snprintf(mj.path, sizeof(mj.path), "%s/leaf", dir);
	ef = make_ef("mid", "b", "thread", false, &ends[1], 1, ef_mid, &mj, sizeof(mj), &rc);
	CHECK(ef != NULL, "an EF on host b (%s)", strerror(-rc));
	if (!ef)
		return;
	CHECK(xos_chan_recv(ends[0], &pid, sizeof(pid)) == sizeof(pid) && pid > 1,
	      "it made EFs on hosts c and a, and runs in host b's process %llu", (unsigned long long)pid);
	CHECK(kill((pid_t)pid, SIGKILL) == 0, "host b killed");
	CHECK(xos_ef_join(ef, &ex) == 0 && ex.how == XOS_EF_LOST, "its EF ends lost (how %d)", ex.how);
	snprintf(path, sizeof(path), "%s/leaf.c", dir);
	CHECK(appears(path, 20), "the EF b made on c saw its channel from b end, and ended");
	snprintf(path, sizeof(path), "%s/leaf.a", dir);
	CHECK(appears(path, 20), "the EF b made here on a saw its channel from b end, and ended");
	ef = make("after-b", "c", NULL, ef_double, &j, NULL, 0, &rc);
	CHECK(ef && xos_ef_join(ef, &ex) == 0 && ex.how == XOS_EF_EXITED && ex.status == 18,
	      "host c goes on serving (%s)", strerror(-rc));
	xos_chan_close(ends[0]);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	if (system(path) != 0)
		printf("# could not remove %s\n", dir);
}

/* Rank 0 dies while EFs run on the other hosts: they must not outlive it. */
static void scenario_abandon(void)
{
	struct xos_chan_attr ca;
	struct xos_chan *ends[2];
	struct job j = { 0 };
	uint64_t pid;
	int rc;

	xos_chan_attr_init(&ca);
	ca.flags = XOS_CHAN_F_BIDIR;
	xos_chan_open(ends, &ca);
	j.chan = ends[1];
	CHECK(make("orphan", "b", "process", ef_victim, &j, &ends[1], 1, &rc) != NULL,
	      "a process EF on host b (%s)", strerror(-rc));
	CHECK(xos_chan_recv(ends[0], &pid, sizeof(pid)) == sizeof(pid), "it runs, as process %llu",
	      (unsigned long long)pid);
	printf("# rank 0 dies now\n");
	fflush(stdout);
	raise(SIGKILL);
}

/* ---- migration ---------------------------------------------------------------- */

struct wander {
	int n;        /* steps */
	int pace_us;  /* sleep per step */
	int gate;     /* the first step limit (0: none) */
	char log[256];
	char limit[256]; /* a file: the step the EF may not pass (rank 0 raises it) */
};

/*
 * A gate keeps a worker from finishing before rank 0 has made its moves,
 * however slow rank 0 is.  It is a limit rank 0 raises each time it waits
 * for progress, never a fixed step per move: a worker that ran ahead while
 * a move took long must not find the next wait's target behind its gate.
 */
enum { GATE_SLACK = 20 };

/* The step limit in the file @path (@dflt while rank 0 has written none). */
static int limit_read(const char *path, int dflt)
{
	char b[16] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return dflt;
	if (read(fd, b, sizeof(b) - 1) < 0)
		b[0] = '\0';
	close(fd);
	return atoi(b);
}

static void limit_write(const char *path, int limit)
{
	FILE *m = fopen(path, "we");

	if (m) {
		fprintf(m, "%d\n", limit);
		fclose(m);
	}
}

/*
 * Step i: append "i pid" to the log (opened and closed each time: no fd
 * is kept across a safe point), keep i*i in a table on the domain heap,
 * yield.  At the end the table must hold every value: 42, else 1.
 */
static int ef_wander(void *p)
{
	const struct wander *w = p;
	uint64_t *vals = xos_malloc((size_t)w->n * sizeof(*vals));
	uint64_t sum = 0, want = 0;

	if (!vals)
		return 2;
	for (int i = 0; i < w->n; i++) {
		int fd = open(w->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);

		if (fd < 0)
			return 3;
		sigset_t mask;

		/* the third field: SIGTERM blocked in the flow that runs it (an EF starts with none blocked) */
		pthread_sigmask(SIG_SETMASK, NULL, &mask);
		dprintf(fd, "%d %d %d\n", i, (int)getpid(), sigismember(&mask, SIGTERM));
		close(fd);
		vals[i] = (uint64_t)i * (uint64_t)i;
		usleep((useconds_t)w->pace_us);
		xos_ef_yield();
		/* Not a timing: done only after the moves (rank 0 may be slow to make them). */
		while (w->gate && i >= limit_read(w->limit, w->gate)) {
			usleep(1000);
			xos_ef_yield();
		}
	}
	for (int i = 0; i < w->n; i++) {
		sum += vals[i];
		want += (uint64_t)i * (uint64_t)i;
	}
	xos_free(vals);
	return sum == want ? 42 : 1;
}

/* Lines in @path. */
static int log_lines(const char *path)
{
	FILE *f = fopen(path, "re");
	int n = 0, c;

	if (!f)
		return 0;
	while ((c = getc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/*
 * Wait until @w's log has grown by at least @more lines, its gate opened
 * that far (no time limit: the script's timeout is it).
 */
static void log_wait(const struct wander *w, int more)
{
	int n0 = log_lines(w->log);

	limit_write(w->limit, n0 + more + GATE_SLACK);
	while (log_lines(w->log) < n0 + more)
		usleep(2000);
}

static struct xos_ef *make_domain(const char *name, const char *host, ef_fn_t fn, const void *arg,
				  size_t len, int *ret_rc)
{
	return make_ef(name, host, NULL, true, NULL, 0, fn, arg, len, ret_rc);
}

/* A wandering domain EF @name on this host, its log and gate fresh in $TMPDIR. */
static struct xos_ef *wander_start(struct wander *w, const char *name, int *ret_rc)
{
	snprintf(w->log, sizeof(w->log), "%s/%s.%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", name,
		 (int)getpid());
	snprintf(w->limit, sizeof(w->limit), "%.240s.limit", w->log);
	unlink(w->log);
	unlink(w->limit);
	return make_domain(name, "self", ef_wander, w, sizeof(*w), ret_rc);
}

static void scenario_migrate(void)
{
	const char *route[] = { "b", "c", "self" }, *where[] = { "b", "c", "a" };
	struct wander w = { .n = 400, .pace_us = 500, .gate = 80 };
	struct xos_ef *ef, *other;
	struct xos_ef_exit ex;
	struct job j = { .x = 5 };
	int rc, pids[4] = { 0 }, nseg = 0, bad = -1, lines = 0, prev = -1;
	char line[64];
	FILE *f;

	ef = wander_start(&w, "wander", &rc);
	CHECK(ef && strcmp(xos_ef_host(ef), "a") == 0, "domain EF runs on a (%s)",
	      ef ? xos_ef_host(ef) : strerror(-rc));
	if (!ef)
		return;

	/* refusals, while it runs: the EF goes on where it is */
	rc = xos_ef_migrate(ef, "nosuchhost");
	CHECK(rc == -ENOENT, "to an unknown host: -ENOENT (%s)", strerror(-rc));
	rc = xos_ef_migrate(ef, "a");
	CHECK(rc == -EALREADY, "to its own host: -EALREADY (%s)", strerror(-rc));
	rc = xos_ef_migrate(ef, "self");
	CHECK(rc == -EALREADY, "to \"self\" from its creator's host: -EALREADY (%s)", strerror(-rc));
	rc = xos_ef_migrate(NULL, "b");
	CHECK(rc == -EINVAL, "no EF: -EINVAL (%s)", strerror(-rc));
	rc = xos_ef_migrate(ef, "");
	CHECK(rc == -EINVAL, "an empty host name: -EINVAL (%s)", strerror(-rc));

	/* there and on and back, mid-run */
	for (int k = 0; k < 3; k++) {
		log_wait(&w, 40);
		rc = xos_ef_migrate(ef, route[k]);
		CHECK(rc == 0 && strcmp(xos_ef_host(ef), where[k]) == 0, "moved to %s (%s, now on %s, icf %s)",
		      where[k], strerror(-rc), xos_ef_host(ef), xos_ef_icf(ef));
	}
	limit_write(w.limit, w.n);
	rc = xos_ef_join(ef, &ex);
	CHECK(rc == 0 && ex.how == XOS_EF_EXITED && ex.status == 42,
	      "joined: exited 42, its heap intact after three moves (%d/%d)", ex.how, ex.status);

	/* the log: 0..n-1 once each, in order; pids in four runs a, b, c, a */
	f = fopen(w.log, "re");
	while (f && fgets(line, sizeof(line), f)) {
		int i, pid;

		if (sscanf(line, "%d %d", &i, &pid) != 2 || i != prev + 1) {
			if (bad < 0)
				bad = lines;
		}
		prev = i;
		if (nseg == 0 || pids[nseg - 1] != pid) {
			if (nseg < 4)
				pids[nseg] = pid;
			nseg++;
		}
		lines++;
	}
	if (f)
		fclose(f);
	CHECK(bad < 0 && lines == w.n, "every step once, in order (%d lines of %d, first bad %d)", lines,
	      w.n, bad);
	CHECK(nseg == 4 && pids[0] == (int)getpid() && pids[3] == pids[0] && pids[1] != pids[0] &&
		      pids[2] != pids[0] && pids[2] != pids[1],
	      "the steps ran on a, then b, then c, then a again (%d runs: %d %d %d %d, rank 0 is %d)", nseg,
	      pids[0], pids[1], pids[2], pids[3], (int)getpid());
	unlink(w.log);
	unlink(w.limit);
	w.gate = 0;

	/* what cannot move */
	other = make("plain", "self", NULL, ef_double, &j, NULL, 0, &rc);
	if (other) {
		rc = xos_ef_migrate(other, "b");
		CHECK(rc == -EOPNOTSUPP, "an EF without a domain: -EOPNOTSUPP (%s)", strerror(-rc));
		xos_ef_join(other, &ex);
	}
	w.n = 1;
	/* an EF that ended, not joined yet: moved back and forth until it has ended */
	other = make_domain("short", "self", ef_wander, &w, sizeof(w), &rc);
	if (other) {
		int moves = 0;

		while ((rc = xos_ef_migrate(other, moves % 2 ? "self" : "b")) == 0)
			moves++;
		CHECK(rc == -ESRCH, "an EF that ended: -ESRCH (%s, after %d moves)", strerror(-rc), moves);
		rc = xos_ef_join(other, &ex);
		CHECK(rc == 0 && ex.how == XOS_EF_EXITED && ex.status == 42, "and it joins as usual (%d)",
		      ex.status);
	}
	unlink(w.log);
}

/* ---- migration with channels -------------------------------------------------- */

#define MC_ROUNDS 3000
#define MC_REPLY 1000000u

struct chatter {
	struct xos_chan *ping; /* bidirectional: a number in, the number + MC_REPLY back */
	struct xos_chan *up;   /* the EF's own count, out */
	int n;
};

/* Reads MC_ROUNDS numbers, in order, answers each, and counts its own on up: 42 if all was in order. */
static int ef_chatter(void *p)
{
	const struct chatter *c = p;
	struct xos_chan *ping = c->ping, *up = c->up;
	int bad = 0;

	for (uint32_t i = 0; i < (uint32_t)c->n; i++) {
		uint32_t v = 0, r;

		if (xos_chan_recv(ping, &v, sizeof(v)) != sizeof(v) || v != i)
			bad++;
		r = v + MC_REPLY;
		if (xos_chan_send(ping, &r, sizeof(r)) != sizeof(r))
			bad++;
		if (xos_chan_send(up, &i, sizeof(i)) != sizeof(i))
			bad++;
	}
	return bad ? 1 : 42;
}

struct pump {
	struct xos_chan *end;
	int n;
	_Atomic int done;
	_Atomic int limit;  /* the ping pump's gate: the round it may not pass (rank 0 raises it) */
	int bad, first_bad;
	char mech[MC_ROUNDS]; /* first letter of the end's mechanism after each round */
};

static void *pump_ping(void *p)
{
	struct pump *q = p;

	q->first_bad = -1;
	for (uint32_t i = 0; i < (uint32_t)q->n; i++) {
		uint32_t v = 0;

		/* Not a timing: the EF must not be done before the moves are (a slow main thread). */
		while (i >= (uint32_t)atomic_load(&q->limit))
			usleep(500);
		if (xos_chan_send(q->end, &i, sizeof(i)) != sizeof(i) ||
		    xos_chan_recv(q->end, &v, sizeof(v)) != sizeof(v) || v != i + MC_REPLY) {
			if (q->first_bad < 0)
				q->first_bad = (int)i;
			q->bad++;
		}
		q->mech[i] = xos_chan_mechanism(q->end)[0];
		atomic_store(&q->done, (int)i + 1);
	}
	return NULL;
}

static void *pump_up(void *p)
{
	struct pump *q = p;

	q->first_bad = -1;
	for (uint32_t i = 0; i < (uint32_t)q->n; i++) {
		uint32_t v = 0;

		if (xos_chan_recv(q->end, &v, sizeof(v)) != sizeof(v) || v != i) {
			if (q->first_bad < 0)
				q->first_bad = (int)i;
			q->bad++;
		}
		atomic_store(&q->done, (int)i + 1);
	}
	return NULL;
}

/* Let @q's pump run at least to round @to. */
static void pump_open(struct pump *q, int to)
{
	int l = atomic_load(&q->limit);

	while (l < to && !atomic_compare_exchange_weak(&q->limit, &l, to))
		;
}

/* Wait until @q has made @more round trips, its gate opened that far. */
static void pump_wait(struct pump *q, int more)
{
	int d0 = atomic_load(&q->done);

	pump_open(q, d0 + more + 100);
	while (atomic_load(&q->done) < d0 + more && atomic_load(&q->done) < q->n)
		usleep(1000);
}

static void scenario_migrate_chans(void)
{
	const char *route[] = { "b", "c", "self" }, *where[] = { "b", "c", "a" };
	struct xos_chan *ping[2], *up[2], *mine[2];
	struct xos_chan_attr ca;
	struct pump pp = { .n = MC_ROUNDS, .limit = 600 }, pu = { .n = MC_ROUNDS, .limit = MC_ROUNDS };
	struct chatter c = { .n = MC_ROUNDS };
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	pthread_t tp, tu;
	int rc, at[4] = { 0 };

	xos_chan_attr_init(&ca);
	ca.name = "ping";
	ca.flags = XOS_CHAN_F_BIDIR;
	CHECK(xos_chan_open(ping, &ca) == 0, "channel ping (both ways)");
	ca.name = "up";
	ca.flags = 0;
	CHECK(xos_chan_open(up, &ca) == 0, "channel up (EF -> rank 0)");
	c.ping = ping[1];
	c.up = up[0];
	mine[0] = ping[1];
	mine[1] = up[0];
	ef = make_ef("chatter", "self", "thread", true, mine, 2, ef_chatter, &c, sizeof(c), &rc);
	CHECK(rc == 0, "EF with two channel ends on a (%s)", strerror(-rc));
	if (rc < 0)
		return;
	pp.end = ping[0];
	pu.end = up[1];
	pthread_create(&tp, NULL, pump_ping, &pp);
	pthread_create(&tu, NULL, pump_up, &pu);

	for (int k = 0; k < 3; k++) {
		pump_wait(&pp, 300);
		at[k] = atomic_load(&pp.done);
		/* Traffic during the move: the pump may go on 200 rounds. */
		pump_open(&pp, at[k] + 200);
		rc = xos_ef_migrate(ef, route[k]);
		CHECK(rc == 0 && strcmp(xos_ef_host(ef), where[k]) == 0,
		      "moved to %s with its channels in use (%s, after round %d)", where[k], strerror(-rc), at[k]);
	}
	pump_open(&pp, MC_ROUNDS);
	pump_wait(&pp, 300);
	at[3] = atomic_load(&pp.done);
	pthread_join(tp, NULL);
	pthread_join(tu, NULL);
	rc = xos_ef_join(ef, &ex);
	CHECK(rc == 0 && ex.how == XOS_EF_EXITED && ex.status == 42,
	      "joined: exited 42, it read every number once and in order (%d/%d)", ex.how, ex.status);
	CHECK(pp.bad == 0 && pp.done == MC_ROUNDS, "ping: %d round trips, every answer right (%d wrong, first %d)",
	      pp.done, pp.bad, pp.first_bad);
	CHECK(pu.bad == 0 && pu.done == MC_ROUNDS, "up: %d numbers once each, in order (%d wrong, first %d)",
	      pu.done, pu.bad, pu.first_bad);
	{
		int tcp = 0, ring_end = 0;

		for (int i = at[0] + 50; i < at[1] && i < MC_ROUNDS; i++)
			tcp += pp.mech[i] == 't';
		for (int i = at[3]; i < MC_ROUNDS; i++)
			ring_end += pp.mech[i] == 'r';
		CHECK(pp.mech[0] == 'r' && tcp > 0 && ring_end == MC_ROUNDS - at[3],
		      "ping was a ring at first, tcp while the EF was away (%d rounds), a ring again once back (%d of %d rounds)",
		      tcp, ring_end, MC_ROUNDS - at[3]);
	}
	xos_chan_close(ping[0]);
	xos_chan_close(up[1]);
}

/* ---- a move home refused: the EF and its channel go on where they are -------------- */

#define RF_LOAD 1000u /* load a library first */
#define RF_FILL 2000u /* fill RF_FILL_BYTES of the domain first */
#define RF_FILL_BYTES ((size_t)6 << 20)
#define RF_END UINT32_MAX

/* Each number back plus one; RF_LOAD: first load a library rank 0's process has not. */
static int ef_loader(void *p)
{
	struct xos_chan *c = *(struct xos_chan *const *)p;
	uint32_t v;

	while (xos_chan_recv(c, &v, sizeof(v)) == sizeof(v) && v != RF_END) {
		if (v == RF_LOAD && !dlopen("libbz2.so.1", RTLD_NOW | RTLD_LOCAL))
			v = 0; /* says the load failed */
		if (v == RF_FILL) {
			/* Kept: an image larger than what a connection's buffers hold. */
			unsigned char *m = xos_malloc(RF_FILL_BYTES);

			if (m)
				memset(m, 0x6b, RF_FILL_BYTES);
			else
				v = 0;
		}
		v++;
		if (xos_chan_send(c, &v, sizeof(v)) != sizeof(v))
			return 1;
	}
	return 42;
}

/*
 * Send @v, and the answer within 20 s (0 if none: a broken channel must not
 * hang the test).  A non-blocking end may wake for a path switch, not a
 * message: -EAGAIN, wait again.
 */
static uint32_t ask_within(struct xos_chan *c, uint32_t v)
{
	struct pollfd p = { .fd = xos_chan_fd(c), .events = POLLIN };
	uint32_t back = 0;
	ssize_t n = -EAGAIN;

	if (xos_chan_send(c, &v, sizeof(v)) != sizeof(v))
		return 0;
	for (int waits = 0; n == -EAGAIN && waits < 200 && p.fd >= 0; waits++) {
		if (poll(&p, 1, 100) < 0 && errno != EINTR)
			break;
		n = xos_chan_recv(c, &back, sizeof(back));
	}
	return n == sizeof(back) ? back : 0;
}

/* A domain EF answering on channel @name (both ways) on a, its end of it in @c[0]; NULL on failure. */
static struct xos_ef *loader_start(const char *name, struct xos_chan *c[2])
{
	struct xos_chan_attr ca;
	struct xos_ef *ef;
	int rc;

	xos_chan_attr_init(&ca);
	ca.name = name;
	ca.flags = XOS_CHAN_F_BIDIR;
	CHECK(xos_chan_open(c, &ca) == 0, "channel %s (both ways)", name);
	ef = make_ef(name, "self", "thread", true, &c[1], 1, ef_loader, &c[1], sizeof(c[1]), &rc);
	CHECK(rc == 0, "domain EF with a channel end on a (%s)", strerror(-rc));
	return ef;
}

/* A move home refused with @want: the EF is still on b and answers on its channel as before. */
static void home_refused(struct xos_ef *ef, struct xos_chan *c, int want, const char *why)
{
	int rc = xos_ef_migrate(ef, "self");

	CHECK(rc == want, "home refused: %s (%s)", why, strerror(-rc));
	CHECK(strcmp(xos_ef_host(ef), "b") == 0, "it is still on b (%s)", xos_ef_host(ef));
	for (uint32_t i = 10; i < 13; i++)
		CHECK(ask_within(c, i) == i + 1, "and answers on its channel as before (%u)", i);
}

static void loader_end(struct xos_ef *ef, struct xos_chan *c)
{
	struct xos_ef_exit ex;
	uint32_t end = RF_END;
	int rc;

	xos_chan_send(c, &end, sizeof(end));
	rc = xos_ef_join(ef, &ex);
	CHECK(rc == 0 && ex.how == XOS_EF_EXITED && ex.status == 42, "joined: exited 42 (%s, %d/%d)",
	      strerror(-rc), ex.how, ex.status);
	xos_chan_close(c);
}

static void scenario_migrate_refused(void)
{
	struct xos_chan *c[2];
	struct xos_ef *ef;
	int rc;

	if (dlopen("libbz2.so.1", RTLD_NOW | RTLD_NOLOAD)) {
		CHECK(0, "libbz2 is already loaded here: pick a library rank 0 lacks");
		return;
	}
	ef = loader_start("loader", c);
	if (!ef)
		return;
	CHECK(ask_within(c[0], 1) == 2, "it answers on a");
	rc = xos_ef_migrate(ef, "b");
	CHECK(rc == 0, "moved to b (%s)", strerror(-rc));
	CHECK(ask_within(c[0], RF_LOAD) == RF_LOAD + 1, "on b it loaded libbz2 and answers over tcp");
	home_refused(ef, c[0], -EADDRINUSE, "its image names a library not mapped here");
	loader_end(ef, c[0]);
}

/* Write @key into the image key file this process was given (xos-run --key-file). */
static bool key_write(const char *key)
{
	const char *path = getenv("XOS_IMAGE_KEY_FILE");
	FILE *f = path ? fopen(path, "w") : NULL;
	bool ok = f && fputs(key, f) >= 0;

	if (f && fclose(f) != 0)
		ok = false;
	return ok;
}

/*
 * Rank 0 has no image key, hosts b and c have one: the image rank 0 sends
 * carries no MACs (its pages go spliced), and b refuses it before taking
 * its data, 6 MiB that its connection cannot hold; the EF goes on on a.
 */
static void scenario_migrate_keyless(void)
{
	struct xos_chan *c[2];
	struct xos_ef *ef;
	int rc;

	ef = loader_start("keyless", c);
	if (!ef)
		return;
	CHECK(ask_within(c[0], RF_FILL) == RF_FILL + 1, "it filled 6 MiB of its domain");
	rc = xos_ef_migrate(ef, "b");
	CHECK(rc == -EKEYREJECTED, "the move to b refused: b asks every image for its MAC (%s)", strerror(-rc));
	CHECK(strcmp(xos_ef_host(ef), "a") == 0, "it is still on a (%s)", xos_ef_host(ef));
	CHECK(ask_within(c[0], 5) == 6 && strcmp(xos_chan_mechanism(c[0]), "ring") == 0,
	      "and answers on its ring as before (%s)", xos_chan_mechanism(c[0]));
	loader_end(ef, c[0]);
}

static void scenario_migrate_rekeyed(void)
{
	struct xos_chan *c[2];
	struct xos_ef *ef;
	int rc;

	ef = loader_start("rekeyed", c);
	if (!ef)
		return;
	rc = xos_ef_migrate(ef, "b");
	CHECK(rc == 0, "moved to b under the launch's image key (%s)", strerror(-rc));
	CHECK(ask_within(c[0], 1) == 2, "it answers from b");
	CHECK(key_write("another key, only here"), "rank 0's key changed");
	home_refused(ef, c[0], -EKEYREJECTED, "the image's MAC, checked after its data, fails");
	CHECK(key_write("the launch's key"), "rank 0's key as before");
	rc = xos_ef_migrate(ef, "self");
	CHECK(rc == 0 && strcmp(xos_ef_host(ef), "a") == 0, "then it comes home (%s)", strerror(-rc));
	CHECK(ask_within(c[0], 20) == 21 && strcmp(xos_chan_mechanism(c[0]), "ring") == 0,
	      "and answers on a ring (%s)", xos_chan_mechanism(c[0]));
	loader_end(ef, c[0]);
}

/*
 * On host b: a domain EF it created there moved b -> c -> a -> b mid-run by
 * this EF, its creator (rank 0's host is a destination like any other).
 * Returns how many checks failed.
 */
static int ef_mover(void *p)
{
	static const char *const route[] = { "c", "a", "self" }, *const where[] = { "c", "a", "b" };
	struct wander w = { .n = 400, .pace_us = 500, .gate = 80 };
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	int rc, bad = 0;

	(void)p;
	ef = wander_start(&w, "nested-wander", &rc);
	NCHECK(bad, ef && strcmp(xos_ef_host(ef), "b") == 0, "a domain EF created on b (%s)",
	       ef ? xos_ef_host(ef) : strerror(-rc));
	if (!ef)
		return bad;
	for (int k = 0; k < 3; k++) {
		log_wait(&w, 40);
		rc = xos_ef_migrate(ef, route[k]);
		NCHECK(bad, rc == 0 && strcmp(xos_ef_host(ef), where[k]) == 0,
		       "its creator on b moved it to %s (%s, now on %s)", where[k], strerror(-rc), xos_ef_host(ef));
	}
	limit_write(w.limit, w.n);
	rc = xos_ef_join(ef, &ex);
	NCHECK(bad, rc == 0 && ex.how == XOS_EF_EXITED && ex.status == 42,
	       "joined on b: exited 42, its heap intact after three moves (%d/%d)", ex.how, ex.status);
	NCHECK(bad, log_lines(w.log) == w.n, "its log has its %d steps, none lost or repeated (%d)", w.n,
	       log_lines(w.log));
	{
		FILE *f = fopen(w.log, "re");
		char line[64];
		int i, pid, blocked, masked = 0;

		while (f && fgets(line, sizeof(line), f))
			masked += sscanf(line, "%d %d %d", &i, &pid, &blocked) == 3 && blocked;
		if (f)
			fclose(f);
		NCHECK(bad, masked == 0, "no signal blocked in it wherever it ran, rank 0's host included (%d steps)",
		       masked);
	}
	unlink(w.log);
	unlink(w.limit);

	/* With a channel end: an echo moved b -> c -> b mid-stream, its channel a ring, tcp, a ring */
	{
		static const char *const mech[] = { "tcp", "ring" };
		struct xos_chan_attr ca;
		struct xos_chan *ends[2];
		struct job j = { 0 };
		uint64_t seq = 0, r;
		int lost = 0;

		xos_chan_attr_init(&ca);
		ca.name = "b-echo";
		ca.flags = XOS_CHAN_F_BIDIR;
		if (xos_chan_open(ends, &ca) < 0)
			return bad + 1;
		j.chan = ends[1];
		ef = make_ef("nested-echo", "self", "thread", true, &ends[1], 1, ef_echo, &j, sizeof(j), &rc);
		NCHECK(bad, ef != NULL, "a domain echo EF on b with a channel end (%s)", strerror(-rc));
		if (!ef)
			return bad;
		for (int k = 0; k < 3; k++) {
			for (int i = 0; i < 1000; i++, seq++) {
				lost += xos_chan_send(ends[0], &seq, sizeof(seq)) != sizeof(seq);
				lost += xos_chan_recv(ends[0], &r, sizeof(r)) != sizeof(r) || r != seq + 1;
			}
			/* The end here takes its new path at its first call after the move. */
			if (k > 0)
				NCHECK(bad, strcmp(xos_chan_mechanism(ends[0]), mech[k - 1]) == 0,
				       "after that move the channel from b is on %s (%s)", mech[k - 1],
				       xos_chan_mechanism(ends[0]));
			if (k == 2)
				break;
			rc = xos_ef_migrate(ef, k == 0 ? "c" : "self");
			NCHECK(bad, rc == 0 && strcmp(xos_ef_host(ef), k == 0 ? "c" : "b") == 0,
			       "the echo moved to %s while asleep in recv (%s)", k == 0 ? "c" : "b", strerror(-rc));
		}
		NCHECK(bad, lost == 0, "3000 messages echoed across the moves, in order, none lost (%d wrong)", lost);
		xos_chan_close(ends[0]);
		NCHECK(bad, xos_ef_join(ef, &ex) == 0 && ex.how == XOS_EF_EXITED && ex.status == (int)(3000 & 0x3f),
		       "the echo saw every message, then EOF (%d/%d)", ex.how, ex.status);
	}
	return bad;
}

static void scenario_nested_migrate(void)
{
	run_on_b("mover", ef_mover, "it moved the EFs it made b -> c -> a -> b");
}

/* ---- a host killed while an EF moves ---------------------------------------------- */

struct fat {
	size_t bytes;
	char ready[160], stop[160]; /* files: made when its heap is full; made to end it */
	struct xos_chan *chan;      /* non-blocking, both ways: each number back plus one (or NULL) */
};

/* A heap of @bytes with a pattern, then safe points until told to stop; 42 if the pattern held. */
static int ef_fat(void *p)
{
	const struct fat *f = p;
	unsigned char *m = xos_malloc(f->bytes);
	int fd;

	if (!m)
		return 2;
	for (size_t i = 0; i < f->bytes; i++)
		m[i] = (unsigned char)(i * 7 + 1);
	fd = open(f->ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	while (access(f->stop, F_OK) != 0) {
		uint32_t v;

		usleep(500);
		xos_ef_yield();
		if (f->chan && xos_chan_recv(f->chan, &v, sizeof(v)) == sizeof(v)) {
			v++;
			(void)xos_chan_send(f->chan, &v, sizeof(v));
		}
	}
	for (size_t i = 0; i < f->bytes; i++)
		if (m[i] != (unsigned char)(i * 7 + 1))
			return 1;
	return 42;
}

struct mover {
	struct xos_ef *ef;
	const char *to;
	int rc;
};

static void *mover_run(void *p)
{
	struct mover *m = p;

	m->rc = xos_ef_migrate(m->ef, m->to);
	return NULL;
}

/* Move @ef to @to from a thread, and 15 ms later (mid-stream for a large EF) kill @victim: the move's result. */
static int move_and_kill(struct xos_ef *ef, const char *to, pid_t victim)
{
	struct mover m = { .ef = ef, .to = to };
	pthread_t t;

	if (pthread_create(&t, NULL, mover_run, &m) != 0)
		return -EAGAIN;
	usleep(15000);
	kill(victim, SIGKILL);
	pthread_join(t, NULL);
	return m.rc;
}

/* Start an EF on @host that says its host's pid; the pid (0 if not), the EF in *@ret. */
static pid_t host_pid(const char *host, struct xos_chan **ret_end, struct xos_ef **ret)
{
	struct xos_chan_attr ca;
	struct xos_chan *ends[2];
	struct job j = { 0 };
	uint64_t pid = 0;
	int rc;

	xos_chan_attr_init(&ca);
	ca.flags = XOS_CHAN_F_BIDIR;
	if (xos_chan_open(ends, &ca) < 0)
		return 0;
	j.chan = ends[1];
	*ret = make(host, host, "thread", ef_victim, &j, &ends[1], 1, &rc);
	if (!*ret || xos_chan_recv(ends[0], &pid, sizeof(pid)) != sizeof(pid))
		pid = 0;
	*ret_end = ends[0];
	return (pid_t)pid;
}

/* The victims of a chaos move: an EF on b and one on c that said their hosts' pids. */
struct victims {
	pid_t bpid, cpid;
	struct xos_chan *b_end, *c_end;
	struct xos_ef *b, *c;
};

/*
 * A chaos move's cast: the victims, and a domain EF "fat" on a whose
 * 96 MiB heap is filled (@tag names its files): 0 and the EF in *@ret, or
 * -1 (checked).
 */
static int fat_and_victims(struct fat *f, const char *tag, struct victims *v, struct xos_ef **ret)
{
	struct xos_ef_attr a;
	int rc;

	f->bytes = f->bytes ? f->bytes : 96u << 20;
	snprintf(f->ready, sizeof(f->ready), "%s/%s-ready.%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
		 tag, (int)getpid());
	snprintf(f->stop, sizeof(f->stop), "%.150s.stop", f->ready);
	unlink(f->ready);
	unlink(f->stop);
	v->cpid = host_pid("c", &v->c_end, &v->c);
	v->bpid = host_pid("b", &v->b_end, &v->b);
	CHECK(v->cpid > 1 && v->bpid > 1, "hosts b and c run as processes %d and %d", (int)v->bpid,
	      (int)v->cpid);
	xos_ef_attr_init(&a);
	a.name = "fat";
	a.host = "self";
	a.flags = XOS_EF_F_DOMAIN;
	a.domain_size = f->bytes + (16u << 20);
	if (f->chan) {
		a.chans = &f->chan;
		a.nchans = 1;
	}
	rc = xos_ef_create(ret, &a, ef_fat, f, sizeof(*f));
	CHECK(rc == 0, "a domain EF with a %zu MiB heap on a (%s)", f->bytes >> 20, strerror(-rc));
	if (rc < 0 || v->cpid <= 1 || v->bpid <= 1)
		return -1;
	while (access(f->ready, F_OK) != 0)
		usleep(1000);
	return 0;
}

/*
 * The destination (c) is killed while a 96 MiB domain EF streams to it: the
 * move fails and the EF goes on where it was, its heap intact (or, if it
 * had arrived, it is lost with c).  Then the source (b) is killed while the
 * EF streams home from it: the move fails, the EF is lost with b.  Nothing
 * hangs; rank 0 goes on.
 */
static void scenario_migrate_killed(void)
{
	struct fat f = { 0 };
	struct victims v;
	struct xos_ef *ef;
	struct xos_ef_exit ex;
	int moved;
	bool alive = true;
	int rc;

	if (fat_and_victims(&f, "fat", &v, &ef) < 0)
		return;

	/* the destination dies mid-stream */
	moved = move_and_kill(ef, "c", v.cpid);
	if (moved < 0) {
		CHECK(moved == -EHOSTDOWN && strcmp(xos_ef_host(ef), "a") == 0,
		      "c killed while the EF streamed to it: the move failed with -EHOSTDOWN (%s), the EF goes on on a",
		      strerror(-moved));
	} else {
		printf("# the EF had arrived on c before c died\n");
		CHECK(xos_ef_join(ef, &ex) == 0 && ex.how == XOS_EF_LOST, "it is lost with c (how %d)", ex.how);
		alive = false;
	}
	CHECK(xos_ef_join(v.c, &ex) == 0 && ex.how == XOS_EF_LOST, "c's other EF is lost (how %d)", ex.how);
	xos_chan_close(v.c_end);
	rc = alive ? xos_ef_migrate(ef, "c") : -EHOSTDOWN;
	CHECK(rc == -EHOSTDOWN, "c is refused now: -EHOSTDOWN (%s)", strerror(-rc));

	/* the source dies while the EF streams home from it */
	if (alive) {
		rc = xos_ef_migrate(ef, "b");
		CHECK(rc == 0 && strcmp(xos_ef_host(ef), "b") == 0, "then moved to b (%s)", strerror(-rc));
		moved = move_and_kill(ef, "self", v.bpid);
		if (moved < 0) {
			CHECK(moved == -EHOSTDOWN, "b killed while the EF streamed home from it: -EHOSTDOWN (%s)",
			      strerror(-moved));
			CHECK(xos_ef_join(ef, &ex) == 0 && ex.how == XOS_EF_LOST, "the EF is lost with b (how %d)",
			      ex.how);
		} else {
			printf("# the EF was home before b died\n");
			CHECK(strcmp(xos_ef_host(ef), "a") == 0, "it runs on a");
			CHECK(access(f.stop, F_OK) != 0 && creat(f.stop, 0600) >= 0 && xos_ef_join(ef, &ex) == 0 &&
				      ex.how == XOS_EF_EXITED && ex.status == 42,
			      "and ends well, its heap intact (%d/%d)", ex.how, ex.status);
		}
		CHECK(xos_ef_join(v.b, &ex) == 0 && ex.how == XOS_EF_LOST, "b's other EF is lost (how %d)", ex.how);
	}
	xos_chan_close(v.b_end);
	unlink(f.ready);
	unlink(f.stop);
	/* rank 0 goes on: an EF here runs */
	{
		struct job j = { .x = 4 };

		ef = make("after", "self", NULL, ef_double, &j, NULL, 0, &rc);
		CHECK(ef && xos_ef_join(ef, &ex) == 0 && ex.status == 8, "rank 0 goes on (%s)", strerror(-rc));
	}
}

/*
 * A move between two hosts neither of which is the creator's (b -> c, made
 * on a) goes straight from b to c, the EF's channel end with it (its peer
 * stays on a).  Host @victim ("c": the destination, "b": the source) is
 * killed while the 96 MiB EF streams between them: the move fails with
 * -EHOSTDOWN and the EF goes on on b, answering on its channel (c killed;
 * then home, its heap intact) or is lost with b (b killed); if it had
 * arrived first, it is lost with c, or runs on c and ends well.  Nothing
 * hangs: a channel whose EF is lost gives an error within its wait, never
 * a wrong answer.
 */
static void scenario_fetch_killed(const char *victim)
{
	struct fat f = { 0 };
	struct victims v;
	struct xos_ef *ef;
	struct xos_ef_exit ex;
	struct xos_chan_attr ca;
	struct xos_chan *c[2];
	bool kill_c = strcmp(victim, "c") == 0;
	uint32_t back;
	int moved, rc;

	xos_chan_attr_init(&ca);
	ca.name = "answers";
	ca.flags = XOS_CHAN_F_BIDIR | XOS_CHAN_F_NONBLOCK;
	CHECK(xos_chan_open(c, &ca) == 0, "channel answers (both ways)");
	f.chan = c[1];
	if (fat_and_victims(&f, "fetch", &v, &ef) < 0)
		return;
	CHECK(ask_within(c[0], 1) == 2, "it answers on a");
	rc = xos_ef_migrate(ef, "b");
	CHECK(rc == 0 && strcmp(xos_ef_host(ef), "b") == 0, "moved to b (%s)", strerror(-rc));
	if (rc < 0)
		return;
	CHECK(ask_within(c[0], 2) == 3, "it answers on b");

	moved = move_and_kill(ef, "c", kill_c ? v.cpid : v.bpid);
	back = ask_within(c[0], 3);
	if (moved < 0) {
		CHECK(moved == -EHOSTDOWN, "%s killed while the EF streamed from b to c: -EHOSTDOWN (%s)", victim,
		      strerror(-moved));
		if (kill_c) {
			CHECK(strcmp(xos_ef_host(ef), "b") == 0, "the EF goes on on b (%s)", xos_ef_host(ef));
			rc = xos_ef_migrate(ef, "self");
			if (rc == -ESRCH) {
				/* c had told b it took the EF, and died before telling a */
				printf("# the EF had left b for c before c died\n");
				CHECK(xos_ef_join(ef, &ex) == 0 && ex.how == XOS_EF_LOST, "it is lost with c (how %d)",
				      ex.how);
				CHECK(back == 0, "its channel answered nothing, and did not hang (%u)", back);
			} else {
				CHECK(back == 4, "it answered on b after the failed move (%u)", back);
				CHECK(rc == 0, "and comes home (%s)", strerror(-rc));
				CHECK(ask_within(c[0], 4) == 5, "it answers at home");
				CHECK(creat(f.stop, 0600) >= 0 && xos_ef_join(ef, &ex) == 0 &&
					      ex.how == XOS_EF_EXITED && ex.status == 42,
				      "and ends well, its heap intact (%d/%d)", ex.how, ex.status);
			}
		} else {
			CHECK(xos_ef_join(ef, &ex) == 0 && ex.how == XOS_EF_LOST, "the EF is lost with b (how %d)",
			      ex.how);
			CHECK(back == 0, "its channel answers nothing, and does not hang (%u)", back);
		}
	} else if (kill_c) {
		printf("# the EF had arrived on c before c died\n");
		CHECK(xos_ef_join(ef, &ex) == 0 && ex.how == XOS_EF_LOST, "it is lost with c (how %d)", ex.how);
		CHECK(back == 0, "its channel answers nothing, and does not hang (%u)", back);
	} else {
		printf("# the EF had arrived on c before b died\n");
		CHECK(strcmp(xos_ef_host(ef), "c") == 0, "it runs on c (%s)", xos_ef_host(ef));
		/* b's death may cut what it forwarded of the peer's writes: then none, but never a wrong one */
		CHECK(back == 4 || back == 0, "its answer on c right, or none (%u)", back);
		CHECK(creat(f.stop, 0600) >= 0 && xos_ef_join(ef, &ex) == 0 && ex.how == XOS_EF_EXITED &&
			      ex.status == 42,
		      "and ends well, its heap intact (%d/%d)", ex.how, ex.status);
	}
	CHECK(xos_ef_join(kill_c ? v.c : v.b, &ex) == 0 && ex.how == XOS_EF_LOST, "%s's other EF is lost (how %d)",
	      victim, ex.how);
	xos_chan_close(kill_c ? v.c_end : v.b_end);
	/* the other host goes on: its EF ends when its channel does */
	xos_chan_close(kill_c ? v.b_end : v.c_end);
	CHECK(xos_ef_join(kill_c ? v.b : v.c, &ex) == 0 && ex.how == XOS_EF_EXITED, "%s goes on (how %d)",
	      kill_c ? "b" : "c", ex.how);
	xos_chan_close(c[0]);
	unlink(f.ready);
	unlink(f.stop);
}

/*
 * Host c takes the EF with its channel end from b, b lets it go, and c
 * dies before it tells a (XOS_HOSTS_FAULT=fetch-committed: c kills itself
 * at that step).  The move fails with -EHOSTDOWN, the EF is lost (its join
 * says so), and its channel gives its peer the end of file (or EPIPE to a
 * send) at once: not a protocol error, not a hang.
 */
static void scenario_fetch_committed(void)
{
	struct fat f = { .bytes = 4u << 20 };
	struct victims v;
	struct xos_ef *ef;
	struct xos_ef_exit ex;
	struct xos_chan_attr ca;
	struct xos_chan *c[2];
	struct pollfd p;
	uint32_t q = 3, back = 0;
	ssize_t n;
	int rc;

	xos_chan_attr_init(&ca);
	ca.name = "answers";
	ca.flags = XOS_CHAN_F_BIDIR | XOS_CHAN_F_NONBLOCK;
	CHECK(xos_chan_open(c, &ca) == 0, "channel answers (both ways)");
	f.chan = c[1];
	if (fat_and_victims(&f, "committed", &v, &ef) < 0)
		return;
	rc = xos_ef_migrate(ef, "b");
	CHECK(rc == 0 && ask_within(c[0], 2) == 3, "moved to b, it answers there (%s)", strerror(-rc));
	rc = xos_ef_migrate(ef, "c");
	CHECK(rc == -EHOSTDOWN, "c died after it took the EF from b: -EHOSTDOWN (%s)", strerror(-rc));
	/* Its peer: a send fails with EPIPE, or goes and the receive says end of file, within 2 s. */
	n = xos_chan_send(c[0], &q, sizeof(q));
	if (n == sizeof(q)) {
		p.fd = xos_chan_fd(c[0]);
		p.events = POLLIN;
		n = -EAGAIN;
		for (int waits = 0; n == -EAGAIN && waits < 20 && p.fd >= 0; waits++) {
			if (poll(&p, 1, 100) < 0 && errno != EINTR)
				break;
			n = xos_chan_recv(c[0], &back, sizeof(back));
		}
		CHECK(n == 0, "its channel: end of file (%zd: %s)", n, n < 0 ? strerror((int)-n) : "data");
	} else {
		CHECK(n == -EPIPE, "its channel: EPIPE (%zd: %s)", n, strerror((int)-n));
	}
	CHECK(xos_ef_join(ef, &ex) == 0 && ex.how == XOS_EF_LOST, "it is lost with c (how %d)", ex.how);
	CHECK(xos_ef_join(v.c, &ex) == 0 && ex.how == XOS_EF_LOST, "c's other EF is lost (how %d)", ex.how);
	xos_chan_close(v.c_end);
	xos_chan_close(v.b_end);
	CHECK(xos_ef_join(v.b, &ex) == 0 && ex.how == XOS_EF_EXITED, "b goes on (how %d)", ex.how);
	xos_chan_close(c[0]);
	unlink(f.ready);
	unlink(f.stop);
}

/* ---- an EF moved while it waits in a channel call ----------------------------------- */

#define BL_ROUNDS 4
#define BL_FLOOD 2000

/* What the EF says before each wait: where it runs, so rank 0 can see it asleep. */
struct ident {
	uint32_t seq;
	int32_t pid, tid;
};

struct sleeper {
	struct xos_chan *ask;   /* both ways: its ident out, a number in */
	struct xos_chan *flood; /* out: BL_FLOOD idents, or NULL */
};

/*
 * Round k: say where it runs, then wait in recv for k.  Then, with a
 * flood channel, BL_FLOOD messages on it, far more than it holds: it
 * waits in send.  42 if every number came once, in order, and every
 * message went.
 */
static int ef_sleeper(void *p)
{
	const struct sleeper *sl = p;
	struct xos_chan *ask = sl->ask, *flood = sl->flood;
	int bad = 0;

	for (uint32_t k = 0; k < BL_ROUNDS; k++) {
		struct ident id = { k, (int32_t)getpid(), (int32_t)gettid() };
		uint32_t v = UINT32_MAX;

		if (xos_chan_send(ask, &id, sizeof(id)) != sizeof(id))
			bad++;
		if (xos_chan_recv(ask, &v, sizeof(v)) != sizeof(v) || v != k)
			bad++;
	}
	for (uint32_t i = 0; flood && i < BL_FLOOD; i++) {
		struct ident id = { i, (int32_t)getpid(), (int32_t)gettid() };

		if (xos_chan_send(flood, &id, sizeof(id)) != sizeof(id))
			bad++;
	}
	return bad ? 1 : 42;
}

/*
 * Wait until the flow @tid of process @pid sleeps (state S) on two looks
 * 100 ms apart, and say where: no time limit, the script's timeout is it.
 * Not an assertion: an EF caught awake only moves at its next call instead.
 */
static void flow_wait_asleep(const struct ident *id)
{
	char path[96], buf[512], *q;
	int seen = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)id->pid, (int)id->tid);
	for (;;) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

		if (fd >= 0)
			close(fd);
		if (n <= 0)
			return; /* gone: what follows says what went wrong */
		buf[n] = '\0';
		q = strrchr(buf, ')');
		seen = q && q[1] == ' ' && q[2] == 'S' ? seen + 1 : 0;
		if (seen == 1) {
			usleep(100000);
			continue;
		}
		if (seen == 2) {
			char wchan[64] = "?";

			snprintf(path, sizeof(path), "/proc/%d/task/%d/wchan", (int)id->pid, (int)id->tid);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			n = fd >= 0 ? read(fd, wchan, sizeof(wchan) - 1) : -1;
			if (fd >= 0)
				close(fd);
			wchan[n > 0 ? n : 1] = '\0';
			printf("# flow %d of process %d asleep in %s\n", (int)id->tid, (int)id->pid, wchan);
			return;
		}
		usleep(1000);
	}
}

/* Read idents @from .. @to-1 from @end: how many were wrong, the first of them in *@first_bad. */
static int idents_read(struct xos_chan *end, uint32_t from, uint32_t to, int *first_bad)
{
	struct ident id;
	int bad = 0;

	*first_bad = -1;
	for (uint32_t i = from; i < to; i++) {
		if (xos_chan_recv(end, &id, sizeof(id)) != sizeof(id) || id.seq != i) {
			if (*first_bad < 0)
				*first_bad = (int)i;
			bad++;
		}
	}
	return bad;
}

/* Rank 0's side of ef_sleeper's rounds; @move(k) moves it while it waits in round k's recv. */
static void sleeper_rounds(struct xos_chan *ask, struct ident *ids, int (*move)(int k, void *arg), void *arg)
{
	for (uint32_t k = 0; k < BL_ROUNDS; k++) {
		ids[k].seq = UINT32_MAX;
		if (xos_chan_recv(ask, &ids[k], sizeof(ids[k])) != sizeof(ids[k]) || ids[k].seq != k) {
			CHECK(0, "round %u: the EF says where it runs (seq %u)", k, ids[k].seq);
			return;
		}
		if (k + 1 < BL_ROUNDS) {
			/* Asleep in its recv: the move must not wait for it to come out. */
			flow_wait_asleep(&ids[k]);
			if (move(k, arg) < 0)
				return;
		}
		CHECK(xos_chan_send(ask, &k, sizeof(k)) == sizeof(k), "round %u: the number sent after the move", k);
	}
}

static int migrate_step(int k, void *arg)
{
	static const char *const route[] = { "b", "c", "self" }, *const where[] = { "b", "c", "a" };
	struct xos_ef *ef = arg;
	int rc = xos_ef_migrate(ef, route[k]);

	CHECK(rc == 0 && strcmp(xos_ef_host(ef), where[k]) == 0,
	      "moved to %s while asleep in xos_chan_recv (%s, now on %s)", where[k], strerror(-rc), xos_ef_host(ef));
	return rc;
}

/* A domain EF asleep in recv on a ring, then on tcp, moved a -> b -> c -> a. */
static void scenario_migrate_blocked(void)
{
	struct xos_chan *ask[2];
	struct xos_chan_attr ca;
	struct sleeper sl;
	struct ident ids[BL_ROUNDS];
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	int rc;

	xos_chan_attr_init(&ca);
	ca.name = "ask";
	ca.flags = XOS_CHAN_F_BIDIR;
	CHECK(xos_chan_open(ask, &ca) == 0, "channel ask (both ways)");
	sl.ask = ask[1];
	sl.flood = NULL;
	ef = make_ef("sleeper", "self", "thread", true, &ask[1], 1, ef_sleeper, &sl, sizeof(sl), &rc);
	CHECK(rc == 0, "EF with a channel end on a (%s)", strerror(-rc));
	if (rc < 0)
		return;
	sleeper_rounds(ask[0], ids, migrate_step, ef);
	CHECK(ids[0].pid == getpid() && ids[1].pid != getpid() && ids[2].pid != getpid() && ids[2].pid != ids[1].pid &&
		      ids[3].pid == getpid(),
	      "it waited on a, b, c, then ran on a again (pids %d %d %d %d, rank 0 is %d)", ids[0].pid, ids[1].pid,
	      ids[2].pid, ids[3].pid, (int)getpid());
	rc = xos_ef_join(ef, &ex);
	CHECK(rc == 0 && ex.how == XOS_EF_EXITED && ex.status == 42,
	      "joined: exited 42, every number received once, in order, after each move (%d/%d)", ex.how, ex.status);
	CHECK(strcmp(xos_chan_mechanism(ask[0]), "ring") == 0, "its channel is a ring again (%s)",
	      xos_chan_mechanism(ask[0]));
	xos_chan_close(ask[0]);
}

static int mutate_step(int k, void *arg)
{
	static const char *const icf[] = { "process", "thread", "process" };
	struct xos_ef *ef = arg;
	int rc = xos_ef_mutate(ef, icf[k]);

	CHECK(rc == 0 && strcmp(xos_ef_icf(ef), icf[k]) == 0, "mutated to %s while asleep in xos_chan_recv (%s)",
	      icf[k], strerror(-rc));
	return rc;
}

/*
 * One host: a domain EF asleep in recv mutated thread -> process -> thread
 * -> process, then asleep in send on a full ring mutated back to a thread.
 */
static void scenario_mutate_blocked(void)
{
	struct xos_chan *ask[2], *flood[2], *mine[2];
	struct xos_chan_attr ca;
	struct sleeper sl;
	struct ident ids[BL_ROUNDS], id;
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	int rc, bad = 0, first_bad = -1;

	xos_chan_attr_init(&ca);
	ca.name = "ask";
	ca.flags = XOS_CHAN_F_BIDIR;
	ca.mechanism = "ring";
	CHECK(xos_chan_open(ask, &ca) == 0, "channel ask (a ring, both ways)");
	ca.name = "flood";
	ca.flags = 0;
	ca.capacity = 4096; /* about 170 of its messages */
	CHECK(xos_chan_open(flood, &ca) == 0, "channel flood (a ring of 4 KiB)");
	sl.ask = mine[0] = ask[1];
	sl.flood = mine[1] = flood[0];
	ef = make_ef("sleeper", NULL, "thread", true, mine, 2, ef_sleeper, &sl, sizeof(sl), &rc);
	CHECK(rc == 0, "EF with two ring ends (%s)", strerror(-rc));
	if (rc < 0)
		return;
	sleeper_rounds(ask[0], ids, mutate_step, ef);
	CHECK(ids[1].pid != getpid() && ids[2].pid == getpid() && ids[3].pid != getpid(),
	      "it waited in a thread, a process, a thread, then ran in a process (pids %d %d %d %d, this is %d)",
	      ids[0].pid, ids[1].pid, ids[2].pid, ids[3].pid, (int)getpid());
	/* Its first message, then it fills the ring and sleeps in send. */
	rc = (int)xos_chan_recv(flood[1], &id, sizeof(id));
	CHECK(rc == sizeof(id) && id.seq == 0, "flood: the first message (seq %u)", id.seq);
	flow_wait_asleep(&id);
	rc = xos_ef_mutate(ef, "thread");
	CHECK(rc == 0 && strcmp(xos_ef_icf(ef), "thread") == 0,
	      "mutated to thread while asleep in xos_chan_send on a full ring (%s)", strerror(-rc));
	bad = idents_read(flood[1], 1, BL_FLOOD, &first_bad);
	CHECK(bad == 0, "flood: %d messages once each, in order (%d wrong, first %d)", BL_FLOOD, bad, first_bad);
	rc = xos_ef_join(ef, &ex);
	CHECK(rc == 0 && ex.how == XOS_EF_EXITED && ex.status == 42,
	      "joined: exited 42, every number received once, in order, after each mutation (%d/%d)", ex.how,
	      ex.status);
	xos_chan_close(ask[0]);
	xos_chan_close(flood[1]);
}

#define SEND_FLOOD 100000

/* Sends SEND_FLOOD idents on its channel (far more than a pipe or socket holds); 42 if all went. */
static int ef_flooder(void *p)
{
	struct xos_chan *out = *(struct xos_chan **)p;
	int bad = 0;

	for (uint32_t i = 0; i < SEND_FLOOD; i++) {
		struct ident id = { i, (int32_t)getpid(), (int32_t)gettid() };

		bad += xos_chan_send(out, &id, sizeof(id)) != sizeof(id);
	}
	xos_chan_close(out);
	return bad ? 1 : 42;
}

/*
 * One host: a domain EF asleep in xos_chan_send on a full kernel pipe or
 * unix socket (@mech) is mutated to a process and back, and dumped, while
 * nobody reads: its wait for room is a safe point, as on a ring.  Then
 * every message arrives once, in order.  (A frame TCP took only in part is
 * finished first: there the move waits for the reader.)
 */
static void scenario_send_blocked(const char *mech)
{
	static const char *const step[] = { "process", "thread", "dump" };
	struct xos_chan *flood[2];
	struct xos_chan_attr ca;
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	struct ident id;
	char path[64];
	int rc, bad = 0, first_bad = -1;

	xos_chan_attr_init(&ca);
	ca.name = "flood";
	ca.mechanism = mech;
	CHECK(xos_chan_open(flood, &ca) == 0 && strcmp(xos_chan_mechanism(flood[0]), mech) == 0,
	      "channel flood on %s", mech);
	ef = make_ef("flooder", NULL, "thread", true, &flood[0], 1, ef_flooder, &flood[0], sizeof(flood[0]), &rc);
	CHECK(rc == 0, "EF with the writing end (%s)", strerror(-rc));
	if (rc < 0)
		return;
	rc = (int)xos_chan_recv(flood[1], &id, sizeof(id));
	CHECK(rc == sizeof(id) && id.seq == 0, "the first message (seq %u)", id.seq);
	snprintf(path, sizeof(path), "/tmp/xos-send-blocked-%d.img", (int)getpid());
	/* Asleep in its send (its flow named by the first message); later, given time to fill it again. */
	flow_wait_asleep(&id);
	for (int k = 0; k < 3; k++) {
		if (k)
			usleep(300000);
		rc = k < 2 ? xos_ef_mutate(ef, step[k]) : xos_ef_dump(ef, path);
		CHECK(rc == 0, "%s while asleep in xos_chan_send on a full %s, nobody reading (%s)",
		      k < 2 ? step[k] : "dumped", mech, strerror(-rc));
	}
	unlink(path);
	bad = idents_read(flood[1], 1, SEND_FLOOD, &first_bad);
	CHECK(bad == 0, "%d messages once each, in order (%d wrong, first %d)", SEND_FLOOD, bad, first_bad);
	rc = xos_ef_join(ef, &ex);
	CHECK(rc == 0 && ex.how == XOS_EF_EXITED && ex.status == 42, "joined: exited 42, every send went (%d/%d)",
	      ex.how, ex.status);
	xos_chan_close(flood[1]);
}

#define BULK_MSG 60000
#define BULK_N 1200 /* 72 MB: more than a ring and every socket buffer between two hosts hold */

struct bulk {
	struct xos_chan *out;
	char where[200]; /* a file: "pid tid" of the flow that runs it, rewritten when that changes */
};

static void bulk_fill(uint8_t *b, uint32_t seq, const struct ident *id)
{
	memcpy(b, id, sizeof(*id));
	for (size_t k = sizeof(*id); k < BULK_MSG; k++)
		b[k] = (uint8_t)(seq * 131u + k);
}

static void bulk_say_where(const struct bulk *bk, const struct ident *id)
{
	char tmp[220], line[64];
	int fd, n = snprintf(line, sizeof(line), "%d %d\n", (int)id->pid, (int)id->tid);

	snprintf(tmp, sizeof(tmp), "%.200s.t", bk->where);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (write(fd, line, (size_t)n) == n)
		(void)rename(tmp, bk->where);
	close(fd);
}

/* BULK_N messages of BULK_MSG bytes, each naming its flow; 42 if every send went. */
static int ef_bulk(void *p)
{
	const struct bulk *bk = p;
	uint8_t *b = xos_malloc(BULK_MSG);
	struct ident id = { 0, 0, 0 };
	int bad = 0;

	if (!b)
		return 1;
	for (uint32_t i = 0; i < BULK_N; i++) {
		struct ident now = { i, (int32_t)getpid(), (int32_t)gettid() };

		if (now.pid != id.pid || now.tid != id.tid)
			bulk_say_where(bk, &now);
		id = now;
		bulk_fill(b, i, &id);
		bad += xos_chan_send(bk->out, b, BULK_MSG) != BULK_MSG;
	}
	xos_free(b);
	return bad ? 1 : 42;
}

/* The flow the file @path names once it names another than @last (20 s at most). */
static bool bulk_where(const char *path, const struct ident *last, struct ident *id)
{
	for (int t = 0; t < 20000; t++) {
		FILE *f = fopen(path, "re");
		int pid = 0, tid = 0;

		if (f) {
			if (fscanf(f, "%d %d", &pid, &tid) != 2)
				pid = 0;
			fclose(f);
		}
		if (pid > 0 && (pid != last->pid || tid != last->tid)) {
			id->pid = pid;
			id->tid = tid;
			return true;
		}
		usleep(1000);
	}
	return false;
}

/* Read ef_bulk's messages from @in, each once, in order, intact; then @ef exits 42. */
static void bulk_read_all(struct xos_chan *in, struct xos_ef *ef)
{
	uint8_t *b = malloc(BULK_MSG), *want = malloc(BULK_MSG);
	struct xos_ef_exit ex;
	int bad = 0, first_bad = -1, rc;

	for (uint32_t i = 0; b && want && i < BULK_N; i++) {
		struct ident got;

		if (xos_chan_recv(in, b, BULK_MSG) != BULK_MSG) {
			bad += (int)(BULK_N - i);
			first_bad = first_bad < 0 ? (int)i : first_bad;
			break;
		}
		memcpy(&got, b, sizeof(got));
		bulk_fill(want, i, &got);
		if (got.seq != i || memcmp(b, want, BULK_MSG) != 0) {
			first_bad = first_bad < 0 ? (int)i : first_bad;
			bad++;
		}
	}
	CHECK(b && want && bad == 0, "%d messages of %d bytes once each, in order, intact (%d wrong, first %d)", BULK_N,
	      BULK_MSG, bad, first_bad);
	rc = xos_ef_join(ef, &ex);
	CHECK(rc == 0 && ex.how == XOS_EF_EXITED && ex.status == 42, "joined: exited 42, every send went (%d/%d)",
	      ex.how, ex.status);
	free(b);
	free(want);
}

/* The bulk channel (@mech, 60 KB messages) and where its EF says it runs. */
static int bulk_open(struct xos_chan *flood[2], const char *mech, struct bulk *bk)
{
	struct xos_chan_attr ca;
	int rc;

	xos_chan_attr_init(&ca);
	ca.name = "bulk";
	ca.mechanism = mech;
	ca.capacity = strcmp(mech, "ring") == 0 ? 256 << 10 : 0;
	ca.max_msg = BULK_MSG;
	rc = xos_chan_open(flood, &ca);
	CHECK(rc == 0 && strcmp(xos_chan_mechanism(flood[0]), mech) == 0, "channel bulk on %s (%s)", mech,
	      strerror(-rc));
	bk->out = flood[0];
	snprintf(bk->where, sizeof(bk->where), "%s/bulk-where.%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
		 (int)getpid());
	unlink(bk->where);
	return rc;
}

/*
 * A domain EF streaming 60 KB messages to rank 0, which reads none of
 * them until the end, moved a -> b -> c -> a: on a it sleeps in send on a
 * full ring; on b and c on a full TCP connection, where the frame it was
 * sending is almost always in part out (TCP takes what fits).  Each move
 * must go on without a reader: the host left finishes that frame and then
 * writes the marker, behind the move.  Then every message arrives once, in
 * order, intact.
 */
static void scenario_migrate_send_blocked(void)
{
	static const char *const route[] = { "b", "c", "self" }, *const where[] = { "b", "c", "a" };
	struct xos_chan *flood[2];
	struct bulk bk;
	struct ident id = { 0, 0, 0 }, seen;
	struct xos_ef *ef;
	int rc;

	if (bulk_open(flood, "ring", &bk) < 0)
		return;
	ef = make_ef("bulk", "self", "thread", true, &flood[0], 1, ef_bulk, &bk, sizeof(bk), &rc);
	CHECK(rc == 0, "EF with the writing end on a (%s)", strerror(-rc));
	if (rc < 0)
		return;
	for (int k = 0; k < 3; k++) {
		/* Where it runs now, asleep in its send: nobody reads. */
		if (!bulk_where(bk.where, &id, &seen)) {
			CHECK(0, "the EF says where it runs before move %d", k);
			break;
		}
		id = seen;
		flow_wait_asleep(&id);
		rc = xos_ef_migrate(ef, route[k]);
		CHECK(rc == 0 && strcmp(xos_ef_host(ef), where[k]) == 0,
		      "moved to %s while asleep in xos_chan_send, nobody reading (%s, now on %s)", where[k],
		      strerror(-rc), xos_ef_host(ef));
		if (rc < 0)
			break;
	}
	bulk_read_all(flood[1], ef);
	CHECK(strcmp(xos_chan_mechanism(flood[1]), "ring") == 0, "its channel is a ring again (%s)",
	      xos_chan_mechanism(flood[1]));
	xos_chan_close(flood[1]);
	unlink(bk.where);
}

/*
 * One host: the same with 60 KB messages on a kernel pipe or unix socket
 * (@mech), which take a frame in part: the EF asleep in a send with part
 * of its frame out is mutated to a process and back and dumped while
 * nobody reads; the rest of the frame goes with it (fork, handover).
 */
static void scenario_send_blocked_big(const char *mech)
{
	static const char *const step[] = { "process", "thread", "dump" };
	struct xos_chan *flood[2];
	struct bulk bk;
	struct ident id = { 0, 0, 0 }, seen;
	struct xos_ef *ef;
	char path[64];
	int rc;

	if (bulk_open(flood, mech, &bk) < 0)
		return;
	ef = make_ef("bulk", NULL, "thread", true, &flood[0], 1, ef_bulk, &bk, sizeof(bk), &rc);
	CHECK(rc == 0, "EF with the writing end (%s)", strerror(-rc));
	if (rc < 0)
		return;
	snprintf(path, sizeof(path), "/tmp/xos-send-blocked-big-%d.img", (int)getpid());
	for (int k = 0; k < 3; k++) {
		/* In a new flow after a mutation to a process; in a thread, given time to fill it again. */
		if (k < 2 && bulk_where(bk.where, &id, &seen)) {
			id = seen;
			flow_wait_asleep(&id);
		} else {
			usleep(300000);
		}
		rc = k < 2 ? xos_ef_mutate(ef, step[k]) : xos_ef_dump(ef, path);
		CHECK(rc == 0, "%s while asleep in xos_chan_send of 60 KB on a full %s, nobody reading (%s)",
		      k < 2 ? step[k] : "dumped", mech, strerror(-rc));
	}
	unlink(path);
	bulk_read_all(flood[1], ef);
	xos_chan_close(flood[1]);
	unlink(bk.where);
}

/* Without a launcher: one host, whatever the policy. */
static void scenario_alone(void)
{
	struct job j = { .x = 3 };
	struct xos_ef_exit ex;
	struct xos_ef *ef;
	char name[256] = "";
	int rc;

	gethostname(name, sizeof(name) - 1);
	ef = make("alone", NULL, NULL, ef_double, &j, NULL, 0, &rc);
	CHECK(ef && strcmp(xos_ef_host(ef), name) == 0, "spread with one host: the EF runs here (%s)",
	      ef ? xos_ef_host(ef) : strerror(-rc));
	if (ef)
		CHECK(xos_ef_join(ef, &ex) == 0 && ex.how == XOS_EF_EXITED && ex.status == 6, "and exits 6");
	ef = make("named", "b", NULL, ef_double, &j, NULL, 0, &rc);
	CHECK(!ef && rc == -ENOENT, "a named host that is not this one: -ENOENT (%s)", strerror(-rc));
	ef = make("any", "any", NULL, ef_double, &j, NULL, 0, &rc);
	CHECK(ef && xos_ef_join(ef, &ex) == 0 && ex.status == 6, "host \"any\" runs here");
	ef = make("bad", "", NULL, ef_double, &j, NULL, 0, &rc);
	CHECK(!ef && rc == -EINVAL, "an empty host name: -EINVAL (%s)", strerror(-rc));
	{
		struct wander w = { .n = 1 };

		snprintf(w.log, sizeof(w.log), "/dev/null");
		ef = make_domain("alone-domain", NULL, ef_wander, &w, sizeof(w), &rc);
		if (ef) {
			rc = xos_ef_migrate(ef, "b");
			CHECK(rc == -ENOTCONN, "migration without a launcher: -ENOTCONN (%s)", strerror(-rc));
			xos_ef_join(ef, &ex);
		}
	}
}

int main(int argc, char **argv)
{
	const char *s = argc > 1 ? argv[1] : "basic";

	printf("# rank 0 runs main on host %s\n", getenv("XOS_HOSTS_PID") ? "of a launch" : "alone");
	if (strcmp(s, "basic") == 0)
		scenario_basic();
	else if (strcmp(s, "chans") == 0)
		scenario_chans();
	else if (strcmp(s, "nested") == 0)
		scenario_nested();
	else if (strcmp(s, "foreign") == 0)
		scenario_foreign();
	else if (strcmp(s, "other") == 0)
		scenario_other();
	else if (strcmp(s, "kill") == 0)
		scenario_kill();
	else if (strcmp(s, "creator_killed") == 0)
		scenario_creator_killed();
	else if (strcmp(s, "alone") == 0)
		scenario_alone();
	else if (strcmp(s, "migrate") == 0)
		scenario_migrate();
	else if (strcmp(s, "migrate_chans") == 0)
		scenario_migrate_chans();
	else if (strcmp(s, "nested_migrate") == 0)
		scenario_nested_migrate();
	else if (strcmp(s, "migrate_killed") == 0)
		scenario_migrate_killed();
	else if (strcmp(s, "migrate_blocked") == 0)
		scenario_migrate_blocked();
	else if (strcmp(s, "migrate_send_blocked") == 0)
		scenario_migrate_send_blocked();
	else if (strcmp(s, "migrate_refused") == 0)
		scenario_migrate_refused();
	else if (strcmp(s, "migrate_rekeyed") == 0)
		scenario_migrate_rekeyed();
	else if (strcmp(s, "migrate_keyless") == 0)
		scenario_migrate_keyless();
	else if (strcmp(s, "mutate_blocked") == 0)
		scenario_mutate_blocked();
	else if (strcmp(s, "abandon") == 0)
		scenario_abandon();
	else if (strcmp(s, "fetch_killed") == 0 && argc > 2)
		scenario_fetch_killed(argv[2]);
	else if (strcmp(s, "fetch_committed") == 0)
		scenario_fetch_committed();
	else if (strcmp(s, "send_blocked_big") == 0 && argc > 2)
		scenario_send_blocked_big(argv[2]);
	else if (strcmp(s, "send_blocked") == 0 && argc > 2)
		scenario_send_blocked(argv[2]);
	else
		CHECK(0, "unknown scenario %s", s);
	printf("# %d failures\n", failures);
	return failures ? 1 : 0;
}
