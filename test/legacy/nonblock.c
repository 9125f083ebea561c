/* SPDX-License-Identifier: MIT */
/* A plain legacy program: non-blocking pipes and socketpairs, made so
 * (pipe2 O_NONBLOCK, SOCK_NONBLOCK) or set so by fcntl or ioctl FIONBIO,
 * and MSG_DONTWAIT.
 * Prints what each call returned: EAGAIN on an empty or full channel, a
 * write of at most PIPE_BUF all or nothing, a larger one in part, the end
 * of the stream as 0 and not EAGAIN.  Deterministic output. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static char big[1 << 20], back[1 << 20];

static const char *res(ssize_t r)
{
	static char buf[64];

	if (r >= 0)
		snprintf(buf, sizeof(buf), "%zd", r);
	else
		snprintf(buf, sizeof(buf), "-1 %s", errno == EAGAIN ? "EAGAIN" : strerror(errno));
	return buf;
}

/* Fill a non-blocking pipe with @chunk-byte writes: the bytes it took. */
static long fill(int wfd, size_t chunk)
{
	long total = 0;
	ssize_t r;

	while ((r = write(wfd, big, chunk)) > 0)
		total += r;
	if (errno != EAGAIN)
		printf("fill: unexpected %s\n", strerror(errno));
	return total;
}

static long drain(int rfd)
{
	long total = 0;
	ssize_t r;

	while ((r = read(rfd, back, sizeof(back))) > 0)
		total += r;
	if (r < 0 && errno != EAGAIN)
		printf("drain: unexpected %s\n", strerror(errno));
	return total;
}

static void pipe_case(int p[2], const char *how)
{
	ssize_t r;
	long n;

	printf("%s: read empty: %s\n", how, res(read(p[0], back, 10)));
	n = fill(p[1], 100);
	printf("%s: 100-byte writes fill %ld bytes\n", how, n);
	printf("%s: drained %ld\n", how, drain(p[0]));
	printf("%s: 100000-byte write on empty: %s\n", how, res(write(p[1], big, 100000)));
	printf("%s: read 1000: %s\n", how, res(read(p[0], back, 1000)));
	/* One page buffer free after that read?  Not until the first page is
	 * read whole: a PIPE_BUF write waits (EAGAIN), as natively. */
	printf("%s: write PIPE_BUF: %s\n", how, res(write(p[1], big, PIPE_BUF)));
	printf("%s: read 4000: %s\n", how, res(read(p[0], back, 4000)));
	printf("%s: write PIPE_BUF: %s\n", how, res(write(p[1], big, PIPE_BUF)));
	printf("%s: write 10 more: %s\n", how, res(write(p[1], big, 10)));
	printf("%s: write 5000: %s\n", how, res(write(p[1], big, 5000)));
	printf("%s: drained %ld\n", how, drain(p[0]));
	r = write(p[1], "tail", 4);
	close(p[1]);
	printf("%s: after close: %s", how, res(r));
	printf(", read %s", res(read(p[0], back, 100)));
	printf(", read %s\n", res(read(p[0], back, 100)));
	close(p[0]);
}

static void sock_case(int s[2], const char *how, int flags)
{
	long put = 0, got = 0;
	ssize_t r;

	r = recv(s[0], back, 10, flags);
	printf("%s: recv empty: %s\n", how, res(r));
	while ((r = send(s[1], big, 65536, flags)) > 0)
		put += r;
	printf("%s: send until full: %s after %s\n", how, res(r), put > 0 ? "some bytes" : "nothing");
	while ((r = recv(s[0], back, sizeof(back), flags)) > 0)
		got += r;
	printf("%s: received all that was sent: %s (%s)\n", how, got == put ? "yes" : "no", res(r));
	send(s[1], "bye", 3, flags);
	close(s[1]);
	printf("%s: after close: recv %s", how, res(recv(s[0], back, 100, flags)));
	printf(", recv %s\n", res(recv(s[0], back, 100, flags)));
	close(s[0]);
}

int main(void)
{
	int p[2], s[2];
	pid_t pid;
	int st;

	memset(big, 'x', sizeof(big));
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (pipe2(p, O_NONBLOCK))
		return 2;
	pipe_case(p, "pipe2 O_NONBLOCK");
	if (pipe(p))
		return 2;
	fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
	fcntl(p[1], F_SETFL, fcntl(p[1], F_GETFL) | O_NONBLOCK);
	printf("fcntl: O_NONBLOCK reads back: %d\n", (fcntl(p[0], F_GETFL) & O_NONBLOCK) != 0);
	pipe_case(p, "pipe + fcntl");

	/* Blocking again after fcntl clears the flag: a child writes later. */
	if (pipe2(p, O_NONBLOCK))
		return 2;
	fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) & ~O_NONBLOCK);
	pid = fork();
	if (pid == 0) {
		usleep(100000);
		write(p[1], "late", 4);
		_exit(0);
	}
	printf("cleared O_NONBLOCK: blocking read got %s\n", res(read(p[0], back, 100)));
	waitpid(pid, &st, 0);
	close(p[0]);
	close(p[1]);

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, s))
		return 2;
	sock_case(s, "socketpair SOCK_NONBLOCK", 0);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, s))
		return 2;
	sock_case(s, "socketpair MSG_DONTWAIT", MSG_DONTWAIT);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, s))
		return 2;
	{
		int on = 1;

		ioctl(s[0], FIONBIO, &on);
		ioctl(s[1], FIONBIO, &on);
	}
	sock_case(s, "socketpair ioctl FIONBIO", 0);

	/* Across fork: the flag belongs to the open file, shared. */
	if (pipe(p))
		return 2;
	pid = fork();
	if (pid == 0) {
		fcntl(p[0], F_SETFL, O_NONBLOCK);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	printf("flag set by a child: read %s\n", res(read(p[0], back, 100)));
	return 0;
}
