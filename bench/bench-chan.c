/* SPDX-License-Identifier: MIT */
/*
 * bench-chan: what each channel mechanism costs, next to the raw kernel
 * primitive and a plain memcpy, all measured in one run.
 *
 * For every mechanism (ring, pipe, unix, tcp) between a thread pair and a
 * process pair (the program's main flow and an EF in the thread or
 * process ICF): the round trip of an 8-byte message (an echo EF) and the
 * throughput of a stream of 64 KiB messages, through the copy API
 * (xos_chan_send / xos_chan_recv).  Baselines, same shapes: raw pipe,
 * unix socketpair and loopback TCP (read/write on blocking fds, a forked
 * child or a pthread), and memcpy of a hot 64 KiB block.  Each figure is
 * the median of ROUNDS runs.  Ratios: ring_rtt_vs_pipe = raw pipe round
 * trip / ring round trip (process pair; goal >= 50), ring_stream_vs_unix
 * = ring throughput / raw unix throughput (goal >= 8), ring_stream_vs_memcpy
 * (goal >= 0.4), tcp_*_vs_raw_tcp (goal >= 1).  The ring's stream is also
 * measured through the zero-copy calls (the writer copies each message
 * into the reserved space, the reader reads it in place): one copy
 * instead of two.
 *
 * Usage: bench-chan [ROUNDS]   (default 3)
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xos.h>

#include "bench.h"

#define MSG 65536
#define MAX_ROUNDS 15

static int rounds = 3;

static void die(const char *what, long rc)
{
	fprintf(stderr, "bench-chan: %s: %s\n", what, strerror((int)(rc < 0 ? -rc : rc)));
	exit(1);
}

/* ---- xos channels ---------------------------------------------------------------- */

struct job {
	struct xos_chan *end;
	long iters;
};

static int echo_ef(void *p)
{
	struct job j = *(struct job *)p;
	char buf[8];

	for (long i = 0; i < j.iters; i++) {
		if (xos_chan_recv(j.end, buf, sizeof(buf)) != 8 || xos_chan_send(j.end, buf, 8) != 8)
			return 1;
	}
	xos_chan_close(j.end);
	return 0;
}

static int stream_ef(void *p)
{
	struct job j = *(struct job *)p;
	char *buf = malloc(MSG);

	if (!buf)
		return 1;
	memset(buf, 0x5a, MSG);
	for (long i = 0; i < j.iters; i++)
		if (xos_chan_send(j.end, buf, MSG) != MSG)
			return 2;
	free(buf);
	xos_chan_close(j.end);
	return 0;
}

/* Zero-copy writer: each message is made in place (one copy from a source block). */
static int stream_zc_ef(void *p)
{
	struct job j = *(struct job *)p;
	char *src = malloc(MSG);

	if (!src)
		return 1;
	memset(src, 0x5a, MSG);
	for (long i = 0; i < j.iters; i++) {
		void *dst;

		if (xos_chan_reserve(j.end, MSG, &dst) != 0)
			return 2;
		memcpy(dst, src, MSG);
		if (xos_chan_commit(j.end, MSG) != 0)
			return 3;
	}
	free(src);
	xos_chan_close(j.end);
	return 0;
}

static struct xos_ef *start(const char *icf, xos_ef_fn fn, struct job *j)
{
	struct xos_ef_attr attr;
	struct xos_ef *ef;
	int rc;

	xos_ef_attr_init(&attr);
	attr.icf = icf;
	attr.chans = &j->end;
	attr.nchans = 1;
	rc = xos_ef_create(&ef, &attr, fn, j, sizeof(*j));
	if (rc < 0)
		die("xos_ef_create", rc);
	return ef;
}

static void join_ok(struct xos_ef *ef)
{
	struct xos_ef_exit ex;

	if (xos_ef_join(ef, &ex) < 0 || ex.how != XOS_EF_EXITED || ex.status != 0)
		die("EF failed", EIO);
}

static void open_chan(struct xos_chan *ends[2], const char *mech, unsigned int flags)
{
	struct xos_chan_attr attr;
	int rc;

	xos_chan_attr_init(&attr);
	attr.mechanism = mech;
	attr.flags = flags;
	attr.name = mech;
	rc = xos_chan_open(ends, &attr);
	if (rc < 0)
		die("xos_chan_open", rc);
}

