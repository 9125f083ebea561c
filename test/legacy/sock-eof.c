/* SPDX-License-Identifier: MIT */
/* Stream sockets between a parent and its child, over a socketpair and a
 * loopback TCP connection (the child connects, the parent accepts): data
 * both ways, EOF when the peer closes, shutdown(SHUT_WR) as a half close,
 * and EPIPE (MSG_NOSIGNAL) when writing to a closed peer. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static ssize_t read_all(int fd, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len && (n = read(fd, buf + got, len - got)) > 0)
		got += (size_t)n;
	return (ssize_t)got;
}

/* The child's side: answer, half-close, then read until EOF. */
static void child(int s)
{
	char buf[64];
	ssize_t n = read(s, buf, sizeof(buf));

	if (n <= 0)
		_exit(2);
	for (ssize_t i = 0; i < n; i++)
		buf[i] = (char)(buf[i] >= 'a' && buf[i] <= 'z' ? buf[i] - 32 : buf[i]);
	write(s, buf, (size_t)n);
	shutdown(s, SHUT_WR);
	while (read(s, buf, sizeof(buf)) > 0)
		;
	_exit(0);
}

static void run(const char *name, int mine, int theirs, int listener, struct sockaddr_in *addr)
{
	char buf[64] = "";
	ssize_t n;
	pid_t pid;
	int st;

	pid = fork();
	if (pid == 0) {
		if (listener >= 0) {
			close(listener);
			theirs = socket(AF_INET, SOCK_STREAM, 0);
			if (connect(theirs, (struct sockaddr *)addr, sizeof(*addr)))
				_exit(3);
		} else {
			close(mine);
		}
		child(theirs);
	}
	if (listener >= 0) {
		mine = accept(listener, NULL, NULL);
		close(listener);
	} else {
		close(theirs);
	}
	write(mine, "hello peer", 10);
	n = read_all(mine, buf, sizeof(buf) - 1);
	printf("%s: got \"%.*s\" then EOF (%zd bytes)\n", name, (int)n, buf, n);
	write(mine, "still open", 10);
	close(mine);
	waitpid(pid, &st, 0);
	printf("%s: child exit %d\n", name, WEXITSTATUS(st));
}

/* Send twice to a peer that closed (TCP answers the first with a reset). */
static void epipe(const char *name, int a)
{
	for (int i = 0; i < 2; i++) {
		ssize_t n;

		usleep(20000);
		errno = 0;
		n = send(a, "x", 1, MSG_NOSIGNAL);
		printf("%s: send %d to a closed peer: %zd %s\n", name, i, n, n < 0 ? strerror(errno) : "-");
	}
	close(a);
}

int main(void)
{
	struct sockaddr_in addr;
	socklen_t len = sizeof(addr);
	int s[2], l, c, a;

	setvbuf(stdout, NULL, _IONBF, 0);
	socketpair(AF_UNIX, SOCK_STREAM, 0, s);
	run("socketpair", s[0], s[1], -1, NULL);

	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(l, (struct sockaddr *)&addr, sizeof(addr)) || listen(l, 4) || getsockname(l, (struct sockaddr *)&addr, &len))
		return 1;
	run("tcp", -1, -1, l, &addr);

	socketpair(AF_UNIX, SOCK_STREAM, 0, s);
	close(s[1]);
	epipe("socketpair", s[0]);

	l = socket(AF_INET, SOCK_STREAM, 0);
	addr.sin_port = 0;
	if (bind(l, (struct sockaddr *)&addr, sizeof(addr)) || listen(l, 4) || getsockname(l, (struct sockaddr *)&addr, &len))
		return 1;
	if (fork() == 0) {
		/* another process connects and goes away */
		c = socket(AF_INET, SOCK_STREAM, 0);
		close(l);
		if (connect(c, (struct sockaddr *)&addr, sizeof(addr)))
			_exit(1);
		close(c);
		_exit(0);
	}
	a = accept(l, NULL, NULL);
	close(l);
	wait(NULL);
	epipe("tcp", a);
	return 0;
}
