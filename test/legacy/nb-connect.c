/* SPDX-License-Identifier: MIT */
/* A non-blocking loopback TCP client (socket with SOCK_NONBLOCK, connect
 * in progress, SO_ERROR 0) in a child, and its server in the parent
 * accepting with accept4(SOCK_NONBLOCK | SOCK_CLOEXEC): the accepted fd has
 * both flags, reads on either side say EAGAIN until the other has
 * written, and a request, its answer and the end of file arrive. */
#define _GNU_SOURCE /* accept4 */
#include <sys/wait.h>

#include <stdarg.h>

#include "sock-pairs.h"

/* The server's lines, printed after the client's (both run at once). */
static char said[1024];

static void say(const char *fmt, ...)
{
	size_t used = strlen(said);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(said + used, sizeof(said) - used, fmt, ap);
	va_end(ap);
}

/* Read @len bytes (or end of file) from a non-blocking socket, counting
 * nothing but what arrives: EAGAIN means "not yet". */
static ssize_t nb_read(int fd, char *buf, size_t len, int *eagain)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n == 0)
			break;
		if (n < 0 && errno == EAGAIN) {
			(*eagain)++;
			usleep(1000);
			continue;
		}
		if (n < 0)
			return -1;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int client(const struct sockaddr_in *addr)
{
	char buf[16];
	int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), err = -1, eagain = 0, rc;
	socklen_t len = sizeof(err);

	rc = connect(c, (const struct sockaddr *)addr, sizeof(*addr));
	printf("client: connect %s\n", rc == 0 || errno == EINPROGRESS ? "in progress or done" : strerror(errno));
	/* Writable once connected: loopback connects before anyone accepts. */
	for (int i = 0; i < 1000 && send(c, "", 0, MSG_NOSIGNAL) < 0 && errno == EAGAIN; i++)
		usleep(1000);
	getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len);
	printf("client: SO_ERROR %d, O_NONBLOCK %s\n", err, fcntl(c, F_GETFL) & O_NONBLOCK ? "set" : "clear");
	printf("client: write %zd\n", write(c, "request", 7));
	printf("client: read %zd\n", nb_read(c, buf, 6, &eagain));
	printf("client: answer \"%.6s\"\n", buf);
	printf("client: then %zd (end of file)\n", nb_read(c, buf, sizeof(buf), &eagain));
	close(c);
	return 0;
}

int main(void)
{
	struct sockaddr_in addr;
	char buf[16];
	int l = t_listen(&addr, 4), a, st, eagain = 0;
	pid_t pid;

	setvbuf(stdout, NULL, _IONBF, 0);
	pid = fork();
	if (pid == 0) {
		close(l);
		_exit(client(&addr));
	}
	a = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (a < 0) {
		perror("accept4");
		return 1;
	}
	say("server: O_NONBLOCK %s, FD_CLOEXEC %s\n", fcntl(a, F_GETFL) & O_NONBLOCK ? "set" : "clear",
	       fcntl(a, F_GETFD) & FD_CLOEXEC ? "set" : "clear");
	say("server: read %zd\n", nb_read(a, buf, 7, &eagain));
	say("server: request \"%.7s\"\n", buf);
	{
		ssize_t n = read(a, buf, sizeof(buf));

		say("server: read again %zd (%s)\n", n, n < 0 ? strerror(errno) : "no error");
	}
	say("server: write %zd\n", write(a, "answer", 6));
	close(a);
	waitpid(pid, &st, 0);
	fputs(said, stdout);
	printf("client exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return 0;
}
