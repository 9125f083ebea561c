/* SPDX-License-Identifier: MIT */
/* Socket options and names on connected stream sockets (socketpair,
 * loopback TCP): what setsockopt sets, getsockopt reads back (TCP_NODELAY,
 * SO_KEEPALIVE, SO_RCVBUF, SO_SNDBUF, SO_REUSEADDR, SO_REUSEPORT, SO_TYPE,
 * SO_ERROR, SO_ACCEPTCONN), getsockname and getpeername agree across the
 * connection, and bytes still flow both ways afterwards. */
#include <netinet/tcp.h>

#include "sock-pairs.h"

static void opt(int fd, int level, int name, const char *what, int set)
{
	int v = -1;
	socklen_t len = sizeof(v);

	if (set >= 0 && setsockopt(fd, level, name, &set, sizeof(set)))
		printf("  set %s: %s\n", what, strerror(errno));
	if (getsockopt(fd, level, name, &v, &len))
		printf("  %s: %s\n", what, strerror(errno));
	else
		printf("  %s: %d\n", what, v);
}

static void names(int a, int b)
{
	struct sockaddr_storage an, ap, bn, bp;
	socklen_t l1 = sizeof(an), l2 = sizeof(ap), l3 = sizeof(bn), l4 = sizeof(bp);

	memset(&an, 0, sizeof(an));
	memset(&ap, 0, sizeof(ap));
	memset(&bn, 0, sizeof(bn));
	memset(&bp, 0, sizeof(bp));
	getsockname(a, (struct sockaddr *)&an, &l1);
	getpeername(a, (struct sockaddr *)&ap, &l2);
	getsockname(b, (struct sockaddr *)&bn, &l3);
	getpeername(b, (struct sockaddr *)&bp, &l4);
	printf("  name of a is peer of b: %s\n", l1 == l4 && !memcmp(&an, &bp, l1) ? "yes" : "no");
	printf("  name of b is peer of a: %s\n", l3 == l2 && !memcmp(&bn, &ap, l3) ? "yes" : "no");
	printf("  family %d\n", an.ss_family);
}

static void run(const char *kind)
{
	char buf[16];
	int sv[2], tcp = !strcmp(kind, "tcp");

	printf("%s:\n", kind);
	t_pair(kind, sv);
	for (int i = 0; i < 2; i++) {
		int fd = sv[i];

		printf(" end %d\n", i);
		if (tcp) {
			opt(fd, IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY", 1);
		}
		opt(fd, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE", 1);
		opt(fd, SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF", 65536);
		opt(fd, SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF", 65536);
		opt(fd, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR", 1);
		opt(fd, SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT", 1);
		opt(fd, SOL_SOCKET, SO_TYPE, "SO_TYPE", -1);
		opt(fd, SOL_SOCKET, SO_ERROR, "SO_ERROR", -1);
		opt(fd, SOL_SOCKET, SO_ACCEPTCONN, "SO_ACCEPTCONN", -1);
	}
	names(sv[0], sv[1]);
	printf("  write a: %zd\n", write(sv[0], "ping", 4));
	printf("  read b: %zd\n", read(sv[1], buf, sizeof(buf)));
	printf("  write b: %zd\n", write(sv[1], "pong!", 5));
	printf("  read a: %zd\n", read(sv[0], buf, sizeof(buf)));
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	run("unix");
	run("tcp");
	return 0;
}
