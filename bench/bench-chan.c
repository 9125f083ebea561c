/* SPDX-License-Identifier: MIT */
/*
 * bench-chan: what each channel mechanism costs, next to the raw kernel
 * object, memcpy and plain reading, all measured in one run.
 *
 * Every figure is a comparison run in alternating rounds (baseline,
 * subject, subject, baseline, ...) so that the load of a shared machine
 * hits both; reported: each side's median, and the median of the
 * per-round ratios with their spread (min-max).
 *
 *  - pipe, unix, tcp between a thread pair and a process pair (the
 *    program's main flow and an EF in the thread or process ICF), against
 *    the same kernel object used raw (read/write on blocking descriptors,
 *    a pthread or a forked child): the round trip of an 8-byte message
 *    and a stream of 64 KiB messages through the copy API.
 *    <mech>_rtt_vs_raw_<mech>_<pair> = raw time / xos time, with
 *    raw_<mech>_rtt_vs_itself_<pair> (the raw side against itself: how far
 *    the figure moves with no xos in it),
 *    <mech>_stream_vs_raw_<mech>_<pair> = xos GB/s / raw GB/s; goal >= 0.95.
 *    With the streams, the floor of framing the object at all
 *    (framed_<mech>_stream_vs_raw_<pair>, write_frame_nb below) and xos
 *    against it (<mech>_stream_vs_framed_<mech>_<pair>).  A stream's time
 *    runs from its writer's start to the last byte read: the writer's
 *    creation (an EF, a thread, a fork) is bench-ef's figure, not the
 *    stream's.
 *  - the ring: round trip against a raw pipe's (ring_rtt_vs_pipe, goal
 *    >= 50); a 64 KiB stream through the copy API against memcpy of a hot
 *    64 KiB block (ring_stream_vs_memcpy, goal >= 0.45) and a raw unix
 *    socket (ring_stream_vs_unix, goal >= 8); the zero-copy calls, each
 *    message built in place by the writer (every word written) and read in
 *    place by the reader (every word read), against reading the same bytes
 *    once on one CPU (ring_stream_zero_copy_vs_read, goal >= 0.8).
 *  - the floors, same run: a bare hand-off of 64 KiB blocks through a
 *    1 MiB shared area (two counters and a spin, no framing, no checks),
 *    with the copy API's two copies (bare_two_copy_*) and built and read in
 *    place (bare_in_place_*): what moving the bytes between two CPUs costs
 *    on this machine whatever the channel does, and the ring against it;
 *    and building the bytes on one CPU against reading them (build_vs_read):
 *    a zero-copy stream cannot go faster than its writer builds.
 *
 * Usage: bench-chan [ROUNDS [FILTER]]   (default 5 rounds; FILTER: run only
 * the comparisons whose group name contains it, e.g. "pipe_rtt", "_process",
 * "ring_stream").  BENCH_DOMAIN=1 runs the EFs with XOS_EF_F_DOMAIN (their
 * channel waits are then safe points a mutate may cut).  BENCH_PIN=split puts
 * the measuring side on CPU 0 and every peer (EF, raw or bare producer,
 * thread or child) on CPU 1, BENCH_PIN=same both on CPU 0: the scheduler
 * then chooses no placement, the largest part of the round trips' swing
 * between runs here.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xos.h>

#include "bench.h"

#define MSG 65536
#define MAX_ROUNDS 15

static int rounds = 5;

static void die(const char *what, long rc)
{
	fprintf(stderr, "bench-chan: %s: %s\n", what, strerror((int)(rc < 0 ? -rc : rc)));
	exit(1);
}

/* ---- placement (BENCH_PIN) -------------------------------------------------------- */

static int pin_mode; /* 0: the scheduler places; 1: split; 2: same CPU */

static void pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		die("sched_setaffinity", errno);
}