/* Microseconds per 8-byte round trip. */
static double chan_rtt(const char *mech, const char *icf, long iters)
{
	struct xos_chan *ends[2];
	struct job j;
	struct xos_ef *ef;
	char buf[8] = "pingpong";
	double t0 = 0;
	long warm = iters / 10;

	open_chan(ends, mech, XOS_CHAN_F_BIDIR);
	j = (struct job){ ends[1], iters + warm };
	ef = start(icf, echo_ef, &j);
	for (long i = 0; i < iters + warm; i++) {
		if (i == warm)
			t0 = bench_now_s();
		if (xos_chan_send(ends[0], buf, 8) != 8 || xos_chan_recv(ends[0], buf, 8) != 8)
			die("round trip", EIO);
	}
	t0 = bench_now_s() - t0;
	xos_chan_close(ends[0]);
	join_ok(ef);
	return t0 / (double)iters * 1e6;
}

/* GB/s of a stream of 64 KiB messages. */
static double chan_stream(const char *mech, const char *icf, long msgs)
{
	struct xos_chan *ends[2];
	struct job j;
	struct xos_ef *ef;
	char *buf = malloc(MSG);
	double t0;
	long got = 0;
	ssize_t n;

	open_chan(ends, mech, 0);
	j = (struct job){ ends[0], msgs };
	t0 = bench_now_s();
	ef = start(icf, stream_ef, &j);
	while ((n = xos_chan_recv(ends[1], buf, MSG)) == MSG)
		got++;
	t0 = bench_now_s() - t0;
	if (n != 0 || got != msgs)
		die("stream", EIO);
	xos_chan_close(ends[1]);
	join_ok(ef);
	free(buf);
	return (double)msgs * MSG / t0 / 1e9;
}

/* GB/s of the same stream through the zero-copy calls: the reader reads each message in place. */
static double chan_stream_zc(const char *mech, const char *icf, long msgs)
{
	struct xos_chan *ends[2];
	struct job j;
	struct xos_ef *ef;
	const void *view;
	double t0;
	long got = 0;
	uint64_t sum = 0;
	ssize_t n;

	open_chan(ends, mech, 0);
	j = (struct job){ ends[0], msgs };
	t0 = bench_now_s();
	ef = start(icf, stream_zc_ef, &j);
	while ((n = xos_chan_peek(ends[1], &view)) == MSG) {
		const uint64_t *w = view;

		/* Use the data: one word of every cache line, as a parser would touch it. */
		for (size_t k = 0; k < MSG / 8; k += 8)
			sum += w[k];
		xos_chan_consume(ends[1], MSG);
		xos_chan_release(ends[1]);
		got++;
	}
	t0 = bench_now_s() - t0;
	if (n != 0 || got != msgs || sum == 0)
		die("zero-copy stream", EIO);
	xos_chan_close(ends[1]);
	join_ok(ef);
	return (double)msgs * MSG / t0 / 1e9;
}

/* ---- raw kernel primitives ---------------------------------------------------------- */

enum raw_kind { RAW_PIPE, RAW_UNIX, RAW_TCP };
static const char *const raw_names[] = { "pipe", "unix", "tcp" };

/* fds[0]/fds[1]: my read/write; peer[0]/peer[1]: the peer's. */
static void raw_make(enum raw_kind k, int mine[2], int peer[2])
{
	int one = 1;

	if (k == RAW_PIPE) {
		int a[2], b[2];

		if (pipe(a) < 0 || pipe(b) < 0)
			die("pipe", errno);
		fcntl(a[1], F_SETPIPE_SZ, 1 << 20);
		fcntl(b[1], F_SETPIPE_SZ, 1 << 20);
		mine[0] = b[0], mine[1] = a[1];
		peer[0] = a[0], peer[1] = b[1];
	} else if (k == RAW_UNIX) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
			die("socketpair", errno);
		mine[0] = mine[1] = sv[0];
		peer[0] = peer[1] = sv[1];
	} else {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t alen = sizeof(a);
		int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0), s;

		if (l < 0 || c < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0 ||
		    getsockname(l, (struct sockaddr *)&a, &alen) < 0 ||
		    connect(c, (struct sockaddr *)&a, sizeof(a)) < 0 || (s = accept(l, NULL, NULL)) < 0)
			die("tcp", errno);
		close(l);
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		mine[0] = mine[1] = c;
		peer[0] = peer[1] = s;
	}
}

static void raw_close(int fds[2])
{
	close(fds[0]);
	if (fds[1] != fds[0])
		close(fds[1]);
}

