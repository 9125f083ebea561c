/* SPDX-License-Identifier: MIT */
/* A plain legacy program: parent and child bounce a counter through two
 * pipes (or a socketpair, or a loopback TCP connection), then the child
 * streams bytes to the parent.  Prints the round trip and the throughput
 * on stderr and a deterministic result on stdout.
 *
 * KIND+poll or KIND+epoll: each side waits in poll (or epoll_wait) before
 * each read of the ping-pong, as an event loop would.
 *
 * Usage: pingpong pipe|unix|tcp[+poll|+epoll] ROUNDS STREAM_MIB */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 65536

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int full(ssize_t (*op)(int, void *, size_t), int fd, void *buf, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t n = op(fd, (char *)buf + off, len - off);

		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

static int wait_mode; /* 0: none, 1: poll, 2: epoll */
static int ep = -1;

/* Wait until @fd is readable, as an event loop would. */
static ssize_t wait_read(int fd, void *buf, size_t len)
{
	if (wait_mode == 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, -1) != 1)
			return -1;
	} else if (wait_mode == 2) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

		if (ep < 0) {
			ep = epoll_create1(0);
			if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
				return -1;
		}
		if (epoll_wait(ep, &ev, 1, -1) != 1)
			return -1;
	}
	return read(fd, buf, len);
}

static ssize_t wr(int fd, void *buf, size_t len)
{
	return write(fd, buf, len);
}

/* A loopback TCP listener on an ephemeral port; *@addr gets its address. */
static int tcp_listener(struct sockaddr_in *addr)
{
	socklen_t len = sizeof(*addr);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l < 0 || bind(l, (struct sockaddr *)addr, sizeof(*addr)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)addr, &len))
		return -1;
	return l;
}

static void nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int main(int argc, char **argv)
{
	const char *arg = argc > 1 ? argv[1] : "pipe", *plus = strchr(arg, '+');
	char kind[16];
	long rounds = argc > 2 ? atol(argv[2]) : 10000, mib = argc > 3 ? atol(argv[3]) : 64;
	int up[2], down[2], st, l = -1;
	struct sockaddr_in addr;
	uint64_t v = 0, sum = 0, total = (uint64_t)mib << 20;
	double t0, t1, t2;
	pid_t pid;

	snprintf(kind, sizeof(kind), "%.*s", plus ? (int)(plus - arg) : (int)strlen(arg), arg);
	if (plus)
		wait_mode = strcmp(plus, "+poll") == 0 ? 1 : strcmp(plus, "+epoll") == 0 ? 2 : -1;
	if (wait_mode < 0)
		return 2;
	if (strcmp(kind, "pipe") == 0) {
		if (pipe(up) || pipe(down))
			return 2;
	} else if (strcmp(kind, "unix") == 0) {
		int s[2];

		if (socketpair(AF_UNIX, SOCK_STREAM, 0, s))
			return 2;
		up[0] = down[1] = s[0];
		up[1] = down[0] = s[1];
	} else {
		/* the child connects, the parent accepts */
		l = tcp_listener(&addr);
		if (l < 0)
			return 2;
	}
	pid = fork();
	if (pid == 0) {
		static char buf[CHUNK];

		if (l >= 0) {
			int c = socket(AF_INET, SOCK_STREAM, 0);

			close(l);
			if (c < 0 || connect(c, (struct sockaddr *)&addr, sizeof(addr)))
				_exit(2);
			nodelay(c);
			up[1] = down[0] = c;
		}

		/* child: reads on down[0], answers on up[1] */
		for (long i = 0; i < rounds; i++) {
			if (full(wait_read, down[0], &v, sizeof(v)))
				_exit(3);
			v = v * 3 + 1;
			if (full(wr, up[1], &v, sizeof(v)))
				_exit(4);
		}
		for (uint64_t off = 0; off < total; off += CHUNK) {
			for (int j = 0; j < CHUNK; j += 4096)
				buf[j] = (char)(off / CHUNK + (uint64_t)j);
			if (full(wr, up[1], buf, CHUNK))
				_exit(5);
		}
		_exit(0);
	}
	if (l >= 0) {
		int a = accept(l, NULL, NULL);

		close(l);
		if (a < 0)
			return 2;
		nodelay(a);
		up[0] = down[1] = a;
	}
	t0 = now();
	for (long i = 0; i < rounds; i++) {
		v = v + 1;
		if (full(wr, down[1], &v, sizeof(v)) || full(wait_read, up[0], &v, sizeof(v)))
			return 3;
	}
	t1 = now();
	for (uint64_t got = 0; got < total;) {
		static char buf[CHUNK];
		ssize_t n = read(up[0], buf, CHUNK);

		if (n <= 0)
			return 4;
		for (uint64_t j = (4096 - got % 4096) % 4096; j < (uint64_t)n; j += 4096)
			sum += (unsigned char)buf[j];
		got += (uint64_t)n;
	}
	t2 = now();
	waitpid(pid, &st, 0);
	printf("%s: value %llu, stream checksum %llu, child exit %d\n", arg, (unsigned long long)v,
	       (unsigned long long)sum, WEXITSTATUS(st));
	if (argc > 4 && strcmp(argv[4], "-t") == 0)
		fprintf(stderr, "rtt_us %.3f throughput_gbs %.3f\n", rounds ? (t1 - t0) / (double)rounds * 1e6 : 0.0,
		total ? (double)total / (t2 - t1) / 1e9 : 0.0);
	return 0;
}