/* Called first by every peer: its own thread or process. */
static void pin_peer(void)
{
	if (pin_mode)
		pin_to(pin_mode == 1 ? 1 : 0);
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

	pin_peer();
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

	pin_peer();
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

/* What a producer does to make a message: write every word of it. */
static __attribute__((noinline)) void build_msg(uint64_t *w, uint64_t seed)
{
	for (size_t k = 0; k < MSG / 8; k++)
		w[k] = seed + k;
}

/* What a consumer does with it: read every word once. */
static __attribute__((noinline)) uint64_t read_msg(const uint64_t *w)
{
	uint64_t sum = 0;

	for (size_t k = 0; k < MSG / 8; k++)
		sum += w[k];
	return sum;
}

/* Zero-copy writer: each message is built in the reserved space of the channel. */
static int stream_zc_ef(void *p)
{
	struct job j = *(struct job *)p;

	pin_peer();
	for (long i = 0; i < j.iters; i++) {
		void *dst;

		if (xos_chan_reserve(j.end, MSG, &dst) != 0)
			return 2;
		build_msg(dst, (uint64_t)i);
		if (xos_chan_commit(j.end, MSG) != 0)
			return 3;
	}
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
	if (getenv("BENCH_DOMAIN"))
		attr.flags = XOS_EF_F_DOMAIN;
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
	ef = start(icf, stream_ef, &j);
	t0 = bench_now_s(); /* from the writer's start: its creation is bench-ef's figure */
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

/* GB/s of a stream built in place and read in place (xos_chan_reserve/commit, peek/consume/release). */
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
	ef = start(icf, stream_zc_ef, &j);
	t0 = bench_now_s();
	while ((n = xos_chan_peek(ends[1], &view)) == MSG) {
		sum += read_msg(view);
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
	int stream; /* 1: a stream of MSG-byte writes; 2: of frames, as a stream channel writes them */
	bool sock;
};

/*
 * The floor of any framing over a byte stream, written as xos's stream
 * channels write (chan/stream.c): an 8-byte header and the payload in one
 * vectored call that must not block (a pipe's write end O_NONBLOCK, a
 * socket's MSG_DONTWAIT), poll(2) for room when the object is full.  The
 * header shifts the payload off page boundaries; the waits are poll(2)s
 * rather than sleeps inside the write.  A channel cannot block inside a
 * write: a dead reader would leave it there (a pipe channel keeps a spare
 * read end, so no write ever raises SIGPIPE), and a safe point could not
 * cut the wait.
 */
static int write_frame_nb(int fd, bool sock, const char *buf, size_t len)
{
	uint64_t h = len;
	struct iovec v[2] = { { &h, sizeof(h) }, { (void *)buf, len } }, *iv = v;
	struct msghdr mh = { 0 };
	int n = 2;
	size_t left = sizeof(h) + len;

	while (left > 0) {
		ssize_t w;

		mh.msg_iov = iv;
		mh.msg_iovlen = (size_t)n;
		w = sock ? sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) : writev(fd, iv, n);
		if (w < 0 && errno != EAGAIN)
			return -1;
		if (w > 0) {
			left -= (size_t)w;
			while (n > 0 && (size_t)w >= iv->iov_len) {
				w -= (ssize_t)iv->iov_len;
				iv++;
				n--;
			}
			if (n > 0) {
				iv->iov_base = (char *)iv->iov_base + w;
				iv->iov_len -= (size_t)w;
			}
		}
		if (left > 0) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };

			if (poll(&pfd, 1, -1) < 0)
				return -1;
		}
	}
	return 0;
}

/* A frame's header and payload in one readv(2), the rest of the payload after it. */
static int read_frame(int fd, char *buf, size_t len)
{
	uint64_t h;
	struct iovec v[2] = { { &h, sizeof(h) }, { buf, len } };
	ssize_t n = readv(fd, v, 2);
	size_t got;

	if (n < (ssize_t)sizeof(h))
		return -1;
	got = (size_t)n - sizeof(h);
	return got < len ? read_full(fd, buf + got, len - got) : 0;
}

