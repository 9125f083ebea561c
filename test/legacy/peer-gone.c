/* SPDX-License-Identifier: MIT */
/*
 * Legacy program: a server answers a request after its client has gone,
 * as a web server does when a load generator stops with requests in
 * flight.  For a loopback TCP connection, a socketpair and a pipe: the
 * client sends a request and closes (TCP: close(); the others: exit
 * without closing), the server reads the request and the end of file,
 * waits for the client, then writes its answer.  TCP takes the first
 * write (the peer's reset comes after) and refuses a later one with
 * EPIPE; a socketpair and a pipe refuse the first.  Prints what each
 * write returned.  Knows nothing of xos.
 */
#include <signal.h>
#include <sys/wait.h>

#include "sock-pairs.h"

#define ANSWER 240

static const char *err_name(int e)
{
	switch (e) {
	case EPIPE: return "EPIPE";
	case ECONNRESET: return "ECONNRESET";
	default: return strerror(e);
	}
}

static void read_request(int fd, const char *kind)
{
	char buf[16];
	size_t got = 0;
	ssize_t n;

	while (got < 7 && (n = read(fd, buf + got, sizeof(buf) - got)) > 0)
		got += (size_t)n;
	n = read(fd, buf, sizeof(buf));
	printf("%s: request of %zu bytes, then %s\n", kind, got, n == 0 ? "end of file" : "more");
}

/* Write the answer, then (TCP) again until the kernel refuses it. */
static void answer(int fd, const char *kind)
{
	static char buf[ANSWER];
	ssize_t n;
	int tries = 0;

	memset(buf, 'a', sizeof(buf));
	n = write(fd, buf, sizeof(buf));
	if (n < 0) {
		printf("%s: answer refused: %s\n", kind, err_name(errno));
		return;
	}
	printf("%s: answer of %zd bytes taken\n", kind, n);
	/* The reset the answer provoked comes back in its own time. */
	while ((n = write(fd, buf, sizeof(buf))) > 0)
		tries++;
	printf("%s: a later write refused: %s\n", kind, n < 0 ? err_name(errno) : "no");
	(void)tries;
}

static void one(const char *kind)
{
	int sv[2], status;
	pid_t pid;

	if (!strcmp(kind, "pipe")) {
		if (pipe(sv)) {
			perror("pipe");
			exit(1);
		}
	} else {
		t_pair(kind, sv);
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		if (!strcmp(kind, "pipe")) {
			char buf[7];
			size_t got = 0;
			ssize_t n;

			close(sv[1]);
			while (got < 7 && (n = read(sv[0], buf + got, 7 - got)) > 0)
				got += (size_t)n;
			_exit(got == 7 ? 0 : 1);
		}
		close(sv[1]);
		if (write(sv[0], "request", 7) != 7)
			_exit(1);
		if (!strcmp(kind, "tcp"))
			close(sv[0]);
		_exit(0);
	}
	if (!strcmp(kind, "pipe")) {
		close(sv[0]);
		if (write(sv[1], "request", 7) != 7)
			exit(1);
		waitpid(pid, &status, 0);
		printf("pipe: request taken, reader gone\n");
		answer(sv[1], kind);
		close(sv[1]);
		return;
	}
	close(sv[0]);
	read_request(sv[1], kind);
	waitpid(pid, &status, 0);
	answer(sv[1], kind);
	close(sv[1]);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	one("tcp");
	one("unix");
	one("pipe");
	return 0;
}