static int read_full(int fd, char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static int write_full(int fd, const char *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, buf + done, len - done);

		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

struct raw_job {
	int fds[2];
	long iters;
	int stream;
};

static void *raw_peer(void *p)
{
	struct raw_job *j = p;
	char *buf = malloc(MSG);

	memset(buf, 0x5a, MSG);
	for (long i = 0; i < j->iters; i++) {
		if (j->stream) {
			if (write_full(j->fds[1], buf, MSG) < 0)
				break;
		} else if (read_full(j->fds[0], buf, 8) < 0 || write_full(j->fds[1], buf, 8) < 0) {
			break;
		}
	}
	free(buf);
	raw_close(j->fds);
	return NULL;
}

/* Run the peer in a thread or a forked child; returns the child pid or 0. */
static pid_t raw_spawn(bool process, struct raw_job *j, pthread_t *tid, int mine[2])
{
	if (process) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork", errno);
		if (pid == 0) {
			raw_close(mine);
			raw_peer(j);
			_exit(0);
		}
		raw_close(j->fds);
		return pid;
	}
	if (pthread_create(tid, NULL, raw_peer, j))
		die("pthread_create", EAGAIN);
	return 0;
}

static void raw_reap(pid_t pid, pthread_t tid)
{
	if (pid)
		waitpid(pid, NULL, 0);
	else
		pthread_join(tid, NULL);
}

static double raw_rtt(enum raw_kind k, bool process, long iters)
{
	int mine[2];
	struct raw_job j = { .iters = iters + iters / 10 };
	pthread_t tid;
	pid_t pid;
	char buf[8] = "pingpong";
	double t0 = 0;

	raw_make(k, mine, j.fds);
	pid = raw_spawn(process, &j, &tid, mine);
	for (long i = 0; i < j.iters; i++) {
		if (i == iters / 10)
			t0 = bench_now_s();
		if (write_full(mine[1], buf, 8) < 0 || read_full(mine[0], buf, 8) < 0)
			die("raw round trip", EIO);
	}
	t0 = bench_now_s() - t0;
	raw_close(mine);
	raw_reap(pid, tid);
	return t0 / (double)iters * 1e6;
}

static double raw_stream(enum raw_kind k, bool process, long msgs)
{
	int mine[2];
	struct raw_job j = { .iters = msgs, .stream = 1 };
	pthread_t tid;
	pid_t pid;
	char *buf = malloc(MSG);
	double t0 = bench_now_s();

	raw_make(k, mine, j.fds);
	pid = raw_spawn(process, &j, &tid, mine);
	for (long i = 0; i < msgs; i++)
		if (read_full(mine[0], buf, MSG) < 0)
			die("raw stream", EIO);
	t0 = bench_now_s() - t0;
	raw_close(mine);
	raw_reap(pid, tid);
	free(buf);
	return (double)msgs * MSG / t0 / 1e9;
}

static double memcpy_rate(void)
{
	char *a = malloc(MSG), *b = malloc(MSG);
	long n = 100000;
	double t0;

	memset(a, 1, MSG);
	memset(b, 2, MSG);
	t0 = bench_now_s();
	for (long i = 0; i < n; i++) {
		memcpy(i & 1 ? a : b, i & 1 ? b : a, MSG);
		__asm__ volatile("" ::: "memory");
	}
	t0 = bench_now_s() - t0;
	free(a);
	free(b);
	return (double)n * MSG / t0 / 1e9;
}

/* ---- driver ----------------------------------------------------------------------------- */

static const char *const mechs[] = { "ring", "pipe", "unix", "tcp" };
static const char *const pairs[] = { "thread", "process" };

/* [mech][pair] and raw [kind][pair] */
static double rtt[4][2], gbs[4][2], zc[2], raw_rtt_v[3][2], raw_gbs[3][2], mcpy;

