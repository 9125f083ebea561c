/* SPDX-License-Identifier: MIT */
/* Test helper for the legacy socket programs: a connected stream pair in
 * one process, either a socketpair or a loopback TCP connection made with
 * a non-blocking connect and a blocking accept (so one thread can make
 * both ends), both ends blocking afterwards.  Knows nothing of xos. */
#ifndef SOCK_PAIRS_H
#define SOCK_PAIRS_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A listening loopback socket on a free port; *addr: where it listens. */
static __attribute__((unused)) int t_listen(struct sockaddr_in *addr, int backlog)
{
	socklen_t len = sizeof(*addr);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l < 0 || bind(l, (struct sockaddr *)addr, sizeof(*addr)) || listen(l, backlog) ||
	    getsockname(l, (struct sockaddr *)addr, &len)) {
		perror("listen");
		exit(90);
	}
	return l;
}

/* sv[0]: the client (or socketpair end 0), sv[1]: the server's end. */
static __attribute__((unused)) void t_pair(const char *kind, int sv[2])
{
	struct sockaddr_in addr;
	int l, c;

	if (!strcmp(kind, "unix")) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
			perror("socketpair");
			exit(91);
		}
		return;
	}
	l = t_listen(&addr, 4);
	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c < 0 || (connect(c, (struct sockaddr *)&addr, sizeof(addr)) && errno != EINPROGRESS)) {
		perror("connect");
		exit(92);
	}
	sv[1] = accept(l, NULL, NULL);
	if (sv[1] < 0 || fcntl(c, F_SETFL, 0)) {
		perror("accept");
		exit(93);
	}
	sv[0] = c;
	close(l);
}

#endif
