/* SPDX-License-Identifier: MIT */
/*
 * Channels across hosts against raw TCP between the same hosts
 * (bench/hosts/bench-hosts.sh runs it in network namespaces).
 *
 *   bench-hosts xos ROUNDS           under mpirun (rank 0 runs this): an EF on
 *                                    host b, a bidirectional channel to it
 *   bench-hosts raw-serve PORT ROUNDS on host b: raw TCP, the same exchanges
 *   bench-hosts raw ADDR PORT ROUNDS on host a, against raw-serve
 *
 * Each prints "rtt_us = X" (median 8-byte round trip over ROUNDS x 2000)
 * and "stream_gbps = X" (64 KiB messages, 256 MiB, receiver's view).
 */
#define XOS_USE_VERSION 1
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <xos.h>

#define PINGS 2000
#define MSG (64u << 10)
#define STREAM_MSGS 4096u /* 256 MiB */

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- the same exchanges over two transports ----------------------------- */

struct io {
	ssize_t (*send)(void *ctx, const void *buf, size_t len);
	ssize_t (*recv)(void *ctx, void *buf, size_t len); /* one message, or stream bytes */
	void *ctx;
	bool stream; /* recv may return part of a message */
};

static int recv_full(const struct io *io, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = io->recv(io->ctx, (char *)buf + got, len - got);

		if (n <= 0)
			return -1;
		got += (size_t)n;
		if (!io->stream && got != len)
			return -1;
	}
	return 0;
}

/* The far side: answer pings, then stream on request. */
static int serve(const struct io *io, int rounds)
{
	static char buf[MSG];
	uint64_t v;

	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < PINGS; i++) {
			if (recv_full(io, &v, sizeof(v)) < 0 || io->send(io->ctx, &v, sizeof(v)) != sizeof(v))
				return 1;
		}
		if (recv_full(io, &v, sizeof(v)) < 0) /* go */
			return 1;
		memset(buf, r, sizeof(buf));
		for (unsigned int i = 0; i < STREAM_MSGS; i++)
			if (io->send(io->ctx, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
				return 1;
	}
	return 0;
}

static int drive(const struct io *io, int rounds)
{
	static char buf[MSG];
	double *rtt = malloc(sizeof(double) * (size_t)rounds), *gbps = malloc(sizeof(double) * (size_t)rounds);
	uint64_t v = 0;

	for (int r = 0; r < rounds; r++) {
		double t0 = now_us();

		for (int i = 0; i < PINGS; i++, v++)
			if (io->send(io->ctx, &v, sizeof(v)) != sizeof(v) || recv_full(io, &v, sizeof(v)) < 0)
				return 1;
		rtt[r] = (now_us() - t0) / PINGS;
		t0 = now_us();
		if (io->send(io->ctx, &v, sizeof(v)) != sizeof(v))
			return 1;
		for (unsigned int i = 0; i < STREAM_MSGS; i++)
			if (recv_full(io, buf, sizeof(buf)) < 0 || buf[0] != (char)r)
				return 1;
		gbps[r] = (double)STREAM_MSGS * MSG / ((now_us() - t0) * 1e3);
	}
	printf("rtt_us = %.2f\nstream_gbps = %.3f\n", median(rtt, rounds), median(gbps, rounds));
	return 0;
}

/* ---- xos: an EF on host b --------------------------------------------------------- */

static ssize_t chan_send(void *c, const void *b, size_t l)
{
	return xos_chan_send(c, b, l);
}

static ssize_t chan_recv(void *c, void *b, size_t l)
{
	return xos_chan_recv(c, b, l);
}

struct job {
	struct xos_chan *end;
	int rounds;
};

static int far_ef(void *p)
{
	struct job *j = p;
	struct io io = { chan_send, chan_recv, j->end, false };

	return serve(&io, j->rounds);
}

static int run_xos(int rounds)
{
	struct xos_chan_attr ca;
	struct xos_ef_attr ea;
	struct xos_chan *ends[2];
	struct xos_ef *ef;
	struct xos_ef_exit ex;
	struct job j;
	struct io io;
	int rc;

	xos_chan_attr_init(&ca);
	ca.flags = XOS_CHAN_F_BIDIR;
	ca.max_msg = MSG;
	ca.capacity = 4 * MSG;
	if ((rc = xos_chan_open(ends, &ca)) < 0) {
		fprintf(stderr, "xos_chan_open: %s\n", strerror(-rc));
		return 1;
	}
	xos_ef_attr_init(&ea);
	ea.host = "b";
	ea.chans = &ends[1];
	ea.nchans = 1;
	j = (struct job){ ends[1], rounds };
	if ((rc = xos_ef_create(&ef, &ea, far_ef, &j, sizeof(j))) < 0) {
		fprintf(stderr, "xos_ef_create on host b: %s\n", strerror(-rc));
		return 1;
	}
	io = (struct io){ chan_send, chan_recv, ends[0], false };
	rc = drive(&io, rounds);
	xos_chan_close(ends[0]);
	xos_ef_join(ef, &ex);
	printf("mechanism = %s\n", "tcp");
	return rc || ex.how != XOS_EF_EXITED || ex.status;
}

/* ---- raw TCP, with the socket settings of the hosts' connections ------------------------- */

static ssize_t sock_send(void *c, const void *b, size_t l)
{
	size_t done = 0;

	while (done < l) {
		ssize_t n = send((int)(intptr_t)c, (const char *)b + done, l - done, MSG_NOSIGNAL);

		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return (ssize_t)l;
}

static ssize_t sock_recv(void *c, void *b, size_t l)
{
	return recv((int)(intptr_t)c, b, l, 0);
}

/* As the hosts' connections: no Nagle, the kernel's buffer autotuning. */
static void tune(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct io io = { sock_send, sock_recv, NULL, true };
	int fd, c, one = 1;

	if (argc == 3 && strcmp(argv[1], "xos") == 0)
		return run_xos(atoi(argv[2]));
	if (argc == 4 && strcmp(argv[1], "raw-serve") == 0) {
		a.sin_port = htons((uint16_t)atoi(argv[2]));
		fd = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1) < 0)
			return perror("raw-serve"), 1;
		printf("ready\n");
		fflush(stdout);
		c = accept(fd, NULL, NULL);
		tune(c);
		io.ctx = (void *)(intptr_t)c;
		return serve(&io, atoi(argv[3]));
	}
	if (argc == 5 && strcmp(argv[1], "raw") == 0) {
		inet_pton(AF_INET, argv[2], &a.sin_addr);
		a.sin_port = htons((uint16_t)atoi(argv[3]));
		fd = socket(AF_INET, SOCK_STREAM, 0);
		tune(fd);
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
			return perror("raw connect"), 1;
		io.ctx = (void *)(intptr_t)fd;
		return drive(&io, atoi(argv[4]));
	}
	fprintf(stderr, "usage: bench-hosts xos ROUNDS | raw-serve PORT ROUNDS | raw ADDR PORT ROUNDS\n");
	return 2;
}