static void figure(const char *name, double v, const char *unit)
{
	printf("figure: %s = %.3f %s\n", name, v, unit);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	double samples[MAX_ROUNDS];
	char name[96];

	if (argc > 1)
		rounds = atoi(argv[1]);
	if (rounds < 1 || rounds > MAX_ROUNDS)
		rounds = 3;
	signal(SIGPIPE, SIG_IGN);
	unsetenv("XOS_CHAN");

	for (int r = 0; r < rounds; r++)
		samples[r] = memcpy_rate();
	mcpy = bench_median(samples, rounds);
	figure("memcpy_64k", mcpy, "GB/s");

	for (int p = 0; p < 2; p++) {
		for (int k = 0; k < 3; k++) {
			for (int r = 0; r < rounds; r++)
				samples[r] = raw_rtt((enum raw_kind)k, p == 1, 3000);
			raw_rtt_v[k][p] = bench_median(samples, rounds);
			snprintf(name, sizeof(name), "raw_%s_rtt_%s", raw_names[k], pairs[p]);
			figure(name, raw_rtt_v[k][p], "us");
			for (int r = 0; r < rounds; r++)
				samples[r] = raw_stream((enum raw_kind)k, p == 1, 4000);
			raw_gbs[k][p] = bench_median(samples, rounds);
			snprintf(name, sizeof(name), "raw_%s_stream_%s", raw_names[k], pairs[p]);
			figure(name, raw_gbs[k][p], "GB/s");
		}
		for (int m = 0; m < 4; m++) {
			bool ring = m == 0;

			for (int r = 0; r < rounds; r++)
				samples[r] = chan_rtt(mechs[m], pairs[p], ring ? 200000 : 3000);
			rtt[m][p] = bench_median(samples, rounds);
			snprintf(name, sizeof(name), "%s_rtt_%s", mechs[m], pairs[p]);
			figure(name, rtt[m][p], "us");
			for (int r = 0; r < rounds; r++)
				samples[r] = chan_stream(mechs[m], pairs[p], ring ? 40000 : 4000);
			gbs[m][p] = bench_median(samples, rounds);
			snprintf(name, sizeof(name), "%s_stream_%s", mechs[m], pairs[p]);
			figure(name, gbs[m][p], "GB/s");
			if (ring) {
				for (int r = 0; r < rounds; r++)
					samples[r] = chan_stream_zc(mechs[m], pairs[p], 40000);
				zc[p] = bench_median(samples, rounds);
				snprintf(name, sizeof(name), "ring_stream_zero_copy_%s", pairs[p]);
				figure(name, zc[p], "GB/s");
			}
		}
	}

	/* Ratios: each mechanism against its raw kernel twin, the ring against the goals. */
	for (int p = 0; p < 2; p++) {
		for (int m = 1; m < 4; m++) {
			snprintf(name, sizeof(name), "%s_rtt_vs_raw_%s_%s", mechs[m], mechs[m], pairs[p]);
			figure(name, raw_rtt_v[m - 1][p] / rtt[m][p], "x (raw time / xos time; >1: faster)");
			snprintf(name, sizeof(name), "%s_stream_vs_raw_%s_%s", mechs[m], mechs[m], pairs[p]);
			figure(name, gbs[m][p] / raw_gbs[m - 1][p], "x (xos GB/s / raw GB/s)");
		}
		snprintf(name, sizeof(name), "ring_rtt_vs_pipe_%s", pairs[p]);
		figure(name, raw_rtt_v[RAW_PIPE][p] / rtt[0][p], "x (raw pipe time / ring time)");
		snprintf(name, sizeof(name), "ring_stream_vs_unix_%s", pairs[p]);
		figure(name, gbs[0][p] / raw_gbs[RAW_UNIX][p], "x");
		snprintf(name, sizeof(name), "ring_stream_vs_memcpy_%s", pairs[p]);
		figure(name, gbs[0][p] / mcpy, "x");
		snprintf(name, sizeof(name), "ring_stream_zero_copy_vs_unix_%s", pairs[p]);
		figure(name, zc[p] / raw_gbs[RAW_UNIX][p], "x");
		snprintf(name, sizeof(name), "ring_stream_zero_copy_vs_memcpy_%s", pairs[p]);
		figure(name, zc[p] / mcpy, "x");
	}
	figure("ring_rtt_vs_pipe", raw_rtt_v[RAW_PIPE][1] / rtt[0][1], "x (process pair; goal >= 50)");
	figure("ring_stream_vs_unix", gbs[0][1] / raw_gbs[RAW_UNIX][1], "x (process pair; goal >= 8)");
	figure("ring_stream_vs_memcpy", gbs[0][1] / mcpy, "x (process pair; goal >= 0.4)");
	figure("tcp_rtt_vs_raw_tcp", raw_rtt_v[RAW_TCP][1] / rtt[3][1], "x (process pair; goal >= 1)");
	figure("tcp_stream_vs_raw_tcp", gbs[3][1] / raw_gbs[RAW_TCP][1], "x (process pair; goal >= 1)");
	return 0;
}