static void *raw_peer(void *p)
{
	struct raw_job *j = p;
	char *buf = malloc(MSG);

	pin_peer();
	memset(buf, 0x5a, MSG);
	for (long i = 0; i < j->iters; i++) {
		if (j->stream == 2) {
			if (write_frame_nb(j->fds[1], j->sock, buf, MSG) < 0)
				break;
		} else if (j->stream) {
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

static double raw_stream(enum raw_kind k, bool process, long msgs, bool framed)
{
	int mine[2];
	struct raw_job j = { .iters = msgs, .stream = framed ? 2 : 1, .sock = k != RAW_PIPE };
	pthread_t tid;
	pid_t pid;
	char *buf = malloc(MSG);
	double t0;

	raw_make(k, mine, j.fds);
	if (framed && k == RAW_PIPE)
		fcntl(j.fds[1], F_SETFL, O_NONBLOCK);
	pid = raw_spawn(process, &j, &tid, mine);
	t0 = bench_now_s(); /* from the writer's start, as chan_stream */
	for (long i = 0; i < msgs; i++)
		if ((framed ? read_frame(mine[0], buf, MSG) : read_full(mine[0], buf, MSG)) < 0)
			die("raw stream", EIO);
	t0 = bench_now_s() - t0;
	raw_close(mine);
	raw_reap(pid, tid);
	free(buf);
	return (double)msgs * MSG / t0 / 1e9;
}

/* GB/s of memcpy of a hot 64 KiB block (the ceiling of one copy). */
static double memcpy_rate(void)
{
	char *a = malloc(MSG), *b = malloc(MSG);
	long n = 20000;
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

#define AREA (1u << 20) /* a channel's default capacity */

/* GB/s of reading every word of 64 KiB blocks once, blocks taken in turn from a 1 MiB area. */
static double read_rate(void)
{
	uint64_t *a = malloc(AREA), sum = 0;
	long n = 20000;
	double t0;

	for (size_t k = 0; k < AREA / 8; k++)
		a[k] = k;
	t0 = bench_now_s();
	for (long i = 0; i < n; i++)
		sum += read_msg(a + (size_t)(i % (AREA / MSG)) * (MSG / 8));
	t0 = bench_now_s() - t0;
	free(a);
	if (sum == 0)
		die("read", EIO);
	return (double)n * MSG / t0 / 1e9;
}

/* GB/s of writing every word of 64 KiB blocks once, blocks taken in turn from a 1 MiB area. */
static double build_rate(void)
{
	uint64_t *a = malloc(AREA), sum = 0;
	long n = 20000;
	double t0;

	memset(a, 1, AREA);
	t0 = bench_now_s();
	for (long i = 0; i < n; i++) {
		build_msg(a + (size_t)(i % (AREA / MSG)) * (MSG / 8), (uint64_t)i);
		__asm__ volatile("" ::: "memory");
	}
	t0 = bench_now_s() - t0;
	for (size_t k = 0; k < AREA / 8; k += MSG / 8)
		sum += a[k];
	free(a);
	if (sum == 0)
		die("build", EIO);
	return (double)n * MSG / t0 / 1e9;
}

/*
 * The floor of any shared-memory channel: a bare hand-off of 64 KiB blocks
 * through a 1 MiB shared area between two CPUs, no framing, no checks, two
 * counters and a spin (yielding when the peer is not running).  @copy:
 * the producer copies a hot block in and the consumer copies it out (what
 * the copy API does); else the producer builds in place and the consumer
 * reads in place (the zero-copy calls).
 */
struct bare {
	_Alignas(64) _Atomic uint64_t head;
	_Alignas(64) _Atomic uint64_t tail;
	_Alignas(64) uint8_t data[AREA];
};

static void bare_wait(_Atomic uint64_t *word, uint64_t until_ge)
{
	for (unsigned int i = 1; atomic_load_explicit(word, memory_order_acquire) < until_ge; i++) {
		if (i % 1024 == 0)
			sched_yield();
		else
			__builtin_ia32_pause();
	}
}

struct bare_job {
	struct bare *b;
	long msgs;
	bool copy;
};

static void *bare_producer(void *p)
{
	struct bare_job *j = p;
	struct bare *b = j->b;
	uint64_t *src = malloc(MSG);

	pin_peer();
	build_msg(src, 1);
	for (long i = 0; i < j->msgs; i++) {
		uint8_t *slot = b->data + (size_t)(i % (AREA / MSG)) * MSG;

		bare_wait(&b->tail, (uint64_t)(i >= AREA / MSG ? i - AREA / MSG + 1 : 0));
		if (j->copy)
			memcpy(slot, src, MSG);
		else
			build_msg((uint64_t *)(void *)slot, (uint64_t)i);
		atomic_store_explicit(&b->head, (uint64_t)i + 1, memory_order_release);
	}
	free(src);
	return NULL;
}

static double bare_stream(bool process, bool copy, long msgs)
{
	struct bare *b = mmap(NULL, sizeof(*b), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct bare_job j = { b, msgs, copy };
	uint64_t *dst = malloc(MSG), sum = 0;
	pthread_t tid;
	pid_t pid = 0;
	double t0;

	if (b == MAP_FAILED)
		die("mmap", errno);
	if (process) {
		pid = fork();
		if (pid < 0)
			die("fork", errno);
		if (pid == 0) {
			bare_producer(&j);
			_exit(0);
		}
	} else if (pthread_create(&tid, NULL, bare_producer, &j)) {
		die("pthread_create", EAGAIN);
	}
	t0 = bench_now_s(); /* from the producer's start, as chan_stream */
	for (long i = 0; i < msgs; i++) {
		const uint8_t *slot = b->data + (size_t)(i % (AREA / MSG)) * MSG;

		bare_wait(&b->head, (uint64_t)i + 1);
		if (copy) {
			memcpy(dst, slot, MSG);
			__asm__ volatile("" ::: "memory");
			sum += dst[i % (MSG / 8)];
		} else {
			sum += read_msg((const uint64_t *)(const void *)slot);
		}
		atomic_store_explicit(&b->tail, (uint64_t)i + 1, memory_order_release);
	}
	t0 = bench_now_s() - t0;
	/* The sum is used: else the compiler drops the reads (read_msg is pure). */
	if (sum == 0)
		die("bare stream", EIO);
	if (process)
		waitpid(pid, NULL, 0);
	else
		pthread_join(tid, NULL);
	munmap(b, sizeof(*b));
	free(dst);
	return (double)msgs * MSG / t0 / 1e9;
}

/* ---- driver ----------------------------------------------------------------------------- */

static const char *const pairs[] = { "thread", "process" };
static const char *filter; /* run only the groups whose name contains it */

static void figure(const char *name, double v, const char *unit)
{
	printf("figure: %s = %.3f %s\n", name, v, unit);
	fflush(stdout);
}

/* One side of a comparison: a measurement and whether a higher value is better. */
struct side {
	const char *name; /* printed figure, or NULL */
	const char *unit;
	double (*fn)(const struct side *s);
	const char *mech;
	int kind;
	bool process, higher_better, flag;
	long n;
	double median;
};

/* A comparison: rounds A B A B ..., the subject's per-round performance over the baseline's. */
struct cmp {
	double ratio, lo, hi;
};

static struct cmp compare(struct side *base, struct side *subj)
{
	double a[MAX_ROUNDS], b[MAX_ROUNDS], r[MAX_ROUNDS];
	struct cmp c;

	for (int i = 0; i < rounds; i++) {
		/* Alternate which goes first, so a trend in the load favours neither. */
		if (i % 2 == 0) {
			a[i] = base->fn(base);
			b[i] = subj->fn(subj);
		} else {
			b[i] = subj->fn(subj);
			a[i] = base->fn(base);
		}
		r[i] = base->higher_better ? b[i] / a[i] : a[i] / b[i];
	}
	base->median = bench_median(a, rounds);
	subj->median = bench_median(b, rounds);
	c.ratio = bench_median(r, rounds);
	c.lo = r[0];
	c.hi = r[rounds - 1];
	if (base->name)
		figure(base->name, base->median, base->unit);
	if (subj->name)
		figure(subj->name, subj->median, subj->unit);
	return c;
}

static void ratio_figure(const char *name, struct cmp c, const char *what)
{
	printf("figure: %s = %.3f x (%s; median of %d alternating rounds, spread %.3f-%.3f)\n", name, c.ratio,
	       what, rounds, c.lo, c.hi);
	fflush(stdout);
}

static double m_raw_rtt(const struct side *s)
{
	return raw_rtt((enum raw_kind)s->kind, s->process, s->n);
}
static double m_raw_stream(const struct side *s)
{
	return raw_stream((enum raw_kind)s->kind, s->process, s->n, s->flag);
}
static double m_chan_rtt(const struct side *s)
{
	return chan_rtt(s->mech, pairs[s->process], s->n);
}
static double m_chan_stream(const struct side *s)
{
	return chan_stream(s->mech, pairs[s->process], s->n);
}
static double m_chan_stream_zc(const struct side *s)
{
	return chan_stream_zc(s->mech, pairs[s->process], s->n);
}
static double m_memcpy(const struct side *s)
{
	(void)s;
	return memcpy_rate();
}
static double m_read(const struct side *s)
{
	(void)s;
	return read_rate();
}
static double m_build(const struct side *s)
{
	(void)s;
	return build_rate();
}
static double m_bare(const struct side *s)
{
	return bare_stream(s->process, s->flag, s->n);
}

static bool wanted(const char *group)
{
	return !filter || strstr(group, filter);
}

int main(int argc, char **argv)
{
	static const char *const kmech[] = { "pipe", "unix", "tcp" };
	char name[3][96], group[64];
	struct cmp c;
	double got[2][8] = { { 0 } };

	if (argc > 1)
		rounds = atoi(argv[1]);
	if (rounds < 1 || rounds > MAX_ROUNDS)
		rounds = 5;
	if (argc > 2)
		filter = argv[2];
	if (getenv("BENCH_PIN")) {
		pin_mode = !strcmp(getenv("BENCH_PIN"), "split") ? 1 : !strcmp(getenv("BENCH_PIN"), "same") ? 2 : -1;
		if (pin_mode < 0 || sysconf(_SC_NPROCESSORS_ONLN) < 2) {
			fprintf(stderr, "bench-chan: BENCH_PIN is split or same, and needs 2 CPUs\n");
			return 2;
		}
		pin_to(0);
		printf("placement: BENCH_PIN=%s (measuring side on CPU 0, peers on CPU %d)\n", getenv("BENCH_PIN"),
		       pin_mode == 1 ? 1 : 0);
	}
	signal(SIGPIPE, SIG_IGN);
	unsetenv("XOS_CHAN");
	{
		double la[3];

		if (getloadavg(la, 3) == 3)
			printf("load average at start: %.2f %.2f %.2f (2 CPUs shared: ratios hold, absolute values drift)\n",
			       la[0], la[1], la[2]);
	}

	for (int p = 0; p < 2; p++) {
		bool proc = p == 1;

		/* The kernel mechanisms against the same kernel object used raw. */
		for (int k = 0; k < 3; k++) {
			snprintf(group, sizeof(group), "%s_rtt_%s", kmech[k], pairs[p]);
			if (wanted(group)) {
				snprintf(name[0], sizeof(name[0]), "raw_%s_rtt_%s", kmech[k], pairs[p]);
				snprintf(name[1], sizeof(name[1]), "%s_rtt_%s", kmech[k], pairs[p]);
				snprintf(name[2], sizeof(name[2]), "%s_rtt_vs_raw_%s_%s", kmech[k], kmech[k], pairs[p]);
				c = compare(&(struct side){ name[0], "us", m_raw_rtt, NULL, k, proc, false, false, 3000, 0 },
					    &(struct side){ name[1], "us", m_chan_rtt, kmech[k], 0, proc, false, false, 3000, 0 });
				ratio_figure(name[2], c, "raw time / xos time; goal >= 0.95");
				if (k == 2 && proc)
					got[0][0] = c.ratio;
				/*
				 * The measurement's own spread: the raw round trip against
				 * itself, in rounds like the above.  Where the scheduler
				 * places the pair moves a round trip by 10-20% here.
				 */
				snprintf(name[0], sizeof(name[0]), "raw_%s_rtt_vs_itself_%s", kmech[k], pairs[p]);
				c = compare(&(struct side){ NULL, "us", m_raw_rtt, NULL, k, proc, false, false, 3000, 0 },
					    &(struct side){ NULL, "us", m_raw_rtt, NULL, k, proc, false, false, 3000, 0 });
				ratio_figure(name[0], c, "raw against raw: the noise floor of the figure above");
			}
			snprintf(group, sizeof(group), "%s_stream_%s", kmech[k], pairs[p]);
			if (wanted(group)) {
				snprintf(name[0], sizeof(name[0]), "raw_%s_stream_%s", kmech[k], pairs[p]);
				snprintf(name[1], sizeof(name[1]), "%s_stream_%s", kmech[k], pairs[p]);
				snprintf(name[2], sizeof(name[2]), "%s_stream_vs_raw_%s_%s", kmech[k], kmech[k], pairs[p]);
				c = compare(&(struct side){ name[0], "GB/s", m_raw_stream, NULL, k, proc, true, false, 4000, 0 },
					    &(struct side){ name[1], "GB/s", m_chan_stream, kmech[k], 0, proc, true, false, 4000, 0 });
				ratio_figure(name[2], c, "xos GB/s / raw GB/s; goal >= 0.95");
				if (k == 2 && proc)
					got[0][1] = c.ratio;
				/* The floor of framing this object (write_frame_nb), and xos against it. */
				snprintf(name[0], sizeof(name[0]), "framed_%s_stream_vs_raw_%s", kmech[k], pairs[p]);
				c = compare(&(struct side){ NULL, "GB/s", m_raw_stream, NULL, k, proc, true, false, 4000, 0 },
					    &(struct side){ NULL, "GB/s", m_raw_stream, NULL, k, proc, true, true, 4000, 0 });
				ratio_figure(name[0], c, "floor: raw frames written as a channel must / raw GB/s");
				snprintf(name[2], sizeof(name[2]), "%s_stream_vs_framed_%s_%s", kmech[k], kmech[k], pairs[p]);
				c = compare(&(struct side){ NULL, "GB/s", m_raw_stream, NULL, k, proc, true, true, 4000, 0 },
					    &(struct side){ NULL, "GB/s", m_chan_stream, kmech[k], 0, proc, true, false, 4000, 0 });
				ratio_figure(name[2], c, "what xos costs over that floor");
			}
		}

		/* The ring against a raw pipe (round trip), memcpy and reading (stream). */
		snprintf(group, sizeof(group), "ring_rtt_%s", pairs[p]);
		if (wanted(group)) {
			snprintf(name[1], sizeof(name[1]), "ring_rtt_%s", pairs[p]);
			snprintf(name[2], sizeof(name[2]), "ring_rtt_vs_pipe_%s", pairs[p]);
			c = compare(&(struct side){ NULL, "us", m_raw_rtt, NULL, RAW_PIPE, proc, false, false, 3000, 0 },
				    &(struct side){ name[1], "us", m_chan_rtt, "ring", 0, proc, false, false, 50000, 0 });
			ratio_figure(name[2], c, "raw pipe time / ring time");
			if (proc)
				got[1][0] = c.ratio;
		}
		snprintf(group, sizeof(group), "ring_stream_%s", pairs[p]);
		if (wanted(group)) {
			struct side mc = { "memcpy_64k", "GB/s", m_memcpy, NULL, 0, false, true, false, 0, 0 };
			struct side rs = { NULL, "GB/s", m_chan_stream, "ring", 0, proc, true, false, 20000, 0 };
			struct side un = { NULL, "GB/s", m_raw_stream, NULL, RAW_UNIX, proc, true, false, 4000, 0 };
			struct side bc = { NULL, "GB/s", m_bare, NULL, 0, proc, true, true, 20000, 0 };

			snprintf(name[1], sizeof(name[1]), "ring_stream_%s", pairs[p]);
			rs.name = name[1];
			snprintf(name[2], sizeof(name[2]), "ring_stream_vs_memcpy_%s", pairs[p]);
			if (p == 1)
				mc.name = NULL;
			c = compare(&mc, &rs);
			ratio_figure(name[2], c, "ring GB/s / memcpy GB/s; goal >= 0.45");
			if (proc)
				got[1][1] = c.ratio;
			snprintf(name[2], sizeof(name[2]), "ring_stream_vs_unix_%s", pairs[p]);
			c = compare(&un, &rs);
			ratio_figure(name[2], c, "ring GB/s / raw unix GB/s");
			if (proc)
				got[1][2] = c.ratio;
			/* The floor: the same two copies through a bare shared area. */
			snprintf(name[0], sizeof(name[0]), "bare_two_copy_stream_%s", pairs[p]);
			bc.name = name[0];
			snprintf(name[2], sizeof(name[2]), "bare_two_copy_vs_memcpy_%s", pairs[p]);
			c = compare(&mc, &bc);
			ratio_figure(name[2], c, "floor: two copies across CPUs, no channel");
			snprintf(name[2], sizeof(name[2]), "ring_stream_vs_bare_two_copy_%s", pairs[p]);
			c = compare(&bc, &rs);
			ratio_figure(name[2], c, "what the ring costs over the bare floor");
		}
		snprintf(group, sizeof(group), "ring_stream_zero_copy_%s", pairs[p]);
		if (wanted(group)) {
			struct side rd = { "read_64k", "GB/s", m_read, NULL, 0, false, true, false, 0, 0 };
			struct side zc = { NULL, "GB/s", m_chan_stream_zc, "ring", 0, proc, true, false, 20000, 0 };
			struct side bz = { NULL, "GB/s", m_bare, NULL, 0, proc, true, false, 20000, 0 };

			if (p == 1) {
				rd.name = NULL;
			} else {
				/* The writer's own work: no hand-off can beat building the bytes. */
				struct side bd = { "build_64k", "GB/s", m_build, NULL, 0, false, true, false, 0, 0 };

				c = compare(&rd, &bd);
				rd.name = NULL;
				ratio_figure("build_vs_read", c,
					     "ceiling of any zero-copy hand-off: writing the bytes once vs reading them once, one CPU");
			}
			snprintf(name[1], sizeof(name[1]), "ring_stream_zero_copy_%s", pairs[p]);
			zc.name = name[1];
			snprintf(name[2], sizeof(name[2]), "ring_stream_zero_copy_vs_read_%s", pairs[p]);
			c = compare(&rd, &zc);
			ratio_figure(name[2], c, "built and read in place / reading the bytes once; goal >= 0.8");
			if (proc)
				got[1][3] = c.ratio;
			snprintf(name[0], sizeof(name[0]), "bare_in_place_stream_%s", pairs[p]);
			bz.name = name[0];
			snprintf(name[2], sizeof(name[2]), "bare_in_place_vs_read_%s", pairs[p]);
			c = compare(&rd, &bz);
			ratio_figure(name[2], c, "floor: built on one CPU, read on the other, no channel");
			snprintf(name[2], sizeof(name[2]), "ring_stream_zero_copy_vs_bare_in_place_%s", pairs[p]);
			c = compare(&bz, &zc);
			ratio_figure(name[2], c, "what the ring costs over the bare floor");
		}
	}

	/* The headline figures (process pair), under their old names. */
	if (got[1][0])
		figure("ring_rtt_vs_pipe", got[1][0], "x (process pair; goal >= 50)");
	if (got[1][2])
		figure("ring_stream_vs_unix", got[1][2], "x (process pair; goal >= 8)");
	if (got[1][1])
		figure("ring_stream_vs_memcpy", got[1][1], "x (process pair; goal >= 0.45)");
	if (got[1][3])
		figure("ring_stream_zero_copy_vs_read", got[1][3], "x (process pair; goal >= 0.8)");
	if (got[0][0])
		figure("tcp_rtt_vs_raw_tcp", got[0][0], "x (process pair; goal >= 0.95)");
	if (got[0][1])
		figure("tcp_stream_vs_raw_tcp", got[0][1], "x (process pair; goal >= 0.95)");
	return 0;
}
